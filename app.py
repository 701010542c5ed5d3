"""CoachLab's application factory. Run it with ``flask --app app …`` or ``gunicorn 'app:create_app()'``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from surveys import (
    activity,
    auth,
    commands,
    errors,
    languages,
    organisations,
    outbox,
    pilots,
    public,
    queue,
    reports,
    respond,
    security,
    web,
)
from surveys.config import (
    MAX_UPLOAD_BYTES,
    ConfigurationError,
    database_url,
    job_settings,
    mail_settings,
    private_instance_folder,
    public_base_url,
    secret_key,
    security_settings,
)
from surveys.database import check_database
from surveys.extensions import csrf, db, limiter, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).with_name("migrations"))


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure a CoachLab application.

    ``test_config`` overrides the defaults and the environment, as in Flask's tutorial.
    """
    app = Flask(__name__, instance_relative_config=True, template_folder="templates", static_folder="static")
    private_instance_folder(app.instance_path)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=database_url(app.instance_path),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="coachlab_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PUBLIC_BASE_URL=public_base_url(),
        QUEUE_URL=queue.queue_url(app.instance_path, os.environ),
        WTF_CSRF_TIME_LIMIT=3600 * 4,
        # Said explicitly: flask-limiter's one Limiter keeps the RATELIMIT_ENABLED of the last app it was
        # bound to when an app does not set it, so an app made with limits off left them off for the next.
        RATELIMIT_ENABLED=True,
        **mail_settings(),
        **job_settings(),
    )
    app.config.from_mapping(security_settings(app.config["PUBLIC_BASE_URL"]))
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(app.instance_path)
    if "gunicorn.arbiter" in sys.modules:
        # Served by gunicorn, i.e. in production: debug stays off even if FLASK_DEBUG was left set.
        app.debug = False
        workers = gunicorn_workers()
        if workers and workers > 1 and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            app.logger.warning(
                "RATELIMIT_STORAGE_URI is memory://: rate limits are counted per process, so with %d workers a "
                "client gets up to %d times LOGIN_RATE_LIMIT, LOGIN_ACCOUNT_LIMIT and LINK_RATE_LIMIT, and a "
                "restarted worker forgets its counts. Set RATELIMIT_STORAGE_URI=redis://… to share them.",
                workers, workers)

    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer: trust its X-Forwarded-For/Proto so rate limits see the client and
        # HTTPS is recognised (secure cookies, HSTS).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    queue.init_app(app)
    app.url_map.converters["int"] = DatabaseId
    register_blueprints(app)
    web.register_template_filters(app)
    errors.init_app(app)
    security.init_app(app)
    commands.init_app(app)
    return app


def gunicorn_workers() -> int | None:
    """The number of workers of the gunicorn that is loading this app, or None if it cannot be told.

    gunicorn hands its settings to no application; they are on the worker (or, with ``--preload``,
    the arbiter) whose code is calling the factory, so look for its ``cfg`` up the call stack.
    """
    from gunicorn.config import Config

    frame = sys._getframe(1)
    while frame is not None:
        settings = getattr(frame.f_locals.get("self"), "cfg", None)
        if isinstance(settings, Config):
            return settings.workers
        frame = frame.f_back
    return None


class DatabaseId(IntegerConverter):
    """``<int:…>`` in URLs: ids that fit a 64-bit column; anything larger is simply not found (404).

    ASCII digits only: werkzeug's ``\\d`` also takes ``١`` or ``１``, which ``int()`` reads as 1.
    """

    regex = r"[0-9]+"

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of ``surveys.extensions`` to ``app``."""
    try:
        db.init_app(app)
    except (ArgumentError, NoSuchModuleError) as error:
        raise ConfigurationError(f"DATABASE_URL: {error}") from None
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    languages.init_app(app)
    with app.app_context():
        check_database(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience."""
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(organisations.bp)
    app.register_blueprint(pilots.bp)
    app.register_blueprint(respond.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(activity.bp)
    app.register_blueprint(outbox.bp)
