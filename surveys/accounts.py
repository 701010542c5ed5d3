"""Organisations and user accounts: creation and authentication."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from . import audit
from .attempts import FAILED_LOGINS
from .database import transactional
from .extensions import db
from .models import AccountToken, Organisation, Rep, Role, TokenPurpose, User, membership, utcnow
from .refusals import ONE_LINE, Refused, has_control_characters
from .tokens import hash_token, new_token

PASSWORD_MIN = 12
PASSWORD_MAX = 128
# zxcvbn's score, 0 to 4: 3 means about 10^8 guesses or more — beyond its lists of common passwords,
# names and words, and their keyboard patterns, repeats, sequences, dates and l33t variants.
PASSWORD_MIN_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  # zxcvbn judges at most this many characters (it refuses more)

# Compared against when the e-mail is unknown, so that a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0")
# The stored "hash" of an account whose owner has not chosen a password yet (invited): no password matches it.
NO_PASSWORD = "!"  # noqa: S105 - a marker that no hash equals, not a password
# How long each kind of set-password link works: the setting that says it, in hours.
TOKEN_HOURS = {TokenPurpose.INVITE: "INVITE_TOKEN_HOURS", TokenPurpose.RESET: "RESET_TOKEN_HOURS"}


class AccountError(Refused):
    """A request about accounts that cannot be carried out; the message says why."""


class LinkInvalid(AccountError):
    """A set-password link that is unknown, used, replaced or expired — one answer for all four."""

    def __init__(self):
        super().__init__("this link has expired or has already been used")


def normalise_email(email: str) -> str:
    """Return ``email`` checked and normalised (domain lowercased); raise ``AccountError`` if malformed."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"{email!r} is not a valid e-mail address: {error}") from None
    return result.normalized.lower()


def account_key(email: str) -> str:
    """The e-mail address as accounts are looked up by (normalised), or as typed when it is malformed."""
    try:
        return normalise_email(email)
    except AccountError:
        return (email or "").strip().lower()


def check_password(password: str, email: str | None = None, context: tuple[str, ...] = ()) -> None:
    """Raise ``AccountError`` unless the password is long enough and not easy to guess.

    At least ``PASSWORD_MIN`` characters, and a zxcvbn score of ``PASSWORD_MIN_SCORE``: common
    passwords (zxcvbn's lists), words, names, repeats and keyboard runs are refused, and so is a
    password made from the user's e-mail or ``context`` (organisation names, say).
    """
    if password is None or len(password) < PASSWORD_MIN:
        raise AccountError(f"the password must have at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"the password must have at most {PASSWORD_MAX} characters")
    hints = ["coachlab", *context]
    if email:
        local, _, domain = email.partition("@")
        hints += [email, local, domain, *domain.split("."), *re.split(r"[._+-]", local)]
    verdict = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[h for h in hints if h])
    if verdict["score"] < PASSWORD_MIN_SCORE:
        warning = verdict["feedback"]["warning"].rstrip(".")
        raise AccountError("the password is too easy to guess" + (f" ({warning.lower()})" if warning else "")
                           + ": use a few unrelated words, or a password manager")


def organisations_named(name: str) -> list[Organisation]:
    """Every organisation called ``name`` (case-insensitive), oldest first; names are unique per consultant only."""
    return list(db.session.scalars(select(Organisation).where(
        func.lower(Organisation.name) == name.strip().lower()).order_by(Organisation.id)))


def find_organisation(reference: str) -> Organisation:
    """The organisation a command line means by ``reference``: its name, or ``id:N``.

    Names are unique per consultant, not across tenants, so a name that several organisations share is
    refused with their ids rather than guessed.
    """
    reference = (reference or "").strip()
    if reference.lower().startswith("id:"):
        number = reference[3:].strip()
        organisation = db.session.get(Organisation, int(number)) if number.isascii() and number.isdigit() else None
        if organisation is None:
            raise AccountError(f"no organisation with id {number!r}")
        return organisation
    named = organisations_named(reference)
    if not named:
        raise AccountError(f"no organisation called {reference!r}")
    if len(named) > 1:
        ids = ", ".join(str(o.id) for o in named)
        raise AccountError(f"{len(named)} organisations are called {reference!r} (ids {ids}): "
                           f"say which with --org id:{named[0].id}")
    return named[0]


@transactional
def create_organisation(name: str, member: User | None = None) -> Organisation:
    """Create an organisation, with ``member`` (its creator, say) as its first member.

    The name must be new among ``member``'s own organisations. It may be another tenant's: a rule across
    tenants would answer "already exists" to anyone probing for other consultants' clients (security
    review F15). The command line (``member`` None) sees every tenant and refuses any name in use, so
    that its ``--org NAME`` stays unambiguous for what it creates.
    """
    name = (name or "").strip()
    if not name:
        raise AccountError("the organisation needs a name")
    if len(name) > 120:
        raise AccountError("the organisation name must have at most 120 characters")
    if has_control_characters(name):
        raise AccountError(f"the organisation name {ONE_LINE}")
    if member is not None:
        if any(o.name.strip().lower() == name.lower() for o in member.organisations):
            raise AccountError(f"you already have an organisation called {name!r}")
    elif existing := organisations_named(name):
        raise AccountError(f"an organisation called {name!r} already exists (id {existing[0].id})")
    organisation = Organisation(name=name, members=[member] if member is not None else [])
    db.session.add(organisation)
    audit.record("organisation.created", organisation=organisation, actor=member, detail=name)
    return organisation


@transactional
def rename_organisation(organisation: Organisation, name: str, member: User) -> None:
    """Rename ``organisation``; the new name must not be another of ``member``'s organisations (the rule of
    ``create_organisation``: unique per consultant, never checked across tenants)."""
    name = (name or "").strip()
    if not name:
        raise AccountError("the organisation needs a name")
    if len(name) > 120:
        raise AccountError("the organisation name must have at most 120 characters")
    if has_control_characters(name):
        raise AccountError(f"the organisation name {ONE_LINE}")
    if any(o.id != organisation.id and o.name.strip().lower() == name.lower() for o in member.organisations):
        raise AccountError(f"you already have an organisation called {name!r}")
    if name != organisation.name:
        audit.record("organisation.renamed", organisation=organisation, actor=member,
                     detail=f"{organisation.name!r} → {name!r}")
    organisation.name = name


@transactional
def create_user(email: str, role: str, password: str, organisation_names: list[str] | None = None) -> User:
    """Create a consultant or leader; leaders belong to exactly one organisation.

    Everything is checked before anything is written, so a refused request changes nothing.
    """
    email = normalise_email(email)
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}: choose consultant or leader") from None
    names = [n for n in (organisation_names or []) if n and n.strip()]
    check_password(password, email, tuple(names))
    if role is Role.LEADER and len(names) != 1:
        raise AccountError("a leader belongs to exactly one organisation: give --org")
    organisations = [find_organisation(name) for name in names]
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role, password_hash=generate_password_hash(password),
                organisations=organisations)
    db.session.add(user)
    return user


@transactional
def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    try:
        email = normalise_email(email)
    except AccountError:
        email = None
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    if user is None or not has_password(user):
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``id:epoch``; a stale epoch means the session was ended."""
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_epoch != epoch or not user.active:
        return None
    return user


@transactional
def end_all_sessions(user: User) -> None:
    """Invalidate every session of ``user``: session cookies carry the epoch, and it moves on."""
    user.session_epoch += 1


@transactional
def disable_user(email: str) -> User:
    """Stop a user from logging in and end their sessions."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise AccountError(f"no user with e-mail {email}")
    user.active = False
    end_all_sessions(user)
    return user


def has_password(user: User) -> bool:
    """Whether the account's owner has chosen a password (an invited account has none until its link is used)."""
    return user.password_hash != NO_PASSWORD


def token_hours(purpose: TokenPurpose) -> int:
    """How many hours a set-password link of this kind works (``INVITE_TOKEN_HOURS``, ``RESET_TOKEN_HOURS``)."""
    return int(current_app.config[TOKEN_HOURS[purpose]])


def new_account_token(user: User, purpose: TokenPurpose, now: datetime | None = None) -> str:
    """A fresh set-password link's token for ``user``, replacing any earlier one; returns the token (shown once).

    A step of a larger unit of work (an invitation): it does not commit.
    """
    now = now or utcnow()
    # Two requests for one account (resets asked for twice, their mail threads racing) would both delete
    # the old link and both insert, breaking the one-link-per-account rule: the account's row is locked
    # first so they take turns (PostgreSQL; SQLite has one writer at a time anyway).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    token = new_token()
    db.session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=hash_token(token), created_at=now,
                                expires_at=now + timedelta(hours=token_hours(purpose))))
    return token


@transactional
def issue_account_token(user: User, purpose: TokenPurpose, now: datetime | None = None) -> str:
    """``new_account_token`` as a unit of work of its own (a password reset, the command line, tests)."""
    return new_account_token(user, purpose, now)


@transactional
def purge_expired_account_tokens(now: datetime | None = None) -> int:
    """Delete set-password links that no longer work; returns how many (run daily with ``purge-drafts``)."""
    return db.session.execute(delete(AccountToken).where(AccountToken.expires_at <= (now or utcnow()))).rowcount


def live_account_token(token: str, now: datetime | None = None) -> AccountToken | None:
    """The stored link for ``token`` if it still works (not expired, its account active), else None."""
    record = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == hash_token(token or "")))
    if record is None or record.expires_at <= (now or utcnow()) or not record.user.active:
        return None
    return record


@transactional
def set_password_by_link(token: str, password: str, now: datetime | None = None) -> User:
    """Set the password of the link's account, use the link up, end every session and clear the log-in lock.

    A password that is refused leaves the link working. Two requests racing with one link: only the
    one that deletes it sets the password.
    """
    now = now or utcnow()
    record = live_account_token(token, now)
    if record is None:
        raise LinkInvalid()
    user = record.user
    check_password(password, user.email, tuple(o.name for o in user.organisations))
    if db.session.execute(delete(AccountToken).where(AccountToken.id == record.id)).rowcount != 1:
        raise LinkInvalid()
    if record.purpose is TokenPurpose.INVITE and not has_password(user):
        for organisation in user.organisations:  # each organisation's log says that the invited person came in
            audit.record("people.joined", organisation=organisation, actor=user, detail=user.email)
    user.password_hash = generate_password_hash(password)
    user.last_login_at = now  # the page signs them in
    end_all_sessions(user)  # a reset is often because someone else might be signed in; commits the whole change
    FAILED_LOGINS.clear(user.email)
    return user


def active_account(email: str) -> User:
    """The active account with ``email``, else ``AccountError`` (for the command line, which may say so)."""
    user = db.session.scalar(select(User).where(User.email == account_key(email)))
    if user is None or not user.active:
        raise AccountError(f"no active account has the e-mail {email}")
    return user


def addresses_of(user: User) -> set[str]:
    """The e-mail addresses of the reps and the people of ``user``'s organisations, lower case."""
    organisations = [organisation.id for organisation in user.organisations]
    reps = select(func.lower(Rep.email)).where(Rep.organisation_id.in_(organisations), Rep.email.is_not(None))
    people = (select(func.lower(User.email)).join(membership, membership.c.user_id == User.id)
              .where(membership.c.organisation_id.in_(organisations)))
    return set(db.session.scalars(reps)) | set(db.session.scalars(people)) | {user.email.lower()}
