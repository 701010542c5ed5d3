"""The demo's mail: a local SMTP server that keeps every message as a file, and a page that shows them.

``flask --app app mail-catcher`` listens on 127.0.0.1 (aiosmtpd) and writes each message it receives into the
outbox folder as an ``.eml`` file (private, like the database: messages carry set-password and survey links).
With ``DEMO_OUTBOX`` naming that folder, consultants read the messages at ``/demo/outbox``, so a newcomer can
send invitations under ``make demo`` and open them with no mail server of their own. Without ``DEMO_OUTBOX``
(production) the page does not exist.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from .accounts import addresses_of
from .models import Role

bp = Blueprint("outbox", __name__, url_prefix="/demo")

SHOWN = 50


def outbox_folder(configured: str) -> Path:
    """The outbox folder; a relative path is taken from the application's folder (where ``make demo`` runs)."""
    path = Path(configured)
    return path if path.is_absolute() else Path(current_app.root_path) / path


class Catcher:
    """aiosmtpd handler: every message it accepts becomes ``<time>-<random>.eml`` in ``folder`` (mode 0600)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        temporary = self.folder / f".{name}.part"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(envelope.original_content or envelope.content)
        temporary.rename(self.folder / name)  # whole, or not there: the page never reads half a message
        return "250 Message accepted for delivery"


def serve(folder: Path, host: str, port: int):
    """Start the catcher in a thread of its own; the started ``aiosmtpd`` controller (``.stop()`` ends it)."""
    from aiosmtpd.controller import Controller

    controller = Controller(Catcher(folder), hostname=host, port=port)
    try:
        controller.start()
    except BaseException:
        controller.stop(no_assert=True)  # its thread and event loop too
        if not controller.loop.is_closed():
            controller.loop.close()
        raise
    return controller


@dataclass(frozen=True)
class Message:
    """One message of the outbox, as the page shows it."""

    name: str
    at: datetime
    to: str
    subject: str
    text: str


def read_message(path: Path) -> Message:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",))
    return Message(path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC), str(message["To"] or ""),
                   str(message["Subject"] or "(no subject)"), body.get_content() if body is not None else "")


def messages(folder: Path, limit: int = SHOWN, to: set[str] | None = None) -> tuple[list[Message], int]:
    """The newest ``limit`` messages (of those addressed to one of ``to``, when given), newest first, and how many
    there are."""
    files = sorted(folder.glob("*.eml"), reverse=True) if folder.is_dir() else []
    read = [read_message(path) for path in files]
    if to is not None:
        read = [m for m in read if m.to.strip().lower() in to]
    return read[:limit], len(read)


@bp.route("/outbox")
@login_required
def outbox():
    """The demo's outbox: every message CoachLab sent through ``flask mail-catcher`` (consultants; demo only)."""
    configured = current_app.config.get("DEMO_OUTBOX")
    if not configured or current_user.role is not Role.CONSULTANT:
        abort(404)
    folder = outbox_folder(configured)
    # Only mail to the consultant's own organisations: another client's reps and their links are not theirs.
    shown, total = messages(folder, to=addresses_of(current_user))
    return render_template("outbox.html", messages=shown, total=total, folder=folder)
