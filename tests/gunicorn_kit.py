"""Tools for tests and benchmarks that drive CoachLab under gunicorn: prepared submissions and servers.

A *prepared submission* is what a rep's browser holds just before pressing "Send my answers": a
session cookie (the redeemed link with the browser's draft key, a CSRF secret) and the form of the
last page. The earlier pages are already saved as the invitation's draft, sealed under that key.
Preparing thousands this way is fast and keeps the measured requests to the submits themselves.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "coachlab_session"
BENCH_SECRET = "load-and-fault-secret"


@dataclass(frozen=True)
class Prepared:
    """One submission ready to send."""

    invitation_id: int
    cookie: str
    body: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(app, count: int, team_size: int = 8) -> list[Prepared]:
    """Seed a running study with ``count`` reps whose drafts hold every page but the last; return their submits."""
    from flask import session
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import insert, select

    from surveys.extensions import db
    from surveys.models import (
        Assignment,
        CoachingModel,
        Invitation,
        Organisation,
        Rep,
        StudyStatus,
        SurveyDraft,
        Team,
        Wave,
    )
    from surveys.respond import survey as responding
    from surveys.respond import survey_cookie
    from surveys.respond.sealing import new_key
    from surveys.studies import create_study
    from surveys.tokens import hash_token, new_token
    from tests import builders

    with app.app_context():
        org = Organisation(name=f"Load {secrets.token_hex(3)}")
        db.session.add(org)
        db.session.flush()
        teams = -(-count // team_size)
        db.session.execute(insert(Team), [{"organisation_id": org.id, "name": f"L{i:05d}", "region": "North"}
                                          for i in range(teams)])
        team_ids = list(db.session.scalars(select(Team.id).where(Team.organisation_id == org.id).order_by(Team.id)))
        db.session.execute(insert(Rep), [{"organisation_id": org.id, "team_id": team_ids[i // team_size],
                                          "name": f"Rep {i}", "crm_id": f"L-{i}", "active": True}
                                         for i in range(count)])
        study = create_study(org, "Load pilot", list(CoachingModel), seed=1)
        study.status = StudyStatus.RUNNING
        study.waves = [Wave(label="baseline", opens_on=date.today() - timedelta(days=1),
                            closes_on=date.today() + timedelta(days=30))]
        db.session.flush()
        models = list(CoachingModel)
        db.session.execute(insert(Assignment), [{"study_id": study.id, "team_id": t, "coaching_model": models[i % 3]}
                                                for i, t in enumerate(team_ids)])
        rep_ids = list(db.session.scalars(select(Rep.id).where(Rep.organisation_id == org.id).order_by(Rep.id)))
        wave_id = study.waves[0].id
        db.session.execute(insert(Invitation), [{"wave_id": wave_id, "rep_id": r, "token_hash": hash_token(new_token()),
                                                 "used": False, "reminder_count": 0} for r in rep_ids])
        invitations = db.session.execute(select(Invitation.id, Invitation.rep_id)
                                         .where(Invitation.wave_id == wave_id).order_by(Invitation.id)).all()
        pages = responding.paginate(list(study.questions))
        answers = builders.valid_answers(study.questions)
        earlier = {q.key: answers[f"q_{q.key}"] for page in pages[:-1] for q in page.questions}
        # Each rep's browser has its own draft key; the draft is sealed under it, as a save would.
        keys = {invitation_id: new_key() for invitation_id, _ in invitations}
        db.session.execute(insert(SurveyDraft), [
            {"invitation_id": i, "page": 0,
             "answers_json": responding.seal_draft(keys[i], wave_id, rep_id, len(pages) - 1, earlier)}
            for i, rep_id in invitations])
        db.session.commit()
        last = {f"q_{q.key}": answers[f"q_{q.key}"] for q in pages[-1].questions}
    serializer = app.session_interface.get_signing_serializer(app)
    prepared = []
    for invitation_id, _ in invitations:
        with app.test_request_context():
            survey_cookie.hold(survey_cookie.SurveyPass(invitation_id, keys[invitation_id], saved=True))
            token = generate_csrf()
            cookie = serializer.dumps(dict(session))
        body = urllib.parse.urlencode({**last, "csrf_token": token, "action": "submit"})
        prepared.append(Prepared(invitation_id, cookie, body))
    return prepared


class Gunicorn:
    """A gunicorn serving ``create_app()`` on a free port with the given database."""

    def __init__(self, database_url: str, workers: int = 4, app: str = "app:create_app()", extra_env=None,
                 probe: str = "/", server_args: list[str] | None = None):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_DEBUG")}
        env.update({"DATABASE_URL": database_url, "SECRET_KEY": BENCH_SECRET, "LINK_RATE_LIMIT": "100000 per minute",
                    "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}", **(extra_env or {})})
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *(server_args or ["--workers", str(workers)]),
             "--bind", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "5", "--timeout", "30", app],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + probe, timeout=2) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    return
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        log = self.log_text()
        self.stop()
        raise RuntimeError("gunicorn did not start: " + log[-2000:])

    def log_text(self) -> str:
        """What gunicorn wrote to its error log so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def workers(self) -> list[int]:
        """Process ids of the worker processes."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                children.append(int(stat.parent.name))
        return sorted(children)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def submit(url: str, prepared: Prepared, timeout: float = 30, path: str | None = None) -> int:
    """POST one prepared submission; the status (302 = stored and acknowledged), or 0 on a broken connection."""
    import http.client

    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if prepared.cookie:
            headers["Cookie"] = f"{COOKIE}={prepared.cookie}"
        connection.request("POST", path or f"/survey/{LAST_PAGE}", body=prepared.body, headers=headers)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


LAST_PAGE = 4  # the built-in instrument's survey has four pages; the last one submits
