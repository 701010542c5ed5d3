"""The sections of the report, each built from its frames under the anonymity rules: the outcome
comparisons, CRM performance before and after, coaching sessions logged, reliability, comments and
the trend across waves.

Every builder returns only numbers that may be shown: models with fewer than k responses (or reps)
in view, or that could be worked out from other views, are named as hidden instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from analysis.baseline import difference_in_differences
from analysis.clustered import team_link
from analysis.comparison import OutcomeComparison, compare_outcome
from analysis.describe import GroupDescriptives, describe_group, session_rates
from analysis.disclosure import decide
from analysis.scales import Reliability, reliability

from .. import frames
from ..extensions import db
from ..models import PerformanceRecord, Rep, Study, Wave
from ..outcomes import PERFORMANCE, outcome
from .filters import BANDS, NO_REGION, band_of, in_view, rep_view, team_bands

ALPHA_SAMPLE = 1000  # responses per model for Cronbach's α: its standard error is then about 0.01


@dataclass(frozen=True)
class OutcomeRow:
    """One outcome of the report: its comparison and what the verdict says of it, or why there is none."""

    key: str
    label: str
    section: str
    comparison: OutcomeComparison | None
    hidden_models: list[str]
    note: str | None = None
    finding: str | None = None  # the verdict's sentence on this outcome

    @property
    def by_model(self) -> dict[str, GroupDescriptives]:
        """The shown models' descriptives, keyed by model (empty when not compared)."""
        return {} if self.comparison is None else {d.group: d for d in self.comparison.descriptives}


@dataclass(frozen=True)
class BeforeAfter:
    """One model's mean of a CRM metric before and after, with 95 % CIs, over ``n`` reps with both periods."""

    before: GroupDescriptives
    after: GroupDescriptives
    n: int


@dataclass(frozen=True)
class PerformanceSection:
    """Before/after CRM figures per model for the reps in view."""

    before: str
    after: str
    metrics: dict[str, dict[str, BeforeAfter]]  # metric -> model -> before and after
    changes: dict[str, list[dict]]


def survey_frame(study: Study, wave: Wave, sizes: dict[int, int]) -> pd.DataFrame:
    """The wave's scale scores, one row per response, labelled with band and region for the filters."""
    scores = frames.response_scores(study.id, wave.id)
    scores["band"] = scores["team"].map(team_bands(sizes)).fillna(band_of(0))
    scores["region"] = scores["region"].fillna(NO_REGION)
    # Categories make the many group comparisons that follow cheap.
    for column in ("coaching_model", "region", "band"):
        scores[column] = scores[column].astype("category")
    return scores


def compare(frame, key, shown, hidden, k, cluster=None, baseline=None, scale=None, label=None) -> OutcomeRow:
    """The row of outcome ``key``: the ``shown`` models compared, or why they are not."""
    about = outcome(key)
    label = label or about.sentence
    if len(shown) < 2:
        note = (f"Fewer than {k} responses (or a number that could be worked out from other views) for "
                f"{', '.join(hidden) or 'the models'}: not enough to compare.")
        return OutcomeRow(key, label, about.section, None, hidden, note)
    try:
        comparison = compare_outcome(frame, key, "coaching_model", shown, cluster=cluster, baseline=baseline,
                                     label=label, scale=scale, unit=about.unit, unit_scale=about.unit_scale)
    except ValueError as error:
        return OutcomeRow(key, label, about.section, None, hidden, f"Not compared: {error}.")
    note = (f"Not shown (fewer than {k} responses, or could be worked out from other views): "
            f"{', '.join(hidden)}.") if hidden else None
    return OutcomeRow(key, label, about.section, comparison, hidden, note)


def _periods(study: Study, wave: Wave) -> tuple[str | None, str | None]:
    """The CRM period before the study's first wave, and the latest one after it up to this wave's close."""
    first_open = min(w.opens_on for w in study.waves)
    periods = db.session.execute(select(PerformanceRecord.period, PerformanceRecord.period_start).join(Rep)
                                 .where(Rep.organisation_id == study.organisation_id).distinct()
                                 .order_by(PerformanceRecord.period_start)).all()
    before = [p for p, start in periods if start < first_open]
    after = [p for p, start in periods if first_open <= start <= wave.closes_on]
    return (before[-1] if before else None), (after[-1] if after else None)


def performance(study, wave, filters, models, k, sizes, survey_view, assigned):
    """CRM metrics before and after per model, their comparisons (adjusted for before), and the team-level link."""
    before, after = _periods(study, wave)
    if before is None or after is None:
        return None, [], None
    reps = rep_view(frames.rep_performance(study.id, before, after, assigned), filters, sizes)
    rows, metrics, changes = [], {}, {}
    for metric in PERFORMANCE:
        data = reps.rename(columns={f"{metric}_after": metric})
        complete = data.dropna(subset=[metric, f"{metric}_before"])
        counts = complete.groupby("coaching_model").size()
        shown = [m for m in models if counts.get(m, 0) >= k]
        hidden = [m for m in models if m not in shown]
        if complete.empty:
            continue
        rows.append(compare(complete, metric, shown, hidden, k, cluster="team", baseline=f"{metric}_before",
                             label=f"{outcome(metric).sentence}, {after} adjusted for {before}"))
        values = {}
        for model in shown:
            part = complete[complete["coaching_model"] == model]
            values[model] = BeforeAfter(describe_group(model, part[f"{metric}_before"].to_numpy()),
                                        describe_group(model, part[metric].to_numpy()), int(len(part)))
        metrics[metric] = values
        if len(shown) >= 2:
            try:
                did = difference_in_differences(complete, f"{metric}_before", metric, "coaching_model", shown)
                changes[metric] = [c.to_dict() for c in did.changes]
            except ValueError:
                pass
    link = None
    if "quota_attainment" in reps and not survey_view.empty and "satisfaction" in survey_view:
        team_satisfaction = survey_view.groupby("team").agg(satisfaction=("satisfaction", "mean"),
                                                            responses=("satisfaction", "count"))
        team_satisfaction = team_satisfaction[team_satisfaction["responses"] >= k]
        team_quota = reps.groupby("team").agg(quota_attainment=("quota_attainment_after", "mean"),
                                              coaching_model=("coaching_model", "first"))
        teams = team_satisfaction.join(team_quota, how="inner").dropna()
        if len(teams) >= 4:
            try:
                link = team_link(teams.reset_index(), "satisfaction", "quota_attainment", "coaching_model",
                                 tuple(m for m in models if m in set(teams["coaching_model"])))
            except ValueError:
                link = None
    return PerformanceSection(before, after, metrics, changes), rows, link


def sessions(study, filters, models, k, sizes, assigned):
    """Logged coaching sessions per rep per month: the comparison row and the rates per shown model."""
    reps = frames.rep_sessions(study.id, assigned)
    if reps.empty or int(reps["months"].max()) == 0:
        return [], []
    reps = rep_view(reps, filters, sizes)
    reps = reps.assign(sessions_per_rep_month=reps["sessions"] / reps["months"])
    counts = reps.groupby("coaching_model").size()
    shown = [m for m in models if counts.get(m, 0) >= k]
    hidden = [m for m in models if m not in shown]
    row = compare(reps, "sessions_per_rep_month", shown, hidden, k, cluster="team")
    return [row], list(session_rates(reps[reps["coaching_model"].isin(shown)], levels=tuple(shown)))


def reliabilities(study, wave, view, disclosure, filters, models) -> list[Reliability]:
    """Cronbach's α of every scale of several items, over the shown models (per model only from k responses)."""
    if view.empty:
        return []
    # α from at most ALPHA_SAMPLE responses per model (a fixed random sample): precise, and fast at any size.
    sample = view.groupby("coaching_model", group_keys=False)[["response", "coaching_model"]].apply(
        lambda g: g.sample(n=min(len(g), ALPHA_SAMPLE), random_state=0))
    items = frames.item_answers(study.id, wave.id, sample["response"].tolist())
    if items.empty:
        return []
    data = sample.merge(items, on="response")
    questions = [q for q in study.questions if q.dimension and q.scale_min is not None]
    result = []
    for dimension in dict.fromkeys(q.dimension for q in questions):
        members = [q for q in questions if q.dimension == dimension]
        keys = [q.key for q in members if q.key in data.columns]
        if len(keys) < 2:
            continue
        shown = disclosure.shown_models(filters.view, dimension, models) if disclosure else []
        subset = data[data["coaching_model"].isin(shown)]
        if len(subset) < study.k_threshold or not shown:
            continue
        scale = members[0]
        value = reliability(subset, keys, "coaching_model", shown, scale=outcome(dimension).sentence,
                            reverse=[q.key for q in members if q.reverse_scored], scale_min=scale.scale_min,
                            scale_max=scale.scale_max)
        by_group = {m: a for m, a in value.by_group.items() if value.n_by_group.get(m, 0) >= study.k_threshold}
        result.append(Reliability(value.scale, value.items, value.alpha, value.n, by_group,
                                  {m: n for m, n in value.n_by_group.items() if m in by_group}, value.low))
    return result


def comments(study, wave, filters, models) -> tuple[dict[str, list[str]] | None, str]:
    """Comments per model where at least ``comment_threshold`` exist, shuffled, never in filtered views."""
    threshold = study.comment_threshold
    if filters.filtered:
        return None, "Comments are shown only without filters, so that they cannot be traced to a region or team."
    frame = frames.comments(study.id, wave.id)
    shown, withheld = {}, []
    shuffle = random.SystemRandom().shuffle
    for model in models:
        texts = frame.loc[frame["coaching_model"] == model, "text"].tolist()
        if len(texts) >= threshold:
            shuffle(texts)
            shown[model] = texts
        else:
            withheld.append(model)
    note = (f"Comments appear per model only where at least {threshold} were left, in random order and "
            "without dates." + (f" Not enough comments yet for: {', '.join(withheld)}." if withheld else ""))
    return shown, note


def trend(study, waves, filters, models, k, sizes, outcome, known) -> dict[str, dict[str, GroupDescriptives]]:
    """An outcome's mean per model in each visible wave, under each wave's own anonymity rules."""
    result: dict[str, dict[str, GroupDescriptives]] = {}
    for wave in sorted(waves, key=lambda w: w.opens_on):
        frame, disclosure = known.get(wave.id, (None, None))
        if frame is None:
            frame = survey_frame(study, wave, sizes)
        if frame.empty or outcome not in frame:
            continue
        regions = sorted(frame["region"].unique())
        bands = [label for label, _, _ in BANDS if label in set(frame["band"])]
        if (filters.region and filters.region not in regions) or (filters.band and filters.band not in bands):
            continue
        if disclosure is None:
            disclosure = decide(frame, [outcome], k, regions=regions, bands=bands)
        view = in_view(frame, filters)
        for model in disclosure.shown_models(filters.view, outcome, models):
            values = view.loc[view["coaching_model"] == model, outcome].dropna().to_numpy()
            if len(values) >= 2:
                result.setdefault(model, {})[wave.label] = describe_group(model, values)
    return result
