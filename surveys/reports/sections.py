"""The sections of the report, each built from its frames under the anonymity rules: the outcome
comparisons, CRM performance before and after, coaching sessions logged, reliability, comments and
the trend across waves.

Every builder returns only numbers that may be shown: models with fewer than k responses (or reps)
in view, or that could be worked out from any combination of other views, are named as hidden
instead. What may be shown is read from the patterns of ``surveys.disclosure``, decided once per
data version over the whole cube of views (and the export), never decided here for one view.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from dataclasses import asdict, dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
from flask import current_app, has_app_context
from scipy import stats
from sqlalchemy import select

from analysis.baseline import difference_in_differences
from analysis.clustered import TeamLink, team_link
from analysis.comparison import OutcomeComparison, compare_outcome
from analysis.describe import AnswerShares, GroupDescriptives, describe_group, session_rates
from analysis.disclosure import CATEGORIES, answer_category
from analysis.randomisation import RandomisationPlan
from analysis.scales import Reliability, reliability

from .. import frames
from ..disclosure import rep_pattern, survey_frame, wave_pattern
from ..extensions import db
from ..models import PerformanceRecord, Rep, Study, Wave
from ..outcomes import PERFORMANCE, outcome
from ..studies import pre_intervention  # noqa: F401  (the report asks ``build.pre_intervention``)
from .filters import Filters, in_view, rep_view

ALPHA_SAMPLE = 1000  # responses per model for Cronbach's α: its standard error is then about 0.01


# Revenue is shown in the organisation's currency, whole units: the ``CURRENCY`` setting (app config,
# or the environment variable of that name), an ISO code. CRM files carry amounts without one.
DEFAULT_CURRENCY = "USD"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}


def currency() -> str:
    """The ISO code revenue is written in (``CURRENCY``; default USD)."""
    configured = current_app.config.get("CURRENCY") if has_app_context() else None
    return str(configured or os.environ.get("CURRENCY", "").strip() or DEFAULT_CURRENCY).upper()


def currency_prefix() -> str:
    """What goes before an amount of money in a sentence: "$", "€", or the code and a space ("CHF ")."""
    code = currency()
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def format_value(key: str, value) -> str:
    """A mean of outcome ``key`` as a reader expects it: revenue in whole currency units ("$255,476"),
    win rate and quota attainment in percent ("26.4 %", "103.0 %"), other outcomes with two decimals."""
    if value is None or not np.isfinite(value):
        return "—"
    if key == "revenue":
        code = currency()
        sign, amount = ("-" if value < 0 else ""), f"{abs(value):,.0f}"
        symbol = CURRENCY_SYMBOLS.get(code)
        return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {code}"
    if key == "win_rate":
        return f"{value * 100:.1f} %"
    if key == "quota_attainment":
        return f"{value:.1f} %"
    return f"{value:,.2f}"


@dataclass(frozen=True)
class AdjustedMean:
    """A model's mean after, adjusted for the period before: the fitted model's prediction for a rep at
    the mean baseline of all reps compared (an estimated marginal mean), with its 95 % CI, over ``n`` reps."""

    group: str
    mean: float
    ci_low: float
    ci_high: float
    n: int


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
    # Outcomes compared with a baseline: the headline model's means at the mean baseline, by model
    # (None where the headline test adjusts nothing, e.g. team means): their differences are the
    # ones the finding quotes.
    adjusted: dict[str, AdjustedMean] | None = None

    def show(self, value) -> str:
        """A mean of this outcome as the report writes it (currency, percent or two decimals)."""
        return format_value(self.key, value)

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

    @staticmethod
    def show(metric: str, value) -> str:
        """A metric's value as the report writes it (currency, percent)."""
        return format_value(metric, value)

    @property
    def currency(self) -> str:
        """The ISO code revenue is written in."""
        return currency()


# Outcomes whose values cannot leave a range, for "cannot detect any difference within the scale" (D8).
BOUNDS = {"win_rate": (0.0, 1.0)}


def compare(frame, key, shown, hidden, k, cluster=None, baseline=None, scale=None, label=None,
            bounds=None, randomisation: RandomisationPlan | None = None) -> OutcomeRow:
    """The row of outcome ``key``: the ``shown`` models compared, or why they are not.

    ``randomisation`` is the study's randomisation (``surveys.pilots.randomisation.randomisation_plan``):
    with fewer than six teams in a shown model the headline re-runs it on the teams' means.
    """
    about = outcome(key)
    label = label or about.sentence
    if len(shown) < 2:
        note = (f"Fewer than {k} responses (or a number that could be worked out from other views) for "
                f"{', '.join(hidden) or 'the models'}: not enough to compare.")
        return OutcomeRow(key, label, about.section, None, hidden, note)
    try:
        comparison = compare_outcome(frame, key, "coaching_model", shown, cluster=cluster, baseline=baseline,
                                     label=label, scale=scale, unit=about.unit, unit_scale=about.unit_scale,
                                     bounds=bounds if bounds is not None else BOUNDS.get(key),
                                     randomisation=randomisation)
    except ValueError as error:
        return OutcomeRow(key, label, about.section, None, hidden, f"Not compared: {error}.")
    if comparison.distribution is not None:
        comparison = replace(comparison, distribution=_collapsed(frame, key, shown, scale))
    note = (f"Not shown (fewer than {k} responses, or could be worked out from other views): "
            f"{', '.join(hidden)}.") if hidden else None
    return OutcomeRow(key, label, about.section, comparison, hidden, note)


def _collapsed(frame, key, shown, scale) -> tuple[AnswerShares, ...] | None:
    """Answer shares per shown model in three categories — below the scale's midpoint, at it, above it.

    The anonymity rules (``analysis.disclosure``, rule 3) let a rating item's cell show only when
    each of these categories holds 0 or at least k of its responses and no category holds them
    all, in the cell and in every set that shown cells isolate: shares per single answer could
    tell that one person chose "disagree" (security review F17), these cannot.
    """
    if not scale:
        return None
    low, high = min(scale), max(scale)
    result = []
    for model in shown:
        values = frame.loc[frame["coaching_model"] == model, key].dropna().to_numpy()
        if not len(values):
            continue
        categories = answer_category(values, low, high)
        result.append(AnswerShares(group=model, n=len(values),
                                   shares={c: float((categories == c).mean()) for c in CATEGORIES}))
    return tuple(result)


def _periods(study: Study, wave: Wave) -> tuple[str | None, str | None]:
    """The CRM period before the study's first wave, and the latest one after it up to this wave's close."""
    first_open = min(w.opens_on for w in study.waves)
    periods = db.session.execute(select(PerformanceRecord.period, PerformanceRecord.period_start).join(Rep)
                                 .where(Rep.organisation_id == study.organisation_id).distinct()
                                 .order_by(PerformanceRecord.period_start)).all()
    before = [p for p, start in periods if start < first_open]
    after = [p for p, start in periods if first_open <= start <= wave.closes_on]
    return (before[-1] if before else None), (after[-1] if after else None)


def performance(study, wave, filters, models, k, sizes, survey_view, assigned, version, linkable=(),
                randomisation=None):
    """CRM metrics before and after per model, their comparisons (adjusted for before), the team-level link,
    and the reps in view each metric's comparison rests on (by metric: for the margins, chances and costs).

    A model's figures rest on its reps with both periods; which may be shown is decided over every
    view of the study at once (``rep_pattern``), counted in reps, so no region minus its bands (or
    any other combination) gives a few reps' figures (security review F11). ``linkable``: the
    models whose satisfaction may be shown in this view (the wave's pattern), for the team link.
    """
    before, after = _periods(study, wave)
    if before is None or after is None:
        return None, [], None, {}
    every = rep_view(frames.rep_performance(study.id, before, after, assigned), Filters(), sizes)
    both = every.assign(**{metric: every[f"{metric}_after"].where(every[f"{metric}_before"].notna())
                           for metric in PERFORMANCE})
    pattern = rep_pattern(study, ("crm", before, after), both, list(PERFORMANCE), version)
    reps = in_view(every, filters)
    rows, metrics, changes, compared = [], {}, {}, {}
    for metric in PERFORMANCE:
        data = reps.rename(columns={f"{metric}_after": metric})
        complete = data.dropna(subset=[metric, f"{metric}_before"])
        compared[metric] = complete
        shown = pattern.shown_models(filters.view, metric, models)
        hidden = [m for m in models if m not in shown]
        if complete.empty:
            continue
        row = compare(complete, metric, shown, hidden, k, cluster="team", baseline=f"{metric}_before",
                      label=f"{outcome(metric).sentence}, {after} adjusted for {before}", randomisation=randomisation)
        if row.comparison is not None:
            row = replace(row, adjusted=adjusted_means(complete, metric, f"{metric}_before", "team",
                                                       row.comparison))
        rows.append(row)
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
    link = _team_link(survey_view, reps, linkable, pattern.shown_models(filters.view, "quota_attainment", models), k)
    return PerformanceSection(before, after, metrics, changes), rows, link, compared


def adjusted_means(frame: pd.DataFrame, dv: str, baseline: str, cluster: str,
                   comparison: OutcomeComparison) -> dict[str, AdjustedMean] | None:
    """The compared models' means of ``dv`` at the mean ``baseline``, from the model behind the headline.

    Mixed model: its fixed effects re-solved by generalised least squares at the fitted variance
    ratio γ = τ²/σ² (per-team sums, as ``analysis.clustered``), the prediction for each model at the
    grand mean of the baseline over the reps compared, its SE from σ² (XᵀWX)⁻¹ and a t interval on
    the arm's degrees of freedom. ANCOVA: its adjusted means. Differences between these means are
    exactly the contrasts the finding quotes. Only rows of the compared (shown) models enter.
    """
    levels = comparison.levels
    data = frame[frame["coaching_model"].astype(str).isin(levels)].dropna(subset=[dv, baseline, cluster])
    counts = {d.group: d.n for d in comparison.descriptives}
    if comparison.chosen == "ancova" and comparison.ancova is not None:
        df = comparison.ancova.n - len(levels) - 1
        half = float(stats.t.ppf(0.975, df))
        return {a.group: AdjustedMean(a.group, a.mean, a.mean - half * a.se, a.mean + half * a.se, counts[a.group])
                for a in comparison.ancova.adjusted_means}
    fit = comparison.mixed_model
    if comparison.chosen != "mixed_model" or fit is None or not fit.converged or len(data) != fit.n:
        return None
    model = data["coaching_model"].astype(str).to_numpy()
    x = np.column_stack([np.ones(len(data))] + [(model == level).astype(float) for level in levels[1:]]
                        + [data[baseline].to_numpy(float)])
    y = data[dv].to_numpy(float)
    groups = pd.factorize(data[cluster])[0]
    gamma = fit.var_cluster / fit.var_residual
    sizes = np.bincount(groups).astype(float)
    sums_x = np.zeros((len(sizes), x.shape[1]))
    np.add.at(sums_x, groups, x)
    sums_y = np.bincount(groups, weights=y)
    c = gamma / (1 + sizes * gamma)
    inverse = np.linalg.inv(x.T @ x - sums_x.T @ (c[:, None] * sums_x))
    beta = inverse @ (x.T @ y - sums_x.T @ (c * sums_y))
    estimates = [effect.estimate for effect in fit.arm_effects]
    if not np.allclose(beta[1:len(levels)], estimates, rtol=1e-6, atol=1e-9 * max(1.0, float(np.abs(y).max()))):
        return None  # not the fitted model's rows: show nothing rather than means that disagree
    covariance = fit.var_residual * inverse
    half = float(stats.t.ppf(0.975, fit.arm_effects[0].df))
    result = {}
    for index, level in enumerate(levels):
        weights = np.zeros(x.shape[1])
        weights[0], weights[-1] = 1.0, float(x[:, -1].mean())
        if index:
            weights[index] = 1.0
        mean, se = float(weights @ beta), float(np.sqrt(weights @ covariance @ weights))
        result[level] = AdjustedMean(level, mean, mean - half * se, mean + half * se, counts[level])
    return result


def _team_link(survey_view, reps, survey_shown, quota_shown, k) -> TeamLink | None:
    """Team-mean satisfaction against team-mean quota attainment (after), over the teams in view.

    Only teams with at least k satisfaction responses and k reps with both CRM periods count, and
    only of models whose satisfaction and quota attainment may both be shown in this view; the
    report shows r with its CI (overall and per model, each over at least four teams), never a
    team's own figures, so no team's mean can be read from it.
    """
    models = [m for m in survey_shown if m in quota_shown]
    if len(models) < 1 or survey_view.empty or "satisfaction" not in survey_view:
        return None
    answers = survey_view[survey_view["coaching_model"].isin(models)].dropna(subset=["satisfaction"])
    satisfaction = answers.groupby("team", observed=True).agg(satisfaction=("satisfaction", "mean"),
                                                              responses=("satisfaction", "size"))
    quota = reps[reps["coaching_model"].isin(models)].dropna(subset=["quota_attainment_before",
                                                                     "quota_attainment_after"])
    quota = quota.groupby("team").agg(quota_attainment=("quota_attainment_after", "mean"),
                                      reps=("quota_attainment_after", "size"),
                                      coaching_model=("coaching_model", "first"))
    teams = satisfaction[satisfaction["responses"] >= k].join(quota[quota["reps"] >= k], how="inner").dropna()
    if len(teams) < 4:
        return None
    try:
        return team_link(teams.reset_index(), "satisfaction", "quota_attainment", "coaching_model",
                         tuple(m for m in models if m in set(teams["coaching_model"])))
    except ValueError:
        return None


def session_period(study: Study, wave: Wave) -> tuple[date | None, date]:
    """The period whose coaching sessions a wave reports: after the last wave that closed before this one
    opened (exclusive; none: from the start of the log) up to this wave's close (inclusive).

    What the reps rated when they answered: the coaching since the previous survey, up to this one.
    Sessions logged later belong to a later wave; a baseline that closed before any session of the
    pilot was logged has none.
    """
    earlier = [w.closes_on for w in study.waves if w.id != wave.id and w.closes_on < wave.opens_on]
    return (max(earlier) if earlier else None), wave.closes_on


def sessions(study, wave, filters, models, k, sizes, assigned, version, randomisation=None):
    """Logged coaching sessions per rep per month in the wave's period (``session_period``): the
    comparison row and the rates per shown model (every assigned rep counts, decided over all views at
    once like the CRM figures)."""
    after, until = session_period(study, wave)
    reps = frames.rep_sessions(study.id, assigned, after, until)
    if reps.empty or int(reps["months"].max()) == 0:
        return [], []
    every = rep_view(reps, Filters(), sizes)
    every = every.assign(sessions_per_rep_month=every["sessions"] / every["months"])
    pattern = rep_pattern(study, ("sessions", after, until), every, ["sessions_per_rep_month"], version)
    reps = in_view(every, filters)
    shown = pattern.shown_models(filters.view, "sessions_per_rep_month", models)
    hidden = [m for m in models if m not in shown]
    row = compare(reps, "sessions_per_rep_month", shown, hidden, k, cluster="team", randomisation=randomisation)
    return [row], list(session_rates(reps[reps["coaching_model"].isin(shown)], levels=tuple(shown)))


def reliabilities(study, wave, view, disclosure, filters, models) -> list[Reliability]:
    """Cronbach's α of every scale of several items, over the models whose α may be shown in this view.

    α rests on the responses that answered every item of the scale; the pattern decides those
    cells like any other (rule 5 of ``analysis.disclosure``), and ``n`` is their exact count. α
    itself is estimated from a fixed sample of at most ``ALPHA_SAMPLE`` responses per model.
    """
    if view.empty or disclosure is None:
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
        shown = [m for m in models if disclosure.alpha_shown(filters.view, m, dimension)]
        subset = data[data["coaching_model"].isin(shown)]
        if not shown or subset.empty:
            continue
        scale = members[0]
        try:
            value = reliability(subset, keys, "coaching_model", shown, scale=outcome(dimension).sentence,
                                reverse=[q.key for q in members if q.reverse_scored], scale_min=scale.scale_min,
                                scale_max=scale.scale_max, missing="listwise")  # disclosure counts complete answers
        except ValueError:
            continue
        counts = {m: disclosure.alpha_counts[(filters.view, m, dimension)] for m in shown}
        by_group = {m: a for m, a in value.by_group.items() if m in counts}
        result.append(Reliability(value.scale, value.items, value.alpha, sum(counts.values()), by_group,
                                  {m: counts[m] for m in by_group}, value.low))
    return result


def comments(study, wave, filters, models, secret: bytes) -> tuple[dict[str, list[str]] | None, str]:
    """Comments per model where at least ``comment_threshold`` people left one, never in filtered views.

    People, not texts, are counted: with questions of the study's own a rep can leave several
    texts, and a model with four respondents must not pass a threshold of ten on their twelve texts
    (adversarial review F-A).
    The order is fixed per wave and says nothing about who answered when: texts are sorted, then
    shuffled with a seed derived from the application's secret key, so a rebuilt report (a new
    response to another wave, a restart) shows the same order (adversarial review F-B).
    """
    threshold = study.comment_threshold
    if filters.filtered:
        return None, "Comments are shown only without filters, so that they cannot be traced to a region or team."
    frame = frames.comments(study.id, wave.id)
    shown, withheld = {}, []
    for model in models:
        part = frame[frame["coaching_model"] == model]
        if part["response"].nunique() >= threshold:
            texts = sorted(part["text"].tolist())
            seed = hmac.new(secret, f"comments:{study.id}:{wave.id}:{model}".encode(), hashlib.sha256).digest()
            random.Random(seed).shuffle(texts)  # noqa: S311 -- a fixed order from a secret seed, not a secret
            shown[model] = texts
        else:
            withheld.append(model)
    note = (f"Comments appear per model only where at least {threshold} people left one, in random order and "
            "without dates." + (f" Not enough comments yet for: {', '.join(withheld)}." if withheld else ""))
    return shown, note


def trend(study, waves, filters, models, outcome, known) -> dict[str, dict[str, GroupDescriptives]]:
    """An outcome's mean per model in each visible wave, as each wave's own pattern allows
    (``known``: the survey frames already read, by wave id)."""
    result: dict[str, dict[str, GroupDescriptives]] = {}
    for wave in sorted(waves, key=lambda w: w.opens_on):
        frame = known[wave.id] if wave.id in known else survey_frame(study, wave)
        pattern = wave_pattern(study, wave, frame)
        if frame.empty or outcome not in frame:
            continue
        if (filters.region and filters.region not in pattern.regions) or (
                filters.band and filters.band not in pattern.bands):
            continue
        view = in_view(frame, filters)
        for model in pattern.shown_models(filters.view, outcome, models):
            values = view.loc[view["coaching_model"] == model, outcome].dropna().to_numpy()
            if len(values) >= 2:
                result.setdefault(model, {})[wave.label] = describe_group(model, values)
    return result


@dataclass(frozen=True)
class FlowRow:
    """One model's line of the flow: teams and reps randomised, reps invited to the wave, responses counted,
    and the reps whose answers (or CRM records) each deciding outcome rests on (None: hidden or not compared)."""

    model: str
    teams: int
    reps: int
    invited: int | None
    responded: int | None
    analysed_primary: int | None
    analysed_quota: int | None


@dataclass(frozen=True)
class BaselineRow:
    """One model at the start (CONSORT cluster item 15): its teams' sizes (team level) and, at rep level,
    quota attainment in the CRM period before and the primary outcome in the baseline wave, as the report
    shows them elsewhere (None: not measured, or hidden by the anonymity rules there)."""

    model: str
    teams: int
    size_mean: float | None
    size_min: int | None
    size_max: int | None
    quota_before: float | None
    quota_reps: int | None
    primary_baseline: float | None
    primary_n: int | None


@dataclass(frozen=True)
class Flow:
    """From randomisation to analysis (CONSORT 2010 cluster extension, items 13a and 17a), for one wave."""

    wave: str
    rows: tuple[FlowRow, ...]
    primary_label: str
    icc: object | None  # analysis.icc.Icc of the primary outcome
    icc_note: str | None = None
    baseline: tuple[BaselineRow, ...] = ()
    baseline_wave: str | None = None

    def to_dict(self) -> dict:
        return {"wave": self.wave, "models": [{"model": r.model, "teams": r.teams, "reps": r.reps, "invited": r.invited,
                                               "responded": r.responded, "analysed_primary": r.analysed_primary,
                                               "analysed_quota": r.analysed_quota} for r in self.rows],
                "icc": None if self.icc is None else {**self.icc.to_dict(), "words": self.icc.words()},
                "icc_note": self.icc_note, "baseline_wave": self.baseline_wave,
                "baseline": [asdict(row) for row in self.baseline]}


def baseline_rows(study, models, reps, performance, trend, baseline_wave) -> tuple[BaselineRow, ...]:
    """The baseline table per model: team sizes in the reps the study counts (``frames.assigned_reps``:
    frozen from the first closed wave on, so a later roster edit changes nothing), and the rep-level
    numbers the report already shows — quota attainment before (``performance``) and the trend's outcome
    in ``baseline_wave`` (``trend``: model → wave → descriptives)."""
    counted = reps.groupby("team").size().to_dict() if not reps.empty else {}
    by_model: dict[str, list[int]] = {m: [] for m in models}
    for a in study.assignments:
        if a.team_id is not None and a.coaching_model.value in by_model:
            by_model[a.coaching_model.value].append(int(counted.get(a.team_id, 0)))
    quota = (performance.metrics.get("quota_attainment", {}) if performance is not None else {})
    result = []
    for m in models:
        team_sizes_ = by_model[m]
        before = quota.get(m).before if m in quota else None
        base = (trend or {}).get(m, {}).get(baseline_wave) if baseline_wave else None
        result.append(BaselineRow(
            m, len(team_sizes_), float(np.mean(team_sizes_)) if team_sizes_ else None,
            min(team_sizes_) if team_sizes_ else None, max(team_sizes_) if team_sizes_ else None,
            before.mean if before is not None else None, before.n if before is not None else None,
            base.mean if base is not None else None, base.n if base is not None else None))
    return tuple(result)


def flow(study, wave_label, models, reps, rates, rows, primary, primary_frame) -> Flow:
    """The flow of teams and reps per model, and the ICC of the primary outcome with its interval."""
    from analysis.icc import icc_interval
    teams = {m: 0 for m in models}
    for a in study.assignments:
        if a.team_id is not None and a.coaching_model.value in teams:
            teams[a.coaching_model.value] += 1
    per_model = reps["coaching_model"].value_counts().to_dict() if not reps.empty else {}
    rates_by = {r.model: r for r in rates}

    def analysed(key):
        row = next((r for r in rows if r.key == key), None)
        return {} if row is None or row.comparison is None else {d.group: d.n for d in row.comparison.descriptives}

    on_primary, on_quota = analysed(primary), analysed("quota_attainment")
    lines = tuple(FlowRow(m, teams.get(m, 0), int(per_model.get(m, 0)),
                          rates_by[m].invited if m in rates_by else None, rates_by[m].n if m in rates_by else None,
                          on_primary.get(m), on_quota.get(m)) for m in models)
    icc, note = None, None
    shown = list(on_primary)
    if primary_frame is not None and len(shown) >= 2 and primary in primary_frame:
        try:
            icc = icc_interval(primary_frame[primary_frame["coaching_model"].isin(shown)], primary, "team",
                               between="coaching_model")
        except ValueError as error:
            note = f"No ICC: {error}"
    return Flow(wave_label, lines, outcome(primary).sentence, icc, note)
