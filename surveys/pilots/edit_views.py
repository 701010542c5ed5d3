"""Consultants' views that change what a study already has: a wave's dates, closing a wave early and
reopening it, deleting a draft wave or study, editing the study's own questions.

A refusal re-renders the page it came from with the message beside the field and a 4xx status; an
action that cannot be undone (closing early, deleting) first shows what it will do and runs only when
that page is sent back with ``confirm=yes``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import study_or_404, wave_or_404
from ..forms import disable, sent_with_locked
from ..models import Question, QuestionKind
from ..studies import StudyError, day, delete_study, deletion_preview, instrument_lock
from ..web import today
from .forms import ActionForm, QuestionEditForm, WaveDatesForm
from .questions import QuestionError, edit_question
from .views import bp, wave_page
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

WAVE_FIELDS = ("label", "opens_on", "closes_on")


def _confirmed() -> bool:
    """Whether the request is the confirmation page sent back (a valid form with ``confirm=yes``)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return request.form.get("confirm") == "yes"


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
    status = 200
    if form.validate_on_submit():
        try:
            edit_wave(study, wave, form.label.data, form.opens_on.data, form.closes_on.data, today())
        except WaveError as error:
            form[error.field].errors.append(f"Not saved: {error}.")
            status = 409
        else:
            flash(f"Wave “{wave.label}” saved: open {day(wave.opens_on)} to {day(wave.closes_on)}.", "info")
            return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))
    elif form.errors:
        status = 400
    return render_template("pilots/wave_form.html", study=study, wave=wave, form=form, locks=locks), status


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/close-early", methods=["POST"])
@login_required
def close_wave_early(study_id: int, wave_id: int):
    """Close an open wave today: first a page that says what happens, then (``confirm=yes``) the close."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    confirmed = _confirmed()
    try:
        preview = close_early_preview(study, wave, today())
        if confirmed:
            close_early(study, wave, today())
    except WaveError as error:
        return render_template("pilots/confirm_close_wave.html", study=study, wave=wave, preview=None,
                               refusal=f"Not closed: {error}.", form=ActionForm()), 409
    if not confirmed:
        return render_template("pilots/confirm_close_wave.html", study=study, wave=wave, preview=preview,
                               form=ActionForm(), k=study.k_threshold)
    flash(f"Wave “{wave.label}” closed today. Its results can be read in the report.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/reopen", methods=["POST"])
@login_required
def reopen_wave(study_id: int, wave_id: int):
    """Reopen a wave closed early that nobody answered, up to its planned closing date."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        reopen(study, wave, today())
    except WaveError as error:
        return wave_page(study, wave, 409, refusal=f"Not reopened: {error}.")
    flash(f"Wave “{wave.label}” is open again until {day(wave.closes_on)}.", "info")
    return redirect(url_for("pilots.wave", study_id=study.id, wave_id=wave.id))


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>/delete", methods=["POST"])
@login_required
def delete_wave_view(study_id: int, wave_id: int):
    """Delete a wave that has not opened: first what goes with it, then (``confirm=yes``) the deletion."""
    study = study_or_404(current_user, study_id, consultant=True)
    wave = wave_or_404(study, wave_id)
    confirmed = _confirmed()
    label = wave.label
    try:
        preview = wave_deletion_preview(study, wave, today())
        if confirmed:
            delete_wave(study, wave, today())
    except WaveError as error:
        return render_template("pilots/confirm_delete.html", study=study, what="wave",
                               refusal=f"Not deleted: {error}.",
                               cancel=url_for("pilots.wave", study_id=study.id, wave_id=wave.id),
                               form=ActionForm()), 409
    if not confirmed:
        return render_template("pilots/confirm_delete.html", study=study, what="wave", wave_deletion=preview,
                               cancel=url_for("pilots.wave", study_id=study.id, wave_id=wave.id), form=ActionForm())
    flash(f"Wave “{label}” deleted.", "info")
    return redirect(url_for("pilots.study", study_id=study.id))


@bp.route("/studies/<int:study_id>/delete", methods=["POST"])
@login_required
def delete_study_view(study_id: int):
    """Delete a draft study nobody answered: first what goes with it, then (``confirm=yes``) the deletion."""
    study = study_or_404(current_user, study_id, consultant=True)
    confirmed = _confirmed()
    organisation_id, name = study.organisation_id, study.name
    try:
        preview = deletion_preview(study)
        if confirmed:
            delete_study(study)
    except StudyError as error:
        return render_template("pilots/confirm_delete.html", study=study, what="study",
                               refusal=f"Not deleted: {error}.", cancel=url_for("pilots.study", study_id=study.id),
                               form=ActionForm()), 409
    if not confirmed:
        return render_template("pilots/confirm_delete.html", study=study, what="study", study_deletion=preview,
                               cancel=url_for("pilots.study", study_id=study.id), form=ActionForm())
    flash(f"Study “{name}” deleted.", "info")
    return redirect(url_for("organisations.detail", organisation_id=organisation_id))


def _question_or_404(study, question_id: int) -> Question:
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
    status = 200
    if form.validate_on_submit():
        options = tuple((form.options.data or "").splitlines()) if "options" in form else ()
        try:
            edit_question(study, question.id, form.text.data, options, form.required.data, today())
        except QuestionError as error:
            form.text.errors.append(f"Not saved: {error}.")
            status = 409
        else:
            flash("Question saved.", "info")
            return redirect(url_for("pilots.questions", study_id=study.id))
    elif form.errors:
        status = 400
    return render_template("pilots/question_form.html", study=study, question=question, form=form,
                           lock=lock), status
