"""E-mailing a wave's links as a background job: one ``SendJob`` per run, one ``SendItem`` per rep.

The web request only creates the job and enqueues it (``start_sending``); a queue consumer works through the
items (``process_job``). Each item goes, in this order:

1. **claim** — in one transaction: the item is taken with a lease (``claimed_by``, ``claimed_until``;
   PostgreSQL ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, SQLite's single writer), and, if
   it has no link yet, the rep's earlier unused link for the wave is revoked, the new invitation stored
   (its hash only) and the clear link kept on the item *encrypted* (AES-GCM, key from SECRET_KEY by HKDF);
2. **send** — over SMTP;
3. **mark** — sent (the invitation's ``sent_at``; the sealed link is dropped), retry (a 4xx or a
   connection error: again later with exponential backoff, the same link), or failed (a 5xx, or
   MAIL_MAX_ATTEMPTS tries; the sealed link is dropped).

So every message that leaves carries a link stored before it left, and a retry never stops the link of an
earlier try. What cannot be known is whether a message the server accepted was recorded: a consumer that
dies between 2 and 3 leaves its item claimed. When the lease passes, the item becomes ``uncertain`` and is
*not* sent again by itself (that could deliver it twice); the wave page offers to send the uncertain ones
again, with the same sealed link, so that even a duplicate carries a working link.

A periodic task (every minute) and every consumer at its start resume jobs whose runner has gone: a
consumer killed mid-send loses its queue message, never the state in the database.

Anonymity: a reminder run goes to the reps who have not answered an open wave, so its size is the exact
non-response count. Its progress is shown as a percentage in steps of 10 %, and the audit log gives no count
of it (``progress_words``).
"""

from __future__ import annotations

import os
import smtplib
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import func, insert, or_, select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..mail import MailError, connection
from ..models import Invitation, Rep, SendItem, SendItemState, SendJob, Study, SurveyDraft, User, Wave, utcnow
from ..queue import crontab, is_immediate, job, periodic
from ..tokens import hash_token, new_token, survey_link
from ..web import today
from .invitations import (
    InvitationError,
    IssuedLink,
    MailRun,
    _chunks,
    _link_targets,
    _message,
    check_can_issue,
    mail_targets,
    participating_reps,
)

HKDF_INFO = b"coachlab send-item link"
NONCE_BYTES = 12
HEARTBEAT_SECONDS = 60  # a runner renews its job's ``active_until`` this far ahead with each claim
MAX_BACKOFF_SECONDS = 6 * 3600
OPEN = (SendItemState.PENDING, SendItemState.RETRY)  # still to be tried
IN_FLIGHT = (*OPEN, SendItemState.CLAIMED)  # the job is not finished while any is in one of these states

Clock = Callable[[], datetime]


# --- the sealed link -----------------------------------------------------------------------------------------

def _key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode("utf-8") if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret)


def seal_link(item_id: int, link: str) -> bytes:
    """``link`` encrypted for item ``item_id`` (its id is the associated data: a sealed link moved to another item
    does not open)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_key()).encrypt(nonce, link.encode("utf-8"), str(item_id).encode())


def open_link(item_id: int, sealed: bytes) -> str:
    """The clear link of ``seal_link``; ``InvalidTag`` when it was sealed for another item or under another key."""
    return AESGCM(_key()).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], str(item_id).encode()).decode()


# --- settings --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    rate: float  # messages per second for one runner; 0 = unlimited
    batch: int  # items one claim takes (and issues links for) at once
    max_attempts: int
    lease: float  # seconds a claim holds before the item counts as uncertain
    retry: float  # seconds before the first retry; doubled each time

    @classmethod
    def current(cls) -> Settings:
        config = current_app.config
        return cls(rate=float(config.get("MAIL_RATE", 5)), batch=int(config.get("MAIL_CLAIM_BATCH", 20)),
                   max_attempts=int(config.get("MAIL_MAX_ATTEMPTS", 5)),
                   lease=float(config.get("MAIL_LEASE_SECONDS", 300)),
                   retry=float(config.get("MAIL_RETRY_SECONDS", 60)))

    def backoff(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failed try an item is tried again."""
        return timedelta(seconds=min(self.retry * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


class Pacer:
    """At most ``rate`` messages per second: ``wait`` before each one sleeps what the previous ones left."""

    def __init__(self, rate: float, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.monotonic, self.sleep = monotonic, sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.monotonic()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


# --- starting a job ------------------------------------------------------------------------------------------

def running_job(wave: Wave) -> SendJob | None:
    """The wave's unfinished send job, if any."""
    return db.session.scalar(select(SendJob).where(SendJob.wave_id == wave.id, SendJob.finished_at.is_(None))
                             .order_by(SendJob.id).limit(1))


def check_mail_server() -> None:
    """Connect once (``MailError`` when the server cannot be used): a run is not started towards nowhere."""
    with connection():
        pass


@transactional
def create_job(study: Study, wave: Wave, base_url: str, on: date, reminder: bool,
               actor: User | None = None) -> SendJob:
    """A send job with one pending item per rep to e-mail: invitations to reps never sent one, or reminders to
    reps sent one; in both cases only reps with an address who have not answered. Nothing is issued yet."""
    check_can_issue(study, wave, on)
    # Write one message before anything is issued: a study whose messages cannot be written (a template, a
    # header) raises here, and no rep's link is replaced by one nobody will receive.
    _message(study, wave, IssuedLink(0, "Rep", "rep@example.invalid", "", f"{base_url}/s/probe"), reminder)
    # One run per wave at a time: a second would give the same reps a second link, stopping the first one's.
    db.session.execute(select(Wave.id).where(Wave.id == wave.id).with_for_update())
    if running_job(wave) is not None:
        raise InvitationError("e-mails for this wave are being sent already; this page shows how far they are")
    reps = participating_reps(study)
    if not reps:
        raise InvitationError("no active reps are assigned to a coaching model yet; randomise first")
    wanted, with_email = mail_targets(study, wave, reminder)
    targets = [rep.id for rep, _ in _link_targets(wave, reps, with_email)]
    # The run's size may be shown only if it cannot depend on who answered: none of the reps it is for has had
    # a link for this wave (a mail-merge download gives links without marking them sent).
    had_link = any(db.session.scalar(select(Invitation.id).where(Invitation.wave_id == wave.id,
                                                                 Invitation.rep_id.in_(chunk)).limit(1))
                   for chunk in _chunks(sorted(with_email)))
    send_job = SendJob(study_id=study.id, wave_id=wave.id, reminder=reminder, base_url=base_url,
                       actor_id=actor.id if actor is not None else None, without_email=len(wanted) - len(with_email),
                       exact=not reminder and not had_link)
    db.session.add(send_job)
    db.session.flush()
    for chunk in _chunks(targets):
        db.session.execute(insert(SendItem), [{"job_id": send_job.id, "rep_id": rep_id, "attempts": 0,
                                               "state": SendItemState.PENDING} for rep_id in chunk])
    return send_job


def start_sending(study: Study, wave: Wave, base_url: str, on: date, reminder: bool,
                  actor: User | None = None) -> int:
    """Check the mail server, create the job and enqueue it (``QUEUE_URL=immediate``: it runs now); its id."""
    check_can_issue(study, wave, on)
    check_mail_server()
    job_id = create_job(study, wave, base_url, on, reminder, actor).id
    run_send_job(job_id)
    return job_id


def send_links(study: Study, wave: Wave, base_url: str, on: date, reminder: bool = False) -> MailRun:
    """The synchronous path: the same job and items, worked through in this process; counts of the run.

    Items that failed for now stay in ``retry`` (a consumer tries them again); they count as failed here.
    """
    check_can_issue(study, wave, on)
    check_mail_server()
    send_job = create_job(study, wave, base_url, on, reminder)
    process_job(send_job.id, schedule=False)
    counts = item_counts(send_job.id)
    return MailRun(sent=counts[SendItemState.SENT],
                   failed=counts[SendItemState.FAILED] + counts[SendItemState.RETRY],
                   without_email=send_job.without_email)


# --- working through a job -----------------------------------------------------------------------------------

def runner_name() -> str:
    """Who claims: host, process and thread, and a nonce (a thread id can be reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claimed:
    item_id: int
    invitation_id: int
    link: IssuedLink


def expire_leases(now: datetime, job_id: int | None = None) -> int:
    """Claims whose lease has passed (their consumer died); how many items became uncertain.

    A runner sends the items it claimed in id order and records each outcome before sending the next, so of a
    dead runner's items still claimed only the first can have been on its way: it becomes uncertain. The others
    were never tried and go back to pending (their try not counted), keeping their sealed link.
    """
    query = select(SendItem.id, SendItem.claimed_by).where(SendItem.state == SendItemState.CLAIMED,
                                                          SendItem.claimed_until < now)
    if job_id is not None:
        query = query.where(SendItem.job_id == job_id)
    first: dict[str | None, int] = {}
    untried: list[int] = []
    for item_id, runner in sorted(db.session.execute(query).all()):
        if runner in first:
            untried.append(item_id)
        else:
            first[runner] = item_id
    expired = SendItem.state == SendItemState.CLAIMED, SendItem.claimed_until < now
    count = 0
    if first:
        count = db.session.execute(update(SendItem).where(SendItem.id.in_(list(first.values())), *expired)
                                   .values(state=SendItemState.UNCERTAIN, uncertain_at=now)
                                   .execution_options(synchronize_session=False)).rowcount
    for chunk in _chunks(untried):
        db.session.execute(update(SendItem).where(SendItem.id.in_(chunk), *expired)
                           .values(state=SendItemState.PENDING, claimed_until=None, attempts=SendItem.attempts - 1)
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return count


def _issue_many(wave_id: int, rep_ids: list[int], base_url: str, now: datetime) -> dict[int, tuple[int, str]]:
    """Revoke the reps' unused links for the wave (saved drafts move along), store new ones; rep id -> (id, link)."""
    stale = Invitation.wave_id == wave_id, Invitation.rep_id.in_(rep_ids), Invitation.used.is_(False), \
        Invitation.revoked_at.is_(None)
    drafts = dict(db.session.execute(select(Invitation.rep_id, SurveyDraft.invitation_id).join(SurveyDraft)
                                     .where(*stale)).all())
    db.session.execute(update(Invitation).where(*stale).values(revoked_at=now)
                       .execution_options(synchronize_session=False))
    tokens = {rep_id: new_token() for rep_id in rep_ids}
    ids = dict((rep_id, invitation_id) for invitation_id, rep_id in db.session.execute(
        insert(Invitation).returning(Invitation.id, Invitation.rep_id, sort_by_parameter_order=True),
        [{"wave_id": wave_id, "rep_id": rep_id, "token_hash": hash_token(token), "issued_at": now, "used": False,
          "reminder_count": 0} for rep_id, token in tokens.items()]))
    for rep_id, old in drafts.items():
        db.session.execute(update(SurveyDraft).where(SurveyDraft.invitation_id == old)
                           .values(invitation_id=ids[rep_id]).execution_options(synchronize_session=False))
    return {rep_id: (ids[rep_id], survey_link(base_url, token)) for rep_id, token in tokens.items()}


@dataclass(frozen=True)
class JobFacts:
    """What a runner needs of its job, read once: objects expire at every commit, and a runner commits often."""

    id: int
    wave_id: int
    reminder: bool
    base_url: str
    study: SimpleNamespace  # .name, for the message
    wave: SimpleNamespace  # .closes_on and .note

    @classmethod
    def of(cls, send_job: SendJob) -> JobFacts:
        return cls(send_job.id, send_job.wave_id, send_job.reminder, send_job.base_url,
                   SimpleNamespace(name=send_job.study.name),
                   SimpleNamespace(closes_on=send_job.wave.closes_on, note=send_job.wave.note))


def claim_batch(facts: JobFacts, me: str, now: datetime, settings: Settings, limit: int,
                heartbeat: bool = True) -> list[Claimed] | None:
    """Claim up to ``limit`` due items of the job and give each its link, in one transaction; None when none is due.

    The list is in id order, the order they must be sent in (``expire_leases`` relies on it). Items whose rep
    answered, left or lost their address meanwhile are skipped and not in it.
    """
    db.session.commit()  # a fresh transaction: on SQLite the UPDATE below is its first statement and takes the lock
    due = (select(SendItem.id).where(SendItem.job_id == facts.id, SendItem.state.in_(OPEN),
                                     or_(SendItem.next_attempt_at.is_(None), SendItem.next_attempt_at <= now))
           .order_by(SendItem.id).limit(limit).with_for_update(skip_locked=True))
    rows = sorted(db.session.execute(
        update(SendItem).where(SendItem.id.in_(due.scalar_subquery()))
        .values(state=SendItemState.CLAIMED, claimed_by=me, claimed_until=now + timedelta(seconds=settings.lease),
                attempts=SendItem.attempts + 1)
        .returning(SendItem.id, SendItem.rep_id, SendItem.invitation_id, SendItem.sealed_link)
        .execution_options(synchronize_session=False)).all())
    if not rows:
        db.session.commit()
        return None
    if heartbeat:
        db.session.execute(update(SendJob).where(SendJob.id == facts.id).values(
            active_until=now + timedelta(seconds=min(settings.lease, HEARTBEAT_SECONDS)))
            .execution_options(synchronize_session=False))
    rep_ids = [rep_id for _, rep_id, _, _ in rows]
    reps = {rep_id: (name, email, active, language) for rep_id, name, email, active, language in db.session.execute(
        select(Rep.id, Rep.name, Rep.email, Rep.active, Rep.language).where(Rep.id.in_(rep_ids)))}
    answered = set(db.session.scalars(select(Invitation.rep_id).where(
        Invitation.wave_id == facts.wave_id, Invitation.rep_id.in_(rep_ids), Invitation.used.is_(True))))
    live = set(db.session.scalars(select(Invitation.id).where(
        Invitation.id.in_([i for _, _, i, _ in rows if i is not None]), Invitation.used.is_(False),
        Invitation.revoked_at.is_(None))))
    skipped, links, fresh = [], {}, []
    for item_id, rep_id, invitation_id, sealed in rows:
        name, email, active, _ = reps[rep_id]
        if rep_id in answered or not email or not active:
            skipped.append(item_id)
            continue
        if sealed is not None and invitation_id in live:
            try:
                links[item_id] = (invitation_id, open_link(item_id, sealed))
                continue
            except InvalidTag:  # SECRET_KEY changed since: the link cannot be read back, so a new one is issued
                pass
        fresh.append((item_id, rep_id))
    if skipped:
        db.session.execute(update(SendItem).where(SendItem.id.in_(skipped)).values(
            state=SendItemState.SKIPPED, sealed_link=None, claimed_until=None)
            .execution_options(synchronize_session=False))
    if fresh:  # first try, or the link was replaced since (a mail-merge download)
        issued = _issue_many(facts.wave_id, [rep_id for _, rep_id in fresh], facts.base_url, now)
        updates = []
        for item_id, rep_id in fresh:
            invitation_id, link = issued[rep_id]
            links[item_id] = (invitation_id, link)
            updates.append({"id": item_id, "invitation_id": invitation_id, "sealed_link": seal_link(item_id, link)})
        db.session.execute(update(SendItem), updates)
    db.session.commit()
    return [Claimed(item_id, links[item_id][0], IssuedLink(rep_id, reps[rep_id][0], reps[rep_id][1], "",
                                                            links[item_id][1], reps[rep_id][3]))
            for item_id, rep_id, _, _ in rows if item_id in links]


def _held(item_id: int, me: str):
    """The item, while ``me`` still holds it (its lease may have passed: then it is uncertain, and we know better)."""
    return update(SendItem).where(SendItem.id == item_id, SendItem.claimed_by == me,
                                  SendItem.state.in_((SendItemState.CLAIMED, SendItemState.UNCERTAIN)))


def mark_sent(claimed: Claimed, me: str, now: datetime, reminder: bool) -> bool:
    """Record that the server took the message; whether ``me`` still held the item (its lease had not passed)."""
    held = db.session.execute(_held(claimed.item_id, me).values(
        state=SendItemState.SENT, sent_at=now, sealed_link=None, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)).rowcount
    values = {"sent_at": now}
    if reminder:
        values = {"sent_at": now, "reminded_at": now, "reminder_count": Invitation.reminder_count + 1}
    db.session.execute(update(Invitation).where(Invitation.id == claimed.invitation_id,
                                                Invitation.sent_at.is_(None) if not reminder else
                                                Invitation.reminded_at.is_(None))
                       .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    return bool(held)


def mark_not_sent(claimed: Claimed, me: str, now: datetime, permanent: bool, error: str, settings: Settings) -> bool:
    """A refused or failed try: retry later with the same link, or failed for good (the sealed link dropped)."""
    attempts = db.session.scalar(select(SendItem.attempts).where(SendItem.id == claimed.item_id))
    if permanent or attempts >= settings.max_attempts:
        values = {"state": SendItemState.FAILED, "sealed_link": None, "next_attempt_at": None}
    else:
        values = {"state": SendItemState.RETRY, "next_attempt_at": now + settings.backoff(attempts)}
    held = db.session.execute(_held(claimed.item_id, me).values(claimed_until=None, last_error=error[:200], **values)
                              .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(held)


def _outcome(error: Exception) -> tuple[bool, bool, str]:
    """(permanent, connection lost, words) of an SMTP failure: 5xx is permanent, 4xx and the rest are not."""
    code = None
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = min((c for c, _ in error.recipients.values()), default=None)
    elif isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
    lost = isinstance(error, (OSError, smtplib.SMTPServerDisconnected)) or code in (421,)
    words = f"{code} {error}" if code else f"{type(error).__name__}: {error}"
    return bool(code and 500 <= code < 600), lost, words


def _connection_down(job_id: int, now: datetime, error: str, settings: Settings) -> None:
    """The server cannot be reached: each due item's try counts, and they wait (or fail after the last try)."""
    due = SendItem.job_id == job_id, SendItem.state.in_(OPEN), \
        or_(SendItem.next_attempt_at.is_(None), SendItem.next_attempt_at <= now)
    for attempts in set(db.session.scalars(select(SendItem.attempts).where(*due).distinct())):
        tried = attempts + 1
        values = ({"state": SendItemState.FAILED, "sealed_link": None, "next_attempt_at": None}
                  if tried >= settings.max_attempts else
                  {"state": SendItemState.RETRY, "next_attempt_at": now + settings.backoff(tried)})
        db.session.execute(update(SendItem).where(*due, SendItem.attempts == attempts)
                           .values(attempts=tried, last_error=error[:200], **values)
                           .execution_options(synchronize_session=False))
    db.session.commit()


def item_counts(job_id: int) -> dict[SendItemState, int]:
    rows = db.session.execute(select(SendItem.state, func.count()).where(SendItem.job_id == job_id)
                              .group_by(SendItem.state))
    counts = dict.fromkeys(SendItemState, 0)
    counts.update({state: count for state, count in rows})
    return counts


def _next_wake(job_id: int, now: datetime) -> datetime | None:
    """When the job has something to do again: its next retry, or the end of a lease someone holds."""
    retry = db.session.scalar(select(func.min(SendItem.next_attempt_at)).where(
        SendItem.job_id == job_id, SendItem.state.in_(OPEN)))
    if db.session.scalar(select(SendItem.id).where(SendItem.job_id == job_id, SendItem.state == SendItemState.PENDING,
                                                   SendItem.next_attempt_at.is_(None)).limit(1)) is not None:
        retry = now
    lease = db.session.scalar(select(func.min(SendItem.claimed_until)).where(
        SendItem.job_id == job_id, SendItem.state == SendItemState.CLAIMED))
    times = [t for t in (retry, lease) if t is not None]
    return min(times) if times else None


def _finish(send_job: SendJob, now: datetime) -> bool:
    """Mark the job finished (once) and record it in the audit log; whether this call did."""
    done = db.session.execute(update(SendJob).where(SendJob.id == send_job.id, SendJob.finished_at.is_(None))
                              .values(finished_at=now, active_until=None)
                              .execution_options(synchronize_session=False)).rowcount
    if done:
        counts = item_counts(send_job.id)
        actor = db.session.get(User, send_job.actor_id) if send_job.actor_id is not None else None
        study = db.session.get(Study, send_job.study_id)
        label = send_job.wave.label
        failed, uncertain = counts[SendItemState.FAILED], counts[SendItemState.UNCERTAIN]
        if not send_job.exact:  # no count of the run: it would be the number of reps who have not answered
            detail = f"wave {label!r}: {'reminders' if send_job.reminder else 'invitations'} e-mailed"
            detail += ", some could not be delivered" if failed else ""
            detail += ", some uncertain" if uncertain else ""
        else:
            detail = f"wave {label!r}: {counts[SendItemState.SENT]} sent, {failed} failed"
            if uncertain:
                detail += f", {uncertain} uncertain"
        audit.record("reminders.sent" if send_job.reminder else "links.sent", study=study, detail=detail,
                     actor=actor)
    db.session.commit()
    return bool(done)


def _skip_rest(send_job: SendJob, reason: str) -> None:
    """The wave closed (or the study) before the job was through: what is left is not sent."""
    db.session.execute(update(SendItem).where(SendItem.job_id == send_job.id, SendItem.state.in_(OPEN))
                       .values(state=SendItemState.SKIPPED, sealed_link=None, last_error=reason[:200])
                       .execution_options(synchronize_session=False))
    db.session.commit()


def process_job(job_id: int, clock: Clock = utcnow, sleep: Callable[[float], None] = time.sleep,
                schedule: bool = True) -> dict[SendItemState, int]:
    """Send the job's due items until none is due, then enqueue itself for when one will be, or finish it.

    ``clock`` and ``sleep`` are injected by tests; ``schedule=False`` enqueues nothing (the synchronous path).
    """
    settings = Settings.current()
    me = runner_name()
    expire_leases(clock(), job_id)
    send_job = db.session.get(SendJob, job_id)
    if send_job is None or send_job.finished_at is not None:
        return item_counts(job_id)
    try:
        check_can_issue(send_job.study, send_job.wave, today())
    except InvitationError as error:
        _skip_rest(send_job, str(error))
    pacer = Pacer(settings.rate, sleep=sleep)
    facts = JobFacts.of(send_job)
    reminder = facts.reminder
    beat = 0.0
    server_cm = server = None
    try:
        while True:
            if server is None and _any_due(job_id, clock()):  # connect before claiming: a dead server issues nothing
                try:
                    server_cm = connection()
                    server = server_cm.__enter__()
                except MailError as error:
                    server_cm = None
                    _connection_down(job_id, clock(), str(error), settings)
                    break
            renew = time.monotonic() - beat > HEARTBEAT_SECONDS / 6
            batch = claim_batch(facts, me, clock(), settings, settings.batch, heartbeat=renew)
            beat = time.monotonic() if renew else beat
            if batch is None:
                break
            for position, claimed in enumerate(batch):
                if server is None:  # the connection was lost on the previous item
                    try:
                        server_cm = connection()
                        server = server_cm.__enter__()
                    except MailError as error:
                        server_cm = None
                        _release(batch[position:], me)
                        _connection_down(job_id, clock(), str(error), settings)
                        return _after(job_id, clock, schedule)
                try:
                    message = _message(facts.study, facts.wave, claimed.link, reminder)
                except (ValueError, TypeError) as error:  # this rep's message only (the job's was written at start)
                    if not mark_not_sent(claimed, me, clock(), True, f"the message could not be written: {error}",
                                         settings):
                        break
                    continue
                pacer.wait()
                try:
                    server.send_message(message)
                except (OSError, smtplib.SMTPException) as error:
                    permanent, lost, words = _outcome(error)
                    held = mark_not_sent(claimed, me, clock(), permanent, words, settings)
                    if not held:  # stalled past the lease: the rest of the batch is someone else's now
                        break
                    if lost:
                        _close(server_cm)
                        server_cm = server = None
                    continue
                if not mark_sent(claimed, me, clock(), reminder):
                    break  # stalled past the lease: the rest of the batch is someone else's now
    finally:
        _close(server_cm)
    return _after(job_id, clock, schedule)


def _release(untried: list[Claimed], me: str) -> None:
    """Claimed items not tried after all go back to pending (their try not counted), keeping their link."""
    db.session.execute(update(SendItem).where(SendItem.id.in_([c.item_id for c in untried]),
                                              SendItem.claimed_by == me, SendItem.state == SendItemState.CLAIMED)
                       .values(state=SendItemState.PENDING, claimed_until=None, attempts=SendItem.attempts - 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _after(job_id: int, clock: Clock, schedule: bool) -> dict[SendItemState, int]:
    """Finish the job, or enqueue it again for when it has something due."""
    send_job = db.session.get(SendJob, job_id)
    wake = _next_wake(job_id, clock())
    if wake is None:
        _finish(send_job, clock())
    elif schedule and not is_immediate():
        run_send_job.schedule((job_id,), delay=max(0.5, (wake - clock()).total_seconds() + 0.2))
    db.session.commit()
    return item_counts(job_id)


def _any_due(job_id: int, now: datetime) -> bool:
    return db.session.scalar(select(SendItem.id).where(
        SendItem.job_id == job_id, SendItem.state.in_(OPEN),
        or_(SendItem.next_attempt_at.is_(None), SendItem.next_attempt_at <= now)).limit(1)) is not None


def _close(server_cm) -> None:
    if server_cm is not None:
        try:
            server_cm.__exit__(None, None, None)
        except (OSError, smtplib.SMTPException):
            pass


@job()
def run_send_job(job_id: int) -> None:
    """The queue's task: work through send job ``job_id``."""
    process_job(job_id)


# --- resuming ----------------------------------------------------------------------------------------------------

def resume_sends(clock: Clock = utcnow, force: bool = False) -> list[int]:
    """Enqueue every unfinished job that has no live runner (``force``: whether or not) and something to do now:
    items due, or a lease that has passed (it becomes uncertain and the job can finish). The ids."""
    now = clock()
    expire_leases(now)
    query = select(SendJob.id).where(SendJob.finished_at.is_(None)).order_by(SendJob.id)
    if not force:
        query = query.where(or_(SendJob.active_until.is_(None), SendJob.active_until < now))
    ids = [job_id for job_id in db.session.scalars(query)
           if (wake := _next_wake(job_id, now)) is None or wake <= now]
    db.session.commit()
    for job_id in ids:
        run_send_job(job_id)
    return ids


@periodic(crontab(minute="*"))
def resume_sends_task() -> None:
    """Every minute: pick up the jobs of a consumer that died."""
    resume_sends()


@job()
def resume_sends_at_start() -> None:
    """Enqueued by every consumer as it starts: what a killed consumer left is picked up without waiting."""
    resume_sends(force=True)


# --- uncertain items -------------------------------------------------------------------------------------------

@transactional
def _reopen_uncertain(study: Study, wave: Wave, on: date) -> list[int]:
    check_can_issue(study, wave, on)
    jobs = list(db.session.scalars(select(SendItem.job_id).join(SendJob).where(
        SendJob.wave_id == wave.id, SendItem.state == SendItemState.UNCERTAIN).distinct()))
    if not jobs:
        raise InvitationError("no message of this wave is uncertain")
    db.session.execute(update(SendItem).where(SendItem.job_id.in_(jobs), SendItem.state == SendItemState.UNCERTAIN)
                       .values(state=SendItemState.PENDING, next_attempt_at=None, claimed_until=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(SendJob).where(SendJob.id.in_(jobs)).values(finished_at=None, active_until=None)
                       .execution_options(synchronize_session=False))
    return jobs


def resend_uncertain(study: Study, wave: Wave, on: date) -> int:
    """Send the wave's uncertain messages again, each with its own sealed link; how many."""
    check_can_issue(study, wave, on)
    check_mail_server()
    count = sum(item_counts(job_id)[SendItemState.UNCERTAIN] for job_id in _uncertain_jobs(wave))
    for job_id in _reopen_uncertain(study, wave, on):
        run_send_job(job_id)
    return count


def _uncertain_jobs(wave: Wave) -> list[int]:
    return list(db.session.scalars(select(SendItem.job_id).join(SendJob).where(
        SendJob.wave_id == wave.id, SendItem.state == SendItemState.UNCERTAIN).distinct()))


# --- what the wave page shows ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """A job's counts. Reminders: ``words`` never gives ``total`` or ``sent``, only a percentage."""

    job_id: int
    reminder: bool
    exact: bool  # the job's size may be shown (``SendJob.exact``)
    running: bool
    total: int
    sent: int
    failed: int
    retrying: int
    uncertain: int
    skipped: int
    without_email: int

    @property
    def percent(self) -> int:
        """Sent out of the job, rounded down to a multiple of 10 %."""
        return 100 if not self.total else 10 * (100 * self.sent // self.total // 10)


def wave_progress(wave: Wave) -> list[Progress]:
    """The wave's latest send job, and any earlier one with uncertain items, newest first."""
    jobs = list(db.session.scalars(select(SendJob).where(SendJob.wave_id == wave.id).order_by(SendJob.id.desc())))
    shown = []
    for position, send_job in enumerate(jobs):
        counts = item_counts(send_job.id)
        if position and not counts[SendItemState.UNCERTAIN]:
            continue
        shown.append(Progress(
            send_job.id, send_job.reminder, send_job.exact, send_job.finished_at is None, sum(counts.values()),
            counts[SendItemState.SENT], counts[SendItemState.FAILED], counts[SendItemState.RETRY],
            counts[SendItemState.UNCERTAIN], counts[SendItemState.SKIPPED], send_job.without_email))
    return shown


def progress_words(progress: Progress) -> list[str]:
    """Sentences for the wave page. A job whose size cannot depend on who answered: exact counts. Any other
    (reminders; invitations to reps who had mail-merge links): a percentage in steps of 10 % and "some", never
    a number of messages — sent, failed, retrying or uncertain, each is a count of reps who have not answered."""
    p = progress
    what = "reminders" if p.reminder else "invitations"
    words = []
    if not p.exact:
        head = (f"Sending {what}: {p.percent} % sent" if p.running else f"{what.capitalize()} sent: {p.percent} %")
        head += " (rounded down to 10 %; their number is not shown, as it would tell how many have answered)"
        if p.retrying:
            head += "; some could not be delivered yet — retrying"
        words.append(head + ".")
        if p.failed:
            words.append("Some could not be delivered (refused by the mail server, or after every retry).")
        if p.uncertain:
            words.append("Some are uncertain: the consumer sending them stopped before it could record whether the "
                         "mail server took them. They are not sent again by themselves (a rep could get two "
                         "messages); sending them again uses the same link.")
    else:
        head = (f"Sending invitations: {p.sent:,} of {p.total:,} sent" if p.running else
                f"Invitations sent: {p.sent:,}" + (f" of {p.total:,}" if p.sent != p.total else ""))
        if p.retrying:
            head += f"; {p.retrying:,} failed — retrying"
        words.append(head + ".")
        if p.failed:
            words.append(f"{p.failed:,} could not be delivered (refused by the mail server, or after every retry).")
        if p.skipped:
            words.append(f"{p.skipped:,} not sent: the rep answered, left or lost their address, or the wave "
                         "closed first.")
        if p.uncertain:
            words.append(f"{p.uncertain:,} uncertain: the consumer sending {'it' if p.uncertain == 1 else 'them'} "
                         "stopped before it could record whether the mail server took them. They are not sent again "
                         "by themselves (a rep could get two messages); sending them again uses the same link.")
    if p.without_email:
        words.append(f"{p.without_email} rep(s) have no e-mail address; use the mail-merge file for them.")
    return words


__all__ = ["Progress", "create_job", "process_job", "progress_words", "resend_uncertain", "resume_sends",
           "run_send_job", "send_links", "start_sending", "wave_progress"]
