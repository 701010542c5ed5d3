"""Study services: creating a study with the built-in instrument, and summarising its progress."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, func, or_, select

from analysis.planning import SampleRatioCheck, sample_ratio_check
from analysis.randomisation import RandomisationPlan
from analysis.worth import MIN_PRIOR_SCALE

from . import audit, plans, snapshots
from .database import insert_or_ignore, transactional
from .extensions import db
from .instruments import Instrument, builtin
from .models import (
    Assignment,
    CoachingModel,
    DesignChange,
    InterimLook,
    Invitation,
    Organisation,
    Question,
    QuestionKind,
    RandomisationUnit,
    Rep,
    Response,
    Study,
    StudyArm,
    StudyMember,
    StudyStatus,
    Team,
    User,
    Wave,
    utcnow,
)
from .outcomes import outcome_choices
from .refusals import ONE_LINE, Refused, has_control_characters
from .teams import band_of


def build_study(organisation: Organisation, name: str, coaching_models: list[CoachingModel], seed: int,
                randomisation_unit: RandomisationUnit = RandomisationUnit.TEAM, stratify_by: str | None = None,
                primary_outcome: str = "satisfaction", k_threshold: int = 5,
                instrument: Instrument | None = None, description: str | None = None) -> Study:
    """A draft study whose questions are a copy of the built-in instrument, added to the session.

    A step of its caller's unit of work (the demo seeds a whole pilot in one); see ``create_study``.
    """
    if has_control_characters(name):
        raise StudyError(f"the study name {ONE_LINE}")
    instrument = instrument or builtin()
    study = Study(organisation=organisation, name=name, description=(description or "").strip() or None, seed=seed,
                  randomisation_unit=randomisation_unit,
                  stratify_by=stratify_by, primary_outcome=primary_outcome, k_threshold=k_threshold,
                  comment_threshold=max(10, k_threshold))
    study.arms = [StudyArm(coaching_model=model, position=i) for i, model in enumerate(coaching_models)]
    study.questions = [
        Question(key=item.key, text=item.text, kind=QuestionKind(item.kind), dimension=item.dimension,
                 reverse_scored=item.reverse, position=i, required=item.required, scale_min=item.scale_min,
                 scale_max=item.scale_max, max_length=item.max_length, instrument=instrument.tag)
        for i, item in enumerate(instrument.items)
    ]
    db.session.add(study)
    return study


@transactional
def create_study(organisation: Organisation, name: str, coaching_models: list[CoachingModel], seed: int,
                 randomisation_unit: RandomisationUnit = RandomisationUnit.TEAM, stratify_by: str | None = None,
                 primary_outcome: str = "satisfaction", k_threshold: int = 5,
                 instrument: Instrument | None = None, description: str | None = None) -> Study:
    """Create a draft study with a copy of the built-in instrument (committed)."""
    study = build_study(organisation, name, coaching_models, seed, randomisation_unit=randomisation_unit,
                        stratify_by=stratify_by, primary_outcome=primary_outcome, k_threshold=k_threshold,
                        instrument=instrument, description=description)
    audit.record("study.created", study=study, organisation=organisation,
                 detail=f"models {', '.join(m.value for m in coaching_models)}")
    return study


@dataclass(frozen=True)
class WaveProgress:
    """A wave with its invitation and response counts."""

    wave: Wave
    invited: int
    responses: int | None  # None: hidden, because it could identify people
    is_open: bool
    at_least: bool = False  # rounded down to a multiple of k while the wave is open


@dataclass(frozen=True)
class StudyOverview:
    """What a study page shows above the details."""

    units_per_model: dict[str, int]
    waves: list[WaveProgress]


def study_overview(study: Study, today: date | None = None) -> StudyOverview:
    """Count assigned units per model, and invitations and responses per wave (hidden below k)."""
    today = today or date.today()
    units = dict(db.session.execute(
        select(Assignment.coaching_model, func.count()).where(Assignment.study_id == study.id)
        .group_by(Assignment.coaching_model)).all())
    progress = []
    for wave in study.waves:
        *_, total = response_rates(study, wave, today)
        progress.append(WaveProgress(wave, total.invited, total.responses, wave.is_open(today), total.at_least))
    return StudyOverview(units_per_model={model.value: units.get(model, 0) for model in study.coaching_models},
                         waves=progress)


def first_wave_opened(study: Study, today: date) -> bool:
    """Whether any wave of the study has opened by ``today``: from then on, answers must stay comparable."""
    return first_opened_wave(study, today) is not None


def first_opened_wave(study: Study, today: date) -> Wave | None:
    """The wave that opened first, if any has opened by ``today``."""
    return min((wave for wave in study.waves if wave.opens_on <= today), key=lambda w: w.opens_on, default=None)


def day(value: date | datetime) -> str:
    """A date as the pages write it: ``3 November 2026``."""
    return f"{value.day} {value:%B %Y}"


def is_locked(study: Study, today: date) -> bool:
    """The assignment (and the randomisation design) lock at launch, or when the first wave opens, or were
    locked explicitly (see ``lock_reason``)."""
    return lock_reason(study, today) is not None


def lock_reason(study: Study, today: date) -> str | None:
    """Why the assignment can no longer change, in words (None: it still can).

    The study locks at launch: ``launch`` sets ``assignments_locked_at``, the date the pages give as
    the launch. A draft is locked too once one of its waves has opened.
    """
    if study.status is not StudyStatus.DRAFT:
        return "the study has been launched"
    if first_wave_opened(study, today):
        return "the first wave has opened"
    if study.assignments_locked_at is not None:
        return f"it was locked on {day(study.assignments_locked_at)}"
    return None


def _launched_on(study: Study) -> str:
    """The launch day as the lock messages add it (" on 3 November 2026"); "" if it was not kept (older studies)."""
    return f" on {day(study.assignments_locked_at)}" if study.assignments_locked_at else ""


def design_lock(study: Study, today: date) -> str | None:
    """Why the randomisation design (models, unit, strata, seed) cannot change now — a clause — or None.

    Locked exactly when the assignment is (``is_locked``): at launch, or once the first wave has opened.
    """
    wave = first_opened_wave(study, today)
    why = ("changing the coaching models, the randomisation unit, the strata or the seed would invalidate the "
           "randomisation")
    if wave is not None:
        return f"locked since the first wave (“{wave.label}”) opened on {day(wave.opens_on)}: {why}"
    if study.status is not StudyStatus.DRAFT:
        return f"locked since the study was launched{_launched_on(study)}: {why}"
    if study.assignments_locked_at is not None:
        return f"locked since the assignment was fixed on {day(study.assignments_locked_at)}: {why}"
    return None


def k_lock_of(study: Study, today: date) -> str | None:
    """Why k cannot change at all now — a wave has closed — (a clause), or None (see ``update_design``)."""
    closed = min((wave for wave in study.waves if wave.is_closed(today)), key=lambda w: w.closes_on, default=None)
    if closed is None:
        return None
    return (f"the anonymity threshold k is fixed since the wave “{closed.label}” closed on {day(closed.closes_on)}: "
            "its numbers are out, and numbers hidden under one k and shown under another could be combined")


def instrument_lock(study: Study, today: date) -> str | None:
    """Why the study's questions cannot be added, edited or removed now — a clause — or None.

    They are fixed at launch, since links can go out from then on, and in any case once a wave has
    opened: every rep must be asked the same questions, or their answers cannot be compared.
    """
    why = "every rep must be asked the same questions, or their answers cannot be compared"
    if study.status is not StudyStatus.DRAFT:
        return f"the questions are locked since the study was launched{_launched_on(study)}: {why}"
    wave = first_opened_wave(study, today)
    if wave is not None:
        return (f"the questions are locked because the first wave (“{wave.label}”) has already opened, on "
                f"{day(wave.opens_on)}: {why}")
    return None


def instrument_locked(study: Study, today: date) -> bool:
    """Questions are fixed once the study is launched or any of its waves has opened (see ``instrument_lock``)."""
    return instrument_lock(study, today) is not None


def assignment_join(unit: RandomisationUnit | None = None) -> ColumnElement[bool]:
    """How an ``Assignment`` row holds a ``Rep``: through the rep's team, or the rep itself.

    ``unit`` is the study's randomisation unit; without it the condition reads the unit from the
    ``Study`` row of the statement, so that one prebuilt statement serves every study.
    """
    by_team = Assignment.team_id == Rep.team_id
    by_rep = Assignment.rep_id == Rep.id
    if unit is None:
        return or_((Study.randomisation_unit == RandomisationUnit.REP) & by_rep,
                   (Study.randomisation_unit == RandomisationUnit.TEAM) & by_team)
    return by_team if unit is RandomisationUnit.TEAM else by_rep


def study_members(study: Study, *columns) -> Select:
    """Who is in the study: its active reps whose team (or who themselves) were assigned a coaching model.

    Selects ``columns`` (default: rep id, team id, team name, region, coaching model) from ``Rep``
    joined to its ``Team`` and its ``Assignment`` in this study.
    """
    columns = columns or (Rep.id, Rep.team_id, Team.name, Team.region, Assignment.coaching_model)
    return (select(*columns).select_from(Rep).join(Team, Team.id == Rep.team_id)
            .join(Assignment, assignment_join(study.randomisation_unit))
            .where(Assignment.study_id == study.id, Rep.active.is_(True)))


@transactional
def freeze_members(study: Study) -> None:
    """Record who the study counts — its active reps with team, region, band and model as of now — once.

    Called when the study is first read with a closed wave. Two readers at once insert the same
    rows; the second one's are skipped, so the population is frozen once either way.
    """
    if db.session.scalar(select(StudyMember.rep_id).where(StudyMember.study_id == study.id).limit(1)) is not None:
        return
    sizes = team_sizes(study.organisation_id)
    rows = [{"study_id": study.id, "rep_id": rep, "team_id": team, "region": region,
             "band": band_of(sizes.get(team, 0)), "coaching_model": model}
            for rep, team, _, region, model in db.session.execute(study_members(study))]
    if rows:
        db.session.execute(insert_or_ignore(StudyMember).values(rows).on_conflict_do_nothing(
            index_elements=["study_id", "rep_id"]))


def team_sizes(organisation_id: int) -> dict[int, int]:
    """Active reps per team of an organisation (teams without an active rep are left out)."""
    return dict(db.session.execute(select(Rep.team_id, func.count()).where(
        Rep.organisation_id == organisation_id, Rep.active.is_(True)).group_by(Rep.team_id)).all())


class StudyError(Refused):
    """A change to a study that is not allowed now; the message says why."""


class WorthSettingError(StudyError):
    """A cost, margin, prior scale or fidelity minimum no analysis could use: bad input, not the study's state."""


class ReasonNeeded(StudyError):
    """The change is allowed, but only with a reason on record."""


# Settings whose change after launch is a deviation from the plan, printed in the report. The log also
# keeps renames and new descriptions, which change no analysis.
ANALYSIS_SETTINGS = ("primary outcome", "k", "costs", "margin (primary)", "margin (quota)", "prior scale",
                     "fidelity minimum")
# What a model is worth (issue 16): the settings of ``WorthSettings``, as the change log names them.
WORTH_SETTINGS = ("costs", "margin (primary)", "margin (quota)", "prior scale", "fidelity minimum", "interim looks")
INTERIM_LOOKS_MAX = 4  # per wave, before its close (``surveys.interim``)
PRIOR_SCALE_MAX = 2.0  # SDs of the outcome; the coaching literature supports 0.1–0.2 (market note 5.3)
FIDELITY_MINIMUM_MAX = 30.0  # sessions a rep a month


@dataclass(frozen=True)
class WorthSettings:
    """A study's costs per model, margins, prior scale and fidelity minimum (see ``Study``'s columns).

    ``costs`` is the canonical text of ``analysis.costs.CostInputs`` (None: no costs entered).
    """

    costs: str | None = None
    margin_primary: float | None = None
    margin_quota: float | None = None
    prior_scale: float | None = None
    fidelity_minimum: float = 1.0
    interim_looks: int = 0

    @classmethod
    def of(cls, study: Study) -> WorthSettings:
        return cls(study.costs, study.margin_primary, study.margin_quota, study.prior_scale,
                   1.0 if study.fidelity_minimum is None else study.fidelity_minimum, study.interim_looks or 0)

    def logged(self) -> tuple[tuple[str, str], ...]:
        """(setting, value) as the change log keeps them."""
        def number(value):
            return "none" if value is None else f"{value:g}"
        return (("costs", self.costs or "none"), ("margin (primary)", number(self.margin_primary)),
                ("margin (quota)", number(self.margin_quota)),
                ("prior scale", "default" if self.prior_scale is None else f"{self.prior_scale:g}"),
                ("fidelity minimum", number(self.fidelity_minimum)), ("interim looks", str(self.interim_looks)))

    def check(self) -> None:
        """Refuse values no analysis could use, naming the setting (``WorthSettingError``: the form's fault)."""
        from analysis.costs import parse_costs
        for name, value in (("the margin of the primary outcome", self.margin_primary),
                            ("the margin of quota attainment", self.margin_quota)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise WorthSettingError(f"{name} must be a positive number (or left empty for none)")
        if self.prior_scale is not None and not (math.isfinite(self.prior_scale) and (
                self.prior_scale == 0 or MIN_PRIOR_SCALE <= self.prior_scale <= PRIOR_SCALE_MAX)):
            raise WorthSettingError(f"the prior scale is 0 (no prior) or between {MIN_PRIOR_SCALE:g} and "
                             f"{PRIOR_SCALE_MAX:g} SDs of the outcome")
        if not (math.isfinite(self.fidelity_minimum) and 0 <= self.fidelity_minimum <= FIDELITY_MINIMUM_MAX):
            raise WorthSettingError(f"the fidelity minimum is between 0 and {FIDELITY_MINIMUM_MAX:g} sessions a rep "
                                    "a month")
        if not (isinstance(self.interim_looks, int) and 0 <= self.interim_looks <= INTERIM_LOOKS_MAX):
            raise WorthSettingError(f"the interim looks per wave are a whole number from 0 to {INTERIM_LOOKS_MAX}")
        if self.costs:
            try:
                parse_costs(self.costs)
            except ValueError as error:
                raise WorthSettingError(f"the costs cannot be used: {error}") from None
DESCRIPTION_MAX = 2000
NO_REASON = "(no reason given)"


def _logged(value: str) -> str:
    """A value as the change log keeps it: at most 200 characters."""
    return value if len(value) <= 200 else value[:199] + "…"


@transactional
def update_design(study: Study, name: str, models: list[CoachingModel], unit: RandomisationUnit,
                  stratify_by: str | None, seed: int, primary_outcome: str, k_threshold: int, today: date,
                  changed_by: User | None = None, reason: str | None = None, description: str | None = None,
                  worth: WorthSettings | None = None) -> None:
    """Change a study's design; the models and unit only while nothing is assigned or locked.

    Once the first wave has opened, reps have been told that no number is shown for fewer than k
    people, so k can only be raised. After launch the analysis settings (k, primary outcome) change
    only with a ``reason``; each change is kept as a ``DesignChange``, a deviation the report prints.
    The name and the ``description`` (None: left as it is) change at any time; each change is kept
    in the same log, with the reason if one was given, and is no deviation. ``worth`` (None: left as
    they are): the costs, margins, prior scale and fidelity minimum, analysis settings like k.
    """
    worth = WorthSettings.of(study) if worth is None else worth
    worth.check()
    worth_changes = [(setting, old, new) for (setting, old), (_, new) in
                     zip(WorthSettings.of(study).logged(), worth.logged(), strict=True) if old != new]
    if len(set(models)) < 2:
        raise StudyError("choose at least two coaching models")
    if k_threshold < 3:
        raise StudyError("the anonymity threshold k can never be below 3")
    if primary_outcome not in dict(outcome_choices()):
        raise StudyError(f"unknown primary outcome {primary_outcome!r}")
    if k_threshold < study.k_threshold and first_wave_opened(study, today):
        raise StudyError(f"k can only be raised once the first wave has opened: reps were told that no number is "
                         f"shown for fewer than {study.k_threshold} people")
    if k_threshold != study.k_threshold and any(wave.is_closed(today) for wave in study.waves):
        # A closed wave's numbers are out; a second suppression pattern beside the first could be combined with it.
        raise StudyError("k is fixed once a wave has closed and its results have been shown: numbers hidden under "
                         "one k and shown under another could be combined")
    deviations = [(setting, old, new) for setting, old, new in (
        ("primary outcome", study.primary_outcome, primary_outcome), ("k", str(study.k_threshold), str(k_threshold)),
        *worth_changes)
        if old != new] if study.status is not StudyStatus.DRAFT else []
    reason = (reason or "").strip()
    if deviations and not reason:
        raise ReasonNeeded("the study has been launched, so a change to its "
                           f"{' and '.join(setting for setting, _, _ in deviations)} is a deviation from the plan: "
                           "say why")
    if worth.interim_looks != (study.interim_looks or 0) and db.session.scalar(
            select(InterimLook.id).where(InterimLook.study_id == study.id).limit(1)) is not None:
        raise StudyError("interim looks have been taken, so the number planned is fixed: the bounds of the looks "
                         "taken rest on it")
    design_changes = (set(models) != set(study.coaching_models) or unit is not study.randomisation_unit
                      or stratify_by != study.stratify_by or seed != study.seed)
    if design_changes and (lock := design_lock(study, today)):
        raise StudyError(f"the randomisation design is {lock}")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise StudyError("the study needs a name of at most 200 characters")
    if has_control_characters(name):
        raise StudyError(f"the study name {ONE_LINE}")
    description = (study.description or "") if description is None else description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise StudyError(f"the description must have at most {DESCRIPTION_MAX} characters")
    if design_changes and study.assignments:
        study.assignments.clear()  # the old draw no longer matches the design
    changed = _design_words(study, name.strip()[:200], models, unit, stratify_by, seed, primary_outcome, k_threshold)
    changed += [f"{setting}: {old} → {new}" for setting, old, new in worth_changes]
    (study.costs, study.margin_primary, study.margin_quota, study.prior_scale, study.fidelity_minimum,
     study.interim_looks) = (worth.costs, worth.margin_primary, worth.margin_quota, worth.prior_scale,
                             worth.fidelity_minimum, worth.interim_looks)
    description_changed = (study.description or "") != description
    for setting, old, new in (("name", study.name, name), ("description", study.description or "", description)):
        if old != new:
            study.design_changes.append(DesignChange(setting=setting, old_value=_logged(old), new_value=_logged(new),
                                                     reason=reason[:2000] or NO_REASON, changed_by=changed_by))
    study.name, study.description = name, description or None
    if set(models) != set(study.coaching_models):
        study.arms = [StudyArm(coaching_model=model, position=i) for i, model in enumerate(models)]
    study.randomisation_unit, study.stratify_by, study.seed = unit, stratify_by, seed
    if k_threshold != study.k_threshold:
        snapshots.forget(study.id)  # numbers decided under another k are never served
    study.primary_outcome, study.k_threshold = primary_outcome, k_threshold
    study.comment_threshold = max(study.comment_threshold, k_threshold, 10)
    for setting, old, new in deviations:
        study.design_changes.append(DesignChange(setting=setting, old_value=_logged(old), new_value=_logged(new),
                                                 reason=reason[:2000], changed_by=changed_by))
    if changed:
        snapshots.request_rebuild([study.id])
        audit.record("study.design_changed", study=study, actor=changed_by,
                     detail="; ".join(changed) + (f" (why: {reason})" if reason else ""))
    elif description_changed:
        audit.record("study.changed", study=study, actor=changed_by,
                     detail="description changed" + (f" (why: {reason})" if reason else ""))


def _design_words(study: Study, name: str, models, unit, stratify_by, seed, primary_outcome, k) -> list[str]:
    """The design settings that change, as "setting: old → new"."""
    pairs = (("name", study.name, name),
             ("models", ", ".join(m.value for m in study.coaching_models), ", ".join(m.value for m in models)),
             ("unit", study.randomisation_unit.value, unit.value), ("strata", study.stratify_by or "none",
                                                                    stratify_by or "none"),
             ("seed", str(study.seed), str(seed)), ("primary outcome", study.primary_outcome, primary_outcome),
             ("k", str(study.k_threshold), str(k)))
    return [f"{setting}: {old} → {new}" for setting, old, new in pairs if old != new]


@transactional
def add_wave(study: Study, label: str, opens_on: date, closes_on: date) -> Wave:
    """Add a survey wave; labels are unique within the study and dates in order."""
    label = (label or "").strip()
    if not label or len(label) > 40:
        raise StudyError("a wave needs a label of at most 40 characters")
    if has_control_characters(label):
        raise StudyError(f"a wave label {ONE_LINE}")
    if closes_on < opens_on:
        raise StudyError("the wave must close on or after the day it opens")
    if study.status is StudyStatus.CLOSED:
        raise StudyError("the study is closed")
    if any(w.label.lower() == label.lower() for w in study.waves):
        raise StudyError(f"the study already has a wave called {label!r}")
    wave = Wave(study_id=study.id, label=label, opens_on=opens_on, closes_on=closes_on)
    db.session.add(wave)
    audit.record("wave.added", study=study, detail=f"{label!r}, {opens_on.isoformat()} to {closes_on.isoformat()}")
    return wave


def check_launch(study: Study) -> None:
    """Raise ``StudyError`` unless ``study`` can be launched now: a draft with waves and every model assigned."""
    if study.status is not StudyStatus.DRAFT:
        raise StudyError(f"the study is {study.status.value}, not a draft")
    if not study.waves:
        raise StudyError("add at least one wave before launching")
    counts = {a.coaching_model for a in study.assignments}
    if set(study.coaching_models) - counts:
        raise StudyError("every coaching model needs teams assigned; randomise first")


@transactional
def launch(study: Study) -> None:
    """Draft → running: needs waves and a complete assignment; locks the assignment and the questions."""
    check_launch(study)
    study.status = StudyStatus.RUNNING
    if study.assignments_locked_at is None:
        study.assignments_locked_at = utcnow()
    db.session.flush()
    plans.freeze(study)  # the analysis plan, as it stands at launch; later changes are deviations
    audit.record("study.launched", study=study, detail=f"{len(study.waves)} wave(s), {len(study.assignments)} "
                                                        f"{study.randomisation_unit.value}(s) assigned")


def check_close(study: Study) -> None:
    """Raise ``StudyError`` unless ``study`` is running (only a running study can be closed)."""
    if study.status is not StudyStatus.RUNNING:
        raise StudyError(f"the study is {study.status.value}, not running")


@dataclass(frozen=True)
class StudyDeletion:
    """What deleting a draft study takes with it, for the confirmation page."""

    study: Study
    waves: int
    own_questions: int
    assigned: int
    links: int


def deletion_preview(study: Study) -> StudyDeletion:
    """Check that ``study`` can be deleted and count what goes with it; raise ``StudyError`` otherwise."""
    _check_deletable(study)
    links = db.session.scalar(select(func.count()).select_from(Invitation).join(Wave).where(
        Wave.study_id == study.id, Invitation.revoked_at.is_(None))) or 0
    return StudyDeletion(study, len(study.waves), sum(1 for q in study.questions if q.instrument is None),
                         len(study.assignments), links)


def _check_deletable(study: Study) -> None:
    if study.status is not StudyStatus.DRAFT:
        raise StudyError(f"the study is {study.status.value}: only a draft study can be deleted, since a launched "
                         "study's design and log are the record of what was done")
    if db.session.scalar(select(Response.id).where(Response.study_id == study.id).limit(1)) is not None:
        raise StudyError("people have answered this study, so it is kept")


@transactional
def delete_study(study: Study) -> None:
    """Delete a draft study nobody has answered, with its waves, questions, assignment and links issued."""
    _check_deletable(study)
    audit.record("study.deleted", study=study, detail=f"{len(study.waves)} wave(s)")
    snapshots.forget(study.id)  # no report of it outlives it (the foreign key cascades too)
    db.session.delete(study)


@transactional
def close(study: Study) -> None:
    """Running → closed: links stop working; results stay."""
    check_close(study)
    study.status = StudyStatus.CLOSED
    audit.record("study.closed", study=study)


@dataclass(frozen=True)
class RateRow:
    """Invited reps and responses of one group, as they may be shown (see :func:`response_rates`)."""

    name: str
    invited: int
    responses: int | None  # None: hidden
    at_least: bool = False  # an open wave: the count is rounded down to a multiple of k

    @property
    def rate(self) -> float | None:
        if self.responses is None or self.at_least or not self.invited:
            return None
        return self.responses / self.invited


def k_in_force(study: Study, day: date) -> int:
    """The anonymity threshold k as it was when ``day`` began (changes of k are recorded deviations)."""
    later = sorted((c for c in study.design_changes if c.setting == "k" and c.changed_at.date() >= day),
                   key=lambda c: c.changed_at)
    return int(later[0].old_value) if later else study.k_threshold


def k_changed_while_open(study: Study, wave: Wave) -> bool:
    """Whether k differs from the k in force when ``wave`` opened."""
    return k_in_force(study, wave.opens_on) != study.k_threshold


def per_team_invited(invited, teams) -> list[RateRow]:
    """Invited reps per team, counts of responses hidden."""
    return [RateRow(teams.get(team_id, "?"), count, None) for team_id, count in
            sorted(invited, key=lambda row: teams.get(row[0], ""))]



PRE_INTERVENTION = re.compile(r"(baseline|pre|before)\b", re.IGNORECASE)


def pre_intervention(wave: Wave) -> bool:
    """Whether a wave measured things before the coaching models started: a baseline.

    Waves carry no kind; a baseline is the wave labelled so — "baseline" (the wave form's first
    suggestion), or a label starting with "baseline", "pre" or "before" as a word ("pre-pilot",
    "Baseline Q2"). Its differences between models are not effects of coaching.
    """
    return PRE_INTERVENTION.match(wave.label.strip()) is not None


def response_rates(study: Study, wave: Wave,
                   today: date | None = None) -> tuple[list[RateRow], list[RateRow], RateRow]:
    """Per model, per team and in all: reps invited and responses, never a count of 1 to k−1.

    While the wave is open every count is rounded down to a multiple of k (shown as "at least …"),
    so a count moves only in steps of k and nobody watching the page sees one response arrive.
    Once it has closed: a team's count shows where at least k reps were invited and it is 0 or at
    least k; a model's count where at least k were invited, it is at least k, and the hidden teams
    inside it hold 0 or at least k responses (else the model total minus the shown teams would
    reveal them); the wave total only when every model's count shows. Under rep-level
    randomisation teams mix models, so team counts are never shown.
    """
    today = today or date.today()
    invited = db.session.execute(
        select(Rep.team_id, func.count(func.distinct(Invitation.rep_id)))
        .join(Rep, Rep.id == Invitation.rep_id).where(Invitation.wave_id == wave.id)
        .group_by(Rep.team_id)).all()
    responses = dict(db.session.execute(select(Response.team_id, func.count()).where(
        Response.wave_id == wave.id).group_by(Response.team_id)).all())
    teams = dict(db.session.execute(select(Team.id, Team.name).where(
        Team.organisation_id == study.organisation_id)).all())
    team_ids = {name: team_id for team_id, name in teams.items()}
    k = study.k_threshold
    is_open = not wave.is_closed(today)
    by_team = study.randomisation_unit is RandomisationUnit.TEAM
    model_invited = {m.value: n for m, n in db.session.execute(
        select(Assignment.coaching_model, func.count(func.distinct(Invitation.rep_id))).select_from(Invitation)
        .join(Rep, Rep.id == Invitation.rep_id).join(Assignment, assignment_join(study.randomisation_unit))
        .where(Assignment.study_id == study.id, Invitation.wave_id == wave.id)
        .group_by(Assignment.coaching_model)).all()}
    team_model = {a.team_id: a.coaching_model.value for a in study.assignments if a.team_id}

    if is_open and k_changed_while_open(study, wave):
        # Raising k step by step would move the floor across the true count and give it exactly
        # (adversarial review F-D): after a change of k an open wave shows no count at all.
        hidden = [RateRow(row.name, row.invited, None, True) for row in per_team_invited(invited, teams)]
        return ([RateRow(m.value, model_invited.get(m.value, 0), None, True) for m in study.coaching_models],
                hidden, RateRow("all", sum(count for _, count in invited), None, True))

    def floored(n: int) -> int:
        return n // k * k

    per_team = []
    model_responses: dict[str, int] = {}
    model_hidden: dict[str, int] = {}
    models_with_hidden_team: set[str] = set()
    for team_id, count in sorted(invited, key=lambda row: teams.get(row[0], "")):
        answered = responses.get(team_id, 0)
        if is_open:
            per_team.append(RateRow(teams.get(team_id, "?"), count, floored(answered) if by_team else None, True))
        else:
            shown = by_team and count >= k and (answered == 0 or answered >= k)
            per_team.append(RateRow(teams.get(team_id, "?"), count, answered if shown else None))
            if not shown:
                model = team_model.get(team_id)
                if model:
                    model_hidden[model] = model_hidden.get(model, 0) + answered
                    models_with_hidden_team.add(model)
        model = team_model.get(team_id)
        if model:
            model_responses[model] = model_responses.get(model, 0) + answered
    if not is_open and models_with_hidden_team:
        # The report shows each model's n; a shown team beside a hidden one of the same model would give the
        # hidden one's count by subtraction, so a model's teams show all together or not at all.
        per_team = [replace(row, responses=None) if team_model.get(team_ids[row.name]) in models_with_hidden_team
                    else row for row in per_team]
    if not by_team:
        model_responses = {m.value: n for m, n in db.session.execute(
            select(Response.coaching_model, func.count()).where(Response.wave_id == wave.id)
            .group_by(Response.coaching_model)).all()}
        model_hidden = {}
    per_model = []
    for model in (m.value for m in study.coaching_models):
        invited_n, hidden, answered = model_invited.get(model, 0), model_hidden.get(model, 0), \
            model_responses.get(model, 0)
        if is_open:
            per_model.append(RateRow(model, invited_n, floored(answered), True))
            continue
        shown = invited_n >= k and (answered == 0 or answered >= k) and not 0 < hidden < k
        per_model.append(RateRow(model, invited_n, answered if shown else None))
    total_invited = sum(count for _, count in invited)
    total_answered = sum(responses.values())
    if is_open:
        return per_model, per_team, RateRow("all", total_invited, floored(total_answered), True)
    total_shown = (total_invited >= k and (total_answered == 0 or total_answered >= k)
                   and all(row.responses is not None or row.invited == 0 for row in per_model))
    return per_model, per_team, RateRow("all", total_invited, total_answered if total_shown else None)


def allocation_check(study: Study) -> SampleRatioCheck | None:
    """The sample-ratio check of the units assigned per model against the planned ratio (one grouped query)."""
    counts = dict(db.session.execute(select(Assignment.coaching_model, func.count()).where(
        Assignment.study_id == study.id).group_by(Assignment.coaching_model)).all())
    if not counts:
        return None
    ratios = {arm.coaching_model.value: arm.ratio for arm in study.arms}
    return sample_ratio_check({m.value: int(counts.get(m, 0)) for m in study.coaching_models}, ratios)


def randomisation_block(study: Study) -> list[CoachingModel]:
    """One block of the permuted blocks: each arm as often as its ratio, in the study's arm order."""
    return [arm.coaching_model for arm in study.arms for _ in range(arm.ratio)]


def randomisation_plan(study: Study) -> RandomisationPlan | None:
    """The study's randomisation as the analysis re-runs it: strata and their teams (by id) in the
    procedure's order (team name, as ``surveys.pilots.randomisation`` walks them), the block, the
    seed and the stored assignment.

    Rep-level studies give a plan with ``unit="rep"`` (the test on team means does not apply to
    them); None before any assignment.
    """
    if study.randomisation_unit is not RandomisationUnit.TEAM:
        return RandomisationPlan(unit="rep", seed=study.seed)
    rows = db.session.execute(select(Assignment.team_id, Assignment.stratum, Assignment.coaching_model, Team.name)
                              .join(Team, Team.id == Assignment.team_id).where(Assignment.study_id == study.id)).all()
    if not rows:
        return None
    strata: dict[str, list[tuple[str, int]]] = {}
    for team_id, stratum, _, name in rows:
        strata.setdefault(stratum or "all", []).append((name.lower(), team_id))
    return RandomisationPlan(
        unit="team", strata={name: tuple(team for _, team in sorted(members)) for name, members in strata.items()},
        block=tuple(model.value for model in randomisation_block(study)), seed=study.seed,
        assignment={team_id: model.value for team_id, _, model, _ in rows})
