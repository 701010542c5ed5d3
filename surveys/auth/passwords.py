"""Forgotten passwords: a one-time link by e-mail, asked for without telling whether the address has an account."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from functools import partial

from flask import render_template
from sqlalchemy import select

from ..accounts import account_key, issue_account_token, token_hours
from ..extensions import db
from ..mail import compose, mail_configured, send_in_background
from ..models import TokenPurpose, User
from ..tokens import account_link


def request_password_reset(email: str, base_url: str, now: datetime | None = None) -> None:
    """E-mail a reset link to the active account with ``email``, if there is one; never say whether there is.

    The request does the same work for every address: it hands the address to a thread of its own
    and answers. Looking the account up, storing its token, writing and sending the message happen in
    that thread, after the answer, so neither the page nor the time it takes differs. Without a mail
    server nothing is sent to anybody.
    """
    if not mail_configured():
        return
    send_in_background(partial(_reset_message, account_key(email), base_url, now))


def _reset_message(address: str, base_url: str, now: datetime | None) -> EmailMessage | None:
    """The reset message for the active account with ``address``, its token stored; None when there is none.

    Run in the mail thread (with an application context and a session of its own).
    """
    user = db.session.scalar(select(User).where(User.email == address))
    if user is None or not user.active:
        db.session.rollback()
        return None
    token = issue_account_token(user, TokenPurpose.RESET, now)
    body = render_template("email/password_reset.txt", link=account_link(base_url, token),
                           hours=token_hours(TokenPurpose.RESET))
    return compose(address, "Choose a new CoachLab password", body)
