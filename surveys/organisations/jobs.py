"""Large imports as background jobs: a file of more than ``IMPORT_INLINE_ROWS`` rows is imported by a queue consumer.

The page enqueues the job and shows its progress (rows checked) until it ends; the outcome is then the page an
inline import gives: the kind's page with a summary, or the same page with every problem of a refused file.

The job's state is an ``ImportJob`` row, never only the queued task: a consumer killed mid-way leaves the row
``running`` with its progress standing still, and the periodic ``resume_stalled`` runs it again (an import is
all or nothing, so nothing was half-written), up to ``MAX_ATTEMPTS`` times, after which it says it failed. A
run that was taken over (its row claimed again meanwhile) rolls its own import back instead of finishing.

Progress is written from a connection of its own, while rows are checked and nothing is written yet, so that
it commits at once without waiting for (or blocking) the import's transaction.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..database import transactional
from ..extensions import db
from ..models import ImportJob, Organisation, PendingUpload, User, utcnow
from ..queue import crontab, job, periodic
from ..tabular import TableError
from . import uploads
from .imports import ImportRejected, Problem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
PROBLEMS_KEPT = 200  # as many as the page shows
PROGRESS_INTERVAL = 0.25  # seconds between two progress writes
KEPT_FOR = timedelta(days=1)  # finished jobs, like the uploads they came from
ACTIVE = ("queued", "running")


class Superseded(Exception):
    """This run's job was claimed again by another run (its consumer was thought dead): roll this one back."""


def runs_as_job(rows: int) -> bool:
    """Whether a file of ``rows`` rows is imported in the background."""
    return rows > current_app.config["IMPORT_INLINE_ROWS"]


@transactional
def _create(user: User, organisation: Organisation, kind: uploads.Kind, upload: PendingUpload,
            chosen: dict | None, rows: int) -> ImportJob:
    job_row = ImportJob(user_id=user.id, organisation_id=organisation.id, upload_id=upload.id, kind=kind.name,
                        filename=upload.filename, mapping_json=None if chosen is None else json.dumps(chosen),
                        status="queued", total=rows)
    db.session.add(job_row)
    return job_row


def begin(user: User, organisation: Organisation, kind: uploads.Kind, upload: PendingUpload, chosen: dict | None,
          rows: int) -> ImportJob:
    """Record an import job for a kept upload (``chosen``: the confirmed mapping, None when none was needed) and
    enqueue it. With ``QUEUE_URL=immediate`` it has run by the time this returns."""
    job_row = _create(user, organisation, kind, upload, chosen, rows)
    job_id = job_row.id
    import_task(job_id)
    return db.session.get(ImportJob, job_id)


def job_of(user: User, organisation: Organisation, job_id: str) -> ImportJob | None:
    """The user's own import job for this organisation, if there is one."""
    job_row = db.session.get(ImportJob, job_id)
    if job_row is None or job_row.user_id != user.id or job_row.organisation_id != organisation.id:
        return None
    db.session.refresh(job_row)  # a consumer writes it from elsewhere
    return job_row


def kept_upload(job_row: ImportJob) -> PendingUpload | None:
    """The file a job imports, while it is kept (a refused mapped file stays, to be mapped again)."""
    return db.session.get(PendingUpload, job_row.upload_id) if job_row.upload_id else None


def problems_of(job_row: ImportJob) -> list[Problem]:
    """The (first ``PROBLEMS_KEPT``) problems of a refused file."""
    return [Problem(*item) for item in json.loads(job_row.problems_json or "[]")]


# --- the task ---------------------------------------------------------------------------------------------


@job()
def import_task(job_id: str) -> None:
    """Run one import job (the queue's task; safe to run twice)."""
    run(job_id)


@transactional
def _claim(job_id: str) -> int | None:
    """Take a queued job: its attempt number, or None when it is not queued (done, or taken by another run)."""
    taken = db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued").values(
        status="running", attempts=ImportJob.attempts + 1, checked=0, updated_at=utcnow()))
    if taken.rowcount != 1:
        return None
    return db.session.scalar(select(ImportJob.attempts).where(ImportJob.id == job_id))


@transactional
def _finish(job_id: str, attempt: int, **values) -> bool:
    """Record a run's outcome, unless another run has taken the job over."""
    return db.session.execute(update(ImportJob).where(
        ImportJob.id == job_id, ImportJob.attempts == attempt, ImportJob.status == "running").values(
        updated_at=utcnow(), **values)).rowcount == 1


class _Progress:
    """The importer's ``progress``: rows checked, written at most every ``PROGRESS_INTERVAL`` s (and the last)."""

    def __init__(self, job_id: str, attempt: int, total: int):
        self.job_id, self.attempt, self.total = job_id, attempt, total
        self.written = time.monotonic()

    def __call__(self, checked: int) -> None:
        now = time.monotonic()
        if checked < self.total and now - self.written < PROGRESS_INTERVAL:
            return
        self.written = now
        try:
            with db.engine.begin() as connection:  # its own transaction, committed now
                connection.execute(update(ImportJob).where(
                    ImportJob.id == self.job_id, ImportJob.attempts == self.attempt).values(
                    checked=checked, updated_at=utcnow()))
        except SQLAlchemyError as error:  # progress is for the page only: the import goes on without it
            log.warning("import job %s: progress not recorded: %s", self.job_id, error)


@transactional
def _import(job_id: str, attempt: int, organisation: Organisation, kind: uploads.Kind, upload: PendingUpload,
            chosen: dict | None, total: int):
    """The import and the job's ``done`` in one transaction: a run killed before its commit left nothing."""
    report = uploads.import_kept(organisation, kind, upload, chosen, progress=_Progress(job_id, attempt, total))
    finished = db.session.execute(update(ImportJob).where(
        ImportJob.id == job_id, ImportJob.attempts == attempt, ImportJob.status == "running").values(
        status="done", checked=total, summary=report.summary(), upload_id=None, updated_at=utcnow()))
    if finished.rowcount != 1:
        raise Superseded(job_id)
    return report


def run(job_id: str) -> str | None:
    """Run a queued job to its end; its final status, or None when there was nothing to run."""
    attempt = _claim(job_id)
    if attempt is None:
        return None
    job_row = db.session.get(ImportJob, job_id)
    kind = uploads.KINDS[job_row.kind]
    organisation = db.session.get(Organisation, job_row.organisation_id)
    upload = kept_upload(job_row)
    chosen = None if job_row.mapping_json is None else json.loads(job_row.mapping_json)
    total = job_row.total
    if upload is None:
        _finish(job_id, attempt, status="failed", message="The file is no longer kept (uploads are kept for a day): "
                                                          "nothing was imported. Please import it again.")
        return "failed"
    try:
        _import(job_id, attempt, organisation, kind, upload, chosen, total)
    except ImportRejected as rejected:
        kept = [[p.row, p.column, p.message] for p in rejected.problems[:PROBLEMS_KEPT]]
        _refuse(job_id, attempt, chosen, problems_json=json.dumps(kept), problem_count=len(rejected.problems))
        return "refused"
    except TableError as error:
        _refuse(job_id, attempt, chosen, message=f"{job_row.filename}: {str(error).rstrip('.')}.")
        return "refused"
    except Superseded:
        log.info("import job %s: taken over by another run; this one was rolled back", job_id)
        return None
    except Exception:
        log.exception("import job %s failed", job_id)
        _finish(job_id, attempt, status="failed", message="The import stopped on an error: nothing was imported. "
                                                          "Please try again; the error is in the worker's log.")
        return "failed"
    return "done"


def _refuse(job_id: str, attempt: int, chosen: dict | None, **values) -> None:
    """A refused file: as inline, a mapped file stays to be mapped again; one that needed no mapping is dropped."""
    upload_id = db.session.scalar(select(ImportJob.upload_id).where(ImportJob.id == job_id))
    if chosen is None and upload_id:
        values["upload_id"] = None
    if _finish(job_id, attempt, status="refused", **values) and chosen is None and upload_id:
        _drop_upload(upload_id)


@transactional
def _drop_upload(upload_id: str) -> None:
    db.session.execute(delete(PendingUpload).where(PendingUpload.id == upload_id))


# --- resuming jobs whose consumer died ---------------------------------------------------------------------


@transactional
def _stalled(now) -> list[str]:
    """Requeue the jobs whose progress has stood still too long; fail those tried ``MAX_ATTEMPTS`` times."""
    stale = now - timedelta(seconds=current_app.config["IMPORT_JOB_STALE_SECONDS"])
    again = []
    for job_row in db.session.scalars(select(ImportJob).where(ImportJob.status.in_(ACTIVE),
                                                             ImportJob.updated_at < stale)):
        if job_row.attempts >= MAX_ATTEMPTS:
            job_row.status = "failed"
            job_row.message = (f"The import was interrupted {job_row.attempts} times (its worker stopped): nothing "
                               "was imported. Please try again, or import the file with the command line.")
        else:
            job_row.status = "queued"
            again.append(job_row.id)
        job_row.updated_at = now
    db.session.execute(delete(ImportJob).where(ImportJob.status.not_in(ACTIVE), ImportJob.updated_at < now - KEPT_FOR))
    return again


def resume_stalled(now=None) -> list[str]:
    """Run again the jobs a dead consumer left behind; their ids."""
    again = _stalled(now or utcnow())
    for job_id in again:
        log.warning("import job %s: its worker seems to have stopped; running it again", job_id)
        import_task(job_id)
    return again


@periodic(crontab(minute="*"))
def resume_imports_task():
    """Every minute: run again the imports whose consumer died."""
    resume_stalled()
