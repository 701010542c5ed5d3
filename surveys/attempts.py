"""Counted attempts that lock what they are about for a while: failed log-ins and password-reset
requests per e-mail address, refused organisation names per consultant.

The counts live in the rate limiter's storage (``RATELIMIT_STORAGE_URI``: in memory per process,
or Redis shared by every instance), under a digest of the key, so no table is needed and the
storage never holds e-mail addresses. Each counter's limit is a setting such as
``"10 per 15 minutes"`` (a moving window): once that many attempts are in the window, the thing is
locked until the oldest one leaves it.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import parse

from .extensions import limiter


@dataclass(frozen=True)
class Attempts:
    """Attempts of one kind (``scope``), limited by the setting called ``setting``."""

    scope: str
    setting: str

    def _identifiers(self, key: str) -> tuple[str, ...]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return current_app.config.get("RATELIMIT_KEY_PREFIX", ""), self.scope, digest

    def _limit(self):
        return parse(current_app.config[self.setting])

    def seconds_locked(self, key: str) -> int:
        """How long ``key`` stays locked: 0 when it is not."""
        if not limiter.enabled:
            return 0
        limit, identifiers = self._limit(), self._identifiers(key)
        if limiter.limiter.test(limit, *identifiers):
            return 0
        reset = limiter.limiter.get_window_stats(limit, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))

    def record(self, key: str) -> None:
        """Count one attempt for ``key``."""
        if limiter.enabled:
            limiter.limiter.hit(self._limit(), *self._identifiers(key))

    def clear(self, key: str) -> None:
        """Forget the attempts of ``key``."""
        if limiter.enabled:
            limiter.limiter.clear(self._limit(), *self._identifiers(key))


# Failed log-ins per e-mail address as typed (normalised), whether or not an account has it.
FAILED_LOGINS = Attempts("login-account", "LOGIN_ACCOUNT_LIMIT")
# Password-reset requests per e-mail address as typed (normalised), whether or not an account has it.
RESET_REQUESTS = Attempts("reset-account", "RESET_ACCOUNT_LIMIT")


def wait_in_words(seconds: int) -> str:
    """``"a minute"``, ``"15 minutes"``, ``"3 hours"``: a lock's remaining time as a page says it."""
    minutes = -(-seconds // 60)
    if minutes <= 1:
        return "a minute"
    if minutes <= 120:
        return f"{minutes} minutes"
    return f"{-(-minutes // 60)} hours"
