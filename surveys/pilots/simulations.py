"""Checking a design by simulation before launch (issue 17, item 4), as a background job with progress.

The planning panel's form records a ``PlanningSimulation`` row with what was asked (effect d, ICC, response
rate, preset) and the design read from the roster now (teams per model, team sizes, primary outcome, the model
the effect is planted on), and enqueues ``simulation_task``. A consumer runs
``analysis.planning_simulation.simulate_design`` on it, writing how many pilots are done every
``PROGRESS_EVERY`` pilots from a connection of its own (so the page sees it at once), and keeps the result as
JSON. The progress page follows the row; once it is done, the planning panel says how often the report would
name the right model, and how many teams 80 % needs.

A consumer killed mid-way leaves the row ``running`` with its progress standing still: after ``STALE_AFTER``
without progress the pages say it stopped, and asking again starts a new check (nothing else depends on an
unfinished one).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from analysis.planning_simulation import simulate_design

from ..database import transactional
from ..extensions import db
from ..models import Assignment, PlanningSimulation, RandomisationUnit, Study, User, utcnow
from ..queue import job
from ..refusals import Refused
from ..studies import team_sizes

log = logging.getLogger(__name__)

PILOTS = 100
PROGRESS_EVERY = 5  # pilots between two progress writes
ACTIVE = ("queued", "running")
STALE_AFTER = timedelta(minutes=5)  # a running check whose progress stood still this long has lost its worker


class SimulationRefused(Refused):
    """This study's design cannot be checked by simulation now; the message says why."""


def design_of(study: Study) -> dict:
    """The design to simulate, read from the study and its roster: teams, team sizes, models, primary outcome.

    Before the draw the teams are those with active reps; after it, the teams assigned.
    """
    if study.randomisation_unit is not RandomisationUnit.TEAM:
        raise SimulationRefused("the check by simulation is for studies randomised by team")
    arms = [m.value for m in study.coaching_models]
    sizes = list(team_sizes(study.organisation_id).values())
    assigned = db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.study_id == study.id))
    n_teams = assigned or len(sizes)
    if len(arms) < 2 or not sizes or n_teams < 2 * len(arms):
        raise SimulationRefused("import a roster with at least two teams per coaching model first")
    return {"n_teams": n_teams, "team_size": [min(sizes), max(sizes)], "arms": arms, "planted": arms[0],
            "outcome": study.primary_outcome, "pilots": PILOTS, "seed": study.seed}


@transactional
def _create(user: User, study: Study, parameters: dict) -> PlanningSimulation:
    row = PlanningSimulation(study_id=study.id, user_id=user.id, parameters_json=json.dumps(parameters),
                             status="queued", total=parameters["pilots"])
    db.session.add(row)
    return row


def begin(user: User, study: Study, effect: float, icc: float, response_rate: float, preset: str) -> str:
    """Record a check of ``study``'s design and enqueue it; its id. With ``QUEUE_URL=immediate`` it has run
    by the time this returns."""
    parameters = {**design_of(study), "effect": float(effect), "icc": float(icc),
                  "response_rate": float(response_rate), "preset": preset}
    row_id = _create(user, study, parameters).id
    simulation_task(row_id)
    return row_id


def simulation_of(study: Study, simulation_id: str) -> PlanningSimulation | None:
    """A check of this study's design, if there is one with that id (fresh: a consumer writes it elsewhere)."""
    row = db.session.get(PlanningSimulation, simulation_id)
    if row is None or row.study_id != study.id:
        return None
    db.session.refresh(row)
    return row


def parameters(row: PlanningSimulation) -> dict:
    return json.loads(row.parameters_json)


def result(row: PlanningSimulation) -> dict | None:
    return json.loads(row.result_json) if row.result_json else None


def latest(study: Study) -> PlanningSimulation | None:
    """The newest finished check of the study's design (done or failed), for the planning panel."""
    return db.session.scalar(select(PlanningSimulation).where(
        PlanningSimulation.study_id == study.id, PlanningSimulation.status.not_in(ACTIVE))
        .order_by(PlanningSimulation.created_at.desc()).limit(1))


def stalled(row: PlanningSimulation) -> bool:
    """Whether a running check's progress has stood still for ``STALE_AFTER``: its worker has stopped."""
    return row.status == "running" and row.updated_at < utcnow() - STALE_AFTER


def running(study: Study) -> PlanningSimulation | None:
    """The newest check of the study's design still queued or running (and not stalled), if any."""
    active = db.session.scalar(select(PlanningSimulation).where(
        PlanningSimulation.study_id == study.id, PlanningSimulation.status.in_(ACTIVE))
        .order_by(PlanningSimulation.created_at.desc()).limit(1))
    return None if active is None or stalled(active) else active


# --- the task ---------------------------------------------------------------------------------------------


@job()
def simulation_task(simulation_id: str) -> None:
    """Run one check of a design (the queue's task; a check already taken is not run again)."""
    run(simulation_id)


@transactional
def _claim(simulation_id: str) -> bool:
    return db.session.execute(update(PlanningSimulation).where(
        PlanningSimulation.id == simulation_id, PlanningSimulation.status == "queued").values(
        status="running", done=0, updated_at=utcnow())).rowcount == 1


@transactional
def _finish(simulation_id: str, **values) -> None:
    db.session.execute(update(PlanningSimulation).where(PlanningSimulation.id == simulation_id).values(
        updated_at=utcnow(), **values))


class _Progress:
    """``simulate_design``'s progress: pilots done of the total, written every ``PROGRESS_EVERY`` (and the last)."""

    def __init__(self, simulation_id: str):
        self.simulation_id = simulation_id

    def __call__(self, done: int, total: int) -> None:
        if done % PROGRESS_EVERY and done != total and done != 1:
            return
        try:
            with db.engine.begin() as connection:  # its own transaction, committed now
                connection.execute(update(PlanningSimulation).where(
                    PlanningSimulation.id == self.simulation_id).values(done=done, total=total, updated_at=utcnow()))
        except SQLAlchemyError as error:  # progress is for the page only: the simulation goes on without it
            log.warning("planning simulation %s: progress not recorded: %s", self.simulation_id, error)


def run(simulation_id: str) -> str | None:
    """Run a queued check to its end; its final status, or None when there was nothing to run."""
    if not _claim(simulation_id):
        return None
    given = parameters(db.session.get(PlanningSimulation, simulation_id))
    db.session.rollback()  # the simulation takes a while: hold no transaction open meanwhile
    try:
        found = simulate_design(effect=given["effect"], planted=given["planted"],
                                team_size=tuple(given["team_size"]), response_rate=given["response_rate"],
                                icc=given["icc"], n_teams=given["n_teams"], arms=given["arms"],
                                outcome=given["outcome"], pilots=given["pilots"], seed=given["seed"],
                                progress=_Progress(simulation_id))
    except Exception:
        log.exception("planning simulation %s failed", simulation_id)
        _finish(simulation_id, status="failed", message="The simulation stopped on an error; the error is in the "
                                                        "worker's log. Please try again.")
        return "failed"
    _finish(simulation_id, status="done", result_json=json.dumps(found.to_dict()))
    return "done"


def panel(study: Study) -> dict:
    """What the planning panel shows of the checks: the newest finished one (its parameters and result) and
    the one still running, if any."""
    finished, active = latest(study), running(study)
    return {"latest": finished, "parameters": parameters(finished) if finished else None,
            "result": result(finished) if finished else None, "running": active}
