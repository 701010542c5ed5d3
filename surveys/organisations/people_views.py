"""Consultants' pages for who has access to an organisation: invite, send a new link, change a role, remove.

Every refusal re-renders the organisation's page with the message next to the form it is about, and a
4xx status (a mail server that cannot be used: 503).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..access import organisation_or_404
from ..accounts import token_hours
from ..mail import MailError
from ..models import Organisation, TokenPurpose
from ..refusals import Refused
from ..web import flash_errors
from .forms import ButtonForm, InviteForm, RoleForm
from .people import Invited, change_role, invite, member_or_404, remove_access, resend_link
from .views import bp, detail_page


def _people_anchor(organisation: Organisation):
    return redirect(url_for("organisations.detail", organisation_id=organisation.id, _anchor="people"))


def _me():
    return current_user._get_current_object()


@bp.route("/<int:organisation_id>/people", methods=["POST"])
@login_required
def invite_person(organisation_id: int):
    """Invite a leader or a consultant by e-mail (or give an existing account access)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    form = InviteForm()
    if not form.validate_on_submit():
        return detail_page(organisation, 400, invite_form=form)
    try:
        invited = invite(organisation, _me(), form.email.data, form.role.data, current_app.config["PUBLIC_BASE_URL"])
    except MailError as error:
        form.email.errors.append(f"Nobody was invited: {error}.")
        return detail_page(organisation, 503, invite_form=form)
    except Refused as error:
        form.email.errors.append(str(error).capitalize() + ".")
        return detail_page(organisation, 409, invite_form=form)
    return _told(organisation, invited)


@bp.route("/<int:organisation_id>/people/<int:user_id>/link", methods=["POST"])
@login_required
def person_link(organisation_id: int, user_id: int):
    """A new set-password link for someone invited who has not used theirs."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    member = member_or_404(organisation, user_id)
    if not ButtonForm().validate_on_submit():
        return detail_page(organisation, 400, errors={member.id: "The form has expired: please try again."})
    try:
        invited = resend_link(organisation, _me(), member, current_app.config["PUBLIC_BASE_URL"])
    except MailError as error:
        return detail_page(organisation, 503, errors={member.id: f"No new link was sent: {error}."})
    except Refused as error:
        return detail_page(organisation, 409, errors={member.id: str(error).capitalize() + "."})
    return _told(organisation, invited)


def _told(organisation: Organisation, invited: Invited):
    """After an invitation: the link shown once (no mail server), or a message on the organisation's page."""
    if invited.link:
        return render_template("organisations/invited.html", organisation=organisation, invited=invited,
                               hours=token_hours(TokenPurpose.INVITE))
    role = invited.role.value
    if invited.outcome == "added":
        text = (f"{invited.email} already has a CoachLab account: they now have access to {organisation.name} "
                f"as a {role}")
        text += (", and were sent a notice." if invited.mailed else
                 ". No mail server is configured, so no notice was sent: tell them yourself.")
        flash(text, "info")
    elif invited.delivered:
        flash(f"Invitation sent to {invited.email}. Its link works once, until "
              f"{invited.expires_at:%d %B %Y %H:%M} UTC.", "info")
    if invited.mailed and not invited.delivered:
        flash(f"The mail server refused the message to {invited.email}. They are listed as invited: check the address, "
              "then send a new link.", "error")
    return _people_anchor(organisation)


@bp.route("/<int:organisation_id>/people/<int:user_id>/role", methods=["POST"])
@login_required
def person_role(organisation_id: int, user_id: int):
    """Make a member a leader or a consultant."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    member = member_or_404(organisation, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return detail_page(organisation, 400, errors={member.id: flash_errors(form)})
    try:
        change_role(organisation, _me(), member, form.role.data)
    except Refused as error:
        return detail_page(organisation, 409, errors={member.id: str(error).capitalize() + "."},
                           chosen={member.id: form.role.data})
    flash(f"{member.email} is now a {member.role.value}.", "info")
    return _people_anchor(organisation)


@bp.route("/<int:organisation_id>/people/<int:user_id>/remove", methods=["POST"])
@login_required
def person_remove(organisation_id: int, user_id: int):
    """End a member's access to this organisation (and, if it was their last, every session of theirs)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    member = member_or_404(organisation, user_id)
    if not ButtonForm().validate_on_submit():
        return detail_page(organisation, 400, errors={member.id: "The form has expired: please try again."})
    try:
        removed = remove_access(organisation, _me(), member)
    except Refused as error:
        return detail_page(organisation, 409, errors={member.id: str(error).capitalize() + "."})
    if removed.was_you:
        flash(f"You no longer have access to {organisation.name}.", "info")
        return redirect(url_for("organisations.index"))
    flash(f"{removed.email} no longer has access to {organisation.name}."
          + (" It was their last organisation, so they were signed out on every device." if removed.signed_out
             else ""), "info")
    return _people_anchor(organisation)
