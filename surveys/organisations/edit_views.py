"""Consultants' views that change an organisation's records by hand: its name, a rep, a team.

A refusal re-renders the form as entered with the message beside the field and a 4xx status.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import organisation_or_404
from ..accounts import AccountError, rename_organisation
from ..forms import disable, sent_with_locked
from ..web import today
from .forms import ActionForm, OrganisationForm, RepForm, TeamForm
from .roster import (
    RosterError,
    edit_rep,
    edit_team,
    move_limits,
    region_lock,
    rep_of,
    set_rep_active,
    team_of,
    teams_by_name,
)
from .views import bp


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    """Rename the organisation (a name the consultant does not already use for another)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    form = OrganisationForm() if request.method == "POST" else OrganisationForm(data={"name": organisation.name})
    status = 200
    if form.validate_on_submit():
        try:
            rename_organisation(organisation, form.name.data, current_user._get_current_object())
        except AccountError as error:
            form.name.errors.append(f"Not renamed: {error}.")
            status = 409
        else:
            flash(f"Renamed to {organisation.name}.", "info")
            return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    elif form.errors:
        status = 400
    return render_template("organisations/organisation_form.html", organisation=organisation, form=form), status


@bp.route("/<int:organisation_id>/reps/<int:rep_id>", methods=["GET", "POST"])
@login_required
def rep(organisation_id: int, rep_id: int):
    """Edit a rep's name, e-mail and team; what limits a move is said on the form."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    rep = rep_of(organisation, rep_id) or abort(404)
    form = RepForm() if request.method == "POST" else RepForm(
        data={"name": rep.name, "email": rep.email or "", "team_id": rep.team_id})
    teams = teams_by_name(organisation)
    form.team_id.choices = [(team.id, team.name + (f" ({team.region})" if team.region else "")) for team in teams]
    status = 200
    if form.validate_on_submit():
        try:
            edit_rep(organisation, rep, form.name.data, form.email.data,
                     next(team for team in teams if team.id == form.team_id.data), today())
        except RosterError as error:
            form[error.field].errors.append(f"Not saved: {error}.")
            status = 409
        else:
            flash(f"Saved {rep.name}.", "info")
            return redirect(url_for("organisations.rep", organisation_id=organisation.id, rep_id=rep.id))
    elif form.errors:
        status = 400
    return render_template("organisations/rep_form.html", organisation=organisation, rep=rep, form=form,
                           limits=move_limits(rep, today()), action_form=ActionForm()), status


@bp.route("/<int:organisation_id>/reps/<int:rep_id>/active", methods=["POST"])
@login_required
def rep_active(organisation_id: int, rep_id: int):
    """Mark a rep as having left (``active=0``) or back (``active=1``)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    rep = rep_of(organisation, rep_id) or abort(404)
    if not ActionForm().validate_on_submit() or request.form.get("active") not in ("0", "1"):
        abort(400)
    set_rep_active(rep, request.form["active"] == "1")
    flash(f"{rep.name} is {'active again' if rep.active else 'marked as having left'}.", "info")
    return redirect(url_for("organisations.rep", organisation_id=organisation.id, rep_id=rep.id))


@bp.route("/<int:organisation_id>/teams/<int:team_id>", methods=["GET", "POST"])
@login_required
def team(organisation_id: int, team_id: int):
    """Rename a team and set its region; a region that is part of a running study's draw is shown locked."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    team = team_of(organisation, team_id) or abort(404)
    lock = region_lock(team, today())
    if request.method == "POST":
        form = TeamForm(formdata=sent_with_locked({"region": team.region or ""})) if lock else TeamForm()
    else:
        form = TeamForm(data={"name": team.name, "region": team.region or ""})
    if lock:
        disable(form, ["region"])
    status = 200
    if form.validate_on_submit():
        try:
            edit_team(organisation, team, form.name.data, form.region.data, today())
        except RosterError as error:
            form[error.field].errors.append(f"Not saved: {error}.")
            status = 409
        else:
            flash(f"Saved team {team.name}.", "info")
            return redirect(url_for("organisations.roster", organisation_id=organisation.id, team=team.id))
    elif form.errors:
        status = 400
    return render_template("organisations/team_form.html", organisation=organisation, team=team, form=form,
                           lock=lock), status
