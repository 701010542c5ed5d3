"""The task queue (issue 15): a real consumer process runs what the app enqueues, on SQLite or on Redis, and the
periodic maintenance that used to need a cron runs by itself."""

from datetime import date, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from surveys import accounts, tasks
from surveys.config import ConfigurationError
from surveys.extensions import db
from surveys.models import AccountToken, TokenPurpose, utcnow
from surveys.queue import huey, queue_url
from tests import builders
from tests.queue_kit import Consumer, wait_until


def test_the_queue_is_sqlite_under_instance_by_default_redis_when_redis_url_is_set_and_queue_url_wins():
    assert queue_url("/srv/instance", {}) == "sqlite:////srv/instance/queue.sqlite"
    assert queue_url("/srv/instance", {"REDIS_URL": "redis://cache:6379/2"}) == "redis://cache:6379/2"
    assert queue_url("/srv/instance", {"REDIS_URL": "redis://cache:6379/2", "QUEUE_URL": "immediate"}) == "immediate"


def test_a_queue_url_that_is_no_queue_is_refused_with_a_message(make_app):
    with pytest.raises(ConfigurationError, match="QUEUE_URL: 'amqp://rabbit' is not a queue"):
        make_app(QUEUE_URL="amqp://rabbit")


def test_the_worker_command_refuses_an_immediate_queue_with_exit_status_2(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 2
    assert "QUEUE_URL is 'immediate'" in result.output


def _expired_tokens(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AccountToken))


def _enqueue_purge_and_wait(make_app, database, queue):
    """Enqueue the daily purge from a web app's process; a consumer process runs it."""
    app = make_app(SQLALCHEMY_DATABASE_URI=database, QUEUE_URL=queue)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        user = builders.user("old@acme.example.com")
        accounts.issue_account_token(user, TokenPurpose.INVITE, now=utcnow() - timedelta(hours=80))
    assert _expired_tokens(app) == 1
    with Consumer(database, queue) as consumer:
        with app.app_context():
            tasks.purge_drafts_task()  # enqueued, not run: the queue is not immediate
        assert _expired_tokens(app) in (0, 1)
        wait_until(lambda: _expired_tokens(app) == 0, timeout=30)
        assert "purge_drafts_task" in consumer.log_text()


def test_a_consumer_process_runs_a_task_enqueued_on_the_sqlite_queue(make_app, tmp_path):
    _enqueue_purge_and_wait(make_app, f"sqlite:///{tmp_path / 'app.sqlite'}", f"sqlite:///{tmp_path / 'queue.sqlite'}")
    assert (tmp_path / "queue.sqlite").stat().st_mode & 0o077 == 0  # private, like the database


def test_a_consumer_process_runs_a_task_enqueued_on_redis(make_app, tmp_path, redis_url):
    _enqueue_purge_and_wait(make_app, f"sqlite:///{tmp_path / 'app.sqlite'}", redis_url)


def test_the_scrub_runs_only_while_a_wave_is_open(app_context):
    today = date.today()
    assert tasks.scrub_while_open(today) is None  # no study at all
    study, _ = builders.running_survey(today=today)
    assert tasks.scrub_while_open(today) == 0
    wave = study.waves[0]
    assert tasks.scrub_while_open(wave.closes_on + timedelta(days=1)) is None
    assert tasks.scrub_while_open(wave.opens_on - timedelta(days=1)) is None


def test_the_maintenance_is_scheduled_every_ten_minutes_and_daily():
    """The periodic tasks' own schedules, read from Huey at the times they should (and should not) fire."""
    from datetime import datetime

    def fires(task, at: datetime) -> bool:
        return task.validate_datetime(at)

    scrub, purge = tasks.scrub_links_task.task_class(), tasks.purge_drafts_task.task_class()
    assert fires(scrub, datetime(2027, 3, 1, 9, 40)) and fires(scrub, datetime(2027, 3, 1, 9, 50))
    assert not fires(scrub, datetime(2027, 3, 1, 9, 45))
    assert fires(purge, datetime(2027, 3, 1, 3, 17))
    assert not fires(purge, datetime(2027, 3, 1, 4, 17)) and not fires(purge, datetime(2027, 3, 1, 3, 18))
    registered = set(huey._registry._periodic_tasks)
    assert {tasks.scrub_links_task.task_class, tasks.purge_drafts_task.task_class} <= registered
