"""Rule 7 and review F7: what CoachLab leaves in files on SQLite.

- everything under ``instance/`` is private to the account that runs CoachLab (folder 0700, files 0600);
- a scrub (``scrub-links``, ``purge-drafts``) checkpoints the write-ahead log and truncates it, so the
  WAL no longer pairs a used link with the response its submit wrote;
- drafts reach the files only as ciphertext; deleted rows are overwritten (``secure_delete``).
"""

import json
import os
import stat
import subprocess
import sys

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from surveys.extensions import db
from surveys.models import Invitation, Response
from surveys.respond import survey as responding
from tests import builders

START_AND_SUBMIT = r"""
import json, os, stat, sys
os.umask(0o022)  # the usual default: files 0644 unless CoachLab says otherwise
from app import create_app
from surveys.extensions import db
from surveys.respond import survey as responding
from tests import builders

app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False})
assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
with app.app_context():
    study, team = builders.running_survey()
    token = builders.invite(study.waves[0], team.reps[0])
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    client = app.test_client()
    client.get(f"/s/{token}")
    for number, page in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions}
        action = "submit" if number == len(pages) else "next"
        assert client.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    # Still running, connections open: the -wal and -shm files exist now.
    instance = app.instance_path
    modes = {name: stat.S_IMODE(os.stat(os.path.join(instance, name)).st_mode) for name in os.listdir(instance)}
    modes["."] = stat.S_IMODE(os.stat(instance).st_mode)
    print(json.dumps(modes))
"""


def run_in(cwd, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "TEST_DATABASE_URL")}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def test_instance_folder_and_files_are_private_after_a_start_and_a_submit(repo_copy):
    result = run_in(repo_copy, "-c", START_AND_SUBMIT)
    assert result.returncode == 0, result.stderr[-3000:]
    modes = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"coachlab.sqlite", "coachlab.sqlite-wal", "coachlab.sqlite-shm", "secret_key"} <= set(modes)
    assert modes.pop(".") == 0o700
    assert modes == {name: 0o600 for name in modes}, {name: oct(mode) for name, mode in modes.items()}


def test_files_left_readable_by_an_earlier_version_are_made_private_at_start(repo_copy):
    instance = repo_copy / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)
    for name in ("coachlab.sqlite", "secret_key"):
        (instance / name).write_text("" if name.endswith("sqlite") else "k" * 64 + "\n")
        os.chmod(instance / name, 0o644)
    result = run_in(repo_copy, "-m", "flask", "--app", "app", "init-db")
    assert result.returncode == 0, result.stderr[-3000:]
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("coachlab.sqlite", "secret_key"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600, name


@pytest.fixture
def file_app(make_app, tmp_path):
    """An app on its own SQLite file (WAL beside it), schema migrated."""
    path = tmp_path / "files.sqlite"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        yield app, path
        db.session.remove()
        db.engine.dispose()


def answer_all(client, study, token):
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    client.get(f"/s/{token}")
    for number, page in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions}
        action = "submit" if number == len(pages) else "next"
        assert client.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302


def wal_of(path):
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.parametrize("command", ["scrub-links", "purge-drafts"])
def test_after_a_scrub_the_wal_is_empty_and_pairs_no_link_with_a_response(file_app, command):
    """F7: before the scrub the WAL holds, in one commit, the invitation marked used and the response."""
    app, path = file_app
    study, team = builders.running_survey(reps=3)
    for rep in team.reps:
        answer_all(app.test_client(), study, builders.invite(study.waves[0], rep))
    response_ids = [r.encode() for r in db.session.scalars(select(Response.id))]
    token_hashes = [h.encode() for h in db.session.scalars(select(Invitation.token_hash))]
    db.session.commit()
    before = wal_of(path)
    assert len(response_ids) == 3 and all(r in before for r in response_ids)  # the review's wal_link.py finds them
    assert all(h in before for h in token_hashes)

    result = app.test_cli_runner().invoke(args=[command])
    assert result.exit_code == 0, result.output
    assert "truncated" in result.output
    after = wal_of(path)
    assert after == b""
    assert not any(r in after for r in response_ids) and not any(h in after for h in token_hashes)
    assert db.session.scalar(select(Invitation.used).limit(1)) is True  # the data itself is all there


def test_a_draft_reaches_the_database_files_only_as_ciphertext(file_app):
    app, path = file_app
    study, team = builders.running_survey()
    token = builders.invite(study.waves[0], team.reps[0])
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    answers["q_comment"] = "Quokka-42 is what I would never say to my manager"
    client = app.test_client()
    client.get(f"/s/{token}")
    for number, page in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions}
        action = "back" if number == len(pages) else "next"  # the comment goes into the draft, not a response
        assert client.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    files = path.read_bytes() + wal_of(path)
    assert b"Quokka-42" not in files
    assert b'"coaching_1"' not in files  # no draft JSON (the key alone is in the question table)


def test_every_sqlite_connection_deletes_securely_and_bounds_the_wal(file_app):
    app, _ = file_app
    for _ in range(2):
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA secure_delete")).scalar() == 1
            assert connection.execute(text("PRAGMA journal_size_limit")).scalar() == 4 * 1024 * 1024
