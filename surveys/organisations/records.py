"""What an organisation holds, as its pages show it: the roster, CRM performance and coaching sessions
(the data the imports beside this module bring in), its studies, and one session entered by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Row, String, cast, func, select

from .. import audit
from ..database import transactional
from ..extensions import db
from ..models import CoachingModel, CoachingSession, Organisation, PerformanceRecord, Rep, Study, Team
from ..refusals import Refused


class SessionError(Refused):
    """A coaching session that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class OrganisationSummary:
    """An organisation at a glance: how many teams, active reps, CRM records and sessions; its studies."""

    counts: dict[str, int]
    studies: list[Study]


def organisation_summary(organisation: Organisation) -> OrganisationSummary:
    """The counts of the organisation's roster and data, and its studies, newest first."""
    counts = {
        "teams": db.session.scalar(select(func.count()).select_from(Team).where(
            Team.organisation_id == organisation.id)),
        "reps": db.session.scalar(select(func.count()).select_from(Rep).where(
            Rep.organisation_id == organisation.id, Rep.active.is_(True))),
        "performance": db.session.scalar(select(func.count()).select_from(PerformanceRecord).join(Rep).where(
            Rep.organisation_id == organisation.id)),
        "sessions": db.session.scalar(select(func.count()).select_from(CoachingSession).where(
            CoachingSession.organisation_id == organisation.id)),
    }
    studies = list(db.session.scalars(select(Study).where(Study.organisation_id == organisation.id)
                                      .order_by(Study.created_at.desc())))
    return OrganisationSummary(counts, studies)


def roster_summary(organisation: Organisation) -> list[Row]:
    """Per team, by name: ``(id, name, region, active reps, reps who left)``."""
    return db.session.execute(
        select(Team.id, Team.name, Team.region, func.count(Rep.id).filter(Rep.active.is_(True)),
               func.count(Rep.id).filter(Rep.active.is_(False)))
        .outerjoin(Rep, Rep.team_id == Team.id).where(Team.organisation_id == organisation.id)
        .group_by(Team.id, Team.name, Team.region).order_by(Team.name)).all()


def performance_by_period(organisation: Organisation) -> list[Row]:
    """Per CRM period, in order: ``(period, records, mean quota attainment, mean win rate, total revenue)``."""
    return db.session.execute(
        select(PerformanceRecord.period, func.count(), func.avg(PerformanceRecord.quota_attainment),
               func.avg(PerformanceRecord.win_rate), func.sum(PerformanceRecord.revenue))
        .join(Rep).where(Rep.organisation_id == organisation.id)
        .group_by(PerformanceRecord.period, PerformanceRecord.period_start)
        .order_by(PerformanceRecord.period_start)).all()


def teams_and_active_reps(organisation: Organisation) -> tuple[list[Row], list[Row]]:
    """Who a session can be with: the teams ``(id, name)`` and the active reps ``(id, name, team name)``, by name."""
    teams = db.session.execute(select(Team.id, Team.name).where(Team.organisation_id == organisation.id)
                               .order_by(Team.name)).all()
    reps = db.session.execute(select(Rep.id, Rep.name, Team.name).join(Team).where(
        Rep.organisation_id == organisation.id, Rep.active.is_(True)).order_by(Team.name, Rep.name)).all()
    return teams, reps


def sessions_by_month(organisation: Organisation) -> list[Row]:
    """Per month (``YYYY-MM``) and coach's model: ``(month, model, sessions, minutes)``."""
    month = func.substr(cast(CoachingSession.session_date, String), 1, 7)
    return db.session.execute(
        select(month, CoachingSession.coach_model, func.count(), func.sum(CoachingSession.minutes))
        .where(CoachingSession.organisation_id == organisation.id)
        .group_by(month, CoachingSession.coach_model).order_by(month)).all()


@transactional
def add_session(organisation: Organisation, coach_model: CoachingModel, session_date: date, minutes: int,
                today: date, rep_id: int | None = None, team_id: int | None = None) -> CoachingSession:
    """Record one coaching session with a rep or a whole team; refused for a date after ``today``."""
    if session_date > today:
        raise SessionError("the date is in the future")
    session = CoachingSession(organisation_id=organisation.id, rep_id=rep_id, team_id=team_id,
                              coach_model=coach_model, session_date=session_date, minutes=minutes)
    db.session.add(session)
    audit.record("session.added", organisation=organisation,
                 detail=f"{coach_model.value} coaching on {session_date.isoformat()}, {minutes} min")
    return session
