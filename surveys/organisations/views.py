"""Consultants' pages for client organisations: roster, CRM performance, coaching sessions, new studies,
who has access (invite, send a new link, change a role, remove), and the records changed by hand: the
organisation's name, a rep, a team.

Every refusal re-renders the page with the message next to the form it is about, and a 4xx status (a mail
server that cannot be used: 503).
"""

from __future__ import annotations

import json
import secrets
from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import organisation_or_404, require_consultant, visible_organisations
from ..accounts import AccountError, create_organisation, rename_organisation, token_hours
from ..forms import disable, sent_with_locked, study_form
from ..mail import MailError, mail_configured
from ..models import CoachingModel, Organisation, RandomisationUnit, Role, TokenPurpose
from ..refusals import Refused
from ..studies import create_study
from ..tabular import TableError, read_table
from ..web import refused, sentence, today
from . import jobs as import_jobs
from . import uploads
from .forms import (
    ButtonForm,
    InviteForm,
    OrganisationForm,
    RepForm,
    RoleForm,
    SessionForm,
    TeamForm,
    UploadForm,
    mapping_form,
)
from .imports import ImportRejected
from .people import Invited, change_role, invite, member_or_404, people_with_access, remove_access, resend_link
from .records import (
    SessionError,
    add_session,
    organisation_summary,
    performance_by_period,
    roster_summary,
    sessions_by_month,
    teams_and_active_reps,
)
from .roster import (
    RosterError,
    edit_rep,
    edit_team,
    move_limits,
    region_lock,
    rep_of,
    rep_page,
    set_rep_active,
    team_of,
    teams_by_name,
)

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
                form.name.errors.append(sentence(error))
            else:
                flash(f"Created {organisation.name}.", "info")
                return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template("organisations/index.html", organisations=visible_organisations(current_user),
                           form=form), 400 if form.errors else 200


@bp.route("/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    """An organisation at a glance: roster, data, studies; for consultants, who has access."""
    return detail_page(organisation_or_404(current_user, organisation_id))


def detail_page(organisation: Organisation, status: int = 200, **people_forms):
    """The organisation's page; the people section (consultants only) with its forms as given after a refusal."""
    summary = organisation_summary(organisation)
    people = people_section(organisation, **people_forms) if current_user.role is Role.CONSULTANT else None
    return render_template("organisations/detail.html", organisation=organisation, counts=summary.counts,
                           studies=summary.studies, people=people), status


def people_section(organisation: Organisation, invite_form: InviteForm | None = None, errors: dict | None = None,
                   chosen: dict | None = None) -> dict:
    """What the "People with access" section shows: the members, the invitation form, a member's refusal."""
    return {"members": people_with_access(organisation, current_user), "invite_form": invite_form or InviteForm(),
            "errors": errors or {}, "chosen": chosen or {}, "mail": mail_configured(),
            "hours": token_hours(TokenPurpose.INVITE)}


@bp.route("/<int:organisation_id>/roster")
@login_required
def roster(organisation_id: int):
    """Teams with their region and active reps, the reps (``?q=`` name or e-mail, ``?team=``, ``?page=``),
    and the roster import."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    return _kind_page(organisation, uploads.KINDS["roster"], UploadForm())


def _rep_list(organisation: Organisation):
    """The roster page's reps as this request's query asks (``?q=``, ``?team=``, ``?page=``; bad ones fall back)."""
    return rep_page(organisation, request.args.get("q", ""), _whole_number(request.args.get("team")),
                    _whole_number(request.args.get("page")) or 1)


def _whole_number(text: str | None) -> int | None:
    """A query parameter as a positive number of up to 9 digits, or None (bad queries fall back)."""
    text = text or ""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 10 else None


@bp.route("/<int:organisation_id>/performance")
@login_required
def performance(organisation_id: int):
    """CRM performance imported so far, per period, and the import."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    return _kind_page(organisation, uploads.KINDS["performance"], UploadForm())


def _session_form(organisation: Organisation, **kwargs) -> SessionForm:
    form = SessionForm(**kwargs)
    teams, reps = teams_and_active_reps(organisation)
    form.who.choices = ([(f"team:{t_id}", f"Team {name} (whole team)") for t_id, name in teams]
                        + [(f"rep:{r_id}", f"{name} ({team})") for r_id, name, team in reps])
    return form


def _kind_page(organisation: Organisation, kind: uploads.Kind, upload_form: UploadForm, problems=(),
               session_form: SessionForm | None = None, total: int | None = None) -> str:
    """The page of one kind of data (roster, performance, sessions) with its import form as given.

    ``problems``: the rows of a refused file, listed under the form (of ``total`` in all; default: all of them).
    """
    shown = {"problems": list(problems)[:MAX_PROBLEMS_SHOWN], "total": len(problems) if total is None else total,
             "kind": kind}
    if kind.name == "roster":
        return render_template("organisations/roster.html", organisation=organisation, form=upload_form,
                               teams=roster_summary(organisation), reps=_rep_list(organisation), **shown)
    if kind.name == "performance":
        return render_template("organisations/performance.html", organisation=organisation, form=upload_form,
                               periods=performance_by_period(organisation), **shown)
    return render_template("organisations/sessions.html", organisation=organisation, upload=upload_form,
                           form=session_form or _session_form(organisation, formdata=None),
                           by_month=sessions_by_month(organisation), **shown)


@bp.route("/<int:organisation_id>/sessions", methods=["GET", "POST"])
@login_required
def sessions(organisation_id: int):
    """Logged coaching sessions by month and coach's model; import a log or enter one session."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    kind = uploads.KINDS["sessions"]
    form = _session_form(organisation)
    page = partial(_kind_page, organisation, kind, UploadForm(formdata=None), session_form=form)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    who, _, ident = form.who.data.partition(":")
    try:
        add_session(organisation, CoachingModel(form.coach_model.data), form.session_date.data,
                    form.minutes.data, today(), rep_id=int(ident) if who == "rep" else None,
                    team_id=int(ident) if who == "team" else None)
    except SessionError as error:
        return refused(sentence(error), page, form.session_date, status=400)
    flash("Session added.", "info")
    return redirect(url_for("organisations.sessions", organisation_id=organisation.id))


@bp.route("/<int:organisation_id>/import/<kind_name>", methods=["POST"])
@login_required
def upload(organisation_id: int, kind_name: str):
    """Import a file; when its headers are not ours, keep it and ask for the column mapping.

    A refused file re-renders the page of its kind with the message next to the file field and
    every problem listed under it.
    """
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    kind = uploads.KINDS.get(kind_name) or abort(404)
    form = UploadForm()
    page = partial(_kind_page, organisation, kind, form)
    if not form.validate_on_submit():
        return page(), 400
    content, filename = form.file.data.read(), form.file.data.filename or "upload"
    options = {"deactivate_missing": bool(form.deactivate_missing.data)}
    try:
        frame = read_table(content, filename)
        if uploads.needs_mapping(kind, list(frame.columns)):
            staged = uploads.stage(current_user, organisation, kind, filename, content, options)
            return redirect(url_for("organisations.mapping", organisation_id=organisation.id, kind_name=kind.name,
                                    upload_id=staged.id))
        if import_jobs.runs_as_job(len(frame)):
            staged = uploads.stage(current_user, organisation, kind, filename, content, options)
            return _follow(organisation, import_jobs.begin(_me(), organisation, kind, staged, None, len(frame)))
        report = uploads.run(organisation, kind, content, filename, {}, options)
    except ImportRejected as rejected:
        return refused(f"{filename}: nothing was imported because of the problems below.",
                       partial(page, problems=rejected.problems), form.file, status=400)
    except TableError as error:
        return refused(f"{filename}: {str(error).rstrip('.')}.", page, form.file, status=400)
    flash(f"{kind.title}: {report.summary()}", "info")
    return redirect(url_for(PAGES[kind.name], organisation_id=organisation.id))


@bp.route("/<int:organisation_id>/import/<kind_name>/<upload_id>", methods=["GET", "POST"])
@login_required
def mapping(organisation_id: int, kind_name: str, upload_id: str):
    """Map the columns of a kept upload to ours, then import it.

    A refused mapping keeps the file and the choices: the page comes back with them selected, the
    message next to the field it is about (or the file's problems listed), and a 400.
    """
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    kind = uploads.KINDS.get(kind_name) or abort(404)
    staged = uploads.pending(current_user, organisation, upload_id, kind) or abort(404)
    form, page, rows = _mapping_page(organisation, kind, staged, request.form if request.method == "POST" else None)
    if request.method == "GET":
        return page()
    if not form.validate():
        return page(), 400
    chosen = {f.name: (getattr(form, f"map_{f.name}").data or None) for f in kind.fields}
    problems = uploads.mapping_problems(kind, chosen)
    if problems:
        for name, message in problems.items():
            field = getattr(form, f"map_{name}")
            field.errors = [*field.errors, message]
        return page(), 400
    filename = staged.filename
    if import_jobs.runs_as_job(rows):
        return _follow(organisation, import_jobs.begin(_me(), organisation, kind, staged, chosen, rows))
    try:
        report = uploads.import_mapped(organisation, kind, staged, chosen)
    except ImportRejected as rejected:
        return refused(f"{filename}: nothing was imported because of the problems below.",
                       partial(page, problems=rejected.problems[:MAX_PROBLEMS_SHOWN], total=len(rejected.problems)),
                       status=400)
    except TableError as error:
        return refused(f"{filename}: {str(error).rstrip('.')}.", page, status=400)
    flash(f"{kind.title}: {report.summary()}", "info")
    return redirect(url_for(PAGES[kind.name], organisation_id=organisation.id))


def _mapping_page(organisation: Organisation, kind: uploads.Kind, staged, formdata=None,
                  chosen: dict | None = None):
    """The mapping page of a kept upload: (its form, a partial rendering it, the file's number of rows).

    The form shows ``formdata`` as sent, else ``chosen`` (a mapping that was refused), else the first choices.
    """
    try:
        frame = read_table(staged.content, staged.filename)
    except TableError:
        abort(404)  # it could be read when it was kept
    headers = list(frame.columns)
    first, remembered = uploads.first_choices(organisation, kind, headers)
    if chosen is not None:
        first, remembered = {name: chosen.get(name) for name in first}, False
    form = mapping_form(kind.fields, headers, first, formdata)
    page = partial(render_template, "organisations/mapping.html", organisation=organisation, kind=kind, form=form,
                   filename=staged.filename, headers=headers, upload_id=staged.id,
                   remembered=remembered and request.method == "GET")
    return form, page, len(frame)


def _follow(organisation: Organisation, job):
    """After enqueuing an import: its progress page (or, once it has run, its outcome)."""
    return redirect(url_for("organisations.import_job", organisation_id=organisation.id, job_id=job.id))


@bp.route("/<int:organisation_id>/imports/<job_id>")
@login_required
def import_job(organisation_id: int, job_id: str):
    """A large import run by the queue: its progress (the page refreshes itself every 2 s), then its outcome as an
    inline import gives it: the kind's page with the summary, or with the file's problems (and a 400)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    job = import_jobs.job_of(current_user, organisation, job_id) or abort(404)
    kind = uploads.KINDS[job.kind]
    if job.status == "done":
        flash(f"{kind.title}: {job.summary}", "info")
        return redirect(url_for(PAGES[kind.name], organisation_id=organisation.id))
    if job.status == "refused":
        problems = import_jobs.problems_of(job)
        message = (f"{job.filename}: nothing was imported because of the problems below." if problems
                   else job.message)
        staged = import_jobs.kept_upload(job) if job.mapping_json is not None else None
        if staged is not None:  # as a refused mapping: the file kept, the choices selected
            _, page, _ = _mapping_page(organisation, kind, staged, chosen=json.loads(job.mapping_json))
            return refused(message, partial(page, problems=problems, total=job.problem_count), status=400)
        form = UploadForm(formdata=None)
        return refused(message, partial(_kind_page, organisation, kind, form, problems=problems,
                                        total=job.problem_count), form.file, status=400)
    staged = import_jobs.kept_upload(job) if job.status == "failed" else None
    return render_template("organisations/import_job.html", organisation=organisation, kind=kind, job=job,
                           staged=staged, queue=current_app.config["QUEUE_URL"])


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
        form.email.errors.append(sentence(error))
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
        return detail_page(organisation, 409, errors={member.id: sentence(error)})
    return _told(organisation, invited)


def _told(organisation: Organisation, invited: Invited):
    """After an invitation: the link shown once (no mail server), or a message on the organisation's page."""
    if invited.link:
        return render_template("organisations/invited.html", organisation=organisation, invited=invited,
                               hours=token_hours(TokenPurpose.INVITE))
    role = invited.role.value
    if invited.outcome == "added" and invited.waiting:
        flash(f"{invited.email} already has a CoachLab account: they now have access to {organisation.name} as a "
              f"{role}. They have not chosen a password yet, and any set-password link they were given before no "
              "longer works. No mail server is configured, so CoachLab cannot send them a new link, and it shows "
              "none here because their account also has access elsewhere: ask your CoachLab administrator to "
              "give them one (flask password-link).", "info")
    elif invited.outcome == "added":
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
        problems = " ".join(error for errors in form.errors.values() for error in errors)  # whole sentences
        return detail_page(organisation, 400, errors={member.id: problems}, chosen={member.id: form.role.data})
    try:
        change_role(organisation, _me(), member, form.role.data)
    except Refused as error:
        return detail_page(organisation, 409, errors={member.id: sentence(error)},
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
        return detail_page(organisation, 409, errors={member.id: sentence(error)})
    if removed.was_you:
        flash(f"You no longer have access to {organisation.name}.", "info")
        return redirect(url_for("organisations.index"))
    flash(f"{removed.email} no longer has access to {organisation.name}."
          + (" It was their last organisation, so they were signed out on every device." if removed.signed_out
             else ""), "info")
    return _people_anchor(organisation)


# --- the records changed by hand: the organisation's name, a rep, a team --------------------------------


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    """Rename the organisation (a name the consultant does not already use for another)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    form = OrganisationForm() if request.method == "POST" else OrganisationForm(data={"name": organisation.name})
    page = partial(render_template, "organisations/organisation_form.html", organisation=organisation, form=form)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    try:
        rename_organisation(organisation, form.name.data, _me())
    except AccountError as error:
        return refused(error, page, form.name, "Not renamed")
    flash(f"Renamed to {organisation.name}.", "info")
    return redirect(url_for("organisations.detail", organisation_id=organisation.id))


def _rep_form(organisation: Organisation, **kwargs) -> RepForm:
    """The rep form (``kwargs`` as for any form), offering the organisation's teams."""
    form = RepForm(**kwargs)
    form.team_id.choices = [(team.id, team.name + (f" ({team.region})" if team.region else ""))
                            for team in teams_by_name(organisation)]
    return form


def _rep_page(organisation: Organisation, rep, form: RepForm) -> str:
    """A rep's page with its form as given: name, e-mail, team, what limits a move, leaving or coming back."""
    return render_template("organisations/rep_form.html", organisation=organisation, rep=rep, form=form,
                           limits=move_limits(rep, today()), action_form=ButtonForm(formdata=None))


def _rep_data(rep) -> dict:
    return {"name": rep.name, "email": rep.email or "", "team_id": rep.team_id, "language": rep.language or ""}


@bp.route("/<int:organisation_id>/reps/<int:rep_id>", methods=["GET", "POST"])
@login_required
def rep(organisation_id: int, rep_id: int):
    """Edit a rep's name, e-mail and team; what limits a move is said on the form."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    rep = rep_of(organisation, rep_id) or abort(404)
    form = _rep_form(organisation) if request.method == "POST" else _rep_form(organisation, data=_rep_data(rep))
    page = partial(_rep_page, organisation, rep, form)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    try:
        edit_rep(organisation, rep, form.name.data, form.email.data, team_of(organisation, form.team_id.data), today(),
                 language=form.language.data)
    except RosterError as error:
        return refused(error, page, form[error.field], "Not saved")
    flash(f"Saved {rep.name}.", "info")
    return redirect(url_for("organisations.rep", organisation_id=organisation.id, rep_id=rep.id))


@bp.route("/<int:organisation_id>/reps/<int:rep_id>/active", methods=["POST"])
@login_required
def rep_active(organisation_id: int, rep_id: int):
    """Mark a rep as having left (``active=0``) or back (``active=1``); anything else re-renders the rep's page."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    rep = rep_of(organisation, rep_id) or abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if request.form.get("active") not in ("0", "1"):
        form = _rep_form(organisation, formdata=None, data=_rep_data(rep))
        return refused("Not changed: say whether the rep has left (active=0) or is back (active=1).",
                       partial(_rep_page, organisation, rep, form), status=400)
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
    page = partial(render_template, "organisations/team_form.html", organisation=organisation, team=team, form=form,
                   lock=lock)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    try:
        edit_team(organisation, team, form.name.data, form.region.data, today())
    except RosterError as error:
        return refused(error, page, form[error.field], "Not saved")
    flash(f"Saved team {team.name}.", "info")
    return redirect(url_for("organisations.roster", organisation_id=organisation.id, team=team.id))
