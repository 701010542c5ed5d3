"""Consultants' views that change what a study already has: the study's own questions.

A refusal re-renders the page it came from with the message beside the field and a 4xx status.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..access import study_or_404
from ..forms import disable
from ..models import Question, QuestionKind
from ..studies import instrument_lock
from ..web import today
from .forms import QuestionEditForm
from .questions import QuestionError, edit_question
from .views import bp


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
