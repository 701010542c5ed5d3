"""Consultants' and leaders' view of pilot studies."""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from .access import study_or_404, visible_studies
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
