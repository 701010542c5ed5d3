"""The report as files: JSON, CSV, XLSX and a standalone HTML page, for the views and the ``report`` command."""

from __future__ import annotations

import json
from pathlib import Path

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
    sheets = aggregate_tables(report)
    if output_format == "xlsx":
        return to_xlsx(sheets)
    if output_format == "csv":
        return to_csv(sheets["outcomes"]).encode("utf-8")
    stylesheet = (Path(current_app.static_folder) / "style.css").read_text(encoding="utf-8")
    charts = {spec.name: render(report, spec.name) for spec in chart_specs(report)}
    html = render_template("reports/standalone.html", study=study, report=report, charts=chart_specs(report),
                           svgs=charts, methods=methods_text(report), stylesheet=stylesheet)
    return html.encode("utf-8")
