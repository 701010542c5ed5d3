"""Configuration: database URL, secret key and defaults, read once by ``create_app``."""

import os
import secrets
import stat
from pathlib import Path

import click
from limits import parse, parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
SQLITE_FILE = "coachlab.sqlite"
INSTANCE_FILES = (SQLITE_FILE, SQLITE_FILE + "-wal", SQLITE_FILE + "-shm", SECRET_KEY_FILE)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a file to import, and any request (MAX_CONTENT_LENGTH)
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // (1024 * 1024)  # the same limit, as messages say it


class ConfigurationError(click.ClickException):
    """A setting or a command's input that CoachLab cannot use: one line on standard error, exit status 2.

    The one such exception: the factory raises it for a bad setting, the commands for bad input
    and for every refusal of the services they call.
    """

    exit_code = 2

    def format_message(self):
        return self.message


def database_url(instance_path: str) -> str:
    """Return the SQLAlchemy URL: ``DATABASE_URL`` when set, else SQLite under ``instance/``.

    ``postgres://`` and ``postgresql://`` URLs are pointed at psycopg 3, the driver we ship.
    """
    raw = os.environ.get("DATABASE_URL", "").strip()
    if not raw:
        return "sqlite:///" + str(Path(instance_path) / SQLITE_FILE)
    return normalise_database_url(raw, variable="DATABASE_URL")


def normalise_database_url(raw: str, variable: str) -> str:
    """Parse ``raw`` and choose psycopg 3 for PostgreSQL; raise ``ConfigurationError`` if malformed."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(f"{variable}: {raw!r} is not a database URL "
                                 "(expected e.g. postgresql://user@host/dbname)") from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def private_instance_folder(instance_path: str) -> None:
    """Create ``instance/`` with mode 0700 and take group and other access off what it holds.

    Everything CoachLab keeps there (the SQLite database with its -wal and -shm files, the secret
    key) is created 0600; files an earlier version left readable are tightened here, at start.
    """
    folder = Path(instance_path)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (folder, *(folder / name for name in INSTANCE_FILES)):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
        except OSError:  # missing, or not ours to change: SQLite and the key file say what is wrong
            continue


def secret_key(instance_path: str) -> str:
    """Return ``SECRET_KEY`` from the environment, else one generated once and kept in ``instance/``."""
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        # O_EXCL: two workers starting together must not both write a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if key:
            return key
        raise ConfigurationError(f"SECRET_KEY: {path} is empty; delete it or set SECRET_KEY") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def public_base_url() -> str:
    """Base URL written into survey links: ``PUBLIC_BASE_URL``, else the local server."""
    explicit = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def mail_settings() -> dict:
    """SMTP settings from ``MAIL_*`` environment variables (no server: CoachLab sends no e-mail)."""
    settings = {"MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip() or None,
                "MAIL_USE_TLS": _flag("MAIL_USE_TLS"), "MAIL_USE_SSL": _flag("MAIL_USE_SSL"),
                "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
                "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None}
    port = os.environ.get("MAIL_PORT", "").strip()
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(f"MAIL_PORT: {port!r} is not a port number")
        settings["MAIL_PORT"] = int(port)
    if os.environ.get("MAIL_FROM", "").strip():
        settings["MAIL_FROM"] = os.environ["MAIL_FROM"].strip()
    # Sending a wave's links (pilots/sending.py): messages per second (0 = unlimited), tries per message,
    # seconds a consumer's claim on a message holds, seconds before the first retry (doubled each time).
    for name, kind in (("MAIL_RATE", float), ("MAIL_MAX_ATTEMPTS", int), ("MAIL_LEASE_SECONDS", float),
                       ("MAIL_RETRY_SECONDS", float)):
        raw = os.environ.get(name, "").strip()
        if raw:
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if value < 0 or (name == "MAIL_MAX_ATTEMPTS" and value < 1):
                raise ConfigurationError(f"{name}: {raw!r} is not a positive number")
            settings[name] = value
    return settings


def job_settings() -> dict:
    """Background imports and the demo's outbox from the environment.

    ``IMPORT_INLINE_ROWS``: files with more rows are imported by a queue consumer, with a progress page.
    ``IMPORT_JOB_STALE_SECONDS``: an import whose progress has not moved for this long is taken to have
    lost its consumer and is run again. ``DEMO_OUTBOX``: the folder of ``flask mail-catcher`` whose
    messages consultants may read at /demo/outbox (the demo only; unset in production).
    """
    values = {}
    for name, default, least in (("IMPORT_INLINE_ROWS", 2000, 0), ("IMPORT_JOB_STALE_SECONDS", 300, 1)):
        text = os.environ.get(name, "").strip() or str(default)
        if not text.isascii() or not text.isdigit() or int(text) < least:
            raise ConfigurationError(f"{name}: {text!r} is not a whole number of at least {least}")
        values[name] = int(text)
    values["DEMO_OUTBOX"] = os.environ.get("DEMO_OUTBOX", "").strip() or None
    return values


def security_settings(base_url: str) -> dict:
    """Cookie, session-timeout and rate-limit settings from the environment."""
    https = base_url.startswith("https://") or _flag("COACHLAB_HTTPS")
    try:
        idle = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
        absolute = int(os.environ.get("SESSION_MAX_HOURS", "12"))
        proxies = int(os.environ.get("TRUSTED_PROXIES", "0"))
        # How long a set-password link works: an invitation waits for someone to read their mail over a
        # weekend; a reset is asked for by someone waiting for it.
        invite_hours = int(os.environ.get("INVITE_TOKEN_HOURS", "72"))
        reset_hours = int(os.environ.get("RESET_TOKEN_HOURS", "2"))
    except ValueError:
        raise ConfigurationError("SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, TRUSTED_PROXIES, INVITE_TOKEN_HOURS and "
                                 "RESET_TOKEN_HOURS must be whole numbers") from None
    if invite_hours < 1 or reset_hours < 1:
        raise ConfigurationError("INVITE_TOKEN_HOURS and RESET_TOKEN_HOURS must be at least 1")
    limits = {
        # Failed log-ins per client address: a brake on guessing across accounts. Each account has
        # its own lock (LOGIN_ACCOUNT_LIMIT), so this can leave room for an office behind one address.
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "30 per minute"),
        # Failed log-ins per account (e-mail address), from any address; then it is locked.
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("LOGIN_ACCOUNT_LIMIT", "10 per 15 minutes"),
        "LINK_RATE_LIMIT": os.environ.get("LINK_RATE_LIMIT", "20 per minute"),
        # Password-reset requests per client address, and per e-mail address (whether or not an account
        # has it, so that the limit tells nobody which addresses do): a brake on mail-bombing someone.
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "10 per hour"),
        "RESET_ACCOUNT_LIMIT": os.environ.get("RESET_ACCOUNT_LIMIT", "3 per hour"),
    }
    single = ("LOGIN_ACCOUNT_LIMIT", "RESET_ACCOUNT_LIMIT")  # counted by surveys.attempts: one window each
    for name, value in limits.items():
        try:
            parse(value) if name in single else parse_many(value)
        except ValueError:
            raise ConfigurationError(f"{name}: {value!r} is not a rate limit (e.g. \"10 per minute\")") from None
    return {
        "SESSION_COOKIE_SECURE": https, "REMEMBER_COOKIE_SECURE": https,
        "SESSION_IDLE_TIMEOUT": idle * 60, "SESSION_ABSOLUTE_TIMEOUT": absolute * 3600,
        "TRUSTED_PROXIES": proxies,
        "INVITE_TOKEN_HOURS": invite_hours, "RESET_TOKEN_HOURS": reset_hours,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        **limits,
    }
