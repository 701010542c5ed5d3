"""Stored report snapshots: each view of a study's report, computed once, kept in the database
(``report_snapshot``) and served warm by every worker and instance.

This module is the storage and the bookkeeping; building the views is ``surveys.reports.snapshots``.
A service that changes what a report reads (an import, a design change, a wave closed early or
reopened) calls :func:`request_rebuild`: a row in ``report_rebuild`` marks the study as being rebuilt
(in the service's own transaction), and once that transaction commits the rebuild job is enqueued.
A change the services do not see (a wave closing because its date passed, a late submit) is found
by the periodic sweep and by the first read that meets a stale snapshot.

The data are the app's own pickle of the report, signed (HMAC-SHA256 under the app's secret key):
only bytes this app wrote are ever unpickled, so a row written by anyone else is treated as missing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle  # nosec B403: only the app's own signed bytes are unpickled (see ``load``)
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .extensions import db
from .models import ReportRebuild, ReportSnapshot, Study, utcnow
from .queue import is_immediate

PENDING_FOR = timedelta(minutes=30)  # a rebuild asked for longer ago than this is asked for again (its consumer died)
_ENQUEUE = "coachlab.snapshot_rebuilds"
_rebuilders: list[Callable[[int], None]] = []  # the rebuild job's enqueue, registered by surveys.reports.snapshots


@dataclass(frozen=True)
class Stored:
    """A snapshot's row without its data: enough to tell whether it is current."""

    id: int
    version: str
    k_threshold: int
    built_at: datetime


def view_key(wave_id: int, region: str | None, band: str | None) -> str:
    """The name of one view of a study's report: its wave, region and band."""
    return json.dumps([wave_id, region, band], ensure_ascii=False)


def digest(version: tuple) -> str:
    """A data version as a fixed-length string (the version tuples hold ints, floats, strings and dates)."""
    return hashlib.sha256(repr(version).encode("utf-8")).hexdigest()


def _key() -> bytes:
    secret = current_app.secret_key
    return (secret.encode() if isinstance(secret, str) else secret) + b"/report-snapshot"


def dump(report) -> bytes:
    body = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
    return hmac.new(_key(), body, hashlib.sha256).digest() + body


def load(data: bytes):
    """The report in ``data``, or None when the bytes are not this app's (signature wrong)."""
    signature, body = data[:32], data[32:]
    if not hmac.compare_digest(signature, hmac.new(_key(), body, hashlib.sha256).digest()):
        return None
    return pickle.loads(body)  # noqa: S301  # nosec B301: signed by this app


def stored(study_id: int, key: str) -> Stored | None:
    row = db.session.execute(select(ReportSnapshot.id, ReportSnapshot.version, ReportSnapshot.k_threshold,
                                    ReportSnapshot.built_at)
                             .where(ReportSnapshot.study_id == study_id, ReportSnapshot.view_key == key)).first()
    return Stored(*row) if row else None


def data_of(snapshot_id: int) -> bytes | None:
    return db.session.scalar(select(ReportSnapshot.data).where(ReportSnapshot.id == snapshot_id))


def put(study_id: int, key: str, version: str, k: int, report) -> None:
    """Store (or replace) one view's snapshot; the caller commits."""
    values = {"study_id": study_id, "view_key": key, "version": version, "k_threshold": k, "data": dump(report),
              "built_at": utcnow()}
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReportSnapshot).values(**values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["study_id", "view_key"],
        set_={name: statement.excluded[name] for name in ("version", "k_threshold", "data", "built_at")}))


def count(study_id: int) -> int:
    return len(db.session.scalars(select(ReportSnapshot.id).where(ReportSnapshot.study_id == study_id)).all())


def forget(study_id: int) -> None:
    """Delete every snapshot of the study (its k changed, a wave reopened, the study goes); the caller commits."""
    db.session.execute(delete(ReportSnapshot).where(ReportSnapshot.study_id == study_id))


def studies_with_snapshots(organisation_id: int | None = None) -> list[int]:
    statement = select(ReportSnapshot.study_id).distinct()
    if organisation_id is not None:
        statement = statement.join(Study, Study.id == ReportSnapshot.study_id).where(
            Study.organisation_id == organisation_id)
    return list(db.session.scalars(statement))


def pending(study_id: int) -> bool:
    """Whether a rebuild of the study was asked for recently and has not finished."""
    at = db.session.scalar(select(ReportRebuild.requested_at).where(ReportRebuild.study_id == study_id))
    return at is not None and utcnow() - at < PENDING_FOR


def request_rebuild(study_ids: Iterable[int]) -> list[int]:
    """Mark the studies for a rebuild (unless one is pending) and enqueue it once this transaction commits.

    With the immediate queue (tests) nothing is marked: the first read of a changed view computes it inline.
    Returns the studies marked.
    """
    if is_immediate() or not _rebuilders:
        return []
    marked = []
    for study_id in sorted(set(study_ids)):
        if pending(study_id):
            continue
        row = db.session.get(ReportRebuild, study_id)
        if row is None:
            db.session.add(ReportRebuild(study_id=study_id, requested_at=utcnow()))
        else:
            row.requested_at = utcnow()
        marked.append(study_id)
    if marked:
        db.session.flush()
        db.session().info.setdefault(_ENQUEUE, set()).update(marked)
    return marked


def request_rebuild_of_organisation(organisation_id: int) -> list[int]:
    """An import landed (roster, CRM performance, sessions): every study of the organisation with snapshots."""
    return request_rebuild(studies_with_snapshots(organisation_id))


def finished(study_id: int) -> None:
    """The rebuild is done: the next change may ask for another. The caller commits."""
    db.session.execute(delete(ReportRebuild).where(ReportRebuild.study_id == study_id))


def register(enqueue: Callable[[int], None]) -> None:
    """Called once by ``surveys.reports.snapshots``: how to enqueue the rebuild job of a study."""
    if enqueue not in _rebuilders:
        _rebuilders.append(enqueue)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    studies = session.info.pop(_ENQUEUE, None)
    for study_id in sorted(studies or ()):
        for enqueue in _rebuilders:
            enqueue(study_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUE, None)


def versions(study_id: int) -> set[str]:
    """The data versions a study's snapshots were built from."""
    return set(db.session.scalars(select(ReportSnapshot.version).where(ReportSnapshot.study_id == study_id)))


def forget_other_versions(study_id: int, version: str) -> None:
    """Delete the study's snapshots of any other data version (views gone from the cube); the caller commits."""
    db.session.execute(delete(ReportSnapshot).where(ReportSnapshot.study_id == study_id,
                                                    ReportSnapshot.version != version))
