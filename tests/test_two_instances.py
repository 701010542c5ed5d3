"""Two app instances, as behind a load balancer, on one PostgreSQL database: every submission counts once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Invitation, Response
from tests.conftest import build_schema
from tests.gunicorn_kit import BENCH_SECRET, Gunicorn, prepare, submit

SPREAD = 300  # submissions spread over both instances
RACED = 40  # links sent to both instances at the same moment


@pytest.mark.slow  # a soak of real processes (20–30 s): `make test-slow`, on both engines in CI
def test_submissions_through_two_instances_are_counted_once(make_app, postgres_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_url, SECRET_KEY=BENCH_SECRET, WTF_CSRF_ENABLED=True)
    with app.app_context():
        build_schema(app)
    prepared = prepare(app, SPREAD + RACED)
    spread, raced = prepared[:SPREAD], prepared[SPREAD:]
    with Gunicorn(postgres_url, workers=2) as first, Gunicorn(postgres_url, workers=2) as second:
        servers = [first.url, second.url]
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda pair: submit(servers[pair[0] % 2], pair[1]), enumerate(spread)))
        assert statuses == [302] * SPREAD

        # The same rep presses "Send" on two devices whose requests reach different instances.
        def race(p):
            start = threading.Barrier(2)

            def send(url):
                start.wait()
                return submit(url, p)

            with ThreadPoolExecutor(2) as both:
                return sorted(both.map(send, servers))

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(race, raced))
        assert outcomes == [[302, 410]] * RACED  # one stored; the other told the link was used

    with app.app_context():
        used = db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.used.is_(True)))
        responses = db.session.scalar(select(func.count()).select_from(Response))
    assert used == responses == SPREAD + RACED
