"""Who has access to an organisation: consultants invite leaders and fellow consultants by e-mail, change a
role, remove access.

An invitation creates the account without a usable password and issues a one-time set-password link
(``accounts.new_account_token``). With a mail server the link is e-mailed and never shown; without one
it is returned so that the page can show it to the inviting consultant, once. An address that already
has an account is given access and told so by e-mail; its password is never touched.

A role belongs to the account, not to one organisation (``access.require_consultant`` reads it), so it
is changed here only for someone who has access to this organisation alone. Every organisation keeps
at least one consultant who can act: active, with a password set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, render_template, url_for
from sqlalchemy import delete, select

from .. import audit
from ..accounts import (
    NO_PASSWORD,
    AccountError,
    end_all_sessions,
    has_password,
    new_account_token,
    normalise_email,
    token_hours,
)
from ..database import transactional
from ..extensions import db
from ..mail import compose, connection, mail_configured, send_each
from ..models import AccountToken, Organisation, PendingUpload, Role, TokenPurpose, User, membership, utcnow
from ..tokens import account_link

ROLE_WORDS = {Role.LEADER: "a leader, who reads the organisation's reports",
              Role.CONSULTANT: "a consultant, who runs the organisation's studies"}


class PeopleError(AccountError):
    """A change of who has access that cannot be made; the message says why."""


@dataclass(frozen=True)
class Person:
    """Someone with access to an organisation, as the consultant's list shows them."""

    id: int
    email: str
    role: Role
    last_login_at: datetime | None
    active: bool
    invited: bool  # has not set a password yet
    link_expires_at: datetime | None  # of their unexpired set-password link, if any
    is_you: bool


def people_with_access(organisation: Organisation, viewer: User, now: datetime | None = None) -> list[Person]:
    """The organisation's members, consultants first, each by e-mail."""
    now = now or utcnow()
    members = list(db.session.scalars(select(User).join(membership, membership.c.user_id == User.id).where(
        membership.c.organisation_id == organisation.id)))
    links = dict(db.session.execute(select(AccountToken.user_id, AccountToken.expires_at).where(
        AccountToken.user_id.in_([m.id for m in members]), AccountToken.expires_at > now)).all())
    people = [Person(m.id, m.email, m.role, m.last_login_at, m.active, not has_password(m), links.get(m.id),
                     m.id == viewer.id) for m in members]
    return sorted(people, key=lambda p: (p.role is not Role.CONSULTANT, p.email))


def member_or_404(organisation: Organisation, user_id: int) -> User:
    """A member of ``organisation`` (already checked as the viewer's); 404 for anyone else."""
    user = db.session.get(User, user_id)
    if user is None or organisation not in user.organisations:
        abort(404)
    return user


@dataclass(frozen=True)
class Invited:
    """What an invitation did: ``"invited"`` (a set-password link) or ``"added"`` (an existing account)."""

    email: str
    role: Role
    outcome: str
    link: str | None  # to show once: only without a mail server
    expires_at: datetime | None
    mailed: bool
    delivered: bool
    waiting: bool = False  # added, has no password yet, and no link could be shown: an administrator sends one


def invite(organisation: Organisation, inviter: User, email: str, role: str, base_url: str,
           now: datetime | None = None) -> Invited:
    """Give ``email`` access to ``organisation`` as ``role``, and tell them: by e-mail, or through the page.

    With a mail server the connection is opened first: when it cannot be had (``MailError``) nobody is
    invited. A message the server then refuses leaves the invitation standing, ``delivered`` False.
    """
    now = now or utcnow()
    if not mail_configured():
        user, token = _grant(organisation, email, role, now, shown_to=inviter)
        return _invited(user, token, base_url, now, mailed=False, delivered=False)
    with connection() as server:
        user, token, message = _grant_and_write(organisation, inviter, email, role, base_url, now)
        _, failed = send_each(server, [message])
    return _invited(user, token, base_url, now, mailed=True, delivered=not failed)


def resend_link(organisation: Organisation, inviter: User, member: User, base_url: str,
                now: datetime | None = None) -> Invited:
    """A new set-password link for an invited member who has not used theirs; the earlier link stops working."""
    if has_password(member):
        raise PeopleError(f"{member.email} has set a password already; if they forgot it, they can choose a new one "
                          "with “Forgot your password?” on the log-in page")
    return invite(organisation, inviter, member.email, member.role.value, base_url, now)


def _invited(user: User, token: str | None, base_url: str, now: datetime, mailed: bool, delivered: bool) -> Invited:
    expires = None
    if token:
        expires = db.session.scalar(select(AccountToken.expires_at).where(AccountToken.user_id == user.id))
    return Invited(user.email, user.role, "invited" if token else "added",
                   account_link(base_url, token) if token and not mailed else None, expires, mailed, delivered,
                   waiting=not token and not has_password(user))


def _message(organisation: Organisation, inviter: User, user: User, token: str | None, base_url: str):
    """The invitation (with its link) or, for an existing account, the notice of access."""
    words = {"organisation": organisation.name, "inviter": inviter.email, "role": ROLE_WORDS[user.role]}
    if token:
        body = render_template("email/account_invitation.txt", link=account_link(base_url, token),
                               hours=token_hours(TokenPurpose.INVITE), **words)
        return compose(user.email, f"You are invited to CoachLab for {organisation.name}", body)
    body = render_template("email/account_access.txt", login=base_url.rstrip("/") + url_for("auth.login"), **words)
    return compose(user.email, f"You now have access to {organisation.name} in CoachLab", body)


def _cannot_be_invited(email: str, organisation: Organisation, role: Role) -> PeopleError:
    """The one refusal for every reason that concerns the account elsewhere (its role, other organisations, being
    disabled): it says nothing about other tenants, so that the invitation form is no probe of them (F7)."""
    return PeopleError(f"{email} cannot be invited to {organisation.name} as a {role.value}: ask the person to use a "
                       "different address, or contact your CoachLab administrator")


@transactional
def _grant_and_write(organisation: Organisation, inviter: User, email: str, role: str, base_url: str,
                     now: datetime):
    """``_grant`` with its message written in the same unit of work: a message that cannot be written (an
    error) leaves nobody invited, rather than an invitation nobody was told of."""
    user, token = _grant.__wrapped__(organisation, email, role, now)
    return user, token, _message(organisation, inviter, user, token, base_url)


@transactional
def _grant(organisation: Organisation, email: str, role: str, now: datetime,
           shown_to: User | None = None) -> tuple[User, str | None]:
    """Create or find the account and give it access; returns it with a new link's token, or None for none.

    A link that the page will show (``shown_to``, no mail server) is refused for an account that also has
    access to organisations ``shown_to`` is not in: whoever holds the link could take the account over.

    An existing account that gains access here loses every set-password link issued before: such a link
    may have been shown to a consultant of another organisation, who would otherwise sign in with it and
    find this one too. An account that has not set a password gets its new link the way this
    organisation's invitations go: by e-mail; without a mail server none can be shown (the account has
    other organisations), and the page says how the person gets one.
    """
    email = normalise_email(email)
    try:
        role = Role(role)
    except ValueError:
        raise PeopleError(f"unknown role {role!r}: choose leader or consultant") from None
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, role=role, password_hash=NO_PASSWORD, organisations=[organisation])
        db.session.add(user)
        db.session.flush()
        audit.record("people.invited", organisation=organisation, detail=f"{email} as {role.value}")
        return user, new_account_token(user, TokenPurpose.INVITE, now)
    if organisation in user.organisations:
        if not user.active:
            raise PeopleError(f"the account of {email} is disabled, so it cannot be given access")
        if has_password(user):
            raise PeopleError(f"{email} already has access to {organisation.name}")
        # Invited before and not yet signed in: a new link, and the role asked for now.
        if shown_to is not None and not set(user.organisations) <= set(shown_to.organisations):
            raise PeopleError(f"a new link for {email} can only be sent by e-mail: configure a mail server, or "
                              "ask your CoachLab administrator for one")
        if user.role is not role and user.organisations == [organisation]:
            user.role = role
        audit.record("people.invited", organisation=organisation, detail=f"{email} as {role.value}")
        return user, new_account_token(user, TokenPurpose.INVITE, now)
    if not user.active or user.role is not role or (role is Role.LEADER and user.organisations):
        raise _cannot_be_invited(email, organisation, role)
    user.organisations.append(organisation)
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))  # links issued before: void
    audit.record("people.invited", organisation=organisation, detail=f"{email} as {role.value} (existing account)")
    if not has_password(user) and shown_to is None:
        return user, new_account_token(user, TokenPurpose.INVITE, now)  # e-mailed to them, never shown
    return user, None


def _can_act(user: User) -> bool:
    """Whether ``user`` can sign in now: active, with a password chosen (an invited account has none yet)."""
    return user.active and has_password(user)


def _only_consultant(organisation: Organisation, member: User) -> bool:
    """Whether no consultant but ``member`` could still run the organisation: of its other consultants, none
    is active with a password set (someone invited who has not set one yet, or a disabled account, cannot act)."""
    return _can_act(member) and not any(m.role is Role.CONSULTANT and m.id != member.id and _can_act(m)
                                        for m in organisation.members)


def _last_consultant_refusal(organisation: Organisation, member: User, acting: User, what: str) -> PeopleError:
    who = "you are" if member.id == acting.id else f"{member.email} is"
    others = [m for m in organisation.members if m.role is Role.CONSULTANT and m.id != member.id]
    why = ("; the other consultants listed do not count, because someone invited who has not set a password yet, "
           "or whose account is disabled, cannot sign in" if others else "")
    return PeopleError(f"{who} the only consultant of {organisation.name}, so {what} would leave it with nobody "
                       f"who can sign in to run its studies{why}: first have another consultant set their password, "
                       "or invite one")


@transactional
def change_role(organisation: Organisation, acting: User, member: User, role: str) -> User:
    """Make ``member`` a leader or a consultant (not where the role counts elsewhere too, nor the last consultant)."""
    try:
        role = Role(role)
    except ValueError:
        raise PeopleError(f"unknown role {role!r}: choose leader or consultant") from None
    if member.role is role:
        return member
    if len(member.organisations) > 1:
        raise PeopleError(f"{member.email} also has access to other organisations, and a role counts in all of "
                          "them, so it cannot be changed here")
    if member.role is Role.CONSULTANT and _only_consultant(organisation, member):
        raise _last_consultant_refusal(organisation, member, acting, "making them a leader" if member.id != acting.id
                                       else "making yourself a leader")
    audit.record("people.role_changed", organisation=organisation,
                 detail=f"{member.email}: {member.role.value} → {role.value}")
    member.role = role
    return member


@dataclass(frozen=True)
class Removed:
    """Whose access ended, and whether that was their last organisation (then every session ended too)."""

    email: str
    signed_out: bool
    was_you: bool


@transactional
def remove_access(organisation: Organisation, acting: User, member: User) -> Removed:
    """End ``member``'s access to ``organisation``.

    Every view checks membership on every request, so access ends at the member's next click on any
    device. Someone left with no organisation at all has nothing to be signed in for: their sessions
    end as well, and an unused set-password link dies; an invited account that never set a password
    and has no organisation left is deleted outright.
    """
    if member.role is Role.CONSULTANT and _only_consultant(organisation, member):
        raise _last_consultant_refusal(organisation, member, acting, "removing yourself" if member.id == acting.id
                                       else "removing them")
    removed = Removed(member.email, signed_out=len(member.organisations) == 1, was_you=member.id == acting.id)
    member.organisations.remove(organisation)
    audit.record("people.removed", organisation=organisation, detail=member.email)
    db.session.execute(delete(PendingUpload).where(PendingUpload.user_id == member.id,
                                                   PendingUpload.organisation_id == organisation.id))
    if removed.signed_out:
        db.session.execute(delete(AccountToken).where(AccountToken.user_id == member.id))
        if not has_password(member):
            db.session.delete(member)
        else:
            end_all_sessions(member)  # commits the whole change
    return removed
