"""The upload workflow shared by the web pages and the commands: read, map columns, import.

When a file's headers do not name every required column, the page keeps the file as a
``PendingUpload`` (in the database, so any app server can continue) and asks the consultant to
map its columns; the import then runs on the kept bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from ..database import transactional
from ..extensions import db
from ..models import Organisation, PendingUpload, User, utcnow
from ..tabular import Field, guess_mapping, read_table
from .imports import (
    PERFORMANCE_FIELDS,
    ROSTER_FIELDS,
    SESSION_FIELDS,
    ImportReport,
    import_performance,
    import_roster,
    import_sessions,
)

PENDING_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class Kind:
    """One kind of import: its fields, its importer and how it is named on pages."""

    name: str
    title: str
    fields: list[Field]
    importer: object


KINDS = {
    "roster": Kind("roster", "Roster: teams and reps", ROSTER_FIELDS, import_roster),
    "performance": Kind("performance", "CRM performance", PERFORMANCE_FIELDS, import_performance),
    "sessions": Kind("sessions", "Coaching sessions", SESSION_FIELDS, import_sessions),
}


def needs_mapping(kind: Kind, headers: list[str]) -> bool:
    """Whether some required field (or, for performance and sessions, a rep key) is not recognisable."""
    guessed = guess_mapping(headers, kind.fields)
    if any(f.required and not guessed[f.name] for f in kind.fields):
        return True
    if kind.name == "performance" and not (guessed["crm_id"] or guessed["email"]):
        return True
    return kind.name == "sessions" and not (guessed["crm_id"] or guessed["email"] or guessed["team"])


def run(organisation: Organisation, kind: Kind, content: bytes, filename: str, mapping: dict | None = None,
        options: dict | None = None, progress=None) -> ImportReport:
    """Read ``content`` and import it; ``TableError`` / ``ImportRejected`` carry the reasons."""
    frame = read_table(content, filename)
    extra = {"deactivate_missing": bool((options or {}).get("deactivate_missing"))} if kind.name == "roster" else {}
    return kind.importer(organisation, frame, mapping=mapping or {}, progress=progress, **extra)


@transactional
def stage(user: User, organisation: Organisation, kind: Kind, filename: str, content: bytes,
          options: dict | None = None) -> PendingUpload:
    """Keep an upload for the mapping step; uploads older than a day are removed on the way."""
    db.session.execute(delete(PendingUpload).where(PendingUpload.created_at < utcnow() - PENDING_LIFETIME))
    upload = PendingUpload(user_id=user.id, organisation_id=organisation.id, kind=kind.name,
                           filename=filename[:200], content=content, options_json=json.dumps(options or {}))
    db.session.add(upload)
    return upload


def pending(user: User, organisation: Organisation, upload_id: str, kind: Kind) -> PendingUpload | None:
    """The user's own staged upload for this organisation and kind, if it is still there."""
    upload = db.session.get(PendingUpload, upload_id)
    if upload is None or upload.user_id != user.id or upload.organisation_id != organisation.id \
            or upload.kind != kind.name:
        return None
    return upload


@transactional
def discard(upload: PendingUpload) -> None:
    """Forget a staged upload."""
    db.session.delete(upload)
