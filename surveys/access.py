"""Who may see what: every id from a URL is checked against the user's organisations."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from .extensions import db
from .models import Organisation, Role, Study, User, Wave, membership


def organisation_ids(user: User) -> list[int]:
    """Ids of the organisations ``user`` belongs to."""
    return list(db.session.scalars(select(membership.c.organisation_id).where(membership.c.user_id == user.id)))


def visible_organisations(user: User) -> list[Organisation]:
    """The user's organisations, by name."""
    return list(db.session.scalars(select(Organisation).where(
        Organisation.id.in_(organisation_ids(user))).order_by(Organisation.name)))


def visible_studies(user: User) -> list[Study]:
    """Studies of the user's organisations, newest first."""
    return list(db.session.scalars(
        select(Study).where(Study.organisation_id.in_(organisation_ids(user)))
        .order_by(Study.created_at.desc(), Study.id.desc())))


def study_or_404(user: User, study_id: int, consultant: bool = False) -> Study:
    """The study, if it belongs to one of the user's organisations; 404 otherwise (same page either way).

    With ``consultant=True`` a leader of the organisation then gets 403: leaders only read.
    """
    study = db.session.get(Study, study_id)
    if study is None or study.organisation_id not in organisation_ids(user):
        abort(404)
    if consultant:
        require_consultant(user)
    return study


def wave_or_404(study: Study, wave_id: int) -> Wave:
    """A wave of ``study`` (already checked with ``study_or_404``); 404 for any other id."""
    wave = db.session.get(Wave, wave_id)
    if wave is None or wave.study_id != study.id:
        abort(404)
    return wave


def organisation_or_404(user: User, organisation_id: int, consultant: bool = False) -> Organisation:
    """The organisation, if the user belongs to it; 404 otherwise; 403 for leaders where ``consultant``."""
    if organisation_id not in organisation_ids(user):
        abort(404)
    if consultant:
        require_consultant(user)
    return db.get_or_404(Organisation, organisation_id)


def require_consultant(user: User) -> None:
    """Only consultants change things; leaders read (403)."""
    if user.role is not Role.CONSULTANT:
        abort(403)
