"""A wave's schedule of e-mail reminders, the consultant's note in its e-mails, and the periodic run that sends
the reminders that are due.

A reminder is due on one date: ``days`` after the wave opens, or the day before it closes
(``WaveReminder.due_on``, from the wave's dates as they are). What may change:

- the schedule and the note, while the study is not closed and the wave has not closed — before it opens
  and while it is open;
- a reminder that has gone out, or whose day has passed, stays as it is: it cannot be moved or removed, and
  no reminder can be added on a day that has passed.

``send_due_reminders(now)`` runs every hour (``surveys.tasks``): for running studies and open waves it takes
the reminders due on ``now``'s date that have not run, marks them run (committed, and only where no other
run took them first) and then starts one reminder run per wave with ``start_reminders``. A reminder runs at
most once: a run that fails (no mail server, say) is logged, and not tried again.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..mail import MailError, mail_configured
from ..models import ReminderKind, Study, StudyStatus, Wave, WaveReminder, utcnow
from ..refusals import Refused
from ..studies import day
from ..web import today
from .invitations import InvitationError, MailRun
from .sending import send_links

NOTE_MAX = 1000
# Bidirectional controls (Unicode category Cf) reorder the text a reader sees ("Trojan Source"): refused too.
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ReminderError(Refused):
    """A schedule or note that cannot be saved; ``field`` names the form field, ``status`` the answer's (400: the
    input is wrong; 409: the wave's state forbids it)."""

    def __init__(self, message: str, field: str = "days", status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class ScheduledReminder:
    """A reminder as the wave page lists it."""

    words: str
    due_on: date
    ran_at: datetime | None
    fixed: bool  # gone out, or its day has passed: it stays as it is


def schedule_lock(study: Study, wave: Wave, today: date) -> str | None:
    """Why nothing of the schedule and note can change on ``today`` (a clause), or None."""
    if study.status is StudyStatus.CLOSED:
        return "the study is closed"
    if wave.is_closed(today):
        return f"the wave has closed (on {day(wave.closes_on)}): there is nobody left to remind"
    return None


def is_fixed(reminder: WaveReminder, wave: Wave, today: date) -> bool:
    """Whether ``reminder`` has gone out or its day has passed: then it cannot be edited."""
    return reminder.ran_at is not None or reminder.due_on(wave) < today


def schedule(wave: Wave, today: date) -> list[ScheduledReminder]:
    """The wave's reminders in date order, for the page."""
    rows = [ScheduledReminder(r.words(), r.due_on(wave), r.ran_at, is_fixed(r, wave, today)) for r in wave.reminders]
    return sorted(rows, key=lambda row: row.due_on)


def form_values(wave: Wave) -> dict:
    """The schedule and note as the form shows them."""
    after = sorted(r.days for r in wave.reminders if r.kind is ReminderKind.AFTER_OPENING)
    return {"days": ", ".join(str(number) for number in after), "note": wave.note or "",
            "day_before_closing": any(r.kind is ReminderKind.BEFORE_CLOSING and r.days == 1 for r in wave.reminders)}


def clean_note(note: str | None) -> str | None:
    """The note as stored: line breaks made ``\\n``, outer white space gone, None when empty.

    Raises ``ReminderError`` for a note over ``NOTE_MAX`` characters or with a control character other than a
    line break (a tab, an escape, a NUL, a bidirectional override).
    """
    text = (note or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None
    if len(text) > NOTE_MAX:
        raise ReminderError(f"the note has {len(text):,} characters; it may have at most {NOTE_MAX:,}", "note")
    for position, character in enumerate(text, start=1):
        if character != "\n" and (unicodedata.category(character) in ("Cc", "Zl", "Zp")
                                  or character in BIDI_CONTROLS):
            raise ReminderError(f"the note holds a control character (U+{ord(character):04X}, character "
                                f"{position}); write it with letters, digits, punctuation and line breaks only",
                                "note")
    return text


def _check_days(wave: Wave, days: list[int], day_before_closing: bool, fixed: set[tuple[ReminderKind, int]]) -> None:
    """Refuse a day the wave does not have, or twice; ``fixed`` reminders (gone out, or passed) are kept as they
    are even where the wave's dates have moved since (its closing date brought forward, say)."""
    length = (wave.closes_on - wave.opens_on).days
    seen: set[int] = set()
    for number in days:
        if number in seen:
            raise ReminderError(f"day {number} is in the list twice")
        seen.add(number)
        if (ReminderKind.AFTER_OPENING, number) in fixed:
            continue
        if number < 1:
            raise ReminderError(f"day {number}: a reminder goes out at least 1 day after the wave opens (day 0 is "
                                "the day it opens, when the invitations go)")
        if number > length:
            raise ReminderError(f"day {number} is after the wave closes: it is open from {day(wave.opens_on)} "
                                f"(day 0) to {day(wave.closes_on)} (day {length})")
    if day_before_closing and (ReminderKind.BEFORE_CLOSING, 1) not in fixed:
        if length < 2:
            raise ReminderError(f"the wave is open from {day(wave.opens_on)} to {day(wave.closes_on)}: the day "
                                "before it closes is not after the day it opens", "day_before_closing")
        if length - 1 in seen:
            raise ReminderError(f"day {length - 1} is the day before closing ({day(wave.closes_on)}) already: "
                                "keep one of the two", "day_before_closing")


@transactional
def set_schedule(study: Study, wave: Wave, days: list[int], day_before_closing: bool, note: str | None,
                 today: date) -> bool:
    """Make ``wave``'s reminders ``days`` after opening (and the day before closing) and its note ``note``
    (committed, recorded in the audit log); whether anything changed. ``ReminderError`` when it cannot."""
    if wave.study_id != study.id:
        raise LookupError(wave.id)
    lock = schedule_lock(study, wave, today)
    if lock:
        raise ReminderError(lock, status=409)
    note = clean_note(note)
    _check_days(wave, days, day_before_closing,
                {(r.kind, r.days) for r in wave.reminders if is_fixed(r, wave, today)})
    wanted = {(ReminderKind.AFTER_OPENING, number) for number in days}
    if day_before_closing:
        wanted.add((ReminderKind.BEFORE_CLOSING, 1))
    existing = {(r.kind, r.days): r for r in wave.reminders}
    for key, reminder in sorted(existing.items()):
        if key not in wanted and is_fixed(reminder, wave, today):
            done = (f"went out on {day(reminder.ran_at)}" if reminder.ran_at is not None
                    else f"was due on {day(reminder.due_on(wave))}, which has passed")
            raise ReminderError(f"the reminder {reminder.words()} {done}: it stays in the schedule",
                                _field(reminder.kind), 409)
    for kind, number in sorted(wanted - set(existing)):
        due_on = WaveReminder(kind=kind, days=number).due_on(wave)
        if due_on < today:
            words = WaveReminder(kind=kind, days=number).words()
            raise ReminderError(f"a reminder {words} would have gone out on {day(due_on)}, which has passed (today "
                                f"is {day(today)})", _field(kind), 409)
    removed = [existing[key] for key in existing if key not in wanted]
    added = [WaveReminder(kind=kind, days=number) for kind, number in sorted(wanted - set(existing))]
    note_changed = note != wave.note
    if not removed and not added and not note_changed:
        return False
    for reminder in removed:
        wave.reminders.remove(reminder)
    wave.reminders.extend(added)
    wave.note = note
    words = ", ".join(r.words() for r in sorted(wave.reminders, key=lambda r: r.due_on(wave))) or "none"
    detail = f"wave {wave.label!r}: reminders {words}"
    if note_changed:
        detail += f"; note {'removed' if note is None else f'set ({len(note)} characters)'}"
    audit.record("wave.reminders_changed", study=study, detail=detail)
    return True


def _field(kind: ReminderKind) -> str:
    return "days" if kind is ReminderKind.AFTER_OPENING else "day_before_closing"


# --- the periodic run ------------------------------------------------------------------------------------


def due_reminders(on: date) -> list[WaveReminder]:
    """Reminders not yet run that are due on ``on``, of open waves of running studies."""
    candidates = db.session.scalars(
        select(WaveReminder).join(Wave).join(Study).where(
            WaveReminder.ran_at.is_(None), Study.status == StudyStatus.RUNNING, Wave.opens_on <= on,
            Wave.closes_on >= on, Wave.planned_closes_on.is_(None))
        .order_by(WaveReminder.wave_id, WaveReminder.id))
    return [reminder for reminder in candidates if reminder.due_on() == on]


@transactional
def _claim(reminders: list[WaveReminder], at: datetime) -> list[WaveReminder]:
    """Mark ``reminders`` run (committed); those this run took: another run may have taken some first."""
    taken = []
    for reminder in reminders:
        result = db.session.execute(update(WaveReminder).where(
            WaveReminder.id == reminder.id, WaveReminder.ran_at.is_(None)).values(ran_at=at))
        if result.rowcount == 1:
            taken.append(reminder)
    return taken


def send_due_reminders(now: datetime) -> dict[int, MailRun | None]:
    """Send the reminders due on ``now``'s date: one run per wave (however many of its reminders are due);
    per wave id, its run's counts, or None where it failed. Nothing is taken while no mail server is configured.
    """
    on = now.date()
    if not mail_configured():
        if due_reminders(on):
            current_app.logger.warning("scheduled reminders are due on %s but no mail server is configured "
                                       "(MAIL_SERVER): none sent", on.isoformat())
        return {}
    ids = [reminder.id for reminder in due_reminders(on)]
    db.session.rollback()  # the claim reads nothing from before it
    taken = _claim([db.session.get(WaveReminder, id_) for id_ in ids], utcnow())
    by_wave: dict[int, list[str]] = {}
    for reminder in taken:
        by_wave.setdefault(reminder.wave_id, []).append(reminder.words())
    runs: dict[int, MailRun | None] = {}
    for wave_id, words in by_wave.items():
        wave = db.session.get(Wave, wave_id)
        note = "scheduled reminder: " + ", ".join(words)
        try:
            runs[wave_id] = start_reminders(wave.study, wave, note, on=on)
        except (InvitationError, MailError) as error:
            current_app.logger.warning("%s of wave %s (study %s) not sent: %s", note, wave.id, wave.study_id, error)
            runs[wave_id] = None
    return runs


def start_reminders(study: Study, wave: Wave, note: str, on: date | None = None) -> MailRun:
    """Start a run of e-mail reminders for ``wave`` (``note``: which scheduled reminder it is, for the log).

    Today the run is ``send_links(..., reminder=True)`` itself: to reps e-mailed an invitation who have not
    answered, each with a new link. ``on`` is the date the run works in (default: today).
    """
    current_app.logger.info("%s: wave %s of study %s", note, wave.id, study.id)
    return send_links(study, wave, current_app.config["PUBLIC_BASE_URL"], on or today(), reminder=True)
