"""The audit log of an organisation or a study, as a page and as CSV/XLSX. There is nothing to edit."""

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from ..access import organisation_or_404, study_or_404
from ..audit import events, events_frame, words
from ..web import send_sheets

bp = Blueprint("activity", __name__)

FORMATS = ("csv", "xlsx")


@bp.route("/organisations/<int:organisation_id>/activity")
@login_required
def organisation_log(organisation_id: int):
    """Every act on the organisation and its studies, newest first (consultants only)."""
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    return render_template("activity/log.html", subject=organisation.name, entries=events(organisation.id),
                           words=words, download="activity.organisation_download",
                           values={"organisation_id": organisation.id})


@bp.route("/organisations/<int:organisation_id>/activity.<fmt>")
@login_required
def organisation_download(organisation_id: int, fmt: str):
    organisation = organisation_or_404(current_user, organisation_id, consultant=True)
    if fmt not in FORMATS:
        abort(404)
    return send_sheets({"activity": events_frame(events(organisation.id))}, fmt,
                       f"organisation{organisation.id}-activity.{fmt}", private=True)


@bp.route("/studies/<int:study_id>/activity")
@login_required
def study_log(study_id: int):
    """Every act on the study, newest first (consultants only)."""
    study = study_or_404(current_user, study_id, consultant=True)
    return render_template("activity/log.html", subject=study.name, entries=events(study_id=study.id),
                           words=words, download="activity.study_download", values={"study_id": study.id})


@bp.route("/studies/<int:study_id>/activity.<fmt>")
@login_required
def study_download(study_id: int, fmt: str):
    study = study_or_404(current_user, study_id, consultant=True)
    if fmt not in FORMATS:
        abort(404)
    return send_sheets({"activity": events_frame(events(study_id=study.id))}, fmt,
                       f"study{study.id}-activity.{fmt}", private=True)


@bp.app_context_processor
def recent_activity():
    """``recent_activity(organisation_id=…)`` / ``(study_id=…)`` for the pages that show the last acts."""
    def recent(organisation_id: int | None = None, study_id: int | None = None, limit: int = 5):
        return events(organisation_id, study_id, limit=limit)
    return {"recent_activity": recent, "words": words}
