"""Changing a wave once it exists: its dates, closing it early, reopening it, deleting it.

What may change depends on where the wave is on ``today``:

- **not open yet**: label and dates, opening today or later; or it is deleted (links issued for it die);
- **open**: only the closing date, to any day from today on (to stop today, close it early); the
  label and opening date are fixed, since reps have been answering under them;
- **closed** (its date passed, or closed early): nothing. A closed wave's results can be read at once
  — report, export, the wave's counts — so a second version of them must never exist.

Reopening follows from the last rule. A wave closed early may be reopened while the study runs and
its planned closing date has not passed, and only while **nobody has answered it**: were it reopened
after some had, the report read before and the one read after it closed again would differ by
exactly the people who answered in between, however few (DESIGN.md section 4, "no view moves by one
response"). A wave nobody answered showed no result, so it leaves nothing to compare. For the reps
who had not answered a wave that some did, the way on is a new wave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from .. import audit, snapshots
from ..database import transactional
from ..extensions import db
from ..models import Invitation, Response, Study, StudyStatus, Wave
from ..refusals import ONE_LINE, has_control_characters
from ..studies import StudyError, day


class WaveError(StudyError):
    """A change to a wave that is not allowed now; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str = "closes_on"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WaveLocks:
    """Why each of a wave's fields cannot change now (a clause), or None where it can."""

    label: str | None = None
    opens_on: str | None = None
    closes_on: str | None = None

    @property
    def everything(self) -> bool:
        return None not in (self.label, self.opens_on, self.closes_on)

    def of(self, field: str) -> str | None:
        return getattr(self, field)


def wave_locks(study: Study, wave: Wave, today: date) -> WaveLocks:
    """What of ``wave`` is locked on ``today``, and why."""
    if study.status is StudyStatus.CLOSED:
        why = "the study is closed"
        return WaveLocks(why, why, why)
    if wave.is_closed(today):
        when = (f"was closed early, on {day(wave.closes_on)}" if wave.closed_early
                else f"closed on {day(wave.closes_on)}")
        why = (f"the wave has closed (it {when}): its results can be read from then on, so its dates stay as they "
               "were and it is never reopened once someone has answered it")
        return WaveLocks(why, why, why)
    if wave.opens_on <= today:
        why = f"the wave opened on {day(wave.opens_on)}: reps have been answering it since"
        return WaveLocks(label=why, opens_on=why)
    return WaveLocks()


def _responses(wave: Wave) -> bool:
    return db.session.scalar(select(Response.id).where(Response.wave_id == wave.id).limit(1)) is not None


@transactional
def edit_wave(study: Study, wave: Wave, label: str, opens_on: date, closes_on: date, today: date) -> None:
    """Change ``wave``'s label and dates as far as ``wave_locks`` allows (committed)."""
    locks = wave_locks(study, wave, today)
    label = (label or "").strip()
    for field, old, new in (("label", wave.label, label), ("opens_on", wave.opens_on, opens_on),
                            ("closes_on", wave.closes_on, closes_on)):
        if old != new and locks.of(field):
            raise WaveError(locks.of(field), field)
    if not label or len(label) > 40:
        raise WaveError("a wave needs a label of at most 40 characters", "label")
    if has_control_characters(label):
        raise WaveError(f"a wave label {ONE_LINE}", "label")
    if any(w.id != wave.id and w.label.lower() == label.lower() for w in study.waves):
        raise WaveError(f"the study already has a wave called {label!r}", "label")
    if closes_on < opens_on:
        raise WaveError("the wave must close on or after the day it opens")
    if wave.opens_on > today and opens_on < today:
        raise WaveError(f"a wave that has not opened yet opens today or later (today is {day(today)}): reps "
                        "cannot answer in the past", "opens_on")
    if closes_on < today:
        raise WaveError(f"the wave is open, so it closes today ({day(today)}) or later; to stop it now, close it "
                        "early")
    before = f"{wave.label!r}, {wave.opens_on.isoformat()} to {wave.closes_on.isoformat()}"
    wave.label, wave.opens_on, wave.closes_on = label, opens_on, closes_on
    audit.record("wave.changed", study=study,
                 detail=f"{before} → {label!r}, {opens_on.isoformat()} to {closes_on.isoformat()}")
    snapshots.request_rebuild([study.id])


@dataclass(frozen=True)
class CloseEarly:
    """What closing a wave early would do, for the confirmation page (no count of responses)."""

    wave: Wave
    today: date
    invited: int  # reps with a link for the wave (how many answered is not said: the wave is open)
    freezes_population: bool  # no wave has closed before: the CRM figures' population is fixed now


def close_early_preview(study: Study, wave: Wave, today: date) -> CloseEarly:
    """Check that ``wave`` can be closed early, and say what it would change; raise ``WaveError`` otherwise."""
    _check_closable(study, wave, today)
    invited = db.session.scalar(select(func.count(func.distinct(Invitation.rep_id))).where(
        Invitation.wave_id == wave.id)) or 0
    first_closed = not any(w.is_closed(today) for w in study.waves)
    return CloseEarly(wave, today, invited, first_closed)


def _check_closable(study: Study, wave: Wave, today: date) -> None:
    if study.status is not StudyStatus.RUNNING:
        raise WaveError(f"the study is {study.status.value}, not running: nobody can answer it, so there is no "
                        "wave to close early")
    if wave.is_closed(today):
        raise WaveError(f"the wave has closed already, on {day(wave.closes_on)}")
    if wave.opens_on > today:
        raise WaveError(f"the wave has not opened yet (it opens on {day(wave.opens_on)}): change its dates, or "
                        "delete it")


@transactional
def close_early(study: Study, wave: Wave, today: date) -> None:
    """Close an open wave now: it closes ``today`` and counts as closed from this moment (``Wave.is_closed``)."""
    _check_closable(study, wave, today)
    wave.planned_closes_on, wave.closes_on = wave.closes_on, today
    audit.record("wave.closed_early", study=study,
                 detail=f"{wave.label!r} on {today.isoformat()} (planned {wave.planned_closes_on.isoformat()})")
    snapshots.request_rebuild([study.id])


@transactional
def reopen(study: Study, wave: Wave, today: date) -> None:
    """Reopen a wave closed early, up to its planned closing date — only while nobody has answered it
    (the module's docstring says why)."""
    if study.status is not StudyStatus.RUNNING:
        raise WaveError(f"the study is {study.status.value}: only a wave of a running study can be reopened")
    if not wave.closed_early:
        raise WaveError("only a wave closed early can be reopened: this one "
                        + (f"closed on its planned date, {day(wave.closes_on)}" if wave.is_closed(today)
                           else "is not closed"))
    if wave.planned_closes_on < today:
        raise WaveError(f"its planned closing date, {day(wave.planned_closes_on)}, has passed")
    if _responses(wave):
        raise WaveError("people answered this wave before it closed, and its results could be read from the "
                        "moment it closed: reopened and closed again, anyone could compare the two versions and "
                        "learn what the few who answered in between said. To hear from the others, add a new wave")
    wave.closes_on, wave.planned_closes_on = wave.planned_closes_on, None
    audit.record("wave.reopened", study=study, detail=f"{wave.label!r}, closes {wave.closes_on.isoformat()}")
    snapshots.forget(study.id)  # an open wave is never shown, not even from an older snapshot


@dataclass(frozen=True)
class WaveDeletion:
    """What deleting a wave would remove, for the confirmation page."""

    wave: Wave
    links: int  # links issued for it (nobody can have used one: it has not opened)


def deletion_preview(study: Study, wave: Wave, today: date) -> WaveDeletion:
    """Check that ``wave`` can be deleted and say what goes with it; raise ``WaveError`` otherwise."""
    _check_deletable(wave, today)
    links = db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.wave_id == wave.id, Invitation.revoked_at.is_(None))) or 0
    return WaveDeletion(wave, links)


def _check_deletable(wave: Wave, today: date) -> None:
    if wave.opens_on <= today:
        raise WaveError(f"the wave has opened (on {day(wave.opens_on)}), so it is part of the study's record; "
                        "only a wave that has not opened yet can be deleted")
    if _responses(wave):
        raise WaveError("people have answered this wave, so it is kept")


@transactional
def delete_wave(study: Study, wave: Wave, today: date) -> None:
    """Delete a wave that has not opened (its links go with it)."""
    if wave.study_id != study.id:
        raise LookupError(wave.id)
    _check_deletable(wave, today)
    audit.record("wave.deleted", study=study, detail=f"{wave.label!r}")
    db.session.delete(wave)
    snapshots.request_rebuild([study.id])
