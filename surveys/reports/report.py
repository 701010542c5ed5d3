"""The comparison report of a study: data from the database, statistics from ``analysis``, numbers
only where the anonymity rules allow them.

``build_report`` is the one service the report pages, the JSON, the exports, the charts and the
``report`` command share. Results are cached per study, view and data version, so a second
request for the same view costs a dictionary lookup. The sections are built in ``sections.py``,
the reader's filters read in ``filters.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from analysis.clustered import TeamLink
from analysis.comparison import Analysis, assemble
from analysis.decision import Decision, decide, not_yet
from analysis.describe import GroupDescriptives, SessionRates
from analysis.scales import Reliability
from analysis.verdict import DesignFacts

from .. import cache, frames
from ..disclosure import shown_model_counts, survey_frame, wave_pattern
from ..extensions import db
from ..interim import close_note
from ..models import (
    Assignment,
    AssignmentChange,
    AuditEvent,
    Invitation,
    Question,
    Rep,
    Response,
    Role,
    Study,
    Wave,
)
from ..outcomes import SECTIONS, outcome, survey_order
from ..studies import ANALYSIS_SETTINGS, allocation_check, randomisation_plan, response_rates, team_sizes
from . import sections as build
from .filters import Filters, in_view, parse_filters
from .languages import LanguageCounts, language_counts
from .sections import OutcomeRow, PerformanceSection
from .segments import SegmentFamily
from .segments import segments as build_segments
from .worth import WorthSection
from .worth import build as build_worth

CACHE_SIZE = 64
RECORD_IMPORTS = ("performance.imported", "sessions.imported")  # the only writers of CRM records and sessions


class ReportUnavailable(Exception):
    """There is nothing to report yet; the message says what is missing."""

    def __init__(self, message: str, study: Study):
        super().__init__(message)
        self.message = message
        self.study = study


@dataclass(frozen=True)
class ReportSection:
    """A section of the outcome tables: its name, its heading and its rows (possibly none)."""

    name: str
    title: str
    rows: list[OutcomeRow]


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
class Deviation:
    """An analysis setting changed after launch: what, from and to, why, when and by whom."""

    setting: str
    old: str
    new: str
    reason: str
    changed_on: str
    changed_by: str | None


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
    deviations: tuple[Deviation, ...] = ()
    decision: Decision | None = None  # who should coach, in words (``analysis.decision``)
    # The wave is a baseline, measured before the coaching models started (``sections.pre_intervention``):
    # nothing in it is an effect of a coaching model.
    pre_intervention: bool = False
    # Served from a stored snapshot older than the data (``surveys.reports.snapshots``): when it was built.
    stale_since: datetime | None = None
    # Is it worth it: costs, margins, chance of being best, fidelity (``surveys.reports.worth``).
    worth: WorthSection | None = None
    # From randomisation to analysis, with the ICC of the primary outcome (``sections.flow``).
    flow: build.Flow | None = None
    # With interim looks planned, what the sequential rule asks of this close (``interim.close_note``).
    sequential_note: str | None = None
    # Per region and team-size band, the models against their overall scores, with the tests (``segments``).
    segments: tuple[SegmentFamily, ...] = ()
    # Answers by the reps' roster language, whole study, closed wave, counts of k or more (``languages``).
    languages: LanguageCounts | None = None

    @property
    def compared(self) -> list[OutcomeRow]:
        return [row for row in self.rows if row.comparison is not None]

    @property
    def sections(self) -> list[ReportSection]:
        """Every section of the outcome tables in reading order, with its rows."""
        return [ReportSection(name, title, [row for row in self.rows if row.section == name])
                for name, title in SECTIONS.items()]

    @property
    def stale_notice(self) -> str | None:
        """The line a reader of a stale snapshot sees while the rebuild runs."""
        if self.stale_since is None:
            return None
        return f"Newer data are being added; this report is from {self.stale_since:%d %B %Y, %H:%M} UTC."

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
                # n plus the non-answers would be every view's count of rows, a number the
                # suppression pattern never decided on (the verdict's caveat still reads it).
                entry.pop("n_missing", None)
            if row.adjusted is not None:
                entry["adjusted_means"] = {m: {"mean": a.mean, "ci_low": a.ci_low, "ci_high": a.ci_high, "n": a.n}
                                           for m, a in row.adjusted.items()}
            outcomes.append(entry)
        link = None
        if self.link is not None and self.link.overall is not None:
            link = {"x": self.link.x, "y": self.link.y, "teams": self.link.n_teams,
                    "r": self.link.overall.r, "ci_low": self.link.overall.ci_low,
                    "ci_high": self.link.overall.ci_high, "p": self.link.overall.p,
                    "by_model": {m: (None if c is None else {"r": c.r, "p": c.p, "teams": c.n})
                                 for m, c in self.link.by_group.items()}}
        notice = {"notice": self.stale_notice} if self.stale_since is not None else {}
        return {
            **notice,
            "study": {"id": self.study_id, "name": self.study_name, "organisation": self.organisation},
            "wave": self.wave, "wave_closed": self.wave_closed, "waves": self.waves,
            "filters": {"region": self.filters.region, "band": self.filters.band},
            "available_filters": {"regions": self.regions, "bands": self.bands},
            "messages": self.messages, "k": self.k, "models": self.models,
            "decision": self.decision.to_dict() if self.decision else None,
            "pre_intervention": self.pre_intervention,
            "verdict": self.analysis.verdict.to_dict() if self.analysis else None,
            "outcomes": outcomes,
            "performance": None if self.performance is None else {
                "before": self.performance.before, "after": self.performance.after,
                "metrics": {metric: {m: {"before": v.before.mean, "after": v.after.mean, "n": v.n}
                                     for m, v in values.items()}
                            for metric, values in self.performance.metrics.items()},
                "changes": self.performance.changes, "currency": self.performance.currency},
            "team_link": link,
            "reliability": [{"scale": r.scale, "alpha": _clean(r.alpha), "n": r.n, "low": list(r.low),
                             "by_model": {m: _clean(a) for m, a in r.by_group.items()}} for r in self.reliabilities],
            "response_rates": [asdict(rate) for rate in self.rates],
            "sessions": [{**{key: value for key, value in s.to_dict().items() if key != "reps"}, "n": s.reps}
                         for s in self.sessions],
            "comments": self.comments,
            "deviations": [asdict(d) for d in self.deviations],
            "flow": None if self.flow is None else self.flow.to_dict(),
            "sequential_note": self.sequential_note,
            "segments": [family.to_dict() for family in self.segments],
            "languages": None if self.languages is None else self.languages.to_dict(),
            **(self.worth.to_json() if self.worth is not None else {
                key: ({} if key in ("non_inferiority", "equivalence", "probability_best", "expected_loss") else None)
                for key in ("cost_effectiveness", "non_inferiority", "equivalence", "probability_best",
                            "expected_loss", "fidelity")}),
            "trend": {"outcome": self.trend.outcome,
                      "values": {m: {w: {"mean": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high}
                                     for w, d in waves.items()}
                                 for m, waves in self.trend.means.items()}},
        }


def _months_of(period: str) -> float:
    """Months in a CRM period: 3 for a quarter ("2026-Q3"), 1 for a month ("2026-09")."""
    return 3.0 if "Q" in period.upper() else 1.0


def _clean(value):
    return None if value is None or not np.isfinite(value) else float(value)


def _visible_waves(study: Study, today: date) -> list[Wave]:
    """Closed waves only, for everyone: a wave that is still open would let a watcher see one response arrive."""
    return [w for w in study.waves if w.is_closed(today)]


def _default_wave(study: Study, visible: list[Wave]) -> Wave:
    """The wave a report opens on: the latest closed wave with at least k responses (one with fewer
    shows nothing, so an empty wave — say one added after it was over — is never the default), else
    the latest closed wave."""
    counts = dict(db.session.execute(select(Response.wave_id, func.count()).where(Response.study_id == study.id)
                                     .group_by(Response.wave_id)).all())
    latest = sorted(visible, key=lambda w: (w.closes_on, w.opens_on), reverse=True)
    return next((w for w in latest if counts.get(w.id, 0) >= study.k_threshold), latest[0])


def _next_wave(study: Study, wave: Wave, today: date) -> tuple[str | None, str | None]:
    """The wave after ``wave`` as the decision names it ("the “pulse” wave"), and the day it closes
    ("19 December 2026") when it is still open."""
    later = sorted((w for w in study.waves if w.closes_on > wave.closes_on), key=lambda w: w.closes_on)
    if not later:
        return None, None
    following = later[0]
    closes = None if following.is_closed(today) else f"{following.closes_on:%d %B %Y}".lstrip("0")
    return f"the “{following.label}” wave", closes


def _deviations(study: Study) -> tuple[Deviation, ...]:
    """The changes of analysis settings after launch (a rename is logged too, but is no deviation)."""
    return tuple(Deviation(c.setting, c.old_value, c.new_value, c.reason, c.changed_at.date().isoformat(),
                           c.changed_by.email if c.changed_by else None)
                 for c in study.design_changes if c.setting in ANALYSIS_SETTINGS)


def data_version(study: Study, today: date) -> tuple:
    """Changes whenever anything the report reads changes (cheap aggregate queries)."""
    org = study.organisation_id
    # Only what the report can show: responses to waves still open must not rebuild (and so move) a
    # closed wave's report, or a watcher would see each one arrive (adversarial review F-B).
    closed = [w.id for w in study.waves if w.is_closed(today)]
    responses = db.session.execute(select(func.count(), func.count(func.distinct(Response.wave_id)))
                                   .where(Response.study_id == study.id, Response.wave_id.in_(closed))).one()
    # CRM figures and sessions change only by an import, and every import is audited in its own
    # transaction: the latest such event stands for the rows (an index lookup, where summing the rows
    # cost most of a warm request at 40,000 respondents).
    records = db.session.scalar(select(func.max(AuditEvent.id)).where(
        AuditEvent.organisation_id == org, AuditEvent.action.in_(RECORD_IMPORTS)))
    changes = db.session.scalar(select(func.count(AssignmentChange.id)).join(Assignment).where(
        Assignment.study_id == study.id))
    assignments = db.session.execute(select(func.count(), func.sum(Assignment.id)).where(
        Assignment.study_id == study.id)).one()
    invitations = db.session.scalar(select(func.count()).select_from(Invitation).join(Wave).where(
        Wave.study_id == study.id, Wave.id.in_(closed), Invitation.used.is_(True)))
    questions = db.session.scalar(select(func.count()).select_from(Question).where(Question.study_id == study.id))
    reps = db.session.execute(select(func.count(), func.sum(Rep.team_id)).where(
        Rep.organisation_id == org, Rep.active.is_(True))).one()
    waves = tuple((w.label, w.opens_on, w.closes_on, w.planned_closes_on) for w in study.waves)
    return (tuple(responses), records, changes, invitations, questions, tuple(reps),
            waves, tuple(assignments), study.status.value, study.primary_outcome, study.k_threshold,
            len(study.design_changes), study.costs, study.margin_primary, study.margin_quota, study.prior_scale,
            study.fidelity_minimum, today)


def snapshot_version(study: Study, today: date) -> tuple:
    """The data version without the day: a report depends on the day only through which waves have
    closed (the waves shown, a wave's state, the frozen members), so a snapshot stays current across
    midnight until a wave closes or the data change."""
    return (*data_version(study, today)[:-1], tuple((w.id, w.is_closed(today)) for w in study.waves))


def resolve(study: Study, args: Mapping, today: date) -> tuple[Wave, list[Wave], Filters, list[str]]:
    """The view ``args`` ask for: its wave (a closed one), the closed waves, the filters and the messages
    on what was asked (an open wave, a wave that does not exist, a filter given twice)."""
    filters, messages = parse_filters(args)
    visible = _visible_waves(study, today)
    if not visible:
        first = min(study.waves, key=lambda w: w.closes_on, default=None)
        if first is None:
            raise ReportUnavailable("This study has no survey wave yet.", study)
        raise ReportUnavailable(f"No results yet: the first wave (“{first.label}”) closes on "
                                f"{first.closes_on:%d %B %Y}. Results appear here once it has closed; while a wave "
                                "is open nothing is shown, so no number moves as people answer.", study)
    default = _default_wave(study, visible)
    wave = default
    if filters.wave is not None:
        match = next((w for w in visible if w.label == filters.wave), None)
        still_open = next((w for w in study.waves if w.label == filters.wave and w not in visible), None)
        if match is None and still_open is not None:
            messages.append(f"The wave “{still_open.label}” is still open: its results appear once it closes on "
                            f"{still_open.closes_on:%d %B %Y}. Showing “{default.label}”.")
        elif match is None:
            messages.append(f"There is no wave “{filters.wave}” to show; showing “{default.label}”.")
        else:
            wave = match
    return wave, visible, filters, messages


def build_report(study: Study, args: Mapping, role: Role, today: date | None = None) -> Report:
    """The report of ``study`` for the filters in ``args``, as ``role`` may see it (computed here,
    cached in this process; ``surveys.reports.snapshots.report_for`` serves the stored snapshots)."""
    today = today or date.today()
    wave, visible, filters, messages = resolve(study, args, today)
    return view_report(study, wave, visible, filters, messages, today, role.value)


def view_report(study: Study, wave: Wave, visible: list[Wave], filters: Filters, messages: list[str], today: date,
                role: str = "any") -> Report:
    """One view's report, live (cached in this process per study, view, role and data version)."""
    version = data_version(study, today)
    key = (study.id, wave.id, filters.region, filters.band, role, version)
    reports = cache.named("reports", CACHE_SIZE)
    cached = reports.get(key)
    if cached is not None:
        return with_messages(cached, messages)
    report = _compute(study, wave, visible, filters, list(messages), today, key, version)
    reports.put(key, report)
    return report


def with_messages(report: Report, messages: list[str]) -> Report:
    """The cached report with this request's messages (the numbers do not depend on them)."""
    return replace(report, messages=list(messages) + [m for m in report.messages if m not in messages])


def _compute(study, wave, visible, filters, messages, today, key, version) -> Report:
    """The report of one view. Every number comes from the wave's pattern (``surveys.disclosure``),
    decided once over the whole cube of views and the export, never from a decision of this view alone."""
    models = [m.value for m in study.coaching_models]
    k = study.k_threshold
    sizes = team_sizes(study.organisation_id)
    survey = survey_frame(study, wave)
    pattern = wave_pattern(study, wave, survey)
    regions, bands, disclosure = pattern.regions, pattern.bands, pattern.disclosure
    reps = frames.assigned_reps(study.id, today)
    if filters.region is not None and filters.region not in regions:
        messages.append(f"There is no region “{filters.region}” in this wave; showing all regions.")
        filters = Filters(filters.wave, None, filters.band)
    if filters.band is not None and filters.band not in bands:
        messages.append(f"There is no team-size band “{filters.band}”; showing all team sizes.")
        filters = Filters(filters.wave, filters.region, None)
    dimensions = pattern.outcomes
    pre_intervention = build.pre_intervention(wave)
    if pre_intervention:
        messages.append(f"Baseline: the wave “{wave.label}” was measured before the coaching models started. "
                        "Differences between the models here were there before any coaching, so they say "
                        "nothing about which model works; later waves do.")
    sequential_note = close_note(study) if not pre_intervention and wave.is_closed(today) else None
    view = in_view(survey, filters)
    plan = randomisation_plan(study)  # re-run by the randomisation test when a model has fewer than six teams
    rows: list[OutcomeRow] = []
    # A scale's score lies within its items' answers (1–5 for the built-in scales): the detectable
    # difference is never said to be more than that range allows (ux review D8).
    bounds = {q.dimension or q.key: (float(q.scale_min), float(q.scale_max)) for q in study.questions
              if q.scale_min is not None and q.scale_max is not None}
    order = survey_order()
    ordered = [d for d in order if d in dimensions] + sorted(d for d in dimensions if d not in order)
    for name in ordered:
        shown = pattern.shown_models(filters.view, name, models)
        hidden = [m for m in models if m not in shown]
        rows.append(build.compare(view, name, shown, hidden, k, cluster="team", scale=outcome(name).scale,
                                  bounds=bounds.get(name), randomisation=plan))
    performance, perf_rows, link, crm = build.performance(study, wave, filters, models, k, sizes, view, reps, version,
                                                     pattern.shown_models(filters.view, "satisfaction", models),
                                                     randomisation=plan)
    rows += perf_rows
    session_rows, sessions = build.sessions(study, wave, filters, models, k, sizes, reps, version, randomisation=plan)
    rows += session_rows
    compared = [row.comparison for row in rows if row.comparison is not None]
    analysis = None
    if compared:
        primary = study.primary_outcome
        if primary not in {c.outcome for c in compared}:
            # It stays the primary outcome: no other outcome takes its place or leaves the correction.
            messages.append(f"The primary outcome ({outcome(primary).sentence}) cannot be compared in this view, "
                            "so this view makes no recommendation; every outcome shown is corrected for "
                            "multiplicity.")
        reliabilities = build.reliabilities(study, wave, view, disclosure, filters, models)
        allocation = allocation_check(study)
        design = DesignFacts(allocation=allocation, reliability=tuple(reliabilities))
        analysis = assemble(compared, "coaching_model", models, primary, design, cluster="team")
        if pre_intervention:  # measured before the models started: no claim about them is tested by it
            untested = tuple(replace(c, status="not tested", text="A baseline, measured before the coaching "
                                     "models started, cannot test this claim.") for c in analysis.verdict.claims)
            analysis = replace(analysis, verdict=replace(analysis.verdict, claims=untested))
        # The assembled comparisons carry the multiplicity correction; the verdict a sentence on each.
        by_key = {c.outcome: c for c in analysis.outcomes}
        findings = {f.outcome: f.text for f in analysis.verdict.findings}
        rows = [replace(row, comparison=by_key[row.key], finding=findings.get(row.key))
                if row.comparison is not None else row for row in rows]
        worth = None
        if not pre_intervention:
            worth = build_worth(study, models, by_key.get(primary), crm.get(primary, view),
                                by_key.get("quota_attainment"), crm.get("quota_attainment"), reps,
                                build.session_period(study, wave),
                                _months_of(performance.after) if performance is not None else 3.0, k,
                                build.currency_prefix(), whole_view=filters.region is None and filters.band is None)
            messages += [n for n in worth.notes if n not in messages]
        next_wave, next_closes = _next_wave(study, wave, today)
        decision = decide(analysis.outcomes, analysis.verdict.findings, models, primary,
                          pre_intervention=pre_intervention, next_wave=next_wave, next_closes=next_closes,
                          money=("revenue",), currency=build.currency_prefix(),
                          primary_label=outcome(primary).sentence, worth=worth.facts() if worth else None)
    else:
        reliabilities = []
        messages.append(f"Too few responses in this view: no coaching model has at least {k} responses "
                        "on any outcome.")
        decision = not_yet("Too few responses in this view to recommend a coaching model.", "no data")
        worth = None
    per_model, _, _ = response_rates(study, wave, today)
    counted = shown_model_counts(study, wave, survey)
    rates = [ResponseRate(r.name, r.invited, counted.get(r.name)) for r in per_model]
    flow = build.flow(study, wave.label, models, reps, rates, rows, study.primary_outcome,
                      crm.get(study.primary_outcome, view))
    comments, note = build.comments(study, wave, filters, models,
                                    current_app.secret_key.encode() if isinstance(current_app.secret_key, str)
                                    else current_app.secret_key)
    trend_outcome = study.primary_outcome if study.primary_outcome in dimensions else (
        "satisfaction" if "satisfaction" in dimensions else None)
    trend = Trend(trend_outcome, build.trend(study, visible, filters, models, trend_outcome, {wave.id: survey})
                  if trend_outcome else {})
    # The baseline table: the primary outcome in the (first) baseline wave, when the trend follows it.
    baseline_wave = next((w.label for w in visible if build.pre_intervention(w)), None) \
        if trend_outcome == study.primary_outcome else None
    flow = replace(flow, baseline=build.baseline_rows(study, models, reps, performance, trend.means, baseline_wave),
                   baseline_wave=baseline_wave)
    # Segments are views of their own: shown on the unfiltered report of a wave after the models started.
    segment_families = () if filters.filtered or pre_intervention else build_segments(
        survey, pattern, models, ordered, study.primary_outcome, k)
    return Report(study_id=study.id, study_name=study.name, organisation=study.organisation.name, wave=wave.label,
                  wave_closed=wave.is_closed(today), waves=[w.label for w in visible], filters=filters,
                  regions=regions, bands=bands, messages=messages, k=k, models=models, analysis=analysis, rows=rows,
                  performance=performance, link=link, reliabilities=reliabilities, rates=rates, comments=comments,
                  comments_note=note, comment_threshold=study.comment_threshold, trend=trend, sessions=sessions,
                  version=key, deviations=_deviations(study), decision=decision,
                  pre_intervention=pre_intervention, worth=worth, flow=flow, sequential_note=sequential_note,
                  segments=segment_families,
                  languages=None if filters.filtered else language_counts(study, wave, today))
