"""Database helpers that are not models: the unit of work, connectivity check, the dialect, upserts, wiping data."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .config import ConfigurationError
from .extensions import db
from .models import Organisation, User


def transactional(service: Callable | None = None, *, fresh: bool = False):
    """Make ``service`` the one owner of its unit of work: commit when it returns, roll back when it raises.

    Superset's ``@transaction``, for CoachLab's services that write. A refusal (or any error) is
    rolled back here, so views and commands never commit or roll back after a service. Steps of a
    larger unit (``build_study``, ``store_scores``, ``rebuild_scores``) stay undecorated and say so.
    A service that calls another commits when it returns; the inner one has committed its own work
    by then (``send_links`` relies on it: the links are stored before any message goes out).

    ``fresh=True`` starts the unit of work on a clean session: whatever the caller had begun is
    rolled back first. Callers of such a service hand it only reads, and the service's transaction
    takes its first lock itself (``save_draft`` depends on that order).
    """

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def unit_of_work(*args, **kwargs):
            if fresh:
                db.session.rollback()
            try:
                result = function(*args, **kwargs)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            return result

        return unit_of_work

    return decorate(service) if service is not None else decorate


def describe_url() -> str:
    """The bound database URL with any password hidden, for messages."""
    return db.engine.url.render_as_string(hide_password=True)


MIN_SQLITE = (3, 35)


def check_database(app: Flask) -> None:
    """Connect once, so that a wrong ``DATABASE_URL`` fails now, in one line, not later in a traceback."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ConfigurationError(f"DATABASE_URL: cannot use {describe_url()}: {reason}") from None
    if is_sqlite() and sqlite3.sqlite_version_info < MIN_SQLITE:
        # Submits take the draft with DELETE ... RETURNING, which older SQLite lacks.
        raise ConfigurationError(f"SQLite {sqlite3.sqlite_version} is too old: CoachLab needs "
                                 f"{'.'.join(map(str, MIN_SQLITE))} or newer (or PostgreSQL through DATABASE_URL)")


def is_sqlite() -> bool:
    """Whether the bound engine is SQLite (else PostgreSQL)."""
    return db.engine.dialect.name == "sqlite"


def truncate_wal() -> bool:
    """SQLite: copy the write-ahead log into the database file and truncate the log to zero bytes.

    False when a reader kept part of the log in use past the busy timeout (nothing is lost; the
    log is simply not empty yet). In-memory databases have no log and answer True.
    """
    with db.engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return busy == 0


@transactional
def delete_all_data() -> None:
    """Delete every row of every table, children first, in one transaction (schema kept).

    The audit log's append-only guard is lifted for this one transaction and put back in it.
    """
    with unguarded():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())


# The audit log is append-only: these triggers refuse UPDATE and DELETE on ``audit_event`` (``surveys.audit``
# creates them with the table, migration 0012 on an existing database).
_MESSAGE = "the audit log cannot be changed"
GUARD = {
    "sqlite": [
        f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
        f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$",
        "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ],
}
UNGUARD = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event"],
}


@contextmanager
def unguarded() -> Iterator[None]:
    """Lift the audit log's append-only guard inside the current transaction (whole-database reset only)."""
    dialect = db.engine.dialect.name
    for statement in UNGUARD.get(dialect, []):
        db.session.execute(text(statement))
    yield
    for statement in GUARD.get(dialect, []):
        db.session.execute(text(statement))


def has_data() -> bool:
    """Whether any organisation or user exists."""
    return db.session.query(Organisation.id).first() is not None or db.session.query(User.id).first() is not None


def insert_or_ignore(model):
    """An INSERT that skips rows whose key already exists (``ON CONFLICT DO NOTHING``), on either engine.

    Call ``.values(...)`` and ``.on_conflict_do_nothing(index_elements=[…])`` on the result.
    """
    return sqlite.insert(model) if is_sqlite() else postgresql.insert(model)
