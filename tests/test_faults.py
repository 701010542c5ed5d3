"""Faults under load: SIGKILL gunicorn workers while reps submit, then count what was stored.

Runs on the engine of the test run: SQLite (WAL) by default, PostgreSQL when TEST_DATABASE_URL says
so — ``.ci/run`` does both.
"""

import os
import signal
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Answer, Invitation, Question, Response, ResponseScore, SurveyDraft
from tests.gunicorn_kit import BENCH_SECRET, Gunicorn, prepare, submit

SUBMISSIONS = 600
CLIENTS = 16
WORKERS = 3


@pytest.fixture
def bench_app(make_app):
    """An app whose secret and CSRF settings match the gunicorn it will share a database with."""
    return make_app(SECRET_KEY=BENCH_SECRET, WTF_CSRF_ENABLED=True)


def wait_for(condition, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow  # a soak of real processes (20–30 s): `make test-slow`, on both engines in CI
def test_killing_workers_mid_load_loses_no_acknowledged_submission_and_half_stores_none(bench_app):
    prepared = prepare(bench_app, SUBMISSIONS + 20)
    load, afterwards = prepared[:SUBMISSIONS], prepared[SUBMISSIONS:]
    url = bench_app.config["SQLALCHEMY_DATABASE_URI"]
    statuses: dict[int, int] = {}
    killed = []
    with Gunicorn(url, workers=WORKERS) as server:
        assert len(server.workers()) == WORKERS
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = {pool.submit(submit, server.url, p): p for p in load}
            for fraction in (0.25, 0.5):
                assert wait_for(lambda f=fraction: sum(x.done() for x in futures) >= f * SUBMISSIONS)
                victim = server.workers()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            for future, p in futures.items():
                statuses[p.invitation_id] = future.result()

        # The master replaces the killed workers and the server keeps answering and storing.
        assert wait_for(lambda: len(server.workers()) == WORKERS and not set(killed) & set(server.workers()))
        with urllib.request.urlopen(server.url + "/", timeout=10) as page:
            assert page.status == 200
        with pytest.raises(urllib.error.HTTPError) as console:  # debug is off under gunicorn: no debugger
            urllib.request.urlopen(server.url + "/console", timeout=10)
        assert console.value.code == 404 and b"Traceback" not in console.value.read()
        assert [submit(server.url, p) for p in afterwards] == [302] * len(afterwards)

        # A submission cut off with its worker was either stored (the link is used: 410) or not (it stores now).
        broken = [p for p in load if statuses[p.invitation_id] != 302]
        retried = {p.invitation_id: submit(server.url, p) for p in broken}

    acknowledged = {i for i, status in statuses.items() if status == 302}
    assert set(statuses.values()) <= {302, 0}, sorted(set(statuses.values()))
    assert len(broken) <= len(killed)  # a sync worker holds one request: only those die with it
    assert set(retried.values()) <= {302, 410}, retried

    with bench_app.app_context():
        session = db.session
        questions = session.scalar(select(func.count()).select_from(Question))
        used = set(session.scalars(select(Invitation.id).where(Invitation.used.is_(True))))
        responses = session.scalar(select(func.count()).select_from(Response))
        per_response = session.execute(select(Answer.response_id, func.count()).group_by(Answer.response_id)).all()
        scored = session.scalar(select(func.count(func.distinct(ResponseScore.response_id))))
        drafts_of_used = session.scalar(select(func.count()).select_from(SurveyDraft)
                                        .where(SurveyDraft.invitation_id.in_(used)))
    assert acknowledged <= used  # no acknowledged submission is lost
    assert used == {p.invitation_id for p in prepared}  # and every retry went through
    assert responses == len(used) == len(prepared)  # one response per used link, none extra
    assert len(per_response) == responses and {count for _, count in per_response} == {questions}
    assert scored == responses
    assert drafts_of_used == 0
