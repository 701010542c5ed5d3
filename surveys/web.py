"""What every blueprint's views share: the clock, form errors in one sentence, a refusal shown,
spreadsheet downloads, and the template filters. Small on purpose: a helper belongs here only when
several audiences use it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from flask import Flask, Response, flash, redirect, url_for

from analysis.verdict import format_p

from .config import MAX_UPLOAD_MB
from .refusals import Refused
from .tabular import XLSX_TYPE, to_csv, to_xlsx


def today() -> date:
    """The date the application works in (waves open and close, submissions are dated, reports are cut)."""
    return date.today()


def flash_errors(form) -> str:
    """All of a form's error messages in one sentence."""
    return " ".join(error for errors in form.errors.values() for error in errors)


def refused(error: Refused | str, endpoint: str, prefix: str = "Not done", status: int = 409,
            **values) -> tuple[Response, int]:
    """Show a refused action: ``"<prefix>: <reason>."`` flashed, then a redirect to ``endpoint`` with ``status``.

    ``error`` is the refusal, or a whole sentence when the view refuses before calling a service
    (a form that does not validate: status 400).
    This is how the pages answer a refusal today (a redirect carrying a 4xx status), kept as it
    is; a later change re-renders the page with the message and a 4xx instead (never a redirect
    with a 4xx status, which browsers do not follow) — here,
    in this one helper, for every view that uses it.
    """
    flash(error if isinstance(error, str) else f"{prefix}: {error}.", "error")
    return redirect(url_for(endpoint, **values)), status


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


def sentence(clause: str | None) -> str:
    """A refusal's clause (``refusals``) as a sentence: its first letter capitalised, a full stop at the end.
    Unlike Jinja's ``capitalize`` it leaves the rest alone (names, labels)."""
    if not clause:
        return ""
    return clause[0].upper() + clause[1:] + ("" if clause.endswith((".", "?", "!")) else ".")


def register_template_filters(app: Flask) -> None:
    """Filters every template may use: ``pvalue``, ``num`` and ``sentence``; and the upload limit, ``max_upload_mb``."""
    app.add_template_filter(pvalue, "pvalue")
    app.add_template_filter(number, "num")
    app.add_template_filter(sentence, "sentence")
    app.add_template_global(MAX_UPLOAD_MB, "max_upload_mb")
