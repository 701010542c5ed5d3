"""Forgotten passwords: a one-time link by e-mail, asked for without telling whether the address has an account."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from sqlalchemy import select

from ..accounts import account_key, issue_account_token, token_hours
from ..extensions import db
from ..mail import compose, mail_configured, send_in_background
from ..models import TokenPurpose, User
from ..tokens import account_link, hash_token, new_token


def request_password_reset(email: str, base_url: str, now: datetime | None = None) -> None:
    """E-mail a reset link to the active account with ``email``, if there is one; never say whether there is.

    An unknown address takes the same steps up to the point of storing and sending (a token drawn and
    hashed, the message written), and the message goes out from a thread of its own, so neither the
    page nor the time it takes differs. Without a mail server nothing is sent to anybody.
    """
    if not mail_configured():
        return
    user = db.session.scalar(select(User).where(User.email == account_key(email)))
    if user is not None and user.active:
        token = issue_account_token(user, TokenPurpose.RESET, now)
    else:
        token = new_token()
        hash_token(token)
    body = render_template("email/password_reset.txt", link=account_link(base_url, token),
                           hours=token_hours(TokenPurpose.RESET))
    message = compose(account_key(email), "Choose a new CoachLab password", body)
    if user is not None and user.active:
        send_in_background(message)
