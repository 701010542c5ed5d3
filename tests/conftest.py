"""Fixtures: an app with a clean database per test, on SQLite or (with TEST_DATABASE_URL) PostgreSQL.

- ``TEST_DATABASE_URL`` unset: every test gets a fresh SQLite file.
- ``TEST_DATABASE_URL=postgresql://…``: each test worker gets its own database, created once from
  that server; tables are emptied after every test.
- Tests that need PostgreSQL whatever the main engine is (migrations, concurrency) use the
  ``postgres_url`` fixture; it skips when no server answers, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
import uuid
from datetime import date, timedelta
from email import message_from_string, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import stamp
from sqlalchemy.engine import make_url
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from surveys.config import normalise_database_url
from surveys.extensions import db
from tests.gunicorn_kit import free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _test_database_url() -> str | None:
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    return normalise_database_url(raw, "TEST_DATABASE_URL") if raw else None


def _server_answers(url: str) -> str | None:
    """None if a PostgreSQL server answers at ``url``, else the reason."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def unreachable(reason: str):
    """Skip on a newcomer's machine; fail in CI, where the service must run."""
    if IN_CI:
        pytest.fail(f"CI=true but PostgreSQL is not reachable: {reason}")
    pytest.skip(f"PostgreSQL is not reachable ({reason}); CI starts it")


class PostgresServer:
    """Creates and drops scratch databases on one PostgreSQL server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self, name: str) -> str:
        """Create an empty database ``name`` (dropping any leftover) and return its URL."""
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        """Drop database ``name``."""
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Module constants a test module may name for the day it works in, with their distance from today.
DATES_OF_TODAY = {"YESTERDAY": -1, "TODAY": 0, "TOMORROW": 1, "IN_A_MONTH": 30}


def pytest_sessionstart(session):
    """Compile a catalogue whose .mo is missing or older than its .po (``make install`` does it too), so that
    ``pytest`` run by hand after editing a translation tests that translation, not the last compiled one."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalogue = read_po(source)
        partial = mo.with_name(f"messages.{uuid.uuid4().hex}.mo")
        with partial.open("wb") as target:
            write_mo(target, catalogue)
        partial.replace(mo)  # atomic: another test worker reads the old file or the new one


@pytest.fixture(autouse=True)
def dates_of_today(request):
    """Set a test module's TODAY, TOMORROW, … to the day this test runs, not the day the module was collected.

    The application reads the clock at each request; a constant read at import is a day behind it for
    every test run after midnight (CI of stop 23: a run of 14 minutes crossed midnight and two tests
    saw yesterday). A constant kept as ISO text stays text.
    """
    module = request.module
    today = date.today()
    for name, days in DATES_OF_TODAY.items():
        value = getattr(module, name, None)
        if isinstance(value, date):
            setattr(module, name, today + timedelta(days=days))
        elif isinstance(value, str):
            setattr(module, name, (today + timedelta(days=days)).isoformat())


@pytest.fixture(scope="session")
def postgres_server():
    """The PostgreSQL server of TEST_DATABASE_URL, or the local default one."""
    url = _test_database_url() or DEFAULT_POSTGRES
    reason = _server_answers(url)
    if reason:
        unreachable(reason)
    server = PostgresServer(url)
    yield server
    server.admin.dispose()


@pytest.fixture
def redis_url():
    """A Redis database of its own for one test (``TEST_REDIS_URL``, default 127.0.0.1:6379), flushed before and
    after; skips when no Redis answers, except under ``CI=true``, where it fails."""
    import redis

    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
    url = f"{base}/{7 + int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0').removeprefix('gw') or 0) % 8}"
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {base}: {error}")
        pytest.skip(f"Redis is not reachable at {base} ({error}); CI starts it")
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def postgres_url(postgres_server):
    """An empty PostgreSQL database for one test, dropped afterwards."""
    name = f"coachlab_t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create(name)
    yield url
    postgres_server.drop(name)


@pytest.fixture(scope="session")
def main_database(request, tmp_path_factory):
    """The URL every ``app`` of this worker uses: a per-worker PostgreSQL database, or None for SQLite."""
    url = _test_database_url()
    if url is None:
        yield None
        return
    if not url.startswith("postgresql"):
        pytest.fail("TEST_DATABASE_URL must point at PostgreSQL; SQLite is the default without it")
    reason = _server_answers(url)
    if reason:
        unreachable(reason)
    server = PostgresServer(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"coachlab_test_{worker}"
    database = server.create(name)
    # Build the schema once; tests empty the tables afterwards instead of rebuilding them.
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        build_schema(app)
        db.engine.dispose()
    yield database
    server.drop(name)
    server.admin.dispose()


def build_schema(application) -> None:
    """Create the tables from the models and mark them as migrated to the newest revision."""
    db.create_all()
    stamp(directory=application.extensions["migrate"].directory)


def _empty_tables(url: str) -> None:
    """Delete every row of the shared PostgreSQL test database (fast, keeps the schema)."""
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def make_app(main_database, tmp_path):
    """Factory for apps sharing this test's clean database (schema built), with config overrides.

    An app given its own ``SQLALCHEMY_DATABASE_URI`` gets that database as it is (empty, say).
    """
    created = []
    database = main_database or f"sqlite:///{tmp_path / 'test.sqlite'}"
    built = [main_database is not None]

    def factory(**overrides):
        config = {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": database,
                  "WTF_CSRF_ENABLED": False, "PUBLIC_BASE_URL": "http://localhost",
                  "QUEUE_URL": "immediate", "MAIL_RATE": 0}
        config.update(overrides)
        application = create_app(config)
        created.append(application)
        if config["SQLALCHEMY_DATABASE_URI"] == database and not built[0]:
            with application.app_context():
                build_schema(application)
            built[0] = True
        return application

    yield factory
    for application in created:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
    if main_database:
        _empty_tables(main_database)


@pytest.fixture
def app(make_app):
    """An app on a clean database with the schema built."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of ``app``."""
    return app.test_cli_runner()


@pytest.fixture
def app_context(app):
    """Run the test inside ``app``'s context."""
    with app.app_context():
        yield app


class DemoCopy:
    """The demo pilot as one worker seeded it, to put back into a test's empty database in a fraction of the
    5 s that seeding takes (``seeded`` is used by some fifty tests). SQLite: a copy of the database file;
    PostgreSQL: every table's rows (``COPY``) and every sequence's position. Kept per day, since the demo's
    dates follow today."""

    def __init__(self, result, day: date, file: Path | None = None, tables: dict | None = None,
                 sequences: dict | None = None):
        self.result, self.day, self.file, self.tables, self.sequences = result, day, file, tables, sequences

    @classmethod
    def take(cls, result, folder: Path) -> DemoCopy:
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            file = folder / "demo.sqlite"
            _sqlite_backup(Path(db.engine.url.database), file)
            return cls(result, date.today(), file=file)
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            tables = {}
            for table in db.metadata.sorted_tables:
                with cursor.copy(f'COPY "{table.name}" TO STDOUT') as copy:
                    tables[table.name] = b"".join(bytes(block) for block in copy)
            cursor.execute("SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.relkind = 'S' AND n.nspname = current_schema()")
            sequences = {}
            for (name,) in cursor.fetchall():
                cursor.execute(f"SELECT last_value, is_called FROM {name}")
                sequences[name] = cursor.fetchone()
            connection.commit()
        finally:
            connection.close()
        return cls(result, date.today(), tables=tables, sequences=sequences)

    def put_back(self) -> None:
        """Into the test's database, which is empty (its schema built)."""
        db.session.remove()
        if self.file is not None:
            db.engine.dispose()
            _sqlite_backup(self.file, Path(db.engine.url.database))
            return
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for table in db.metadata.sorted_tables:
                if self.tables[table.name]:
                    with cursor.copy(f'COPY "{table.name}" FROM STDIN') as copy:
                        copy.write(self.tables[table.name])
            for name, (value, called) in self.sequences.items():
                cursor.execute("SELECT setval(%s, %s, %s)", (name, value, called))
            connection.commit()
        finally:
            connection.close()


def _sqlite_backup(source: Path, target: Path) -> None:
    """A consistent copy of one SQLite database into another (its WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


_DEMO: dict[str, DemoCopy] = {}


@pytest.fixture
def seeded(app_context, tmp_path_factory):
    """The demo pilot, seeded afresh with the report caches cleared (``surveys.demo.seed_demo``'s result).

    The first test of a worker (each day) seeds it; later ones get the same rows put back (``DemoCopy``)."""
    from surveys.cache import clear_all
    from surveys.demo import seed_demo

    clear_all()
    copy = _DEMO.get("demo")
    if copy is None or copy.day != date.today():
        result = seed_demo("http://localhost")
        _DEMO["demo"] = DemoCopy.take(result, tmp_path_factory.mktemp("demo"))
        return result
    copy.put_back()
    return copy.result


@pytest.fixture
def repo_copy(tmp_path):
    """A copy of the code in a temporary folder, for commands that write under ``instance/``."""
    target = tmp_path / "repo"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".git", ".venv", "instance", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules"))
    return target


@pytest.fixture
def live_app(make_app):
    """An app configured as in production (CSRF on, errors handled), schema built."""
    return make_app(TESTING=False, WTF_CSRF_ENABLED=True, PROPAGATE_EXCEPTIONS=False)


class IdleTimeoutHandler(WSGIRequestHandler):
    """Closes a keep-alive connection idle for 2 s, so that shutting the server down never waits long."""

    timeout = 2


@pytest.fixture
def live_server(live_app):
    """``live_app`` served over real HTTP by a threaded server on a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True, request_handler=IdleTimeoutHandler)
    # Track request threads so that closing the server waits for them: a request still running at
    # teardown would return its database connection to a pool that has been disposed.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright; skips without it, fails under CI=true."""
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("CI=true but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed; `apt-get install chromium` (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium):
    """A fresh page in a 375-px-wide phone viewport with touch."""
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2)
    page = context.new_page()
    yield page
    context.close()


class Inbox:
    """aiosmtpd handler that keeps every message it receives, as (recipients, raw text)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        """The messages once there are ``count`` of them (mail sent in the background arrives a moment later)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def mail_text(raw: str) -> str:
    """The decoded text of a raw message (its body may be quoted-printable)."""
    return message_from_string(raw, policy=policy.default).get_body(("plain",)).get_content()


@pytest.fixture
def catcher(tmp_path):
    """The demo's mail catcher (``surveys.outbox.serve``) on loopback, keeping messages in a folder: (folder, port)."""
    from surveys.outbox import serve

    folder, port = tmp_path / "outbox", free_port()
    controller = serve(folder, "127.0.0.1", port)
    yield folder, port
    controller.stop()


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (aiosmtpd): yields (controller, inbox)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    # Mail sent in the background (``mail.send_in_background``) may still be on its way: let it arrive
    # before the server stops, rather than leave connections half-open (and the database in use).
    for thread in threading.enumerate():
        if thread.name == "coachlab-mail":
            thread.join(timeout=10)
    controller.stop()
