"""Database helpers that are not models: connectivity check, the engine's dialect, portable upserts, wiping data."""

from __future__ import annotations

import sqlite3

from flask import Flask
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .config import ConfigurationError
from .extensions import db
from .models import Organisation, User


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


def delete_all_data() -> None:
    """Delete every row of every table, children first, in one transaction (schema kept)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def has_data() -> bool:
    """Whether any organisation or user exists."""
    return db.session.query(Organisation.id).first() is not None or db.session.query(User.id).first() is not None


def insert_or_ignore(model):
    """An INSERT that skips rows whose key already exists (``ON CONFLICT DO NOTHING``), on either engine.

    Call ``.values(...)`` and ``.on_conflict_do_nothing(index_elements=[…])`` on the result.
    """
    return sqlite.insert(model) if is_sqlite() else postgresql.insert(model)
