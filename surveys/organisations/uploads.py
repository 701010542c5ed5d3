"""The upload workflow shared by the web pages and the commands: read, map columns, import.

When a file's headers do not name every required column, the page keeps the file as a
``PendingUpload`` (in the database, so any app server can continue) and asks the consultant to
map its columns; the import then runs on the kept bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
    """One kind of import: its fields, its importer and how it is named on pages.

    ``key_fields``: each row names who it is about by one of these columns, so at least one must be
    in the file. ``options``: the importer's yes/no options that a page or command may set.
    """

    name: str
    title: str
    fields: list[Field]
    importer: Callable[..., ImportReport]
    key_fields: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


KINDS = {
    "roster": Kind("roster", "Roster: teams and reps", ROSTER_FIELDS, import_roster, options=("deactivate_missing",)),
    "performance": Kind("performance", "CRM performance", PERFORMANCE_FIELDS, import_performance,
                        key_fields=("crm_id", "email")),
    "sessions": Kind("sessions", "Coaching sessions", SESSION_FIELDS, import_sessions,
                     key_fields=("crm_id", "email", "team")),
}


def needs_mapping(kind: Kind, headers: list[str]) -> bool:
    """Whether some required field, or every one of the kind's key fields, is not recognisable."""
    guessed = guess_mapping(headers, kind.fields)
    if any(f.required and not guessed[f.name] for f in kind.fields):
        return True
    return bool(kind.key_fields) and not any(guessed[name] for name in kind.key_fields)


def run(organisation: Organisation, kind: Kind, content: bytes, filename: str, mapping: dict | None = None,
        options: dict | None = None, progress=None) -> ImportReport:
    """Read ``content`` and import it; ``TableError`` / ``ImportRejected`` carry the reasons."""
    frame = read_table(content, filename)
    chosen = {name: bool((options or {}).get(name)) for name in kind.options}  # only the kind's own options
    return kind.importer(organisation, frame, mapping=mapping or {}, progress=progress, **chosen)


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
