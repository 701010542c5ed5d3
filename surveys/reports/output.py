"""The report as files: JSON, CSV, XLSX and a standalone HTML page, for the views and the ``report`` command."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
from flask import current_app, render_template

from analysis import json_safe

from ..models import Role, Study
from ..refusals import Refused
from ..tabular import to_csv, to_xlsx
from ..web import today
from .charts import chart_specs, render
from .report import Report, ReportUnavailable, build_report
from .tables import aggregate_tables, methods_text


def json_bytes(data: dict) -> bytes:
    """``data`` as strict JSON (no NaN): what ``report.json`` serves."""
    return json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False).encode("utf-8")


def report_json(report: Report) -> bytes:
    """The JSON of an available report."""
    return json_bytes({"available": True, **report.to_dict()})


def tables_csv(sheets: dict[str, pd.DataFrame]) -> str:
    """Every table in one CSV: one long table whose first column, ``table``, names the table a row
    belongs to (about, verdict, outcomes, tests, pairs, …) and whose other columns are the union of
    the tables' columns, empty where a table has no such column. The ``about`` rows come first, so
    the top lines say which study, organisation, wave and filters the file holds."""
    frames = [frame.astype(object).assign(table=name) for name, frame in sheets.items() if not frame.empty]
    long = pd.concat(frames, ignore_index=True, sort=False) if frames else pd.DataFrame()
    return to_csv(long[["table", *[c for c in long.columns if c != "table"]]] if frames else long)


def tables_file(report: Report, fmt: str) -> bytes:
    """The report's tables as a CSV (one long table) or an XLSX (one sheet per table, ``about`` first)."""
    sheets = aggregate_tables(report, today())
    return to_xlsx(sheets) if fmt == "xlsx" else tables_csv(sheets).encode("utf-8")


def _slug(text: str) -> str:
    """``"Up to 7 reps"`` → ``"up-to-7-reps"``; letters a file name cannot keep add a short hash instead."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    if re.sub(r"\W|_", "", text.lower()) != slug.replace("-", ""):
        slug = f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:6]}".strip("-")
    return slug


def download_name(report: Report, suffix: str) -> str:
    """A file name saying which study, wave and filters it holds: ``study1-follow-up-region-north-report.csv``."""
    parts = [f"study{report.study_id}", _slug(report.wave)]
    if report.filters.region is not None:
        parts += ["region", _slug(report.filters.region)]
    if report.filters.band is not None:
        parts += ["size", _slug(report.filters.band)]
    return "-".join([*parts, suffix])


def write_report(study: Study, args: dict, output_format: str) -> bytes:
    """The report as file content for the ``report`` command (full, consultant's view).

    Raises ``Refused`` when there is nothing to report or the wave does not exist.
    """
    if args.get("wave") and args["wave"] not in [w.label for w in study.waves]:
        labels = ", ".join(w.label for w in study.waves) or "none"
        raise Refused(f"study {study.id} has no wave {args['wave']!r} (waves: {labels})")
    try:
        report = build_report(study, args, Role.CONSULTANT, today())
    except ReportUnavailable as missing:
        raise Refused(missing.message) from None
    except ValueError as error:  # data the analysis cannot take: one line, exit 2, as before the refactor
        raise Refused(f"the report cannot be computed: {error}") from None
    if output_format == "json":
        return report_json(report)
    if output_format in ("xlsx", "csv"):
        return tables_file(report, output_format)
    stylesheet = (Path(current_app.static_folder) / "style.css").read_text(encoding="utf-8")
    charts = {spec.name: render(report, spec.name) for spec in chart_specs(report)}
    html = render_template("reports/standalone.html", study=study, report=report, charts=chart_specs(report),
                           svgs=charts, methods=methods_text(report), stylesheet=stylesheet)
    return html.encode("utf-8")
