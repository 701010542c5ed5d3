"""Consultants' and leaders' view of pilot studies, and the pages that change what a study already has:
a wave's dates, closing a wave early and reopening it, deleting a draft wave or study, editing the
study's own questions.

A refusal re-renders the page it came from with the message and a 4xx status (``web.refused``); an
action that cannot be undone first says what it will do (``web.confirmation``) and runs once confirmed.
"""

from functools import partial

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import audit
from ..access import require_consultant, study_or_404, visible_studies, wave_or_404
from ..disclosure import closed_wave_rates
from ..forms import DESIGN_FIELDS, disable, sent_with_locked, study_form
from ..frames import codebook_frame, performance_frame
from ..interim import ALPHA as INTERIM_ALPHA
from ..interim import InterimRefused, interim_state, take_look
from ..languages import LANGUAGES
from ..mail import MailError, mail_configured
from ..models import CoachingModel, Question, QuestionKind, RandomisationUnit, Study, StudyStatus, Wave
from ..studies import (
    ReasonNeeded,
    StudyError,
    WorthSettingError,
    add_wave,
    check_close,
    check_launch,
    close,
    day,
    delete_study,
    deletion_preview,
    design_lock,
    instrument_lock,
    is_locked,
    k_changed_while_open,
    k_lock_of,
    launch,
    lock_reason,
    response_rates,
    study_overview,
    update_design,
)
from ..tabular import XLSX_TYPE
from ..web import confirmation, confirmed, refused, send_sheets, today
from . import simulations
from .confirmations import (
    close_consequences,
    close_early_consequences,
    launch_consequences,
    reissue_consequences,
    send_consequences,
    study_deletion_consequences,
    wave_deletion_consequences,
)
from .exports import ExportRefused, response_sheets
from .forms import (
    ActionForm,
    AssignmentChangeForm,
    QuestionEditForm,
    QuestionForm,
    RandomiseForm,
    RemindersForm,
    SimulationForm,
    TranslationsForm,
    WaveDatesForm,
    WaveForm,
    parse_days,
)
from .invitations import InvitationError, check_can_issue, issue_links, links_csv
from .planning import planning_panel
from .questions import NewQuestion, QuestionError, add_question, edit_question, remove_question
from .randomisation import AssignmentError, assignment_changes, balance, change_assignment, randomise
from .reminders import ReminderError, form_values, schedule, schedule_lock, set_schedule
from .sending import progress_words, resend_uncertain, start_sending, wave_progress
from .translations import TranslationError, import_translations, missing_translations, translation_sheet
from .waves import (
    WaveError,
    close_early,
    close_early_preview,
    delete_wave,
    edit_wave,
    reopen,
    wave_locks,
)
from .waves import deletion_preview as wave_deletion_preview

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


def _study_page(study: Study, wave_form: WaveForm, status: int = 200, confirm_past: bool = False,
                simulation_form: SimulationForm | None = None):
    """The study page, with the wave form as given (as entered, with its messages, after a refusal)."""
    return render_template("pilots/study.html", study=study, overview=study_overview(study, today()),
                           wave_form=wave_form, action_form=ActionForm(), locked=is_locked(study, today()),
                           balance=balance(study), planning=planning_panel(study, request.args),
                           confirm_past=confirm_past, simulation=simulations.panel(study),
                           simulation_form=simulation_form or SimulationForm(formdata=None)), status


def _suggested_label(study: Study) -> str:
    """The label the wave form suggests: "baseline" first, then "follow-up", then "wave N" — never one in use."""
    taken = {w.label.lower() for w in study.waves}
    candidates = ["baseline", "follow-up"] + [f"wave {n}" for n in range(len(taken) + 1, len(taken) + 3)]
    return next(label for label in candidates if label not in taken)


def _questions_page(study: Study, form: QuestionForm, translations_form: TranslationsForm | None = None,
                    problems: list[str] | None = None) -> str:
    """The questions page, with the forms as given (and the problems of a refused translation sheet)."""
    return render_template("pilots/questions.html", study=study, form=form,
                           locked=instrument_lock(study, today()), missing=missing_translations(study),
                           languages=LANGUAGES, translations_form=translations_form or TranslationsForm(formdata=None),
                           problems=problems or [])


@bp.route("/studies/<int:study_id>/questions/translations.xlsx")
@login_required
def translations_sheet(study_id: int):
    """The sheet translators fill: the study's own questions, one column per language."""
    study = study_or_404(current_user, study_id, consultant=True)
    return Response(translation_sheet(study), mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=study-{study.id}-translations.xlsx", "Cache-Control": "no-store"})


@bp.route("/studies/<int:study_id>/questions/translations", methods=["POST"])
@login_required
def translations_upload(study_id: int):
    """Take the filled sheet, all or nothing; every problem is listed on the questions page."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = TranslationsForm()
    page = partial(_questions_page, study, QuestionForm(formdata=None), form)
    if not any(q.instrument is None for q in study.questions):
        return refused("Not imported: this study has no questions of its own, and the built-in ones come translated.",
                       page)
    if not form.validate():
        return page(), 400
    upload = form.file.data
    try:
        counts = import_translations(study, upload.read(), upload.filename or "upload", today())
    except TranslationError as error:
        if instrument_lock(study, today()):  # the form is not shown any more: the message goes on top
            return refused(error, page, prefix="Not imported")
        return refused(error, partial(page, problems=error.problems), form.file, "Not imported", status=400)
    done = ", ".join(f"{LANGUAGES[lang]}: {n}" for lang, n in counts.items()) or "no language column"
    flash(f"Translations imported ({done} question(s) translated).", "info")
    return redirect(url_for("pilots.questions", study_id=study.id) + "#translations")


@bp.route("/studies/<int:study_id>/questions", methods=["GET", "POST"])
@login_required
def questions(study_id: int):
    """The study's questions, and a form to add its own."""
    study = study_or_404(current_user, study_id)
    form = QuestionForm()
    if not form.is_submitted():
        return _questions_page(study, form)
    require_consultant(current_user)
    if not form.validate():
        return _questions_page(study, form), 400
    try:
        add_question(study, NewQuestion(
            text=form.text.data, kind=QuestionKind(form.kind.data), required=form.required.data,
            options=tuple((form.options.data or "").splitlines()), minimum=form.minimum.data,
            maximum=form.maximum.data, dimension=form.dimension.data,
            reverse_scored=form.reverse_scored.data), today())
    except QuestionError as error:
        if instrument_lock(study, today()):  # the form is not shown any more: the message goes on top
            return refused(error, partial(_questions_page, study, form), prefix="Not added")
        return refused(error, partial(_questions_page, study, form), form.text, "Not added", status=400)
    flash("Question added.", "info")
    return redirect(url_for("pilots.questions", study_id=study.id))


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
        return refused(error, partial(_questions_page, study, QuestionForm(formdata=None)), prefix="Not removed")
    flash("Question removed.", "info")
    return redirect(url_for("pilots.questions", study_id=study.id))


@bp.route("/studies/<int:study_id>/design", methods=["GET", "POST"])
@login_required
def design(study_id: int):
    """Change the study's design (models, unit, strata, seed, primary outcome, k)."""
    study = study_or_404(current_user, study_id, consultant=True)
    lock, k_lock = design_lock(study, today()), k_lock_of(study, today())
    form = study_form(study, formdata_sent=request.method != "GET",
                      locked=(DESIGN_FIELDS if lock else ()) + (("k_threshold",) if k_lock else ()))
    status = 200
    if form.validate_on_submit():
        try:
            update_design(study, form.name.data, [CoachingModel(m) for m in form.models.data],
                          RandomisationUnit(form.unit.data), form.stratify_by.data or None,
                          form.seed.data if form.seed.data is not None else study.seed, form.primary_outcome.data,
                          form.k_threshold.data, today(), changed_by=current_user, reason=form.change_reason.data,
                          description=form.description.data if "description" in request.form else None,
                          worth=form.worth_settings() if "fidelity_minimum" in request.form else None)
        except ReasonNeeded as error:
            form.change_reason.errors.append(f"Not saved: {error}.")
        except WorthSettingError as error:  # a value the form's own checks let through
            field = next((form[name] for words, name in (("primary", "margin_primary"), ("quota", "margin_quota"),
                                                        ("prior", "prior_scale"), ("fidelity", "fidelity_minimum"))
                          if words in str(error)), form.cost_manager_month)
            field.errors.append(f"Not saved: {error}.")
        except StudyError as error:
            form.name.errors.append(f"Not saved: {error}.")
            status = 409  # the form is fine; the study's state forbids the change
        else:
            flash("Design saved.", "info")
            return redirect(url_for("pilots.study", study_id=study.id))
    if form.errors and status == 200:
        status = 400
    return render_template("pilots/study_form.html", organisation=study.organisation, form=form, study=study,
                           lock=lock, k_lock=k_lock), status


def _change_form(study, **kwargs) -> AssignmentChangeForm:
    form = AssignmentChangeForm(**kwargs)
    form.assignment_id.choices = [
        (a.id, (a.team.name if a.team else f"{a.rep.name}") + f" — now {a.coaching_model.value}")
        for a in sorted(study.assignments, key=lambda a: (a.team.name if a.team else a.rep.name))]
    form.model.choices = [(m.value, m.value) for m in study.coaching_models]
    return form


def _assignment_page(study: Study, randomise_form: RandomiseForm | None = None,
                     change_form: AssignmentChangeForm | None = None,
                     simulation_form: SimulationForm | None = None) -> str:
    """The assignment page, with its forms as given (as entered, after a refusal)."""
    return render_template("pilots/assignment.html", study=study, balance=balance(study),
                           locked=lock_reason(study, today()),
                           randomise_form=randomise_form or RandomiseForm(formdata=None),
                           change_form=change_form or _change_form(study, formdata=None),
                           changes=assignment_changes(study), planning=planning_panel(study, request.args),
                           simulation=simulations.panel(study),
                           simulation_form=simulation_form or SimulationForm(formdata=None))


def _planning_home(study: Study) -> str:
    """The page whose planning panel a study's design check belongs to: the study page while it is a draft
    (the panel is shown there only then), the assignment page after."""
    return "pilots.study" if study.status is StudyStatus.DRAFT else "pilots.assignment"


def _planning_page(study: Study, form: SimulationForm):
    """The page of the study's planning panel, with the simulation form as entered."""
    if _planning_home(study) == "pilots.study":
        return _study_page(study, WaveForm(formdata=None, label=_suggested_label(study)), simulation_form=form)
    return _assignment_page(study, simulation_form=form)


@bp.route("/studies/<int:study_id>/planning/simulations", methods=["POST"])
@login_required
def planning_simulate(study_id: int):
    """Check the design by simulation: 100 pilots like this one, in the background (issue 17, item 4)."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = SimulationForm()
    if not form.validate_on_submit():
        return refused("Not simulated: check the values below.", partial(_planning_page, study, form), status=400)
    try:
        simulation_id = simulations.begin(current_user, study, form.effect.data, form.icc.data,
                                          form.response_rate.data, form.preset.data)
    except simulations.SimulationRefused as error:
        return refused(error, partial(_planning_page, study, form), prefix="Not simulated")
    return redirect(url_for("pilots.planning_simulation", study_id=study.id, simulation_id=simulation_id))


@bp.route("/studies/<int:study_id>/planning/simulations/<simulation_id>")
@login_required
def planning_simulation(study_id: int, simulation_id: str):
    """A design check run by the queue: its progress (the page refreshes itself every 2 s), then the planning
    panel with its result."""
    study = study_or_404(current_user, study_id, consultant=True)
    row = simulations.simulation_of(study, simulation_id) or abort(404)
    if row.status == "done":
        return redirect(url_for(_planning_home(study), study_id=study.id) + "#simulation")
    return render_template("pilots/simulation.html", study=study, simulation=row, stalled=simulations.stalled(row),
                           stale_minutes=int(simulations.STALE_AFTER.total_seconds() // 60),
                           home=_planning_home(study), queue=current_app.config["QUEUE_URL"])


@bp.route("/studies/<int:study_id>/assignment", methods=["GET", "POST"])
@login_required
def assignment(study_id: int):
    """The allocation: balance table, sample-ratio check, the units, and the log of manual changes."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = RandomiseForm()
    if not form.is_submitted():
        return _assignment_page(study, form)
    if not form.validate():
        return _assignment_page(study, form), 400
    try:
        drawn = randomise(study, today(), form.seed.data)
    except AssignmentError as error:
        return refused(error, partial(_assignment_page, study, form), prefix="Not randomised")
    flash(f"Randomised {len(drawn)} {study.randomisation_unit.value}s with seed {study.seed}.", "info")
    return redirect(url_for("pilots.assignment", study_id=study.id))


@bp.route("/studies/<int:study_id>/assignment/change", methods=["POST"])
@login_required
def change(study_id: int):
    """Move one unit to another model before the lock, with a reason."""
    study = study_or_404(current_user, study_id, consultant=True)
    form = _change_form(study)
    if not form.validate_on_submit():
        return _assignment_page(study, change_form=form), 400
    try:
        change_assignment(study, form.assignment_id.data, CoachingModel(form.model.data), current_user,
                          form.reason.data, today())
    except AssignmentError as error:
        # Once locked the form is not shown: the message goes on top; else next to the model chosen.
        field = None if is_locked(study, today()) else form.model
        return refused(error, partial(_assignment_page, study, change_form=form), field, "Not changed")
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
        return refused(error, partial(_study_page, study, form), form.label, "Wave not added")
    flash(f"Wave {form.label.data!r} added.", "info")
    return redirect(url_for("pilots.study", study_id=study.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>")
@login_required
def wave(study_id: int, wave_id: int):
    """A wave: response counts per model and team (only where at least k reps were invited), and invitations."""
    study = study_or_404(current_user, study_id)
    return _wave_page(study, wave_or_404(study, wave_id))


def _wave_page(study: Study, wave: Wave, reminders_form: RemindersForm | None = None) -> str:
    """The wave page; consultants also get the reminder form (as entered, with its messages, after a refusal)."""
    per_model, per_team, total = closed_wave_rates(study, wave, *response_rates(study, wave, today()), today())
    sending = [(progress, progress_words(progress)) for progress in wave_progress(wave)]
    consultant = current_user.role.value == "consultant"
    return render_template("pilots/wave.html", study=study, wave=wave, per_model=per_model, per_team=per_team,
                           total=total, sending=sending,
                           k_changed=wave.is_open(today()) and k_changed_while_open(study, wave),
                           mail=mail_configured(), form=ActionForm(formdata=None), today=today(),
                           locks=wave_locks(study, wave, today()),
                           schedule=schedule(wave, today()) if consultant else None,
                           schedule_lock=schedule_lock(study, wave, today()) if consultant else None,
                           reminders_form=(reminders_form or RemindersForm(formdata=None, data=form_values(wave)))
                           if consultant else None)


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/reminders", methods=["POST"])
@login_required
def wave_reminders(study_id: int, wave_id: int):
    """Set the wave's reminder schedule and the note in its e-mails. A refusal re-renders the wave page with
    the form as entered and the message next to its field (400: the input; 409: a lock)."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    form = RemindersForm()
    page = partial(_wave_page, study, wave, form)
    if not form.validate_on_submit():
        return page(), 400
    try:
        changed = set_schedule(study, wave, parse_days(form.days.data), form.day_before_closing.data,
                               form.note.data, today())
    except ReminderError as error:
        field = None if schedule_lock(study, wave, today()) else form[error.field]
        return refused(error, page, field, "Not saved", status=error.status)
    flash("Reminders and note saved." if changed else "Nothing changed.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


def _wave_action(study_id: int, wave_id: int) -> tuple[Study, Wave]:
    """The study and wave of a button on the wave page: consultants only, and a POST only with the form's token."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    return study, wave


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/links.csv", methods=["GET", "POST"])
@login_required
def wave_links(study_id: int, wave_id: int):
    """Issue a fresh link to every rep who has not answered, as a CSV for mail merge (shown once).

    Issuing again stops every unused link already issued: a GET, or a POST without ``confirm=1``,
    first shows a page that says how many.
    """
    study, wave = _wave_action(study_id, wave_id)
    try:
        check_can_issue(study, wave, today())
    except InvitationError as error:
        return refused(error, partial(_wave_page, study, wave), prefix="No links issued")
    consequences = reissue_consequences(study, wave, today())
    if not confirmed() and (consequences or request.method == "GET"):
        return confirmation(f"Issue links for wave “{wave.label}”?", consequences or [
            "Each rep of the study who has not answered gets a personal link in the file you download next. "
            "Links are stored only as hashes, so that file can be downloaded only this once: keep it."],
            "Issue links and download the mail-merge CSV", url_for("pilots.wave", study_id=study.id, wave_id=wave.id))
    try:
        issued = issue_links(study, wave, current_app.config["PUBLIC_BASE_URL"], today())
    except InvitationError as error:
        return refused(error, partial(_wave_page, study, wave), prefix="No links issued")
    filename = f"links-study{study.id}-wave{wave.id}.csv"  # ASCII only: labels may hold any character
    return Response(links_csv(issued), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}", "Cache-Control": "no-store"})


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/interim", methods=["GET", "POST"])
@login_required
def interim(study_id: int, wave_id: int):
    """The interim looks of an open wave (consultants only): the bounds planned, the looks taken, and
    taking the next one once confirmed (a look is used up when taken, and kept)."""
    study, wave = _wave_action(study_id, wave_id)
    page = partial(_interim_page, study, wave)
    if request.method == "GET":
        return page()
    state = interim_state(study, wave, today())
    if state.blocked:
        return refused(InterimRefused(state.blocked), page, prefix="No look taken")
    if not confirmed():
        return confirmation(f"Take interim look {len(state.taken) + 1} of wave “{wave.label}”?", [
            f"This uses up look {len(state.taken) + 1} of the {state.planned} planned before the wave closes: it is "
            "computed now, from the responses so far, and kept; it cannot be taken again later with more responses.",
            "It shows the advice (continue, stop for a clear winner, stop for futility), the bound and z to one "
            "decimal, never means or counts: the wave is still open."],
            "Take the look", url_for("pilots.interim", study_id=study.id, wave_id=wave.id))
    try:
        take_look(study, wave, today())
    except InterimRefused as error:
        return refused(error, page, prefix="No look taken")
    flash("Interim look taken.", "info")
    return redirect(url_for("pilots.interim", study_id=study.id, wave_id=wave.id))


def _interim_page(study: Study, wave: Wave) -> str:
    return render_template("pilots/interim.html", study=study, wave=wave, state=interim_state(study, wave, today()),
                           form=ActionForm(formdata=None), alpha=INTERIM_ALPHA)


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/send", methods=["POST"])
@login_required
def wave_send(study_id: int, wave_id: int):
    """E-mail invitations (or, with ``reminder=1``, reminders) through the configured SMTP server.

    Each e-mail carries a new link, which stops the rep's unused one: when some would stop, a page
    first says how many, and the run starts once confirmed. The run is a background job (``sending.py``):
    the request enqueues it and the wave page shows how far it is.
    """
    study, wave = _wave_action(study_id, wave_id)
    page = partial(_wave_page, study, wave)  # the page a refusal is shown on
    if not mail_configured():
        return refused("No mail server is configured (MAIL_SERVER); download the links for a mail merge instead.",
                       page)
    reminder = request.form.get("reminder") == "1"
    try:
        check_can_issue(study, wave, today())
    except InvitationError as error:
        return refused(error, page, prefix="Nothing sent")
    consequences = send_consequences(study, wave, today(), reminder)
    if consequences and not confirmed():
        what = "reminders" if reminder else "invitations"
        return confirmation(f"E-mail {what} for wave “{wave.label}”?", consequences, f"E-mail the {what}",
                            url_for("pilots.wave", study_id=study.id, wave_id=wave.id),
                            hidden={"reminder": "1"} if reminder else None)
    try:
        start_sending(study, wave, current_app.config["PUBLIC_BASE_URL"], today(), reminder, actor=current_user)
    except (InvitationError, MailError) as error:
        return refused(error, page, prefix="Nothing sent")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/send-uncertain", methods=["POST"])
@login_required
def wave_resend_uncertain(study_id: int, wave_id: int):
    """Send the wave's uncertain messages again (their consumer died mid-send), each with the link it had."""
    study, wave = _wave_action(study_id, wave_id)
    page = partial(_wave_page, study, wave)
    if not mail_configured():
        return refused("No mail server is configured (MAIL_SERVER).", page)
    try:
        resend_uncertain(study, wave, today())
    except (InvitationError, MailError) as error:
        return refused(error, page, prefix="Nothing sent")
    # No count: the uncertain items of a reminder run are among the reps who have not answered.
    flash("The uncertain messages are being sent again, each with the link it carried before.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/launch", methods=["GET", "POST"])
@login_required
def launch_view(study_id: int):
    """Draft → running, once confirmed on a page that says what launching locks."""
    study = study_or_404(current_user, study_id, consultant=True)
    return _lifecycle(study, check_launch, launch, lambda: launch_consequences(study), f"Launch “{study.name}”?",
                      "Launch the study", "Not launched", "The study is running.")


@bp.route("/studies/<int:study_id>/close", methods=["GET", "POST"])
@login_required
def close_view(study_id: int):
    """Running → closed, once confirmed on a page that says how many links stop working."""
    study = study_or_404(current_user, study_id, consultant=True)
    return _lifecycle(study, check_close, close, lambda: close_consequences(study, today()),
                      f"Close “{study.name}”?", "Close the study", "Not closed",
                      "The study is closed; its links no longer work.")


def _lifecycle(study, check, action, consequences, title, button, prefix, done):
    """A step of the study's life: refused with its reason, else confirmed first, then done."""
    back = url_for("pilots.study", study_id=study.id)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    try:
        check(study)
        if not confirmed():
            return confirmation(title, consequences(), button, back)
        action(study)
    except StudyError as error:
        return confirmation(title, [], button, back, refusal=error, prefix=prefix)
    flash(done, "info")
    return redirect(back)


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


# --- changing what a study already has ------------------------------------------------------------------

WAVE_FIELDS = ("label", "opens_on", "closes_on")


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@login_required
def edit_wave_view(study_id: int, wave_id: int):
    """Change a wave's label and dates as far as they can still change; the others are shown locked, with why."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    locks = wave_locks(study, wave, today())
    locked = [name for name in WAVE_FIELDS if locks.of(name)]
    current = {"label": wave.label, "opens_on": wave.opens_on, "closes_on": wave.closes_on}
    form = (WaveDatesForm(formdata=sent_with_locked({name: current[name] for name in locked}))
            if request.method == "POST" else WaveDatesForm(data=current))
    disable(form, locked)
    page = partial(render_template, "pilots/wave_form.html", study=study, wave=wave, form=form, locks=locks)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    try:
        edit_wave(study, wave, form.label.data, form.opens_on.data, form.closes_on.data, today())
    except WaveError as error:
        return refused(error, page, form[error.field], "Not saved")
    flash(f"Wave “{wave.label}” saved: open {day(wave.opens_on)} to {day(wave.closes_on)}.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/close-early", methods=["GET", "POST"])
@login_required
def close_wave_early(study_id: int, wave_id: int):
    """Close an open wave today, once confirmed on a page that says what happens (and no exact count)."""
    study, wave = _wave_action(study_id, wave_id)
    back = url_for("pilots.wave", study_id=study.id, wave_id=wave.id)
    button = "Close the wave now"
    try:
        preview = close_early_preview(study, wave, today())
        if not confirmed():
            return confirmation(f"Close the wave “{wave.label}” today, {day(today())}?",
                                close_early_consequences(preview, study.k_threshold), button, back)
        close_early(study, wave, today())
    except WaveError as error:
        return confirmation(f"Close the wave “{wave.label}” early?", [], button, back, refusal=error,
                            prefix="Not closed")
    flash(f"Wave “{wave.label}” closed today. Its results can be read in the report.", "info")
    return redirect(back)


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/reopen", methods=["POST"])
@login_required
def reopen_wave(study_id: int, wave_id: int):
    """Reopen a wave closed early that nobody answered, up to its planned closing date."""
    study, wave = _wave_action(study_id, wave_id)
    try:
        reopen(study, wave, today())
    except WaveError as error:
        return refused(error, partial(_wave_page, study, wave), prefix="Not reopened")
    flash(f"Wave “{wave.label}” is open again until {day(wave.closes_on)}.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/delete", methods=["GET", "POST"])
@login_required
def delete_wave_view(study_id: int, wave_id: int):
    """Delete a wave that has not opened, once confirmed on a page that says what goes with it."""
    study, wave = _wave_action(study_id, wave_id)
    label, button = wave.label, "Delete the wave"
    title, back = f"Delete the wave “{label}”?", url_for("pilots.wave", study_id=study.id, wave_id=wave.id)
    try:
        preview = wave_deletion_preview(study, wave, today())
        if not confirmed():
            return confirmation(title, wave_deletion_consequences(preview), button, back)
        delete_wave(study, wave, today())
    except WaveError as error:
        return confirmation(title, [], button, back, refusal=error, prefix="Not deleted")
    flash(f"Wave “{label}” deleted.", "info")
    return redirect(url_for("pilots.study", study_id=study.id))


@bp.route("/studies/<int:study_id>/delete", methods=["GET", "POST"])
@login_required
def delete_study_view(study_id: int):
    """Delete a draft study nobody answered, once confirmed on a page that says what goes with it."""
    study = study_or_404(current_user, study_id, consultant=True)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    organisation_id, name = study.organisation_id, study.name
    title, button, back = f"Delete the study “{name}”?", "Delete the study", url_for("pilots.study", study_id=study.id)
    try:
        preview = deletion_preview(study)
        if not confirmed():
            return confirmation(title, study_deletion_consequences(preview), button, back)
        delete_study(study)
    except StudyError as error:
        return confirmation(title, [], button, back, refusal=error, prefix="Not deleted")
    flash(f"Study “{name}” deleted.", "info")
    return redirect(url_for("organisations.detail", organisation_id=organisation_id))


def _question_or_404(study: Study, question_id: int) -> Question:
    question = next((q for q in study.questions if q.id == question_id), None)
    return question if question is not None else abort(404)


@bp.route("/studies/<int:study_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def edit_question_view(study_id: int, question_id: int):
    """Edit the text, options and 'required' of one of the study's own questions, until launch."""
    study = study_or_404(current_user, study_id, consultant=True)
    question = _question_or_404(study, question_id)
    lock = instrument_lock(study, today())
    current = {"text": question.text, "options": question.options or "", "required": question.required}
    form = QuestionEditForm() if request.method == "POST" else QuestionEditForm(data=current)
    if question.kind is not QuestionKind.CHOICE:
        del form.options
    if lock or question.instrument:
        disable(form, [name for name in ("text", "options", "required") if name in form])
    page = partial(render_template, "pilots/question_form.html", study=study, question=question, form=form,
                   lock=lock)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return page(), 400
    options = tuple((form.options.data or "").splitlines()) if "options" in form else ()
    try:
        edit_question(study, question.id, form.text.data, options, form.required.data, today())
    except QuestionError as error:
        return refused(error, page, form.text, "Not saved")
    flash("Question saved.", "info")
    return redirect(url_for("pilots.questions", study_id=study.id))
