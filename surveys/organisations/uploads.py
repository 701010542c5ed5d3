"""The upload workflow shared by the web pages and the commands: read, map columns, import.

When a file's headers do not name every required column, the page keeps the file as a
``PendingUpload`` (in the database, so any app server can continue) and asks the consultant to
map its columns; the import then runs on the kept bytes. A mapping that is refused keeps the file
and the choices; one that imports is remembered for the organisation and kind (``UploadMapping``)
and pre-selected on its next mapping page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete

from ..database import transactional
from ..extensions import db
from ..models import Organisation, PendingUpload, UploadMapping, User, utcnow
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

    @property
    def step(self) -> Callable[..., ImportReport]:
        """The importer as a step of a larger unit of work: it leaves the commit to its caller."""
        return self.importer.__wrapped__


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


def remembered_mapping(organisation: Organisation, kind: Kind) -> dict[str, str]:
    """The mapping last used for ``organisation``'s imports of ``kind`` (field name → header), or {}."""
    remembered = db.session.get(UploadMapping, (organisation.id, kind.name))
    return json.loads(remembered.mapping_json) if remembered is not None else {}


def first_choices(organisation: Organisation, kind: Kind, headers: list[str]) -> tuple[dict[str, str | None], bool]:
    """What the mapping page pre-selects: the remembered mapping where the file has its header, else our guess.

    Returns the choices and whether any came from the remembered mapping.
    """
    choices = guess_mapping(headers, kind.fields)
    remembered = {name: header for name, header in remembered_mapping(organisation, kind).items()
                  if name in choices and header in headers}
    taken = set(remembered.values())
    for name in choices:  # a guess gives way to a remembered choice of the same header
        if name not in remembered and choices[name] in taken:
            choices[name] = None
    choices.update(remembered)
    return choices, bool(remembered)


def mapping_problems(kind: Kind, chosen: dict[str, str | None]) -> dict[str, str]:
    """What is wrong with a mapping, by field name, in sentences for the page; {} when it can be imported."""
    by_name = {f.name: f for f in kind.fields}
    problems: dict[str, str] = {}
    for field in kind.fields:
        if field.required and not chosen.get(field.name):
            problems[field.name] = f"Choose the column that holds {field.label}: it is required."
    if kind.key_fields and not any(chosen.get(name) for name in kind.key_fields):
        labels = [by_name[name].label for name in kind.key_fields]
        which = ", ".join(labels[:-1]) + " or " + labels[-1]
        about = "which rep or team it is about" if "team" in kind.key_fields else "which rep it is about"
        problems.setdefault(kind.key_fields[0], f"Choose the column that holds {which}: each row must say {about}.")
    first_field: dict[str, str] = {}
    for field in kind.fields:
        header = chosen.get(field.name)
        if not header:
            continue
        if header in first_field:
            problems.setdefault(field.name, f"“{header}” is already chosen for {by_name[first_field[header]].label}; "
                                            "a column can hold one field only.")
        first_field.setdefault(header, field.name)
    return problems


@transactional
def import_mapped(organisation: Organisation, kind: Kind, upload: PendingUpload,
                  chosen: dict[str, str | None]) -> ImportReport:
    """Import a kept upload with the consultant's mapping; once it is in, remember the mapping and drop the file.

    ``TableError`` / ``ImportRejected`` leave both the file and the remembered mapping as they were.
    """
    return import_kept(organisation, kind, upload, chosen)


def import_kept(organisation: Organisation, kind: Kind, upload: PendingUpload, chosen: dict[str, str | None] | None,
                progress=None) -> ImportReport:
    """Step of a unit of work (the caller commits): import a kept upload, remember its mapping, drop the file.

    ``chosen`` None: the file's headers needed no mapping, so there is none to remember. The data, the
    remembered mapping and the file's removal are written together or not at all.
    """
    options = json.loads(upload.options_json)
    frame = read_table(upload.content, upload.filename)
    report = kind.step(organisation, frame, mapping=chosen or {}, progress=progress,
                       **{name: bool(options.get(name)) for name in kind.options})
    if chosen is not None:
        mapping = {name: header for name, header in chosen.items() if header}
        remembered = db.session.get(UploadMapping, (organisation.id, kind.name))
        if remembered is None:
            db.session.add(UploadMapping(organisation_id=organisation.id, kind=kind.name,
                                         mapping_json=json.dumps(mapping)))
        else:
            remembered.mapping_json = json.dumps(mapping)
    # A statement, not the ORM's delete: a run of the same job that was taken over may have removed it already.
    db.session.execute(delete(PendingUpload).where(PendingUpload.id == upload.id))
    return report
