"""The backup and restore steps of the README's deployment guide, run for real on both engines."""

import os
import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from tests.conftest import build_schema
from tests.gunicorn_kit import BENCH_SECRET, COOKIE, LAST_PAGE, prepare

IN_CI = os.environ.get("CI", "").lower() == "true"


def tool(name: str) -> str:
    """The path of a command-line tool; skip (fail in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def bench_app(make_app, url: str, build: bool = False):
    app = make_app(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=BENCH_SECRET, WTF_CSRF_ENABLED=True)
    if build:
        with app.app_context():
            build_schema(app)
    return app


def send(app, prepared) -> int:
    client = app.test_client()
    client.set_cookie(COOKIE, prepared.cookie)
    return client.post(f"/survey/{LAST_PAGE}", data=prepared.body,
                       content_type="application/x-www-form-urlencoded").status_code


def rows(app) -> dict[str, int]:
    """Rows per table, the Alembic revision included."""
    with app.app_context():
        counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        counts["alembic_version"] = db.session.connection().exec_driver_sql(
            "SELECT version_num FROM alembic_version").scalar()
        return counts


def test_sqlite_online_backup_restores_every_row_and_serves(make_app, tmp_path):
    sqlite3 = tool("sqlite3")
    live = tmp_path / "coachlab.sqlite"
    app = bench_app(make_app, f"sqlite:///{live}", build=True)
    prepared = prepare(app, 12)
    assert [send(app, p) for p in prepared[:6]] == [302] * 6
    before = rows(app)
    backup = tmp_path / "coachlab-backup.sqlite"
    # The app keeps its connections (and WAL) open meanwhile: the backup is taken online.
    subprocess.run([sqlite3, str(live), f".backup '{backup}'"], check=True, timeout=60)
    assert send(app, prepared[6]) == 302  # written after the backup: not in it

    restored_file = tmp_path / "restored" / "coachlab.sqlite"
    restored_file.parent.mkdir()
    shutil.copy(backup, restored_file)
    restored = bench_app(make_app, f"sqlite:///{restored_file}")
    assert rows(restored) == before
    assert restored.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    assert [send(restored, p) for p in prepared[6:8]] == [302, 302]  # the link used after the backup works again


def test_postgresql_dump_restores_every_row_and_serves(make_app, postgres_url, postgres_server, tmp_path):
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    app = bench_app(make_app, postgres_url, build=True)
    prepared = prepare(app, 12)
    assert [send(app, p) for p in prepared[:6]] == [302] * 6
    before = rows(app)
    dump = tmp_path / "coachlab.dump"
    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={dump}", libpq], check=True, timeout=120)

    name = f"coachlab_t_restore_{uuid.uuid4().hex[:8]}"
    target = postgres_server.create(name)
    try:
        subprocess.run([pg_restore, "--no-owner", f"--dbname={target.replace('postgresql+psycopg://', 'postgresql://')}",
                        str(dump)], check=True, timeout=120)
        restored = bench_app(make_app, target)
        assert rows(restored) == before
        assert restored.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
        assert [send(restored, p) for p in prepared[6:8]] == [302, 302]
        with restored.app_context():
            db.engine.dispose()
    finally:
        postgres_server.drop(name)
