"""The comparison report for leaders (and consultants): page, JSON, charts and aggregate tables."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user, login_required

from analysis.cli import json_safe

from .access import study_or_404
from .cache import BoundedCache
from .exports import XLSX_TYPE, to_csv, to_xlsx
from .report_charts import chart_specs, render
from .report_tables import aggregate_tables, methods_text
from .reporting import BANDS, ReportUnavailable, build_report

bp = Blueprint("reports", __name__)

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"  # an image: styles, never scripts
_rendered = BoundedCache(128)  # finished pages and JSON per report version and query


def _cached_output(report, kind: str, make):
    """The rendered output of ``report`` for this request's query (built once per data version)."""
    return _rendered.get_or_make((report.version, kind, request.query_string), make)


def clear_rendered() -> None:
    """Forget the rendered pages."""
    _rendered.clear()


def _report(study_id: int):
    study = study_or_404(current_user, study_id)
    return study, build_report(study, request.args, current_user.role, date.today())


@bp.route("/studies/<int:study_id>/report")
@login_required
def page(study_id: int):
    """The report: verdict first, the debate tested, outcome tables, performance, reliability, charts."""
    try:
        study, report = _report(study_id)
    except ReportUnavailable as missing:
        return render_template("reports/unavailable.html", study=missing.study, message=missing.message)
    return _cached_output(report, "page", lambda: render_template(
        "reports/report.html", study=study, report=report, charts=chart_specs(report), methods=methods_text(report),
        bands=[b for b, _, _ in BANDS], query=request.args))


@bp.route("/studies/<int:study_id>/report.json")
@login_required
def as_json(study_id: int):
    """The report as JSON; counts are under keys named ``n``."""
    try:
        _, report = _report(study_id)
    except ReportUnavailable as missing:
        return _json({"available": False, "message": missing.message})
    body = _cached_output(report, "json", lambda: _json({"available": True, **report.to_dict()}).get_data())
    return Response(body, mimetype="application/json")


def _json(data: dict) -> Response:
    return Response(json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False), mimetype="application/json")


@bp.route("/studies/<int:study_id>/report/charts/<name>.svg")
@login_required
def chart(study_id: int, name: str):
    """One chart as SVG."""
    try:
        _, report = _report(study_id)
    except ReportUnavailable:
        abort(404)
    svg = render(report, name)
    if svg is None:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/studies/<int:study_id>/report/tables.<fmt>")
@login_required
def tables(study_id: int, fmt: str):
    """The aggregate tables (means per model, tests, effects) as CSV or XLSX, escaped against formulas."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        _, report = _report(study_id)
    except ReportUnavailable:
        abort(404)
    sheets = aggregate_tables(report)
    headers = {"Content-Disposition": f"attachment; filename=study{study_id}-report.{fmt}"}
    if fmt == "xlsx":
        return Response(to_xlsx(sheets), mimetype=XLSX_TYPE, headers=headers)
    return Response(to_csv(sheets["outcomes"]), mimetype="text/csv", headers=headers)



@bp.app_template_filter("pvalue")
def pvalue(value) -> str:
    """p-values as people read them."""
    from analysis.verdict import format_p

    return format_p(value)


@bp.app_template_filter("num")
def number(value, digits: int = 2) -> str:
    """A number with fixed decimals, or a dash when there is none."""
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def write_report(study, args: dict, output_format: str) -> bytes:
    """The report as file content for the ``report`` command (full, consultant's view).

    Raises ``ValueError`` when there is nothing to report or the wave does not exist.
    """
    from .models import Role

    if args.get("wave") and args["wave"] not in [w.label for w in study.waves]:
        labels = ", ".join(w.label for w in study.waves) or "none"
        raise ValueError(f"study {study.id} has no wave {args['wave']!r} (waves: {labels})")
    try:
        report = build_report(study, args, Role.CONSULTANT, date.today())
    except ReportUnavailable as missing:
        raise ValueError(missing.message) from None
    if output_format == "json":
        return _json({"available": True, **report.to_dict()}).get_data()
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
