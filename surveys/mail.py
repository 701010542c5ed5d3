"""Sending e-mail through the SMTP server named in the configuration (``MAIL_*``)."""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from email.message import EmailMessage

from flask import current_app

from .refusals import Refused


class MailError(Refused):
    """The mail server could not be used; the message says why."""


def mail_configured() -> bool:
    """Whether an SMTP server is configured (``MAIL_SERVER``)."""
    return bool(current_app.config.get("MAIL_SERVER"))


# Control characters other than white space, which ``one_line`` collapses first.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(value: str) -> str:
    """``value`` fit for a header: every run of white space (line breaks too) one space, control characters gone.

    Names are refused with line breaks when they are entered, but one stored before that rule, or from an
    import, must not make a message impossible to write ("Header values may not contain linefeed").
    """
    return _CONTROL.sub("", " ".join(value.split()))


def compose(to: str, subject: str, body: str, html: str | None = None) -> EmailMessage:
    """A message from the configured sender: plain text, or with ``html`` multipart/alternative (text first);
    no header it gets can hold a line break."""
    message = EmailMessage()
    message["From"] = one_line(current_app.config.get("MAIL_FROM", "CoachLab <no-reply@coachlab.invalid>"))
    message["To"] = one_line(to)
    message["Subject"] = one_line(subject)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


@contextmanager
def connection():
    """An open, logged-in SMTP connection; ``MailError`` when there is none to be had."""
    config = current_app.config
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25))
    timeout = float(config.get("MAIL_TIMEOUT", 20))
    try:
        if config.get("MAIL_USE_SSL"):
            server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
            if config.get("MAIL_USE_TLS"):
                server.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"cannot use the mail server {host}:{port}: {error}") from None
    with server:
        yield server


def send_each(server, messages: Iterable[EmailMessage]) -> tuple[int, list[str]]:
    """Send every message over ``server``; return (number sent, addresses that failed)."""
    sent, failed = 0, []
    for message in messages:
        try:
            server.send_message(message)
            sent += 1
        except (OSError, smtplib.SMTPException):
            failed.append(message["To"])
    return sent, failed


def send_in_background(message: EmailMessage | Callable[[], EmailMessage | None]) -> threading.Thread:
    """Send ``message`` from a thread of its own; a failure is logged, not raised.

    ``message`` may be the work that writes it (a callable, run in the thread with an application context
    of its own, returning the message or None for none to send): everything the request would otherwise
    do differently for different people then happens after the answer, so that a page which must look
    and take the same whether or not a message goes out (a password reset for an address that may have no
    account) does exactly the same work either way.
    """
    app = current_app._get_current_object()

    def deliver():
        with app.app_context():
            try:
                written = message() if callable(message) else message
                if written is None:
                    return
                with connection() as server:
                    server.send_message(written)
            except (MailError, OSError, smtplib.SMTPException) as error:
                app.logger.warning("a message could not be sent: %s", error)
            except Exception:  # the work that writes the message failed: logged, never raised in the thread
                app.logger.exception("a message could not be written")

    thread = threading.Thread(target=deliver, name="coachlab-mail", daemon=True)
    thread.start()
    return thread
