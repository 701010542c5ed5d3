"""What every blueprint's views share: the clock, a refusal shown on the page it came from, a
confirmation page for what cannot be undone, spreadsheet downloads, and the template filters.
Small on purpose: a helper belongs here only when several audiences use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
from flask import Flask, Response, has_request_context, render_template, request

from analysis.verdict import format_p

from .config import MAX_UPLOAD_MB
from .refusals import Refused
from .tabular import XLSX_TYPE, to_csv, to_xlsx

REFUSALS = "coachlab.refusals"  # this request's refusals without a field, shown at the top of its page


def today() -> date:
    """The date the application works in (waves open and close, submissions are dated, reports are cut)."""
    return date.today()


def sentence(reason: Refused | str | None) -> str:
    """A refusal's reason (or a lock's clause, ``studies``) as a sentence: its first letter capitalised, and
    only that one, unlike Jinja's ``capitalize`` (names, labels stay as they are); a full stop at the end.
    Also the ``sentence`` template filter; nothing (None, "") gives "".
    """
    text = str(reason or "").strip()
    if not text:
        return ""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _message(error: Refused | str, prefix: str) -> str:
    return error if isinstance(error, str) else f"{prefix}: {str(error).rstrip('.')}."


def _show_on_top(message: str) -> None:
    # Kept on the request, not on ``g``: an app context (and its ``g``) may outlive one request.
    request.environ.setdefault(REFUSALS, []).append(message)


def refused(error: Refused | str, page: Callable[[], str | tuple], field=None, prefix: str = "Not done",
            status: int = 409) -> tuple[str, int]:
    """Show a refused action on the page it came from: ``page()`` renders it again, with the form as entered.

    The message, ``"<prefix>: <reason>."`` (or ``error`` itself when it is a sentence already), stands
    next to ``field`` (a WTForms field of that page's form) or, without one, at the top of the page;
    the answer carries ``status`` (409: the study's state forbids it; 400: the input is wrong).
    Never a redirect: a browser does not follow a redirect with a 4xx status, and shows a bare
    "Redirecting…" page instead (ux review D1).
    """
    message = _message(error, prefix)
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        _show_on_top(message)
    body = page()
    return (body[0] if isinstance(body, tuple) else body), status


def confirmed() -> bool:
    """Whether this request carries the confirmation of a confirmation page (a POST with ``confirm=1``)."""
    return request.method == "POST" and request.form.get("confirm") == "1"


def confirmation(title: str, consequences: list[str], button: str, back: str, action: str | None = None,
                 hidden: dict[str, str] | None = None, refusal: Refused | str | None = None,
                 prefix: str = "Not done") -> tuple[str, int]:
    """A page that says what an action that cannot be undone will do, and asks before it is done.

    Use it in the action's own view, for a GET or a POST without ``confirm=1``::

        if not confirmed():
            return confirmation("Close the wave?", [f"…"], "Close the wave", back=url_for(…))

    The page posts back to ``action`` (default: this URL) with ``confirm=1`` and ``hidden`` fields.
    With ``refusal`` (the action would be refused now) the page says why instead, with no button,
    and status 409. No JavaScript: the confirmation is a page of its own.
    """
    if refusal is not None:
        _show_on_top(_message(refusal, prefix))
    page = render_template("confirm.html", title=title, consequences=consequences, button=button, back=back,
                           action=action or request.path, hidden=hidden or {}, can_confirm=refusal is None)
    return page, 409 if refusal is not None else 200


def send_sheets(sheets: dict[str, pd.DataFrame], fmt: str, filename: str, private: bool = False) -> Response:
    """Frames as a download: every sheet in one XLSX, or the first as CSV (cells escaped against formulas)."""
    headers = {"Content-Disposition": f"attachment; filename={filename}"}
    if private:
        headers["Cache-Control"] = "no-store"
    if fmt == "xlsx":
        return Response(to_xlsx(sheets), mimetype=XLSX_TYPE, headers=headers)
    return Response(to_csv(next(iter(sheets.values()))), mimetype="text/csv", headers=headers)


def pvalue(value) -> str:
    """p-values as people read them."""
    return format_p(value)


def number(value, digits: int = 2) -> str:
    """A number with fixed decimals, or a dash when there is none."""
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def chance(value) -> str:
    """A probability as a leader reads it: "over 99 %", "37 %", "under 1 %" (no data shows 100 %)."""
    if value is None or value != value:
        return "—"
    return "over 99 %" if value > 0.99 else "under 1 %" if value < 0.01 else f"{100 * value:.0f} %"


def register_template_filters(app: Flask) -> None:
    """Filters every template may use: ``pvalue``, ``num`` and ``sentence``; the upload limit, ``max_upload_mb``;
    and ``refusals``, this request's refusals shown at the top of the page (``base.html``)."""
    app.add_template_filter(pvalue, "pvalue")
    app.add_template_filter(number, "num")
    app.add_template_filter(chance, "chance")
    app.add_template_filter(sentence, "sentence")
    app.add_template_global(MAX_UPLOAD_MB, "max_upload_mb")
    app.context_processor(lambda: {"refusals": request.environ.get(REFUSALS, []) if has_request_context() else []})
