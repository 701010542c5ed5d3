"""The comparison report for leaders (and consultants): page, JSON, charts and aggregate tables."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from .. import cache
from ..access import study_or_404
from ..plans import plan_content, plan_of, wave_deviations
from ..studies import ANALYSIS_SETTINGS
from ..tabular import XLSX_TYPE
from ..web import today
from .charts import chart_specs, render
from .filters import BANDS
from .output import download_name, json_bytes, report_json, tables_file
from .report import ReportUnavailable
from .snapshots import report_for
from .tables import methods_text

bp = Blueprint("reports", __name__)

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"  # an image: styles, never scripts
PAGE_CACHE_SIZE = 128  # finished pages and JSON per report version and query


def _cached_output(report, kind: str, make):
    """The rendered output of ``report`` for this request's query (built once per data version)."""
    return cache.named("report_pages", PAGE_CACHE_SIZE).get_or_make((report.version, kind, request.query_string), make)


def _with_report(unavailable: Callable[[ReportUnavailable], ResponseReturnValue]):
    """For the views of one study's report: the view gets ``(study, report, **url values)``, built for
    this user and query; while the study has no report to show, ``unavailable(missing)`` answers."""

    def decorate(view):
        @functools.wraps(view)
        def with_report(study_id: int, **values):
            study = study_or_404(current_user, study_id)
            try:
                report = report_for(study, request.args, current_user.role, today())
            except ReportUnavailable as missing:
                return unavailable(missing)
            return view(study, report, **values)

        return with_report

    return decorate


def _unavailable_page(missing: ReportUnavailable):
    return render_template("reports/unavailable.html", study=missing.study, message=missing.message)


def _unavailable_json(missing: ReportUnavailable):
    return Response(json_bytes({"available": False, "message": missing.message}), mimetype="application/json")


def _not_found(missing: ReportUnavailable):
    abort(404)


@bp.route("/studies/<int:study_id>/plan")
@login_required
def plan(study_id: int):
    """The analysis plan frozen at launch, with its SHA-256 and the deviations since (a draft: as it stands)."""
    study = study_or_404(current_user, study_id)
    frozen = plan_of(study)
    content = json.loads(frozen.content) if frozen is not None else plan_content(study)
    changes = [{"when": c.changed_at.date().isoformat(), "setting": c.setting, "old": c.old_value,
                "new": c.new_value, "reason": c.reason, "who": c.changed_by.email if c.changed_by else None}
               for c in study.design_changes if c.setting in ANALYSIS_SETTINGS
               and (frozen is None or c.changed_at >= frozen.locked_at)]
    if frozen is not None:
        changes += wave_deviations(frozen, study)
    return render_template("reports/plan.html", study=study, plan=frozen, content=content, changes=changes)


@bp.route("/studies/<int:study_id>/plan.json")
@login_required
def plan_file(study_id: int):
    """The frozen plan's canonical text, byte for byte what its SHA-256 was computed from."""
    study = study_or_404(current_user, study_id)
    frozen = plan_of(study)
    if frozen is None:
        abort(404)
    return Response(frozen.content.encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=analysis-plan-study-{study.id}.json",
        "X-Content-SHA256": frozen.sha256})


@bp.route("/studies/<int:study_id>/report")
@login_required
@_with_report(_unavailable_page)
def page(study, report):
    """The report: verdict first, the debate tested, outcome tables, performance, reliability, charts.

    Only the report itself is cached; the page around it (the log-out form's CSRF token, messages)
    belongs to this viewer and is rendered for every request.
    """
    def article():
        html = render_template("reports/_article.html", study=study, report=report, charts=chart_specs(report),
                               methods=methods_text(report), bands=[b for b, _, _ in BANDS], query=request.args)
        # The output of an autoescaped template, not input: it may be marked safe.
        return Markup(html)  # noqa: S704  # nosec B704

    return render_template("reports/report.html", report=report, article=_cached_output(report, "page", article))


@bp.route("/studies/<int:study_id>/report.json")
@login_required
@_with_report(_unavailable_json)
def as_json(study, report):
    """The report as JSON; counts are under keys named ``n``."""
    body = _cached_output(report, "json", lambda: report_json(report))
    return Response(body, mimetype="application/json")


@bp.route("/studies/<int:study_id>/report/charts/<name>.svg")
@login_required
@_with_report(_not_found)
def chart(study, report, name: str):
    """One chart as SVG."""
    svg = render(report, name)
    if svg is None:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/studies/<int:study_id>/report/tables.<fmt>")
@login_required
@_with_report(_not_found)
def tables(study, report, fmt: str):
    """The aggregate tables (about, verdict, means per model, tests, pairs, …) as CSV or XLSX, escaped
    against formulas, named after the study, wave and filters they hold."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    name = download_name(report, f"report.{fmt}")
    return Response(tables_file(report, fmt), mimetype=XLSX_TYPE if fmt == "xlsx" else "text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
