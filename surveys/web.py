"""What every blueprint's views share: the clock, form errors in one sentence, spreadsheet downloads,
and the template filters. Small on purpose: a helper belongs here only when several audiences use it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from flask import Flask, Response

from analysis.verdict import format_p

from .tabular import XLSX_TYPE, to_csv, to_xlsx


def today() -> date:
    """The date the application works in (waves open and close, submissions are dated, reports are cut)."""
    return date.today()


def flash_errors(form) -> str:
    """All of a form's error messages in one sentence."""
    return " ".join(error for errors in form.errors.values() for error in errors)


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


def register_template_filters(app: Flask) -> None:
    """Filters every template may use: ``pvalue`` and ``num``."""
    app.add_template_filter(pvalue, "pvalue")
    app.add_template_filter(number, "num")
