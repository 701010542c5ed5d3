"""Log-in and log-out for consultants and leaders, with idle and absolute session timeouts; setting a
password through a one-time link (an invitation or a reset) and asking for a reset."""

import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..accounts import (
    AccountError,
    LinkInvalid,
    account_key,
    authenticate,
    end_all_sessions,
    live_account_token,
    load_user,
    set_password_by_link,
    token_hours,
)
from ..attempts import FAILED_LOGINS, RESET_REQUESTS, wait_in_words
from ..extensions import limiter, login_manager
from ..mail import mail_configured
from ..models import TokenPurpose
from .forms import ForgotPasswordForm, LoginForm, SetPasswordForm
from .passwords import request_password_reset

bp = Blueprint("auth", __name__)

SIGNED_OUT_ELSEWHERE = ("You were signed out because you logged out on another device or your password was changed "
                        "(or your access to CoachLab was removed). Please log in again.")
# The token is in the address of the set-password page: no referrer carries it away, no cache keeps the page.
LINK_PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
# Pages whose address carries a token: the session hooks never send them to the log-in page, whose
# ``next=`` would copy the token into another address (and the person would lose the link's page).
TOKEN_PAGES = {"auth.set_password", "respond.redeem"}

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
def say_when_a_session_ended_elsewhere():
    """A session whose account logged out elsewhere, changed its password or lost its access says so, once (D23).

    Such a cookie still names the user, but with an epoch that has moved on, so the loader finds nobody.
    """
    if request.endpoint == "static" or request.endpoint in TOKEN_PAGES or "_user_id" not in session:
        return None
    if current_user.is_authenticated or "_user_id" not in session:  # strong protection may have dropped it
        return None
    logout_user()
    for key in ("auth_started", "auth_seen"):
        session.pop(key, None)
    flash(SIGNED_OUT_ELSEWHERE, "info")
    return redirect(url_for("auth.login", next=_safe_next(request.path) if request.method == "GET" else None))


@bp.before_app_request
def enforce_session_timeouts():
    """A session ends after SESSION_IDLE_TIMEOUT without a request, and SESSION_ABSOLUTE_TIMEOUT after log-in.

    Static files neither count as activity nor touch the session: a stylesheet's response carried a
    fresh session cookie, which could put back a cookie the browser had just cleared.
    """
    if request.endpoint == "static" or request.endpoint in TOKEN_PAGES or "_user_id" not in session:
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
            form.email.errors.append(
                f"Too many failed log-ins for this e-mail address: it is locked for {wait_in_words(wait)}, and until "
                "then even the right password is refused. Forgot your password? Choosing a new one unlocks it.")
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
    for key in ("auth_started", "auth_seen"):
        session.pop(key, None)
    flash("You are logged out on every device: here, and wherever else you were signed in.", "info")
    return redirect(url_for("public.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    page = {"hours": token_hours(TokenPurpose.RESET), "mail": mail_configured()}
    if form.validate_on_submit():
        # Counted per address as typed, whether or not an account has it, like the log-in lock.
        address = account_key(form.email.data)
        wait = RESET_REQUESTS.seconds_locked(address)
        if wait:
            form.email.errors.append("A link was asked for this address several times in a short while: please "
                                     f"try again in {wait_in_words(wait)}.")
            return render_template("auth/forgot_password.html", form=form, **page), 429, {"Retry-After": str(wait)}
        RESET_REQUESTS.record(address)
        request_password_reset(address, current_app.config["PUBLIC_BASE_URL"])
        return render_template("auth/reset_requested.html", email=address, **page)
    return render_template("auth/forgot_password.html", form=form, **page), 400 if form.errors else 200


@bp.route("/password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"])
def set_password(token: str):
    """Choose a password through a one-time link; then the person is signed in."""
    record = live_account_token(token)
    if record is None:
        return render_template("auth/link_invalid.html"), 410, LINK_PAGE_HEADERS
    purpose, email = record.purpose, record.user.email
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = set_password_by_link(token, form.password.data)
        except LinkInvalid:
            return render_template("auth/link_invalid.html"), 410, LINK_PAGE_HEADERS
        except AccountError as error:
            form.password.errors.append(str(error).capitalize() + ".")
        else:
            session.clear()  # whoever was signed in in this browser before
            login_user(user)
            session["auth_started"] = session["auth_seen"] = time.time()
            flash("Your password is set and you are signed in." if purpose is TokenPurpose.INVITE else
                  "Your new password is set and you are signed in. Every other device where your account was "
                  "signed in has been signed out.", "info")
            return redirect(url_for("pilots.studies"))
    return render_template("auth/set_password.html", form=form, email=email, purpose=purpose.value), (
        400 if form.errors else 200), LINK_PAGE_HEADERS
