"""Survey-link tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import update

from .extensions import db
from .models import Invitation, Rep, Wave, utcnow

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


def issue_invitation(wave: Wave, rep: Rep) -> tuple[Invitation, str]:
    """Issue a new link to ``rep`` for ``wave``; earlier unused links of that rep and wave stop working.

    Returns the invitation (added to the session, not committed) and the token, which is
    never stored and so can only be shown now.
    """
    db.session.execute(
        update(Invitation)
        .where(Invitation.wave_id == wave.id, Invitation.rep_id == rep.id,
               Invitation.used.is_(False), Invitation.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    token = new_token()
    invitation = Invitation(wave_id=wave.id, rep_id=rep.id, token_hash=hash_token(token))
    db.session.add(invitation)
    return invitation, token
