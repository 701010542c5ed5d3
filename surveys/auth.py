"""Log-in and log-out for consultants and leaders."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .accounts import authenticate, load_user
from .extensions import login_manager
from .forms import LoginForm

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see this page."
login_manager.session_protection = "strong"
login_manager.user_loader(load_user)


def _safe_next(target: str | None) -> str | None:
    """Only a local path may be a redirect target after log-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the log-in form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("pilots.studies"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("pilots.studies"))
        flash("That e-mail and password do not match an active account.", "error")
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("public.home"))
