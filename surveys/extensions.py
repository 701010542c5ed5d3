"""Flask extensions, created unbound and initialised in ``create_app``.

Nothing here imports the application, so any module can import ``db`` without a cycle.
"""

import os
import sqlite3

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so that migrations are identical on SQLite and PostgreSQL and
# a constraint can be dropped by name later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Counters in memory by default; RATELIMIT_STORAGE_URI (e.g. redis://…) shares them between instances.
limiter = Limiter(key_func=get_remote_address, strategy="moving-window")

SQLITE_BUSY_TIMEOUT_MS = 5000
# Once the log has been checkpointed, SQLite cuts the -wal file back to this size, so a large write
# (an import, the demo) does not leave megabytes of old page images behind. The size is about one
# automatic checkpoint's worth (1,000 pages of 4 KiB): the log of ordinary traffic is never cut and regrown.
SQLITE_JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024


@event.listens_for(Engine, "do_connect")
def _create_sqlite_file_privately(dialect, _connection_record, cargs, cparams):
    """Create a missing SQLite database file with mode 0600 before SQLite opens it.

    SQLite would create it 0644 (under the usual umask), and it creates the -wal and -shm files with
    the database file's mode, so these are private too. Existing files are left as they are (see
    ``config.private_instance_folder`` for the ones under ``instance/``).
    """
    if dialect.name != "sqlite" or cparams.get("uri"):
        return None
    path = cargs[0] if cargs else cparams.get("database")
    if not isinstance(path, str) or path in ("", ":memory:") or path.startswith("file:"):
        return None
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists already, or the folder is missing: SQLite opens it or says why
        pass
    return None  # connect as usual


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _connection_record):
    """Switch on WAL, a busy timeout, foreign keys and secure deletion for every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # In-memory databases cannot use WAL; they answer "memory" and that is fine.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows (a submitted draft, a scrubbed link's old state) are overwritten with zeros
        # instead of lingering in free space; Debian's SQLite has this on by default, others do not.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT}")
    finally:
        cursor.close()
