"""Log-in and log-out for consultants and leaders, with idle and absolute session timeouts."""

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..accounts import account_key, authenticate, end_all_sessions, load_user
from ..attempts import FAILED_LOGINS, wait_in_words
from ..extensions import limiter, login_manager
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


@bp.before_app_request
def enforce_session_timeouts():
    """A session ends after SESSION_IDLE_TIMEOUT without a request, and SESSION_ABSOLUTE_TIMEOUT after log-in.

    Static files neither count as activity nor touch the session: a stylesheet's response carried a
    fresh session cookie, which could put back a cookie the browser had just cleared.
    """
    if request.endpoint == "static" or "_user_id" not in session:  # this request's own session
        return None
    now = time.time()
    started, seen = session.get("auth_started"), session.get("auth_seen")
    config = current_app.config
    if started is None or now - started > config["SESSION_ABSOLUTE_TIMEOUT"] or (
            seen is not None and now - seen > config["SESSION_IDLE_TIMEOUT"]):
        logout_user()
        for key in ("auth_started", "auth_seen"):
            session.pop(key, None)
        flash("Your session has expired. Please log in again.", "info")
        return redirect(url_for("auth.login", next=request.path if request.method == "GET" else None))
    session["auth_seen"] = now
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code != 302)
def login():
    """Show the log-in form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("pilots.studies"))
    form = LoginForm()
    if form.validate_on_submit():
        # The account lock: LOGIN_ACCOUNT_LIMIT failures for this address, from whatever client
        # addresses, and it is locked for the rest of the window. An address without an account is
        # counted and answered the same way, and while locked the password is not even checked.
        account = account_key(form.email.data)
        wait = FAILED_LOGINS.seconds_locked(account)
        if wait:
            flash(f"Too many failed log-ins for this e-mail address. Please wait {wait_in_words(wait)} and try "
                  "again.", "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            FAILED_LOGINS.clear(account)
            login_user(user)
            session["auth_started"] = session["auth_seen"] = time.time()
            return redirect(_safe_next(request.args.get("next")) or url_for("pilots.studies"))
        FAILED_LOGINS.record(account)
        flash("That e-mail and password do not match an active account.", "error")
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session — and every other session of this user (a copied cookie dies too)."""
    end_all_sessions(current_user)
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("public.home"))
