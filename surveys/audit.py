"""The audit log: who did what and when — design changes, launches and closes, links, exports, people.

It records acts, never survey answers: an event names a person, an action, the organisation and study
it concerns and a short detail in words ("wave 'baseline': 140 links"), and nothing a response could be
matched with. An event is written in the same unit of work as the act (``record`` only adds it to the
session), so an act that is rolled back leaves no trace and an act that is kept always has one.

The log cannot be edited: the database itself refuses UPDATE and DELETE on ``audit_event`` (``GUARD``,
triggers in ``database.GUARD``, created with the table and by migration 0012). Only ``delete_all_data`` — the operator's
whole-database reset behind ``flask demo --reset`` — lifts the guard, inside its one transaction.
"""

from __future__ import annotations

import getpass

import pandas as pd
from flask import has_request_context
from flask_login import current_user
from sqlalchemy import DDL, event, select

from .database import GUARD, transactional
from .extensions import db
from .models import AuditEvent, Organisation, Study, User

# Every action the log knows, with the words the pages use ("<actor> <words>").
ACTIONS = {
    "organisation.created": "created the organisation",
    "organisation.renamed": "renamed the organisation",
    "roster.imported": "imported a roster",
    "performance.imported": "imported CRM performance",
    "sessions.imported": "imported coaching sessions",
    "session.added": "added a coaching session",
    "rep.changed": "changed a rep",
    "team.changed": "changed a team",
    "study.created": "created the study",
    "study.changed": "changed the study",
    "study.design_changed": "changed the study's design",
    "study.randomised": "randomised the assignment",
    "study.assignment_changed": "changed an assignment by hand",
    "study.questions_changed": "changed the study's questions",
    "study.translations_imported": "imported translations of the study's own questions",
    "study.launched": "launched the study",
    "study.closed": "closed the study",
    "study.interim_look": "took an interim look at an open wave",
    "study.deleted": "deleted the draft study",
    "wave.added": "added a wave",
    "wave.changed": "changed a wave",
    "wave.closed_early": "closed a wave early",
    "wave.reopened": "reopened a wave",
    "wave.deleted": "deleted a wave",
    "wave.reminders_changed": "changed a wave's reminders or note",
    "links.issued": "issued links and downloaded the mail-merge file",
    "links.sent": "sent invitations by e-mail",
    "reminders.sent": "sent reminders by e-mail",
    "export.responses": "exported response-level data",
    "export.performance": "exported performance by rep",
    "people.invited": "invited a person",
    "people.joined": "accepted an invitation",
    "people.role_changed": "changed a person's role",
    "people.removed": "removed a person's access",
}

for _dialect, _statements in GUARD.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


def _actor() -> tuple[int | None, str]:
    """The signed-in person of this request, or the operator at the command line."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.email
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return None, f"command line ({name})"


def record(action: str, *, organisation: Organisation | int | None = None, study: Study | None = None,
           detail: str = "", actor: User | None = None) -> AuditEvent:
    """Add an event to the current unit of work (the caller's service commits it with the act).

    ``actor`` defaults to the signed-in user, or the command line. ``detail`` says what was done in
    words; it must never carry a survey answer or anything that ties a response to a rep.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    actor_id, actor_name = (actor.id, actor.email) if actor is not None else _actor()
    if (study is not None and study.id is None) or (isinstance(organisation, Organisation) and organisation.id is None):
        db.session.flush()  # a study or organisation created in this unit of work gets its id now
    if study is not None and organisation is None:
        organisation = study.organisation_id
    organisation_id = organisation.id if isinstance(organisation, Organisation) else organisation
    entry = AuditEvent(actor_id=actor_id, actor=actor_name, organisation_id=organisation_id,
                       study_id=study.id if study is not None else None,
                       study_name=study.name if study is not None else None, action=action, detail=detail[:2000])
    db.session.add(entry)
    return entry


@transactional
def note(action: str, **values) -> AuditEvent:
    """Record an act that writes nothing else (a download), in a unit of work of its own."""
    return record(action, **values)


def events(organisation_id: int | None = None, study_id: int | None = None,
           limit: int | None = None) -> list[AuditEvent]:
    """Events of an organisation (its own and its studies') or of one study, newest first.

    Events keep plain ids, which outlive what they name: a study's are those with its id, its
    organisation's id, and a time no earlier than the study's creation, so that the log of a deleted
    study never shows up on a later study that got the same id (SQLite reused freed ids before
    migration 0013) — likewise for an organisation.
    """
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if study_id is not None:
        study = db.session.get(Study, study_id)
        if study is None:
            return []
        query = query.where(AuditEvent.study_id == study.id, AuditEvent.organisation_id == study.organisation_id,
                            AuditEvent.at >= study.created_at)
    elif organisation_id is not None:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is None:
            return []
        query = query.where(AuditEvent.organisation_id == organisation.id, AuditEvent.at >= organisation.created_at)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def words(entry: AuditEvent) -> str:
    """What the event says happened, in the pages' words."""
    return ACTIONS.get(entry.action, entry.action)


def events_frame(entries: list[AuditEvent]) -> pd.DataFrame:
    """The events as a table for download: time (UTC), who, what, study, detail."""
    return pd.DataFrame({
        "time_utc": [e.at.strftime("%Y-%m-%d %H:%M:%S") for e in entries],
        "who": [e.actor for e in entries],
        "action": [e.action for e in entries],
        "what": [words(e) for e in entries],
        "study": [e.study_name or "" for e in entries],
        "detail": [e.detail for e in entries],
    }, columns=["time_utc", "who", "action", "what", "study", "detail"])
