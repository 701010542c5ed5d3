"""Configuration: where the database lives, how SQLite is tuned, where the secret key comes from."""

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text

from app import create_app
from surveys.config import ConfigurationError, normalise_database_url, secret_key
from surveys.extensions import db


def run_flask(cwd, *args, env_extra=None):
    """Run ``flask --app app ARGS`` as a newcomer would, in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_default_database_is_a_sqlite_file_under_instance_and_the_secret_key_is_kept(repo_copy):
    first = run_flask(repo_copy, "init-db")
    assert first.returncode == 0, first.stderr
    assert (repo_copy / "instance" / "coachlab.sqlite").is_file()
    key_file = repo_copy / "instance" / "secret_key"
    key = key_file.read_text()
    assert len(key.strip()) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = run_flask(repo_copy, "init-db")
    assert second.returncode == 0, second.stderr
    assert key_file.read_text() == key


def test_secret_key_comes_from_the_environment_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert secret_key(str(tmp_path)) == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_generated_secret_key_is_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(str(tmp_path))
    assert secret_key(str(tmp_path)) == first


def test_every_sqlite_connection_has_wal_busy_timeout_and_foreign_keys(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pragmas.sqlite'}"})
    with app.app_context():
        for _ in range(2):  # a second connection from the pool is configured too
            with db.engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        db.engine.dispose()


def test_database_url_overrides_the_default(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere.sqlite"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{target}"
    with app.app_context():
        db.engine.dispose()
    assert target.exists()  # the start-up check connected to it


@pytest.mark.parametrize("raw", ["postgres://u:p@db.example.com/coach", "postgresql://u:p@db.example.com/coach"])
def test_postgresql_urls_use_psycopg_3(raw):
    assert normalise_database_url(raw, "DATABASE_URL") == "postgresql+psycopg://u:p@db.example.com/coach"


def test_malformed_database_url_is_named_in_the_error():
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        normalise_database_url("not a url at all", "DATABASE_URL")


@pytest.mark.parametrize("url, words", [
    ("postgresql://nobody@127.0.0.1:1/nothing", "cannot use"),
    ("nosuchdialect://x/y", "DATABASE_URL"),
    ("this is not a url", "not a database URL"),
])
def test_unusable_database_url_gives_one_line_and_a_non_zero_exit(repo_copy, url, words):
    result = run_flask(repo_copy, "init-db", env_extra={"DATABASE_URL": url})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and words in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_mail_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("MAIL_FROM", "Pilot <pilot@example.com>")
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite'}"})
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"], app.config["MAIL_USE_TLS"]) == (
        "smtp.example.com", 587, True)
    assert app.config["MAIL_FROM"] == "Pilot <pilot@example.com>"
    with app.app_context():
        db.engine.dispose()


def test_a_bad_mail_port_is_named(monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "smtp")
    with pytest.raises(ConfigurationError, match="MAIL_PORT"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_sqlite_too_old_for_the_submit_is_refused_at_start(tmp_path, monkeypatch):
    import surveys.database
    from app import create_app

    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}", "SECRET_KEY": "test"}
    assert create_app(config)  # this machine's SQLite is new enough
    monkeypatch.setattr(surveys.database, "MIN_SQLITE", (99, 0))  # pretend the requirement is higher
    with pytest.raises(ConfigurationError, match=r"SQLite 3\.\d+\.\d+ is too old: CoachLab needs 99\.0"):
        create_app(config)
