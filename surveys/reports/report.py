"""The comparison report of a study: data from the database, statistics from ``analysis``, numbers
only where the anonymity rules allow them.

``build_report`` is the one service the report pages, the JSON, the exports, the charts and the
``report`` command share. Results are cached per study, view and data version, so a second
request for the same view costs a dictionary lookup.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from analysis.baseline import difference_in_differences
from analysis.clustered import TeamLink, team_link
from analysis.comparison import Analysis, OutcomeComparison, assemble, compare_outcome
from analysis.describe import describe_group, session_rates
from analysis.disclosure import View, decide
from analysis.scales import Reliability, reliability
from analysis.verdict import DesignFacts

from .. import cache, frames
from ..extensions import db
from ..instruments import builtin
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
from ..studies import allocation_check, response_rates

BANDS = (("up to 7 reps", 0, 7), ("8 to 10 reps", 8, 10), ("11 or more reps", 11, 10**9))
SECTIONS = {
    "responsibilities": ("coaching", "mentoring", "motivating", "accountability", "onboarding"),
    "claims": ("candour", "expertise", "availability", "sessions_per_rep_month"),
    "overall": ("satisfaction", "recommend"),
    "performance": ("quota_attainment", "win_rate", "revenue"),
}
EXTRA_LABELS = {"satisfaction": "overall satisfaction", "recommend": "would recommend (0–10)",
                "sessions_per_rep_month": "coaching sessions per rep per month",
                "quota_attainment": "quota attainment (%)", "win_rate": "win rate", "revenue": "revenue"}
SCALES = {"satisfaction": (1.0, 2.0, 3.0, 4.0, 5.0), "recommend": tuple(float(i) for i in range(11))}
UNITS = {"quota_attainment": ("percentage points", 1.0), "win_rate": ("percentage points", 100.0),
         "revenue": ("", 1.0), "sessions_per_rep_month": ("sessions a month", 1.0)}
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


def outcome_label(key: str) -> str:
    """How an outcome is named in sentences."""
    for dimension in builtin().dimensions:
        if dimension.key == key:
            return dimension.label.lower() if dimension.label != "Coach expertise" else "coach expertise"
    return EXTRA_LABELS.get(key, key.replace("_", " "))


def section_of(key: str) -> str:
    return next((name for name, keys in SECTIONS.items() if key in keys), "custom")


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


@dataclass
class OutcomeRow:
    """One outcome of the report: its comparison, or why there is none."""

    key: str
    label: str
    section: str
    comparison: OutcomeComparison | None
    hidden_models: list[str]
    note: str | None = None


@dataclass
class PerformanceSection:
    """Before/after CRM figures per model for the reps in view."""

    before: str
    after: str
    metrics: dict[str, dict[str, tuple[tuple[float, float, float], tuple[float, float, float], int]]]
    changes: dict[str, list[dict]]


@dataclass
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
    rates: list[dict]
    comments: dict[str, list[str]] | None
    comments_note: str
    trend: dict[str, dict[str, tuple[float, float, float]]]
    trend_outcome: str | None
    sessions: list[dict]
    version: tuple = field(default=())

    @property
    def compared(self) -> list[OutcomeRow]:
        return [row for row in self.rows if row.comparison is not None]

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
                "metrics": {metric: {m: {"before": v[0][0], "after": v[1][0], "n": v[2]} for m, v in values.items()}
                            for metric, values in self.performance.metrics.items()},
                "changes": self.performance.changes},
            "team_link": link,
            "reliability": [{"scale": r.scale, "alpha": _clean(r.alpha), "n": r.n, "low": list(r.low),
                             "by_model": {m: _clean(a) for m, a in r.by_group.items()}} for r in self.reliabilities],
            "response_rates": self.rates,
            "sessions": self.sessions,
            "comments": self.comments,
            "trend": {"outcome": self.trend_outcome,
                      "values": {m: {w: {"mean": v[0], "ci_low": v[1], "ci_high": v[2]} for w, v in waves.items()}
                                 for m, waves in self.trend.items()}},
        }


def _clean(value):
    return None if value is None or not np.isfinite(value) else float(value)


def _visible_waves(study: Study, role: Role, today: date) -> list[Wave]:
    """Leaders see closed waves; consultants also waves that are open."""
    if role is Role.LEADER:
        return [w for w in study.waves if w.closes_on < today]
    return [w for w in study.waves if w.opens_on <= today]


def data_version(study: Study, today: date) -> tuple:
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
            today)


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
    key = (study.id, wave.id, filters.region, filters.band, role.value, data_version(study, today))
    reports = cache.named("reports", CACHE_SIZE)
    cached = reports.get(key)
    if cached is not None:
        return _with_messages(cached, messages)
    report = _compute(study, wave, visible, filters, messages, role, today)
    report.version = key
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


def _compute(study, wave, visible, filters, messages, role, today) -> Report:
    models = [m.value for m in study.coaching_models]
    k = study.k_threshold
    sizes = frames.team_sizes(study.organisation_id)
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
    order = [d.key for d in builtin().dimensions] + ["satisfaction", "recommend"]
    ordered = [d for d in order if d in dimensions] + sorted(d for d in dimensions if d not in order)
    for key in ordered:
        shown = disclosure.shown_models(filters.view, key, models) if disclosure else []
        hidden = [m for m in models if m not in shown]
        rows.append(_compare(view, key, shown, hidden, k, cluster="team", scale=SCALES.get(key)))
    performance, perf_rows, link = _performance(study, wave, filters, models, k, sizes, view, reps)
    rows += perf_rows
    session_rows, sessions = _sessions(study, filters, models, k, sizes, reps)
    rows += session_rows
    compared = [row.comparison for row in rows if row.comparison is not None]
    analysis = None
    if compared:
        primary = study.primary_outcome
        if primary not in {c.outcome for c in compared}:
            messages.append(f"The primary outcome ({outcome_label(primary)}) cannot be compared in this view; "
                            f"the verdict leads with {compared[0].label} instead.")
            primary = compared[0].outcome
        reliabilities = _reliability(study, wave, view, disclosure, filters, models)
        allocation = allocation_check(study)
        design = DesignFacts(allocation=allocation, reliability=tuple(reliabilities))
        analysis = assemble(compared, "coaching_model", models, primary, design, cluster="team")
        by_key = {c.outcome: c for c in analysis.outcomes}
        for row in rows:
            if row.comparison is not None:
                row.comparison = by_key[row.key]
    else:
        reliabilities = []
        messages.append(f"Too few responses in this view: no coaching model has at least {k} responses "
                        "on any outcome.")
    per_model, _, _ = response_rates(study, wave)
    rates = [{"model": r.name, "invited": r.invited,
              "n": r.responses if r.responses is not None and r.responses >= k else None} for r in per_model]
    comments, note = _comments(study, wave, filters, models)
    trend_outcome = study.primary_outcome if study.primary_outcome in dimensions else (
        "satisfaction" if "satisfaction" in dimensions else None)
    trend = _trend(study, visible, filters, models, k, sizes, trend_outcome, {wave.id: (survey, disclosure)}) \
        if trend_outcome else {}
    return Report(study_id=study.id, study_name=study.name, organisation=study.organisation.name, wave=wave.label,
                  wave_closed=wave.closes_on < today, waves=[w.label for w in visible], filters=filters,
                  regions=regions, bands=bands, messages=messages, k=k, models=models, analysis=analysis, rows=rows,
                  performance=performance, link=link, reliabilities=reliabilities, rates=rates, comments=comments,
                  comments_note=note, trend=trend, trend_outcome=trend_outcome, sessions=sessions)


def _compare(frame, key, shown, hidden, k, cluster=None, baseline=None, scale=None, label=None) -> OutcomeRow:
    unit, unit_scale = UNITS.get(key, ("points", 1.0))
    label = label or outcome_label(key)
    if len(shown) < 2:
        note = (f"Fewer than {k} responses (or a number that could be worked out from other views) for "
                f"{', '.join(hidden) or 'the models'}: not enough to compare.")
        return OutcomeRow(key, label, section_of(key), None, hidden, note)
    try:
        comparison = compare_outcome(frame, key, "coaching_model", shown, cluster=cluster, baseline=baseline,
                                     label=label, scale=scale, unit=unit, unit_scale=unit_scale)
    except ValueError as error:
        return OutcomeRow(key, label, section_of(key), None, hidden, f"Not compared: {error}.")
    note = (f"Not shown (fewer than {k} responses, or could be worked out from other views): "
            f"{', '.join(hidden)}.") if hidden else None
    return OutcomeRow(key, label, section_of(key), comparison, hidden, note)


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
    for metric in ("quota_attainment", "win_rate", "revenue"):
        data = reps.rename(columns={f"{metric}_after": metric})
        complete = data.dropna(subset=[metric, f"{metric}_before"])
        counts = complete.groupby("coaching_model").size()
        shown = [m for m in models if counts.get(m, 0) >= k]
        hidden = [m for m in models if m not in shown]
        if complete.empty:
            continue
        rows.append(_compare(complete, metric, shown, hidden, k, cluster="team", baseline=f"{metric}_before",
                             label=f"{outcome_label(metric)}, {after} adjusted for {before}"))
        values = {}
        for model in shown:
            part = complete[complete["coaching_model"] == model]
            b, a = describe_group(model, part[f"{metric}_before"].to_numpy()), describe_group(model, part[metric]
                                                                                            .to_numpy())
            values[model] = ((b.mean, b.ci_low, b.ci_high), (a.mean, a.ci_low, a.ci_high), int(len(part)))
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
    rates = [r.to_dict() for r in session_rates(reps[reps["coaching_model"].isin(shown)], levels=tuple(shown))]
    for rate in rates:
        rate["n"] = rate.pop("reps")
    return [row], rates


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
        value = reliability(subset, outcome_label(dimension), keys, [q.key for q in members if q.reverse_scored],
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


def _trend(study, waves, filters, models, k, sizes, outcome, known) -> dict[str, dict[str, tuple[float, float, float]]]:
    """An outcome's mean per model in each visible wave, under each wave's own anonymity rules."""
    result: dict[str, dict[str, tuple[float, float, float]]] = {}
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
                d = describe_group(model, values)
                result.setdefault(model, {})[wave.label] = (d.mean, d.ci_low, d.ci_high)
    return result
