"""Consultants' and leaders' view of pilot studies."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from .access import consultant_required, study_or_404, visible_studies
from .forms import QuestionForm
from .models import QuestionKind
from .questions import NewQuestion, QuestionError, add_question, instrument_locked, remove_question
from .studies import study_overview

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
    return render_template("pilots/study.html", study=study, overview=study_overview(study))


@bp.route("/studies/<int:study_id>/questions", methods=["GET", "POST"])
@login_required
def questions(study_id: int):
    """The study's questions, and a form to add its own."""
    study = study_or_404(current_user, study_id)
    form = QuestionForm()
    status = 200
    if form.is_submitted():
        if current_user.role.value != "consultant":
            abort(403)
        if form.validate():
            try:
                add_question(study, NewQuestion(
                    text=form.text.data, kind=QuestionKind(form.kind.data), required=form.required.data,
                    options=tuple((form.options.data or "").splitlines()), minimum=form.minimum.data,
                    maximum=form.maximum.data, dimension=form.dimension.data,
                    reverse_scored=form.reverse_scored.data), date.today())
            except QuestionError as error:
                form.text.errors.append(f"Not added: {error}.")
            else:
                flash("Question added.", "info")
                return redirect(url_for("pilots.questions", study_id=study.id))
        status = 400
    return render_template("pilots/questions.html", study=study, form=form,
                           locked=instrument_locked(study, date.today())), status


@bp.route("/studies/<int:study_id>/questions/<int:question_id>/delete", methods=["POST"])
@login_required
@consultant_required
def delete_question(study_id: int, question_id: int):
    """Remove one of the study's own questions."""
    study = study_or_404(current_user, study_id)
    try:
        remove_question(study, question_id, date.today())
    except LookupError:
        abort(404)
    except QuestionError as error:
        flash(f"Not removed: {error}.", "error")
        return redirect(url_for("pilots.questions", study_id=study.id)), 409
    flash("Question removed.", "info")
    return redirect(url_for("pilots.questions", study_id=study.id))
