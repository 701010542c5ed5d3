"""Every task a consumer runs: importing this module registers them on ``surveys.queue.huey``.

Feature modules define their own tasks (``surveys.queue.job``); the periodic maintenance that used to need
a cron is here. ``flask --app app worker`` imports this module before it starts consuming.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from . import accounts
from .extensions import db
from .models import Study, StudyStatus, Wave
from .organisations import jobs as import_jobs  # noqa: F401  (its tasks: imports, resuming them)
from .pilots import sending, simulations  # noqa: F401  (the send job and its resume; the design check by simulation)
from .pilots.reminders import send_due_reminders
from .queue import crontab, periodic
from .reports import snapshots as report_snapshots  # noqa: F401  # registers the rebuild job and sweep
from .respond.survey import purge_expired_drafts, scrub_link_traces
from .web import today


def any_wave_open(on) -> bool:
    """Whether a wave of a running study is open on ``on`` (reps may be answering)."""
    return db.session.scalar(select(Wave.id).join(Study).where(
        Study.status == StudyStatus.RUNNING, Wave.opens_on <= on, Wave.closes_on >= on,
        Wave.planned_closes_on.is_(None)).limit(1)) is not None


def scrub_while_open(on) -> int | None:
    """``scrub-links`` if a wave is open on ``on``; how many links it rewrote, or None when it did not run."""
    if not any_wave_open(on):
        return None
    return scrub_link_traces()


@periodic(crontab(minute="*/10"))
def scrub_links_task():
    """Every 10 minutes while a wave is open: rewrite used links so no transaction id pairs one with a response."""
    scrub_while_open(today())


def purge(on) -> tuple[int, int]:
    """``purge-drafts``' deletions: expired drafts and expired set-password links."""
    return purge_expired_drafts(on), accounts.purge_expired_account_tokens()


@periodic(crontab(minute="17", hour="3"))
def purge_drafts_task():
    """Daily at 03:17 UTC: delete expired drafts and set-password links, then scrub."""
    purge(today())
    scrub_link_traces()


@periodic(crontab(minute="7"))
def send_due_reminders_task():
    """Hourly at minute 7: e-mail the scheduled reminders due today (each once; ``pilots.reminders``)."""
    send_due_reminders(datetime.now())  # local time, as ``web.today`` dates the waves
