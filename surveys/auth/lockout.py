"""A per-account lock after repeated failed log-ins, whatever the client address.

The failures are counted per e-mail address as typed (normalised), in the rate limiter's storage
(``RATELIMIT_STORAGE_URI``: in memory per process, or Redis shared by every instance), so no table
is needed. An address that belongs to no account is counted and locked exactly like one that does:
the lock says nothing about which accounts exist. While an account is locked even the right password
is refused without being checked, so the lock cannot be used to test guesses either.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import current_app
from limits import parse

from ..accounts import AccountError, normalise_email
from ..extensions import limiter

SCOPE = "login-account"


def _identifiers(email: str) -> tuple[str, ...]:
    try:
        normal = normalise_email(email)
    except AccountError:
        normal = (email or "").strip().lower()
    # A digest, so the storage (Redis, say) never holds the addresses themselves.
    digest = hashlib.sha256(normal.encode()).hexdigest()
    return current_app.config.get("RATELIMIT_KEY_PREFIX", ""), SCOPE, digest


def _limit():
    return parse(current_app.config["LOGIN_ACCOUNT_LIMIT"])


def seconds_locked(email: str) -> int:
    """How long log-ins for ``email`` stay refused: 0 when they are not."""
    if not limiter.enabled:
        return 0
    limit, identifiers = _limit(), _identifiers(email)
    if limiter.limiter.test(limit, *identifiers):
        return 0
    reset = limiter.limiter.get_window_stats(limit, *identifiers).reset_time
    return max(1, math.ceil(reset - time.time()))


def record_failure(email: str) -> None:
    """Count a failed log-in for ``email``."""
    if limiter.enabled:
        limiter.limiter.hit(_limit(), *_identifiers(email))


def clear(email: str) -> None:
    """Forget the failures of ``email`` (after a successful log-in)."""
    if limiter.enabled:
        limiter.limiter.clear(_limit(), *_identifiers(email))
