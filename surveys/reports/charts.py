"""The report's charts: which numbers each one shows (from the report, so only shown numbers) and its caption."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analysis import figures
from analysis.disclosure import CATEGORIES

from .. import cache
from ..outcomes import SURVEY, outcome
from .report import Report

# Rating items show three categories of answers (analysis.disclosure, rule 3), never single answers.
AGREEMENT = CATEGORIES
AGREEMENT_LABELS = ("Disagree (1–2)", "Neither (3)", "Agree (4–5)")
AGREEMENT_TINTS = (figures.AGREEMENT_COLOURS[0], figures.AGREEMENT_COLOURS[2], figures.AGREEMENT_COLOURS[4])
CHARTS = ("profile", "agreement", "forest", "performance", "trend", "flow")
CHART_CACHE_SIZE = 256


@dataclass(frozen=True)
class ChartSpec:
    """A chart of the report: title, caption, alternative text, and how to draw it."""

    name: str
    title: str
    caption: str
    alt: str
    draw: Callable[[], figures.Chart]


def _profile(report: Report):
    rows = [r for r in report.compared if r.section in ("responsibilities", "claims", "overall", "custom")
            and r.key not in ("recommend", "sessions_per_rep_month")]
    if not rows:
        return None
    labels = [r.label for r in rows]
    values = {r.label: {d.group: (d.mean, d.ci_low, d.ci_high) for d in r.comparison.descriptives} for r in rows}

    def draw(render=True):
        return figures.dimension_profile(labels, report.models, values, render=render)

    return ChartSpec("profile", "How the coaching models score, dimension by dimension",
                     "Mean score (1–5) with its 95 % confidence interval for each coaching model. Intervals that "
                     "barely overlap point to a real difference; the table below says which ones survive the "
                     "multiplicity correction.", draw(False).alt, draw)


def _agreement(report: Report):
    row = report.row("satisfaction")
    if row is None or row.comparison is None or not row.comparison.distribution:
        return None
    shares = {d.group: dict(d.shares) for d in row.comparison.distribution}
    models = [d.group for d in row.comparison.distribution]
    question = "Overall, I am satisfied with the coaching I receive."

    def draw(render=True):
        return figures.agreement_bars(models, shares, AGREEMENT_LABELS, AGREEMENT, question, render=render,
                                      colours=AGREEMENT_TINTS, agree=AGREEMENT[-1:])

    return ChartSpec("agreement", "Overall satisfaction: disagree, neither, agree",
                     "Share of answers to the overall-satisfaction item per coaching model that disagree (1–2), "
                     "neither agree nor disagree (3) or agree (4–5); “prefer not to say” left out. Single answers "
                     "are not shown, so that no answer given by only a few people can be told.", draw(False).alt, draw)


def _forest(report: Report):
    if report.analysis is None:
        return None
    named = {(f.outcome, d.higher, d.lower) for f in report.analysis.verdict.findings for d in f.differences}
    rows = []
    for row in report.compared:
        # Only differences in points of an answer scale share the axis: not CRM figures, not sessions a
        # month (their own table), not the 0–10 recommendation.
        if outcome(row.key).source != SURVEY or row.key == "recommend":
            continue
        comparison = row.comparison
        intervals = _intervals(comparison)
        for a, b, diff, low, high in intervals:
            significant = (row.key, b, a) in named or (row.key, a, b) in named
            rows.append((f"{row.label}: {b} − {a}", diff, low, high, significant))
    if not rows:
        return None

    def draw(render=True):
        return figures.forest_plot(rows, render=render)

    return ChartSpec("forest", "Every pairwise difference, with its uncertainty",
                     "Difference between two coaching models (the second minus the first) on each survey scale, in "
                     "points, with a 95 % confidence interval. Dark squares are differences that survive the "
                     "correction for testing many outcomes; coaching sessions are compared in their own table.",
                     draw(False).alt, draw)


def _intervals(comparison) -> list[tuple[str, str, float, float, float]]:
    if comparison.chosen in ("mixed_model", "ancova") and comparison.model_contrasts:
        return [(c.a, c.b, c.diff, c.ci_low, c.ci_high) for c in comparison.model_contrasts]
    if comparison.chosen == "team_means" and comparison.team_means:
        return [(d.a, d.b, d.diff, d.ci_low, d.ci_high) for d in comparison.team_means]
    if comparison.chosen == "randomisation" and comparison.randomisation:
        return [(d.a, d.b, d.diff, d.ci_low, d.ci_high) for d in comparison.randomisation.pairs]
    source = comparison.games_howell if comparison.games_howell else comparison.tukey
    return [(d.a, d.b, d.diff, d.ci_low, d.ci_high) for d in source]


def _performance(report: Report):
    if report.performance is None or "quota_attainment" not in report.performance.metrics:
        return None
    values = {m: ((v.before.mean, v.before.ci_low, v.before.ci_high), (v.after.mean, v.after.ci_low, v.after.ci_high))
              for m, v in report.performance.metrics["quota_attainment"].items()}
    if not values:
        return None
    periods = (report.performance.before, report.performance.after)

    def draw(render=True):
        return figures.before_after(report.models, values, "Quota attainment (%)", periods, render=render)

    return ChartSpec("performance", "Quota attainment before and after the pilot started",
                     f"Mean quota attainment of the reps of each coaching model in {periods[0]} (before) and "
                     f"{periods[1]} (after), with 95 % confidence intervals.", draw(False).alt, draw)


def _trend(report: Report):
    if not report.trend.means or len(report.waves) < 2:
        return None
    outcome = report.trend.outcome
    label = report.row(outcome).label if report.row(outcome) else outcome
    means = {m: {w: (d.mean, d.ci_low, d.ci_high) for w, d in waves.items()}
             for m, waves in report.trend.means.items()}
    waves = [w for w in report.waves if any(w in values for values in means.values())]

    def draw(render=True):
        return figures.trend(waves, report.models, means, label, render=render)

    return ChartSpec("trend", f"{label.capitalize()} across the survey waves",
                     f"Mean {label} per coaching model in each wave, with 95 % confidence intervals; the baseline "
                     "was measured before the coaching models started.", draw(False).alt, draw)


def _flow(report: Report):
    """The CONSORT-style flow of reps per model for the report's wave (the flow table's numbers only)."""
    flow = report.flow
    if flow is None or not any(r.responded is not None for r in flow.rows):
        return None  # nothing responded that may be shown: the page says so, it draws no empty chart
    stages = ("Reps randomised", "Invited", "Responded", f"Analysed: {flow.primary_label}")
    counts = {r.model: (r.reps, r.invited, r.responded, r.analysed_primary) for r in flow.rows}
    headers = {r.model: f"{r.model} · {r.teams} team{'s' if r.teams != 1 else ''}" for r in flow.rows}
    losses = ("not invited (left or no link)", "did not answer", "did not answer this outcome")

    def draw(render=True):
        return figures.flow_diagram(stages, [r.model for r in flow.rows], counts, losses,
                                    title=f"Wave “{flow.wave}”", headers=headers)

    return ChartSpec("flow", "The flow of reps, model by model",
                     "Teams and reps randomised to each coaching model, invited to the wave, responding and "
                     "analysed on the primary outcome; between the boxes, how many were lost and why. Counts "
                     "the anonymity rules hide are marked hidden.", draw().alt, draw)


def chart_specs(report: Report) -> list[ChartSpec]:
    """The charts this report can show (a chart without data is left out, never drawn empty)."""
    specs = [_profile(report), _agreement(report), _forest(report), _performance(report), _trend(report),
             _flow(report)]
    return [spec for spec in specs if spec is not None]


def render(report: Report, name: str) -> str | None:
    """The SVG of one chart (cached with the report's version); None when the report has no such chart."""
    def make():
        spec = next((s for s in chart_specs(report) if s.name == name), None)
        return "" if spec is None else spec.draw().svg

    charts = cache.named("report_charts", CHART_CACHE_SIZE)
    return charts.get_or_make((report.version, report.filters, name), make) or None
