"""The public home page."""

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    """What CoachLab is and who it is for."""
    return render_template("public/home.html")
