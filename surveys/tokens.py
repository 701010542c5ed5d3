"""Tokens of survey links and of set-password links: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 24  # 192 bits, above the 128 DESIGN.md asks for


def new_token() -> str:
    """A fresh URL-safe token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The stored form of a token. The token is random enough that no salt is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def survey_link(base_url: str, token: str) -> str:
    """The full URL a rep opens."""
    return f"{base_url.rstrip('/')}/s/{token}"


def account_link(base_url: str, token: str) -> str:
    """The full URL of a set-password link (an invitation or a password reset)."""
    return f"{base_url.rstrip('/')}/password/{token}"
