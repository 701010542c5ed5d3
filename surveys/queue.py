"""The task queue: Huey, with its storage chosen by the configuration (``QUEUE_URL``).

- ``sqlite:///path`` (the default, ``instance/queue.sqlite``): a file beside the database; the web
  server and ``flask --app app worker`` on one machine share it.
- ``redis://host:6379/0`` (or ``REDIS_URL`` when ``QUEUE_URL`` is not set): several machines and
  consumers share one queue.
- ``immediate``: a task runs in the process that enqueues it, at once (the tests' default; no
  consumer needed).

Slow work is a task (``job``): the web request enqueues it and returns; a consumer process runs it
inside an application context of its own. The state a user sees (progress, failures) lives in the
database, never only in the queue, so that a consumer killed at any moment loses nothing that a
periodic task or the next consumer cannot pick up again.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from .config import ConfigurationError

QUEUE_FILE = "queue.sqlite"
IMMEDIATE = "immediate"

__all__ = ["IMMEDIATE", "crontab", "huey", "init_app", "job", "periodic", "queue_url"]

# One queue per process, bound to the configuration of the last app that ``init_app`` saw (as Flask-Limiter's
# one Limiter is); tasks register on it at import.
huey = Huey("coachlab", storage_class=MemoryStorage, utc=True, results=False)
_apps: list[Flask] = []


def queue_url(instance_path: str, environ) -> str:
    """``QUEUE_URL``, else ``REDIS_URL``, else SQLite under ``instance/``."""
    explicit = (environ.get("QUEUE_URL") or "").strip()
    if explicit:
        return explicit
    redis = (environ.get("REDIS_URL") or "").strip()
    if redis:
        return redis
    return "sqlite:///" + str(Path(instance_path) / QUEUE_FILE)


def init_app(app: Flask) -> None:
    """Point the queue at ``app.config["QUEUE_URL"]`` and remember ``app`` for the tasks a consumer runs."""
    url = app.config["QUEUE_URL"]
    if url == IMMEDIATE:
        huey.immediate = True
    else:
        huey.immediate = False
        if url.startswith(("redis://", "rediss://", "unix://")):
            huey.storage = RedisStorage(huey.name, url=url)
        elif url.startswith("sqlite:///"):
            path = url.removeprefix("sqlite:///")
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private, like the database (SQLite: 0644)
            huey.storage = SqliteStorage(huey.name, filename=path)
        else:
            raise ConfigurationError(f"QUEUE_URL: {url!r} is not a queue (expected sqlite:///path, "
                                     f"redis://host:port/db or {IMMEDIATE})")
    _apps[:] = [app]
    app.extensions["coachlab_queue"] = huey


def _in_app_context(function):
    """Run ``function`` in the current application context or, in a consumer, in one of the app's own."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if has_app_context():
            return function(*args, **kwargs)
        if not _apps:
            raise RuntimeError("the task queue has no application: create the app (init_app) before consuming")
        with _apps[0].app_context():
            return function(*args, **kwargs)

    return run


def job(**options):
    """Make a function a Huey task that runs in an application context (``retries``, ``retry_delay``, … as Huey's)."""
    def wrap(function):
        return huey.task(**options)(_in_app_context(function))

    return wrap


def periodic(schedule, **options):
    """Make a function a periodic Huey task (``schedule`` a ``crontab``) that runs in an application context."""
    def wrap(function):
        return huey.periodic_task(schedule, **options)(_in_app_context(function))

    return wrap


def is_immediate() -> bool:
    """Whether tasks run where they are enqueued (``QUEUE_URL=immediate``)."""
    return current_app.config["QUEUE_URL"] == IMMEDIATE
