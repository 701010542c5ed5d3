"""Charts of a comparison, drawn with matplotlib's object API (no global pyplot state) as SVG text.

Each function takes plain numbers and returns a :class:`Chart`: the SVG and an alternative text
that says in words what the chart shows. Text stays text in the SVG (``svg.fonttype = none``), so
it is searchable, accessible and small.

The charts' style (:data:`STYLE`) applies only while a chart is drawn (``matplotlib.rc_context``),
so importing this module leaves matplotlib's global settings as they were.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

# text.parse_math off: labels are user text (wave labels, question text, team names), never mathtext;
# "$x^$" would raise, and "a$b$c" would be typeset as maths.
STYLE = {"svg.fonttype": "none", "svg.hashsalt": "coachlab", "font.size": 10, "text.parse_math": False,
         "axes.spines.top": False, "axes.spines.right": False}
# rc_context sets the process-wide rcParams for its duration and restores them on exit; one
# chart at a time, so that a thread finishing its chart cannot restore the defaults under another.
_DRAWING = threading.Lock()

COLOURS = {"manager": "#1f5fbf", "peer": "#c2570c", "external": "#2f8f5b"}
FALLBACK = ("#6f42c1", "#8c564b", "#17becf", "#7f7f7f")
AGREEMENT_COLOURS = ("#b2182b", "#ef8a62", "#d9d9d9", "#67a9cf", "#2166ac")


@dataclass(frozen=True)
class Chart:
    """An SVG chart and the words that describe it for people who cannot see it."""

    svg: str
    alt: str


def colour(model: str, position: int = 0) -> str:
    return COLOURS.get(model, FALLBACK[position % len(FALLBACK)])


def _styled(draw):
    """Run a chart function inside :data:`STYLE`.

    The context covers building the figure as well as printing it: the font size and the spines
    are read when axes and texts are created, the ``svg.*`` settings when the SVG is written.
    """
    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with _DRAWING, matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return styled


def _render(figure: Figure) -> str:
    """The figure as SVG, its box grown or shrunk to hold every text (an axis title is never cut)."""
    buffer = io.StringIO()
    FigureCanvasSVG(figure).print_figure(buffer, format="svg", bbox_inches="tight", pad_inches=0.08,
                                         metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and DOCTYPE: the SVG can sit in a page


@_styled
def dimension_profile(dimensions: Sequence[str], models: Sequence[str],
                      values: Mapping[str, Mapping[str, tuple[float, float, float]]],
                      scale: tuple[float, float] = (1, 5), render: bool = True) -> Chart:
    """Mean and 95 % CI per model across dimensions; ``values[dimension][model] = (mean, low, high)``."""
    leaders = []
    for dimension in dimensions:
        shown = {m: v[0] for m, v in values.get(dimension, {}).items()}
        if shown:
            best = max(shown, key=shown.get)
            leaders.append(f"{dimension}: {best} highest ({shown[best]:.2f})")
    alt = "Mean score per coaching model on each dimension with 95 % confidence intervals. " + "; ".join(leaders) + "."
    if not render:
        return Chart("", alt)
    height = 0.45 * len(dimensions) + 1.1
    figure = Figure(figsize=(7, height))
    axes = figure.add_subplot()
    # The first model on top inside each row: the dots then read in the legend's order (left to right).
    offsets = np.linspace(0.22, -0.22, max(len(models), 1)) if len(models) > 1 else np.zeros(1)
    for position, model in enumerate(models):
        ys, means, lows, highs = [], [], [], []
        for row, dimension in enumerate(dimensions):
            value = values.get(dimension, {}).get(model)
            if value is None:
                continue
            ys.append(len(dimensions) - 1 - row + offsets[position])
            means.append(value[0])
            lows.append(value[0] - value[1])
            highs.append(value[2] - value[0])
        axes.errorbar(means, ys, xerr=[lows, highs], fmt="o", color=colour(model, position), label=model,
                      capsize=2, markersize=5, linewidth=1.2)
    axes.set_yticks(range(len(dimensions)), list(reversed(dimensions)))
    axes.set_xlim(*scale)
    axes.set_xlabel(f"Mean score ({scale[0]:g} = strongly disagree, {scale[1]:g} = strongly agree), 95 % CI")
    axes.grid(axis="x", color="#e5e5e5")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(models), frameon=False)
    figure.tight_layout()
    return Chart(_render(figure), alt)


@_styled
def agreement_bars(models: Sequence[str], shares: Mapping[str, Mapping[str, float]], labels: Sequence[str],
                   answers: Sequence[str], question: str, render: bool = True,
                   colours: Sequence[str] = AGREEMENT_COLOURS, agree: Sequence[str] | None = None) -> Chart:
    """Stacked horizontal bars: the share of each answer per model (``shares[model][answer]``).

    ``answers`` may be single answers or categories of them; ``agree`` names those the alternative
    text counts as agreeing (default: the last two), ``colours`` one colour per answer.
    """
    agreeing = list(agree) if agree is not None else list(answers[-2:])
    parts = []
    for model in models:
        agree_share = sum(shares.get(model, {}).get(a, 0.0) for a in agreeing)
        parts.append(f"{model}: {agree_share * 100:.0f}% agree")
    alt = f"Answers to “{question}” by coaching model. " + "; ".join(parts) + "."
    if not render:
        return Chart("", alt)
    figure = Figure(figsize=(7, 0.6 * len(models) + 1.4))
    axes = figure.add_subplot()
    for row, model in enumerate(models):
        left = 0.0
        for answer, label, tint in zip(answers, labels, colours, strict=False):
            share = shares.get(model, {}).get(answer, 0.0)
            axes.barh(len(models) - 1 - row, share * 100, left=left, color=tint, edgecolor="white",
                      label=label if row == 0 else None)
            if share >= 0.07:
                axes.text(left + share * 50, len(models) - 1 - row, f"{share * 100:.0f}%", ha="center",
                          va="center", fontsize=8)
            left += share * 100
    axes.set_yticks(range(len(models)), list(reversed(models)))
    axes.set_xlim(0, 100)
    axes.set_xlabel("Share of answers (%)")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(labels), 5), frameon=False,
                fontsize=8)
    figure.tight_layout()
    return Chart(_render(figure), alt)


@_styled
def forest_plot(rows: Sequence[tuple[str, float, float, float, bool]], unit: str = "points",
                render: bool = True) -> Chart:
    """Pairwise differences with CIs, one row each: (label, difference, low, high, significant)."""
    named = [r[0] for r in rows if r[4]]
    alt = (f"Pairwise differences between coaching models with 95 % confidence intervals, {len(rows)} in all. "
           + (f"Differences that survive correction: {'; '.join(named)}." if named else
              "None survives the correction."))
    if not render:
        return Chart("", alt)
    figure = Figure(figsize=(7, 0.2 * len(rows) + 1.0))
    axes = figure.add_subplot()
    for row, (_, diff, low, high, significant) in enumerate(rows):
        y = len(rows) - 1 - row
        tint = "#1d2330" if significant else "#9aa3b2"
        axes.errorbar([diff], [y], xerr=[[diff - low], [high - diff]], fmt="s" if significant else "o",
                      color=tint, capsize=2, markersize=4)
    axes.axvline(0, color="#b2182b", linewidth=1)
    axes.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)], fontsize=8)
    axes.set_ylim(-0.7, len(rows) - 0.3)
    # A short axis title (the long one ran past the image); what the marks mean goes in the legend.
    axes.set_xlabel(f"Difference ({unit}), 95 % CI")
    marks = [Line2D([], [], color="#1d2330", marker="s", markersize=4, linestyle="",
                    label="survives the correction"),
             Line2D([], [], color="#9aa3b2", marker="o", markersize=4, linestyle="", label="does not")]
    axes.legend(handles=marks, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8)
    figure.tight_layout()
    return Chart(_render(figure), alt)


@_styled
def before_after(models: Sequence[str], values: Mapping[str, tuple[tuple[float, float, float],
                                                                   tuple[float, float, float]]],
                 metric: str, periods: tuple[str, str], render: bool = True) -> Chart:
    """Mean (95 % CI) of a metric before and after, one line per model: ``values[model] = (before, after)``."""
    parts = [f"{m}: {values[m][0][0]:.1f} → {values[m][1][0]:.1f}" for m in models if m in values]
    alt = f"{metric} before ({periods[0]}) and after ({periods[1]}) by coaching model: " + "; ".join(parts) + "."
    if not render:
        return Chart("", alt)
    figure = Figure(figsize=(6, 3.6))
    axes = figure.add_subplot()
    for position, model in enumerate(models):
        if model not in values:
            continue
        (b, bl, bh), (a, al, ah) = values[model]
        x = np.array([0, 1]) + (position - 1) * 0.04
        axes.errorbar(x, [b, a], yerr=[[b - bl, a - al], [bh - b, ah - a]], marker="o", capsize=3,
                      color=colour(model, position), label=model)
    axes.set_xticks([0, 1], list(periods))
    axes.set_ylabel(metric)
    axes.legend(frameon=False)
    figure.tight_layout()
    return Chart(_render(figure), alt)


@_styled
def trend(waves: Sequence[str], models: Sequence[str],
          values: Mapping[str, Mapping[str, tuple[float, float, float]]], outcome: str,
          render: bool = True) -> Chart:
    """An outcome's mean (95 % CI) across waves, one line per model: ``values[model][wave]``."""
    parts = []
    for model in models:
        series = [f"{values[model][w][0]:.2f}" for w in waves if w in values.get(model, {})]
        if series:
            parts.append(f"{model}: " + " → ".join(series))
    alt = f"{outcome} across waves ({', '.join(waves)}) by coaching model: " + "; ".join(parts) + "."
    if not render:
        return Chart("", alt)
    figure = Figure(figsize=(6, 3.6))
    axes = figure.add_subplot()
    for position, model in enumerate(models):
        points = [(i, values[model][w]) for i, w in enumerate(waves) if w in values.get(model, {})]
        if not points:
            continue
        xs = np.array([i for i, _ in points]) + (position - 1) * 0.04
        means = [v[0] for _, v in points]
        errors = [[v[0] - v[1] for _, v in points], [v[2] - v[0] for _, v in points]]
        axes.errorbar(xs, means, yerr=errors, marker="o", capsize=3, color=colour(model, position), label=model)
    axes.set_xticks(range(len(waves)), list(waves))
    axes.set_ylabel(outcome)
    axes.legend(frameon=False)
    figure.tight_layout()
    return Chart(_render(figure), alt)


def flow_diagram(stages: Sequence[str], models: Sequence[str], counts: Mapping[str, Sequence[int | None]],
                 losses: Sequence[str], title: str = "", headers: Mapping[str, str] | None = None) -> Chart:
    """A CONSORT-style flow: one column per model, one box per stage (``counts[model][i]`` people at
    ``stages[i]``; None: not shown), and between two stages the number lost, labelled ``losses[i]``
    ("did not answer"). ``headers[model]`` heads its column (default: the model). Hand-drawn SVG (boxes,
    arrows and text only; every text escaped)."""
    from xml.sax.saxutils import escape

    if len(losses) != len(stages) - 1:
        raise ValueError("losses: one label between each two stages")

    def shown(value):
        return "hidden" if value is None else f"{value:,}"

    parts = []
    for model in models:
        values = list(counts.get(model, ()))
        steps = [f"{stage} {shown(v)}" for stage, v in zip(stages, values, strict=False)]
        parts.append(f"{(headers or {}).get(model, model)}: " + ", ".join(steps))
    alt = (f"{title + ': ' if title else ''}from randomisation to analysis by coaching model. " + "; ".join(parts)
           + ".")
    width_col, box_h, gap, left, top = 190, 40, 34, 8, 30
    width = left * 2 + width_col * len(models)
    height = top + len(stages) * box_h + (len(stages) - 1) * gap + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" font-family="sans-serif" font-size="11" role="img">',
           f"<title>{escape(alt)}</title>",
           '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    for c, model in enumerate(models):
        x = left + c * width_col
        centre = x + (width_col - 16) / 2
        out.append(f'<text x="{centre:.0f}" y="18" text-anchor="middle" font-weight="bold" '
                   f'fill="{colour(model, c)}">{escape((headers or {}).get(model, model))}</text>')
        values = list(counts.get(model, ()))
        for s, stage in enumerate(stages):
            y = top + s * (box_h + gap)
            value = values[s] if s < len(values) else None
            out.append(f'<rect x="{x}" y="{y}" width="{width_col - 16}" height="{box_h}" rx="4" fill="#fff" '
                       f'stroke="{colour(model, c)}"/>')
            out.append(f'<text x="{centre:.0f}" y="{y + 16}" text-anchor="middle">{escape(stage)}</text>')
            out.append(f'<text x="{centre:.0f}" y="{y + 32}" text-anchor="middle" font-weight="bold">'
                       f'{escape(shown(value))}</text>')
            if s < len(stages) - 1:
                y1, y2 = y + box_h, y + box_h + gap
                out.append(f'<line x1="{x + 20}" y1="{y1}" x2="{x + 20}" y2="{y2 - 1}" stroke="#555" '
                           'marker-end="url(#flow-arrow)"/>')
                nxt = values[s + 1] if s + 1 < len(values) else None
                lost = None if value is None or nxt is None else value - nxt
                label = f"− {lost:,} {losses[s]}" if lost else ("none lost" if lost == 0 else "")
                if label:
                    out.append(f'<text x="{x + 30}" y="{(y1 + y2) / 2 + 4:.0f}" font-size="10" fill="#444">'
                               f'{escape(label)}</text>')
    out.append("</svg>")
    return Chart("".join(out), alt)
