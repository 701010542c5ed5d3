"""The comparison report of a study: data from the database, statistics from ``analysis``, numbers
only where the anonymity rules allow them.

``build_report`` is the one service the report pages, the JSON, the exports, the charts and the
``report`` command share. Results are cached per study, view and data version, so a second
request for the same view costs a dictionary lookup.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from analysis.baseline import difference_in_differences
from analysis.clustered import TeamLink, team_link
from analysis.comparison import Analysis, OutcomeComparison, assemble, compare_outcome
from analysis.describe import GroupDescriptives, SessionRates, describe_group, session_rates
from analysis.disclosure import View, decide
from analysis.scales import Reliability, reliability
from analysis.verdict import DesignFacts

from .. import cache, frames
from ..extensions import db
from ..models import (
    Assignment,
    AssignmentChange,
    CoachingSession,
    Invitation,
    PerformanceRecord,
    Question,
    Rep,
    Response,
    Role,
    Study,
    Wave,
)
from ..outcomes import PERFORMANCE, SECTIONS, outcome, survey_order
from ..studies import allocation_check, response_rates, team_sizes

BANDS = (("up to 7 reps", 0, 7), ("8 to 10 reps", 8, 10), ("11 or more reps", 11, 10**9))
CACHE_SIZE = 64
ALPHA_SAMPLE = 1000  # responses per model for Cronbach's α: its standard error is then about 0.01


class ReportUnavailable(Exception):
    """There is nothing to report yet; the message says what is missing."""

    def __init__(self, message: str, study: Study):
        super().__init__(message)
        self.message = message
        self.study = study


def band_of(size: int) -> str:
    """The team-size band of a team with ``size`` active reps."""
    return next(label for label, low, high in BANDS if low <= size <= high)


@dataclass(frozen=True)
class Filters:
    """What the reader asked to see."""

    wave: str | None = None
    region: str | None = None
    band: str | None = None

    @property
    def view(self) -> View:
        return View(self.region, self.band)

    @property
    def filtered(self) -> bool:
        return self.region is not None or self.band is not None


def parse_filters(args: Mapping) -> tuple[Filters, list[str]]:
    """Read ``wave``, ``region`` and ``band`` from a query string; anything odd becomes a message."""
    messages, values = [], {}
    for name in ("wave", "region", "band"):
        given = args.getlist(name) if hasattr(args, "getlist") else ([args[name]] if name in args else [])
        given = [g for g in given if g is not None and str(g).strip() != ""]
        if len(given) > 1:
            messages.append(f"Only one {name} can be chosen; showing all instead.")
            continue
        if given:
            text = str(given[0]).strip()
            if len(text) > 120:
                messages.append(f"The {name} filter is too long; it was ignored.")
                continue
            values[name] = text
    return Filters(**values), messages


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
class ReportSection:
    """A section of the outcome tables: its name, its heading and its rows (possibly none)."""

    name: str
    title: str
    rows: list[OutcomeRow]


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


@dataclass(frozen=True)
class ResponseRate:
    """Reps invited and responses of one model in the wave; ``n`` is None where fewer than k responded."""

    model: str
    invited: int
    n: int | None


@dataclass(frozen=True)
class Trend:
    """An outcome's mean per model in each visible wave (``outcome`` None: no outcome to follow)."""

    outcome: str | None
    means: dict[str, dict[str, GroupDescriptives]]  # model -> wave label -> mean with its CI


@dataclass(frozen=True)
class Report:
    """Everything the report shows, computed once per study, view and data version."""

    study_id: int
    study_name: str
    organisation: str
    wave: str
    wave_closed: bool
    waves: list[str]
    filters: Filters
    regions: list[str]
    bands: list[str]
    messages: list[str]
    k: int
    models: list[str]
    analysis: Analysis | None
    rows: list[OutcomeRow]
    performance: PerformanceSection | None
    link: TeamLink | None
    reliabilities: list[Reliability]
    rates: list[ResponseRate]
    comments: dict[str, list[str]] | None
    comments_note: str
    comment_threshold: int
    trend: Trend
    sessions: list[SessionRates]
    version: tuple  # the cache key: study, wave, filters, role and data version

    @property
    def compared(self) -> list[OutcomeRow]:
        return [row for row in self.rows if row.comparison is not None]

    @property
    def sections(self) -> list[ReportSection]:
        """Every section of the outcome tables in reading order, with its rows."""
        return [ReportSection(name, title, [row for row in self.rows if row.section == name])
                for name, title in SECTIONS.items()]

    def row(self, key: str) -> OutcomeRow | None:
        return next((r for r in self.rows if r.key == key), None)

    def to_dict(self) -> dict:
        """The JSON of ``/studies/<id>/report.json``: every count sits under a key named ``n``."""
        outcomes = []
        for row in self.rows:
            entry = {"outcome": row.key, "label": row.label, "section": row.section,
                     "hidden_models": row.hidden_models, "note": row.note}
            if row.comparison is not None:
                entry.update(row.comparison.to_dict())
            outcomes.append(entry)
        link = None
        if self.link is not None and self.link.overall is not None:
            link = {"x": self.link.x, "y": self.link.y, "teams": self.link.n_teams,
                    "r": self.link.overall.r, "ci_low": self.link.overall.ci_low,
                    "ci_high": self.link.overall.ci_high, "p": self.link.overall.p,
                    "by_model": {m: (None if c is None else {"r": c.r, "p": c.p, "teams": c.n})
                                 for m, c in self.link.by_group.items()}}
        return {
            "study": {"id": self.study_id, "name": self.study_name, "organisation": self.organisation},
            "wave": self.wave, "wave_closed": self.wave_closed, "waves": self.waves,
            "filters": {"region": self.filters.region, "band": self.filters.band},
            "available_filters": {"regions": self.regions, "bands": self.bands},
            "messages": self.messages, "k": self.k, "models": self.models,
            "verdict": self.analysis.verdict.to_dict() if self.analysis else None,
            "outcomes": outcomes,
            "performance": None if self.performance is None else {
                "before": self.performance.before, "after": self.performance.after,
                "metrics": {metric: {m: {"before": v.before.mean, "after": v.after.mean, "n": v.n}
                                     for m, v in values.items()}
                            for metric, values in self.performance.metrics.items()},
                "changes": self.performance.changes},
            "team_link": link,
            "reliability": [{"scale": r.scale, "alpha": _clean(r.alpha), "n": r.n, "low": list(r.low),
                             "by_model": {m: _clean(a) for m, a in r.by_group.items()}} for r in self.reliabilities],
            "response_rates": [asdict(rate) for rate in self.rates],
            "sessions": [{**{key: value for key, value in s.to_dict().items() if key != "reps"}, "n": s.reps}
                         for s in self.sessions],
            "comments": self.comments,
            "trend": {"outcome": self.trend.outcome,
                      "values": {m: {w: {"mean": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high}
                                     for w, d in waves.items()}
                                 for m, waves in self.trend.means.items()}},
        }


def _clean(value):
    return None if value is None or not np.isfinite(value) else float(value)


def _visible_waves(study: Study, role: Role, today: date) -> list[Wave]:
    """Leaders see closed waves; consultants also waves that are open."""
    if role is Role.LEADER:
        return [w for w in study.waves if w.closes_on < today]
    return [w for w in study.waves if w.opens_on <= today]


def data_version(study: Study) -> tuple:
    """Changes whenever anything the report reads changes (cheap aggregate queries)."""
    org = study.organisation_id
    responses = db.session.execute(select(func.count(), func.count(func.distinct(Response.wave_id)))
                                   .where(Response.study_id == study.id)).one()
    performance = db.session.execute(select(func.count(), func.max(PerformanceRecord.id), func.sum(
        PerformanceRecord.quota_attainment)).join(Rep).where(Rep.organisation_id == org)).one()
    sessions = db.session.execute(select(func.count(), func.max(CoachingSession.id)).where(
        CoachingSession.organisation_id == org)).one()
    changes = db.session.scalar(select(func.count(AssignmentChange.id)).join(Assignment).where(
        Assignment.study_id == study.id))
    assignments = db.session.execute(select(func.count(), func.sum(Assignment.id)).where(
        Assignment.study_id == study.id)).one()
    invitations = db.session.scalar(select(func.count()).select_from(Invitation).join(Wave).where(
        Wave.study_id == study.id, Invitation.used.is_(True)))
    questions = db.session.scalar(select(func.count()).select_from(Question).where(Question.study_id == study.id))
    reps = db.session.execute(select(func.count(), func.sum(Rep.team_id)).where(
        Rep.organisation_id == org, Rep.active.is_(True))).one()
    waves = tuple((w.label, w.opens_on, w.closes_on) for w in study.waves)
    return (tuple(responses), tuple(performance), tuple(sessions), changes, invitations, questions, tuple(reps),
            waves, tuple(assignments), study.status.value, study.primary_outcome, study.k_threshold,
            date.today())


def build_report(study: Study, args: Mapping, role: Role, today: date | None = None) -> Report:
    """The report of ``study`` for the filters in ``args``, as ``role`` may see it (cached)."""
    today = today or date.today()
    filters, messages = parse_filters(args)
    visible = _visible_waves(study, role, today)
    if not visible:
        first = min(study.waves, key=lambda w: w.closes_on, default=None)
        if first is None:
            raise ReportUnavailable("This study has no survey wave yet.", study)
        if role is Role.LEADER:
            text = (f"No results yet: the first wave (“{first.label}”) closes on {first.closes_on:%d %B %Y}. "
                    "Results appear here once it has closed.")
        else:
            text = (f"No results yet: the first wave (“{first.label}”) opens on {first.opens_on:%d %B %Y}. "
                    "Interim results appear here once it has opened.")
        raise ReportUnavailable(text, study)
    default = next((w for w in sorted(visible, key=lambda w: w.closes_on, reverse=True) if w.closes_on < today),
                   max(visible, key=lambda w: w.opens_on))
    wave = default
    if filters.wave is not None:
        match = next((w for w in visible if w.label == filters.wave), None)
        if match is None:
            messages.append(f"There is no wave “{filters.wave}” to show; showing “{default.label}”.")
        else:
            wave = match
    key = (study.id, wave.id, filters.region, filters.band, role.value, data_version(study))
    reports = cache.named("reports", CACHE_SIZE)
    cached = reports.get(key)
    if cached is not None:
        return _with_messages(cached, messages)
    report = _compute(study, wave, visible, filters, messages, today, key)
    reports.put(key, report)
    return report


def _with_messages(report: Report, messages: list[str]) -> Report:
    """The cached report with this request's messages (the numbers do not depend on them)."""
    return replace(report, messages=list(messages) + [m for m in report.messages if m not in messages])


def _team_bands(sizes: dict[int, int]) -> dict[int, str]:
    return {team: band_of(size) for team, size in sizes.items()}


def _survey_frame(study: Study, wave: Wave, sizes: dict[int, int]) -> pd.DataFrame:
    scores = frames.response_scores(study.id, wave.id)
    scores["band"] = scores["team"].map(_team_bands(sizes)).fillna(band_of(0))
    scores["region"] = scores["region"].fillna("(no region)")
    # Categories make the many group comparisons that follow cheap.
    for column in ("coaching_model", "region", "band"):
        scores[column] = scores[column].astype("category")
    return scores


def _in_view(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    selected = frame
    if filters.region is not None:
        selected = selected[selected["region"] == filters.region]
    if filters.band is not None:
        selected = selected[selected["band"] == filters.band]
    return selected


def _compute(study, wave, visible, filters, messages, today, version) -> Report:
    models = [m.value for m in study.coaching_models]
    k = study.k_threshold
    sizes = team_sizes(study.organisation_id)
    survey = _survey_frame(study, wave, sizes)
    reps = frames.assigned_reps(study.id)
    regions = sorted(survey["region"].unique()) if not survey.empty else []
    bands = [label for label, _, _ in BANDS if label in set(survey["band"])] if not survey.empty else []
    if filters.region is not None and filters.region not in regions:
        messages.append(f"There is no region “{filters.region}” in this wave; showing all regions.")
        filters = Filters(filters.wave, None, filters.band)
    if filters.band is not None and filters.band not in bands:
        messages.append(f"There is no team-size band “{filters.band}”; showing all team sizes.")
        filters = Filters(filters.wave, filters.region, None)
    dimensions = [c for c in survey.columns if c not in ("response", "wave", "coaching_model", "team", "region",
                                                           "band")]
    disclosure = decide(survey, dimensions, k, regions=regions, bands=bands) if not survey.empty else None
    view = _in_view(survey, filters)
    rows: list[OutcomeRow] = []
    order = survey_order()
    ordered = [d for d in order if d in dimensions] + sorted(d for d in dimensions if d not in order)
    for key in ordered:
        shown = disclosure.shown_models(filters.view, key, models) if disclosure else []
        hidden = [m for m in models if m not in shown]
        rows.append(_compare(view, key, shown, hidden, k, cluster="team", scale=outcome(key).scale))
    performance, perf_rows, link = _performance(study, wave, filters, models, k, sizes, view, reps)
    rows += perf_rows
    session_rows, sessions = _sessions(study, filters, models, k, sizes, reps)
    rows += session_rows
    compared = [row.comparison for row in rows if row.comparison is not None]
    analysis = None
    if compared:
        primary = study.primary_outcome
        if primary not in {c.outcome for c in compared}:
            messages.append(f"The primary outcome ({outcome(primary).sentence}) cannot be compared in this view; "
                            f"the verdict leads with {compared[0].label} instead.")
            primary = compared[0].outcome
        reliabilities = _reliability(study, wave, view, disclosure, filters, models)
        allocation = allocation_check(study)
        design = DesignFacts(allocation=allocation, reliability=tuple(reliabilities))
        analysis = assemble(compared, "coaching_model", models, primary, design, cluster="team")
        # The assembled comparisons carry the multiplicity correction; the verdict a sentence on each.
        by_key = {c.outcome: c for c in analysis.outcomes}
        findings = {f.outcome: f.text for f in analysis.verdict.findings}
        rows = [replace(row, comparison=by_key[row.key], finding=findings.get(row.key))
                if row.comparison is not None else row for row in rows]
    else:
        reliabilities = []
        messages.append(f"Too few responses in this view: no coaching model has at least {k} responses "
                        "on any outcome.")
    per_model, _, _ = response_rates(study, wave)
    rates = [ResponseRate(r.name, r.invited, r.responses if r.responses is not None and r.responses >= k else None)
             for r in per_model]
    comments, note = _comments(study, wave, filters, models)
    trend_outcome = study.primary_outcome if study.primary_outcome in dimensions else (
        "satisfaction" if "satisfaction" in dimensions else None)
    trend = Trend(trend_outcome, _trend(study, visible, filters, models, k, sizes, trend_outcome,
                                        {wave.id: (survey, disclosure)}) if trend_outcome else {})
    return Report(study_id=study.id, study_name=study.name, organisation=study.organisation.name, wave=wave.label,
                  wave_closed=wave.closes_on < today, waves=[w.label for w in visible], filters=filters,
                  regions=regions, bands=bands, messages=messages, k=k, models=models, analysis=analysis, rows=rows,
                  performance=performance, link=link, reliabilities=reliabilities, rates=rates, comments=comments,
                  comments_note=note, comment_threshold=study.comment_threshold, trend=trend, sessions=sessions,
                  version=version)


def _compare(frame, key, shown, hidden, k, cluster=None, baseline=None, scale=None, label=None) -> OutcomeRow:
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


def _rep_view(frame: pd.DataFrame, filters: Filters, sizes: dict[int, int]) -> pd.DataFrame:
    frame = frame.assign(band=frame["team"].map(_team_bands(sizes)).fillna(band_of(0)),
                         region=frame["region"].fillna("(no region)"))
    frame["coaching_model"] = frame["coaching_model"].astype("category")
    return _in_view(frame, filters)


def _performance(study, wave, filters, models, k, sizes, survey_view, assigned):
    before, after = _periods(study, wave)
    if before is None or after is None:
        return None, [], None
    reps = _rep_view(frames.rep_performance(study.id, before, after, assigned), filters, sizes)
    rows, metrics, changes = [], {}, {}
    for metric in PERFORMANCE:
        data = reps.rename(columns={f"{metric}_after": metric})
        complete = data.dropna(subset=[metric, f"{metric}_before"])
        counts = complete.groupby("coaching_model").size()
        shown = [m for m in models if counts.get(m, 0) >= k]
        hidden = [m for m in models if m not in shown]
        if complete.empty:
            continue
        rows.append(_compare(complete, metric, shown, hidden, k, cluster="team", baseline=f"{metric}_before",
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


def _sessions(study, filters, models, k, sizes, assigned):
    reps = frames.rep_sessions(study.id, assigned)
    if reps.empty or int(reps["months"].max()) == 0:
        return [], []
    reps = _rep_view(reps, filters, sizes)
    reps = reps.assign(sessions_per_rep_month=reps["sessions"] / reps["months"])
    counts = reps.groupby("coaching_model").size()
    shown = [m for m in models if counts.get(m, 0) >= k]
    hidden = [m for m in models if m not in shown]
    row = _compare(reps, "sessions_per_rep_month", shown, hidden, k, cluster="team")
    return [row], list(session_rates(reps[reps["coaching_model"].isin(shown)], levels=tuple(shown)))


def _reliability(study, wave, view, disclosure, filters, models) -> list[Reliability]:
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
        value = reliability(subset, outcome(dimension).sentence, keys, [q.key for q in members if q.reverse_scored],
                            "coaching_model", shown, scale.scale_min, scale.scale_max)
        by_group = {m: a for m, a in value.by_group.items() if value.n_by_group.get(m, 0) >= study.k_threshold}
        result.append(Reliability(value.scale, value.items, value.alpha, value.n, by_group,
                                  {m: n for m, n in value.n_by_group.items() if m in by_group}, value.low))
    return result


def _comments(study, wave, filters, models) -> tuple[dict[str, list[str]] | None, str]:
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


def _trend(study, waves, filters, models, k, sizes, outcome, known) -> dict[str, dict[str, GroupDescriptives]]:
    """An outcome's mean per model in each visible wave, under each wave's own anonymity rules."""
    result: dict[str, dict[str, GroupDescriptives]] = {}
    for wave in sorted(waves, key=lambda w: w.opens_on):
        frame, disclosure = known.get(wave.id, (None, None))
        if frame is None:
            frame = _survey_frame(study, wave, sizes)
        if frame.empty or outcome not in frame:
            continue
        regions = sorted(frame["region"].unique())
        bands = [label for label, _, _ in BANDS if label in set(frame["band"])]
        if (filters.region and filters.region not in regions) or (filters.band and filters.band not in bands):
            continue
        if disclosure is None:
            disclosure = decide(frame, [outcome], k, regions=regions, bands=bands)
        view = _in_view(frame, filters)
        for model in disclosure.shown_models(filters.view, outcome, models):
            values = view.loc[view["coaching_model"] == model, outcome].dropna().to_numpy()
            if len(values) >= 2:
                result.setdefault(model, {})[wave.label] = describe_group(model, values)
    return result
