"""Error pages: every error a user can cause gets a page in the site's layout, never a traceback."""

import math
import time

from flask import Flask, has_request_context, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .config import MAX_UPLOAD_MB
from .extensions import db, limiter
from .languages import REP_PATHS

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Not found"), _l("There is no page at this address. Check the link, or start from the home page.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    410: (_l("No longer available"), _l("This link has already been used or is no longer valid.")),
    413: (_l("Too large"), _l("The file or form is larger than CoachLab accepts (%(mb)s MB).", mb=MAX_UPLOAD_MB)),
    429: (_l("Too many requests"), _l("Too many attempts in a short time. Please wait a minute and try again.")),
    503: (_l("Please try again in a moment"), _l("The service is busy or under maintenance.")),
    500: (_l("Something went wrong"), _l("Sorry — something went wrong on our side. Nothing you did caused it; "
                                          "please try again in a moment.")),
}


def render_error(code: int, title: str | None = None, message: str | None = None):
    """Render the error page for ``code`` with an optional specific title and message."""
    default_title, default_message = MESSAGES.get(code, (str(code), ""))
    # A rep's page (the survey and its links) on the survey's layout: no log-in, no way off to English pages.
    rep = has_request_context() and request.path.startswith(REP_PATHS)
    return render_template("errors/error.html", code=code, title=title or default_title,
                           message=message or default_message, rep=rep), code


def init_app(app: Flask) -> None:
    """Register handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _l("Form expired"), _l("This form has expired or was not sent from CoachLab. "
                                                         "Please go back, reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        page, status = render_error(error.code)
        # Keep the headers the error carries, such as a 405's Allow.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return page, status, headers

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error):
        # Say when to come back (RFC 9110): when the oldest counted attempt leaves the window.
        page, status = render_error(429)
        current = limiter.current_limit
        if current is None:
            return page, status
        wait = max(1, math.ceil(current.window.reset_time - time.time()))
        return page, status, {"Retry-After": str(wait)}

    @app.errorhandler(InternalServerError)
    def internal_error(error):
        return render_error(500)

    @app.errorhandler(OperationalError)
    def database_unavailable(error):
        # Read-only, full or unreachable database: nothing was written (the transaction rolled back).
        db.session.rollback()
        app.logger.error("database unavailable: %s", str(getattr(error, "orig", error)).splitlines()[0])
        return render_error(503, _l("Please try again in a moment"),
                            _l("We could not save or load your data just now. Nothing was lost, and your link "
                               "still works: please try again in a few minutes."))
