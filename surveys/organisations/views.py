"""Consultants' pages for client organisations: roster, CRM performance, coaching sessions, new studies."""

from __future__ import annotations

import json
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import organisation_or_404, require_consultant, visible_organisations
from ..accounts import AccountError, create_organisation
from ..forms import study_form
from ..models import CoachingModel, Organisation, RandomisationUnit
from ..studies import create_study
from ..tabular import TableError, guess_mapping, read_table
from ..web import flash_errors, today
from . import uploads
from .forms import OrganisationForm, SessionForm, UploadForm, mapping_form
from .imports import ImportRejected
from .records import (
    SessionError,
    add_session,
    organisation_summary,
    performance_by_period,
    roster_summary,
    sessions_by_month,
    teams_and_active_reps,
)
from .roster import rep_page

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

MAX_PROBLEMS_SHOWN = 200
PAGES = {"roster": "organisations.roster", "performance": "organisations.performance",
         "sessions": "organisations.sessions"}


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """The user's organisations; consultants create new ones here."""
    form = OrganisationForm()
    if form.is_submitted():
        require_consultant(current_user)
        if form.validate():
            try:
                organisation = create_organisation(form.name.data, member=current_user._get_current_object())
            except AccountError as error:
                form.name.errors.append(str(error).capitalize() + ".")
            else:
                flash(f"Created {organisation.name}.", "info")
                return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template("organisations/index.html", organisations=visible_organisations(current_user),
                           form=form), 400 if form.errors else 200


@bp.route("/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    """An organisation at a glance: roster, data, studies."""
    organisation = organisation_or_404(current_user, organisation_id)
    summary = organisation_summary(organisation)
    return render_template("organisations/detail.html", organisation=organisation, counts=summary.counts,
                           studies=summary.studies)


@bp.route("/<int:organisation_id>/roster")
@login_required
def roster(organisation_id: int):
    """Teams with their region and active reps, the reps (``?q=`` name or e-mail, ``?team=``, ``?page=``),
    and the roster import."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    reps = rep_page(organisation, request.args.get("q", ""), _whole_number(request.args.get("team")),
                    _whole_number(request.args.get("page")) or 1)
    return render_template("organisations/roster.html", organisation=organisation, teams=roster_summary(organisation),
                           reps=reps, form=UploadForm(), kind=uploads.KINDS["roster"])


def _whole_number(text: str | None) -> int | None:
    """A query parameter as a positive number of up to 9 digits, or None (bad queries fall back)."""
    text = text or ""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 10 else None


@bp.route("/<int:organisation_id>/performance")
@login_required
def performance(organisation_id: int):
    """CRM performance imported so far, per period, and the import."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    return render_template("organisations/performance.html", organisation=organisation,
                           periods=performance_by_period(organisation),
                           form=UploadForm(), kind=uploads.KINDS["performance"])


def _session_form(organisation: Organisation) -> SessionForm:
    form = SessionForm()
    teams, reps = teams_and_active_reps(organisation)
    form.who.choices = ([(f"team:{t_id}", f"Team {name} (whole team)") for t_id, name in teams]
                        + [(f"rep:{r_id}", f"{name} ({team})") for r_id, name, team in reps])
    return form


@bp.route("/<int:organisation_id>/sessions", methods=["GET", "POST"])
@login_required
def sessions(organisation_id: int):
    """Logged coaching sessions by month and coach's model; import a log or enter one session."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    form = _session_form(organisation)
    if form.validate_on_submit():
        kind, _, ident = form.who.data.partition(":")
        try:
            add_session(organisation, CoachingModel(form.coach_model.data), form.session_date.data,
                        form.minutes.data, today(), rep_id=int(ident) if kind == "rep" else None,
                        team_id=int(ident) if kind == "team" else None)
        except SessionError as error:
            form.session_date.errors.append(str(error).capitalize() + ".")
        else:
            flash("Session added.", "info")
            return redirect(url_for("organisations.sessions", organisation_id=organisation.id))
    return render_template("organisations/sessions.html", organisation=organisation,
                           by_month=sessions_by_month(organisation),
                           form=form, upload=UploadForm(), kind=uploads.KINDS["sessions"]), (
        400 if form.errors else 200)


def _import_page(organisation, kind, form, problems=None, message=None, status=400):
    endpoint = PAGES[kind.name]
    return render_template("organisations/import_result.html", organisation=organisation, kind=kind, form=form,
                           problems=(problems or [])[:MAX_PROBLEMS_SHOWN], total=len(problems or []),
                           message=message, back=url_for(endpoint, organisation_id=organisation.id)), status


@bp.route("/<int:organisation_id>/import/<kind_name>", methods=["POST"])
@login_required
def upload(organisation_id: int, kind_name: str):
    """Import a file; when its headers are not ours, keep it and ask for the column mapping."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    kind = uploads.KINDS.get(kind_name) or abort(404)
    form = UploadForm()
    if not form.validate_on_submit():
        return _import_page(organisation, kind, form, message=flash_errors(form))
    content, filename = form.file.data.read(), form.file.data.filename or "upload"
    options = {"deactivate_missing": bool(form.deactivate_missing.data)}
    try:
        headers = list(read_table(content, filename).columns)
    except TableError as error:
        return _import_page(organisation, kind, form, message=f"{filename}: {error}.")
    if uploads.needs_mapping(kind, headers):
        staged = uploads.stage(current_user, organisation, kind, filename, content, options)
        return redirect(url_for("organisations.mapping", organisation_id=organisation.id, kind_name=kind.name,
                                upload_id=staged.id))
    return _finish(organisation, kind, form, content, filename, {}, options)


def _finish(organisation, kind, form, content, filename, mapping, options, staged=None):
    try:
        report = uploads.run(organisation, kind, content, filename, mapping, options)
    except ImportRejected as rejected:
        return _import_page(organisation, kind, form, problems=rejected.problems,
                            message=f"{filename}: nothing was imported because of the problems below.")
    except TableError as error:
        return _import_page(organisation, kind, form, message=f"{filename}: {error}.")
    if staged is not None:
        uploads.discard(staged)
    flash(f"{kind.title}: {report.summary()}", "info")
    return redirect(url_for(PAGES[kind.name], organisation_id=organisation.id))


@bp.route("/<int:organisation_id>/import/<kind_name>/<upload_id>", methods=["GET", "POST"])
@login_required
def mapping(organisation_id: int, kind_name: str, upload_id: str):
    """Map the columns of a kept upload to ours, then import it."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    kind = uploads.KINDS.get(kind_name) or abort(404)
    staged = uploads.pending(current_user, organisation, upload_id, kind) or abort(404)
    try:
        headers = list(read_table(staged.content, staged.filename).columns)
    except TableError:
        abort(404)  # it could be read when it was kept
    form = mapping_form(kind.fields, headers, guess_mapping(headers, kind.fields),
                        request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        chosen = {f.name: (getattr(form, f"map_{f.name}").data or None) for f in kind.fields}
        return _finish(organisation, kind, form, staged.content, staged.filename, chosen,
                       json.loads(staged.options_json), staged)
    return render_template("organisations/mapping.html", organisation=organisation, kind=kind, form=form,
                           filename=staged.filename, headers=headers), 400 if form.errors else 200


@bp.route("/<int:organisation_id>/studies/new", methods=["GET", "POST"])
@login_required
def new_study(organisation_id: int):
    """Design a new pilot study for this organisation."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    form = study_form(None, formdata_sent=request.method != "GET")
    if form.validate_on_submit():
        study = create_study(organisation, form.name.data.strip(), [CoachingModel(m) for m in form.models.data],
                             seed=form.seed.data if form.seed.data is not None else secrets.randbelow(2**31),
                             randomisation_unit=RandomisationUnit(form.unit.data),
                             stratify_by=form.stratify_by.data or None, primary_outcome=form.primary_outcome.data,
                             k_threshold=form.k_threshold.data, description=form.description.data)
        flash("Study created. Next: randomise the teams and add the waves.", "info")
        return redirect(url_for("pilots.study", study_id=study.id))
    return render_template("pilots/study_form.html", organisation=organisation, form=form, study=None), (
        400 if form.errors else 200)
