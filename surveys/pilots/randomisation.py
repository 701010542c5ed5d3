"""Randomising teams (or reps) to coaching models: reproducible from the seed, stratified, balanced.

Permuted blocks within each stratum: the units of a stratum, in a fixed order (team name, or
CRM id / e-mail / id for reps), receive the arms of shuffled blocks that hold each arm as often
as its ratio says. One numpy generator seeded with the study's seed walks the strata in sorted
order, so the same seed and the same roster always give the same assignment.

The procedure itself is ``analysis.randomisation.permuted_blocks``, a pure function: the report's
randomisation test on team means (fewer than six teams per model) re-runs exactly that code, with
the plan ``surveys.studies.randomisation_plan`` reads back from the stored assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import delete, select

from analysis.planning import SampleRatioCheck
from analysis.randomisation import permuted_blocks

from .. import audit
from ..database import transactional
from ..extensions import db
from ..models import (
    Assignment,
    AssignmentChange,
    CoachingModel,
    PerformanceRecord,
    RandomisationUnit,
    Rep,
    Study,
    Team,
    User,
)
from ..refusals import Refused
from ..studies import allocation_check, lock_reason, randomisation_block, study_members, team_sizes


class AssignmentError(Refused):
    """The assignment cannot be made or changed; the message says why."""


@dataclass(frozen=True)
class Unit:
    """Something that can be randomised: a team or a rep, with what stratification needs."""

    team: Team | None
    rep: Rep | None
    order_key: str
    region: str
    size: int


def _units(study: Study) -> list[Unit]:
    """Active units of the study's organisation: teams with at least one active rep, or active reps."""
    sizes = team_sizes(study.organisation_id)
    teams = {t.id: t for t in db.session.scalars(select(Team).where(Team.organisation_id == study.organisation_id))}
    if study.randomisation_unit is RandomisationUnit.TEAM:
        return [Unit(team, None, team.name.lower(), team.region or "", sizes[team.id])
                for team in teams.values() if sizes.get(team.id)]
    reps = db.session.scalars(select(Rep).where(Rep.organisation_id == study.organisation_id, Rep.active.is_(True)))
    return [Unit(None, rep, (rep.crm_id or rep.email or "").lower() + f"#{rep.id:09d}",
                 teams[rep.team_id].region or "", sizes.get(rep.team_id, 0)) for rep in reps]


def _strata(units: list[Unit], stratify_by: str | None) -> dict[str, list[Unit]]:
    """Units grouped by stratum: one stratum, or by region, or by team size (at most / above the median)."""
    if stratify_by == "region":
        key = lambda u: u.region or "(no region)"  # noqa: E731
    elif stratify_by == "team_size":
        median = float(np.median([u.size for u in units])) if units else 0.0
        key = lambda u: f"up to {median:g} reps" if u.size <= median else f"over {median:g} reps"  # noqa: E731
    else:
        key = lambda u: "all"  # noqa: E731
    strata: dict[str, list[Unit]] = {}
    for unit in sorted(units, key=lambda u: u.order_key):
        strata.setdefault(key(unit), []).append(unit)
    return strata


@transactional
def randomise(study: Study, today: date, seed: int | None = None) -> list[Assignment]:
    """(Re)draw the assignment of every active unit; refused once launched or once the first wave has opened."""
    if locked := lock_reason(study, today):
        raise AssignmentError(f"the assignment is locked: {locked}")
    if len(study.arms) < 2:
        raise AssignmentError("the study needs at least two coaching models")
    if seed is not None:
        study.seed = seed
    units = _units(study)
    if len(units) < len(study.arms):
        raise AssignmentError(f"{len(units)} {study.randomisation_unit.value}(s) with active reps cannot cover "
                              f"{len(study.arms)} coaching models; import the roster first")
    rng = np.random.default_rng(study.seed)
    block = randomisation_block(study)
    db.session.execute(delete(Assignment).where(Assignment.study_id == study.id))
    assignments = [Assignment(study_id=study.id, team=unit.team, rep=unit.rep, coaching_model=model, stratum=stratum)
                   for stratum, unit, model in permuted_blocks(_strata(units, study.stratify_by), block, rng)]
    db.session.add_all(assignments)
    audit.record("study.randomised", study=study,
                 detail=f"{len(assignments)} {study.randomisation_unit.value}(s), seed {study.seed}")
    return assignments


@transactional
def change_assignment(study: Study, assignment_id: int, model: CoachingModel, user: User, reason: str,
                      today: date) -> AssignmentChange:
    """Move one unit to another coaching model before the lock, recording who and why."""
    if locked := lock_reason(study, today):
        raise AssignmentError(f"the assignment is locked: {locked}")
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.study_id != study.id:
        raise LookupError(assignment_id)
    reason = (reason or "").strip()
    if not reason:
        raise AssignmentError("say why the assignment is changed")
    if model not in study.coaching_models:
        raise AssignmentError(f"{model.value} coaching is not one of this study's models")
    if model is assignment.coaching_model:
        raise AssignmentError("that is already the unit's coaching model")
    change = AssignmentChange(assignment=assignment, from_model=assignment.coaching_model, to_model=model,
                              changed_by_id=user.id, reason=reason[:2000])
    assignment.coaching_model = model
    db.session.add(change)
    unit = assignment.team.name if assignment.team else "a rep"
    audit.record("study.assignment_changed", study=study, actor=user,
                 detail=f"{unit}: {change.from_model.value} → {model.value} (why: {reason[:200]})")
    return change


def assignment_changes(study: Study) -> list[AssignmentChange]:
    """The log of the study's assignments changed by hand, newest first."""
    return list(db.session.scalars(select(AssignmentChange).join(Assignment).where(Assignment.study_id == study.id)
                                   .order_by(AssignmentChange.changed_at.desc())))


@dataclass(frozen=True)
class BalanceRow:
    """One coaching model's share of the allocation."""

    model: str
    units: int
    reps: int
    mean_team_size: float | None
    baseline_quota: float | None
    baseline_n: int


@dataclass(frozen=True)
class Balance:
    """The balance table and the sample-ratio check of an allocation."""

    rows: list[BalanceRow]
    baseline_period: str | None
    ratio_check: SampleRatioCheck | None


def balance(study: Study) -> Balance:
    """Teams, reps, team sizes and baseline quota attainment per model, and the sample-ratio check.

    The baseline is the latest CRM period that starts before the first wave opens (or the
    latest period at all when there are no waves yet).
    """
    assignments = list(db.session.scalars(select(Assignment).where(Assignment.study_id == study.id)))
    if not assignments:
        return Balance([], None, None)
    by_team = study.randomisation_unit is RandomisationUnit.TEAM
    members: dict[int, list[int]] = {}  # assignment id -> the active reps it holds
    for assignment_id, rep_id in db.session.execute(study_members(study, Assignment.id, Rep.id).order_by(Rep.id)):
        members.setdefault(assignment_id, []).append(rep_id)
    model_reps: dict[CoachingModel, list[int]] = {m: [] for m in study.coaching_models}
    model_units: dict[CoachingModel, int] = {m: 0 for m in study.coaching_models}
    model_team_sizes: dict[CoachingModel, list[int]] = {m: [] for m in study.coaching_models}
    for assignment in assignments:
        model_units[assignment.coaching_model] = model_units.get(assignment.coaching_model, 0) + 1
        # A rep-level unit counts its rep even when deactivated since the draw.
        reps = members.get(assignment.id, []) if by_team else [assignment.rep_id]
        if by_team:
            model_team_sizes.setdefault(assignment.coaching_model, []).append(len(reps))
        model_reps.setdefault(assignment.coaching_model, []).extend(reps)
    first_open = min((w.opens_on for w in study.waves), default=None)
    period_query = select(PerformanceRecord.period, PerformanceRecord.period_start).join(Rep).where(
        Rep.organisation_id == study.organisation_id)
    if first_open is not None:
        period_query = period_query.where(PerformanceRecord.period_start < first_open)
    latest = db.session.execute(period_query.order_by(PerformanceRecord.period_start.desc()).limit(1)).first()
    quota = {}
    if latest is not None:
        quota = dict(db.session.execute(select(PerformanceRecord.rep_id, PerformanceRecord.quota_attainment).join(Rep)
                                        .where(Rep.organisation_id == study.organisation_id,
                                               PerformanceRecord.period == latest.period,
                                               PerformanceRecord.quota_attainment.is_not(None))).all())
    rows = []
    for model in study.coaching_models:
        values = [quota[r] for r in model_reps.get(model, []) if r in quota]
        sizes = model_team_sizes.get(model, [])
        rows.append(BalanceRow(model.value, model_units.get(model, 0), len(model_reps.get(model, [])),
                               float(np.mean(sizes)) if sizes else None,
                               float(np.mean(values)) if values else None, len(values)))
    return Balance(rows, latest.period if latest else None, allocation_check(study))

