"""Consultants' and leaders' view of pilot studies."""

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import audit
from ..access import require_consultant, study_or_404, visible_studies, wave_or_404
from ..disclosure import closed_wave_rates
from ..forms import study_form
from ..frames import codebook_frame, performance_frame
from ..mail import MailError, mail_configured
from ..models import CoachingModel, QuestionKind, RandomisationUnit, Study, Wave
from ..studies import (
    ReasonNeeded,
    StudyError,
    add_wave,
    close,
    instrument_locked,
    is_locked,
    k_changed_while_open,
    launch,
    response_rates,
    study_overview,
    update_design,
)
from ..web import flash_errors, refused, send_sheets, today
from .exports import ExportRefused, response_sheets
from .forms import ActionForm, AssignmentChangeForm, QuestionForm, RandomiseForm, WaveForm
from .invitations import InvitationError, issue_links, links_csv, send_links
from .planning import planning_panel
from .questions import NewQuestion, QuestionError, add_question, remove_question
from .randomisation import AssignmentError, assignment_changes, balance, change_assignment, randomise

bp = Blueprint("pilots", __name__)


@bp.route("/studies")
@login_required
def studies():
    """The studies of the user's organisations."""
    return render_template("pilots/studies.html", studies=visible_studies(current_user))


@bp.route("/studies/<int:study_id>")
@login_required
def study(study_id: int):
    """One study: design, waves and progress."""
    study = study_or_404(current_user, study_id)
    return _study_page(study, WaveForm(label=_suggested_label(study)))


def _study_page(study: Study, wave_form: WaveForm, status: int = 200, confirm_past: bool = False):
    """The study page, with the wave form as given (as entered, with its messages, after a refusal)."""
    return render_template("pilots/study.html", study=study, overview=study_overview(study, today()),
                           wave_form=wave_form, action_form=ActionForm(), locked=is_locked(study, today()),
                           balance=balance(study), planning=planning_panel(study, request.args),
                           confirm_past=confirm_past), status


def _suggested_label(study: Study) -> str:
    """The label the wave form suggests: "baseline" first, then "follow-up", then "wave N" — never one in use."""
    taken = {w.label.lower() for w in study.waves}
    candidates = ["baseline", "follow-up"] + [f"wave {n}" for n in range(len(taken) + 1, len(taken) + 3)]
    return next(label for label in candidates if label not in taken)


@bp.route("/studies/<int:study_id>/questions", methods=["GET", "POST"])
@login_required
def questions(study_id: int):
    """The study's questions, and a form to add its own."""
    study = study_or_404(current_user, study_id)
    form = QuestionForm()
    status = 200
    if form.is_submitted():
        require_consultant(current_user)
        if form.validate():
            try:
                add_question(study, NewQuestion(
                    text=form.text.data, kind=QuestionKind(form.kind.data), required=form.required.data,
                    options=tuple((form.options.data or "").splitlines()), minimum=form.minimum.data,
                    maximum=form.maximum.data, dimension=form.dimension.data,
                    reverse_scored=form.reverse_scored.data), today())
            except QuestionError as error:
                form.text.errors.append(f"Not added: {error}.")
            else:
                flash("Question added.", "info")
                return redirect(url_for("pilots.questions", study_id=study.id))
        status = 400
    return render_template("pilots/questions.html", study=study, form=form,
                           locked=instrument_locked(study, today())), status


@bp.route("/studies/<int:study_id>/questions/<int:question_id>/delete", methods=["POST"])
@login_required
def delete_question(study_id: int, question_id: int):
    """Remove one of the study's own questions."""
    study = study_or_404(current_user, study_id, consultant=True)
    try:
        remove_question(study, question_id, today())
    except LookupError:
        abort(404)
    except QuestionError as error:
        return refused(error, "pilots.questions", "Not removed", study_id=study.id)
    flash("Question removed.", "info")
    return redirect(url_for("pilots.questions", study_id=study.id))


@bp.route("/studies/<int:study_id>/design", methods=["GET", "POST"])
@login_required
def design(study_id: int):
    """Change the study's design (models, unit, strata, seed, primary outcome, k)."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = study_form(study, formdata_sent=request.method != "GET")
    status = 200
    if form.validate_on_submit():
        try:
            update_design(study, form.name.data, [CoachingModel(m) for m in form.models.data],
                          RandomisationUnit(form.unit.data), form.stratify_by.data or None,
                          form.seed.data if form.seed.data is not None else study.seed, form.primary_outcome.data,
                          form.k_threshold.data, today(), changed_by=current_user, reason=form.change_reason.data)
        except ReasonNeeded as error:
            form.change_reason.errors.append(f"Not saved: {error}.")
        except StudyError as error:
            form.name.errors.append(f"Not saved: {error}.")
            status = 409  # the form is fine; the study's state forbids the change
        else:
            flash("Design saved.", "info")
            return redirect(url_for("pilots.study", study_id=study.id))
    if form.errors and status == 200:
        status = 400
    return render_template("pilots/study_form.html", organisation=study.organisation, form=form, study=study), status


def _change_form(study) -> AssignmentChangeForm:
    form = AssignmentChangeForm()
    form.assignment_id.choices = [
        (a.id, (a.team.name if a.team else f"{a.rep.name}") + f" — now {a.coaching_model.value}")
        for a in sorted(study.assignments, key=lambda a: (a.team.name if a.team else a.rep.name))]
    form.model.choices = [(m.value, m.value) for m in study.coaching_models]
    return form


@bp.route("/studies/<int:study_id>/assignment", methods=["GET", "POST"])
@login_required
def assignment(study_id: int):
    """The allocation: balance table, sample-ratio check, the units, and the log of manual changes."""
    study = study_or_404(current_user, study_id, consultant=True)
    randomise_form = RandomiseForm()
    status = 200
    if randomise_form.validate_on_submit():
        try:
            drawn = randomise(study, today(), randomise_form.seed.data)
        except AssignmentError as error:
            flash(f"Not randomised: {error}.", "error")
            status = 409
        else:
            flash(f"Randomised {len(drawn)} {study.randomisation_unit.value}s with seed {study.seed}.", "info")
            return redirect(url_for("pilots.assignment", study_id=study.id))
    elif randomise_form.errors:
        status = 400
    return render_template("pilots/assignment.html", study=study, balance=balance(study),
                           locked=is_locked(study, today()), randomise_form=randomise_form,
                           change_form=_change_form(study), changes=assignment_changes(study),
                           planning=planning_panel(study, request.args)), status


@bp.route("/studies/<int:study_id>/assignment/change", methods=["POST"])
@login_required
def change(study_id: int):
    """Move one unit to another model before the lock, with a reason."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = _change_form(study)
    if not form.validate_on_submit():
        return refused("Not changed: " + flash_errors(form), "pilots.assignment", status=400, study_id=study.id)
    try:
        change_assignment(study, form.assignment_id.data, CoachingModel(form.model.data), current_user,
                          form.reason.data, today())
    except AssignmentError as error:
        return refused(error, "pilots.assignment", "Not changed", study_id=study.id)
    flash("Assignment changed and recorded.", "info")
    return redirect(url_for("pilots.assignment", study_id=study.id))


@bp.route("/studies/<int:study_id>/waves", methods=["POST"])
@login_required
def add_wave_view(study_id: int):
    """Add a survey wave. A refused one re-renders the study page with the form as entered and its
    message (400: the form; 409: the study's state); a wave that is over already is added only once
    confirmed, since no rep can answer it any more (the page asks, status 200)."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = WaveForm()
    if not form.validate_on_submit():
        return _study_page(study, form, 400)
    if form.closes_on.data < today() and not form.confirm_past.data:
        return _study_page(study, form, confirm_past=True)
    try:
        add_wave(study, form.label.data, form.opens_on.data, form.closes_on.data)
    except StudyError as error:
        form.label.errors = [*form.label.errors, f"Wave not added: {error}."]
        return _study_page(study, form, 409)
    flash(f"Wave {form.label.data!r} added.", "info")
    return redirect(url_for("pilots.study", study_id=study.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>")
@login_required
def wave(study_id: int, wave_id: int):
    """A wave: response counts per model and team (only where at least k reps were invited), and invitations."""
    study = study_or_404(current_user, study_id)
    wave = wave_or_404(study, wave_id)
    per_model, per_team, total = closed_wave_rates(study, wave, *response_rates(study, wave, today()), today())
    return render_template("pilots/wave.html", study=study, wave=wave, per_model=per_model, per_team=per_team,
                           total=total, k_changed=wave.is_open(today()) and k_changed_while_open(study, wave),
                           mail=mail_configured(), form=ActionForm(), today=today())


def _wave_action(study_id: int, wave_id: int) -> tuple[Study, Wave]:
    """The study and wave of a button on the wave page: consultants only, and only with the form's token."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return study, wave


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/links.csv", methods=["POST"])
@login_required
def wave_links(study_id: int, wave_id: int):
    """Issue a fresh link to every rep who has not answered, as a CSV for mail merge (shown once)."""
    study, wave = _wave_action(study_id, wave_id)
    try:
        issued = issue_links(study, wave, current_app.config["PUBLIC_BASE_URL"], today())
    except InvitationError as error:
        return refused(error, "pilots.wave", "No links issued", study_id=study.id, wave_id=wave.id)
    filename = f"links-study{study.id}-wave{wave.id}.csv"  # ASCII only: labels may hold any character
    return Response(links_csv(issued), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/send", methods=["POST"])
@login_required
def wave_send(study_id: int, wave_id: int):
    """E-mail invitations (or, with ``reminder=1``, reminders) through the configured SMTP server."""
    study, wave = _wave_action(study_id, wave_id)
    if not mail_configured():
        return refused("No mail server is configured (MAIL_SERVER); download the links for a mail merge instead.",
                       "pilots.wave", study_id=study.id, wave_id=wave.id)
    reminder = request.form.get("reminder") == "1"
    try:
        run = send_links(study, wave, current_app.config["PUBLIC_BASE_URL"], today(), reminder=reminder)
    except (InvitationError, MailError) as error:
        return refused(error, "pilots.wave", "Nothing sent", study_id=study.id, wave_id=wave.id)
    what = "Reminders" if reminder else "Invitations"
    text = f"{what} sent: {run.sent}."
    if run.failed:
        text += f" {run.failed} could not be delivered."
    if run.without_email:
        text += f" {run.without_email} rep(s) have no e-mail address; use the mail-merge file for them."
    flash(text, "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/launch", methods=["POST"])
@login_required
def launch_view(study_id: int):
    """Draft → running."""
    return _lifecycle(study_id, launch, "The study is running.")


@bp.route("/studies/<int:study_id>/close", methods=["POST"])
@login_required
def close_view(study_id: int):
    """Running → closed."""
    return _lifecycle(study_id, close, "The study is closed; its links no longer work.")


def _lifecycle(study_id, action, message):
    study = study_or_404(current_user, study_id, consultant=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action(study)
    except StudyError as error:
        return refused(error, "pilots.study", study_id=study.id)
    flash(message, "info")
    return redirect(url_for("pilots.study", study_id=study.id))


@bp.route("/studies/<int:study_id>/exports/<name>.<fmt>")
@login_required
def export(study_id: int, name: str, fmt: str):
    """Row-level anonymous responses of closed waves (with codebook) or performance by rep, as CSV or XLSX.

    ``?wave=LABEL`` exports one wave. An open wave, or a study with no closed wave, gets a page that
    says why (409), not a file.
    """
    study = study_or_404(current_user, study_id, consultant=True)
    if fmt not in ("csv", "xlsx") or name not in ("responses", "codebook", "performance"):
        abort(404)
    if name == "responses":
        try:
            sheets = response_sheets(study, today(), request.args.get("wave") or None)
        except ExportRefused as refusal:
            return render_template("pilots/export_refused.html", study=study, message=str(refusal)), 409
        rows = len(next(iter(sheets.values())))
        audit.note("export.responses", study=study,
                   detail=f"{rows} response(s), {request.args.get('wave') or 'every closed wave'}, {fmt.upper()}")
    elif name == "codebook":
        sheets = {"codebook": codebook_frame(study)}
    else:
        sheets = {"performance": performance_frame(study)}
        audit.note("export.performance", study=study, detail=f"{len(sheets['performance'])} row(s), {fmt.upper()}")
    return send_sheets(sheets, fmt, f"study{study.id}-{name}.{fmt}", private=True)
