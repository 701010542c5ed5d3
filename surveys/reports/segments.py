"""Segments, declared in the analysis plan: per region and per team-size band, how each model scores on
each survey outcome against its score over all segments (the heatmap), whether the models differ within
the segment (Holm across the segments of a dimension) and whether the difference between the models
varies by segment (the interaction test), from ``analysis.segments``.

Anonymity: a segment is a filtered view the reader may open anyway (a region, a band), so every cell here
is a cell of the wave's pattern (``surveys.disclosure``): a model's mean in a segment is shown only where
the filtered view shows it, and the overall mean it is compared with only where the unfiltered report
does. The tests use the responses of shown cells only, so none rests on a hidden cell. A tenure band is
not offered: the roster carries no tenure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.disclosure import View
from analysis.omnibus import FTest
from analysis.segments import segment_effects

from ..outcomes import outcome

ALPHA = 0.05
FAMILIES = (("region", "Region"), ("band", "Team size"))


@dataclass(frozen=True)
class SegmentRow:
    """One segment: per model and outcome the difference from that model's overall mean (None: hidden in
    the segment or overall), and per outcome the Holm-adjusted p of the models' difference in it."""

    segment: str
    differences: dict[str, dict[str, float | None]]
    p_holm: dict[str, float | None]

    def flagged(self, key: str) -> bool:
        p = self.p_holm.get(key)
        return p is not None and p < ALPHA

    @property
    def flagged_outcomes(self) -> list[str]:
        return [key for key in self.p_holm if self.flagged(key)]


@dataclass(frozen=True)
class SegmentFamily:
    """The segments of one dimension (region or team-size band) over the wave's survey outcomes."""

    dimension: str
    title: str
    outcomes: tuple[str, ...]
    rows: tuple[SegmentRow, ...]
    primary: str | None
    interactions: dict[str, FTest | None]  # per outcome; None: not testable on the shown cells

    @property
    def interaction(self) -> FTest | None:
        """The primary outcome's interaction test."""
        return self.interactions.get(self.primary) if self.primary else None

    def label(self, key: str) -> str:
        return outcome(key).label

    def shade(self, key: str, difference: float | None) -> str:
        """The heatmap class of a difference, by its share of the outcome's answer range."""
        if difference is None:
            return "hidden"
        scale = outcome(key).scale
        span = (max(scale) - min(scale)) if scale else 4.0  # a scale score: the mean of 1–5 items
        share = difference / span
        size = "strong" if abs(share) >= 0.075 else "light" if abs(share) >= 0.025 else "flat"
        return "flat" if size == "flat" else f"{'up' if share > 0 else 'down'}-{size}"

    def interaction_words(self) -> str | None:
        if self.primary is None:
            return None
        what = f"Does the difference between the models on {outcome(self.primary).sentence} vary by " \
               f"{self.title.lower()}?"
        test = self.interaction
        if test is None:
            return (f"{what} Not tested: too few of its model × {self.title.lower()} cells can be tested (a cell "
                    "hidden, or with a team of fewer than k answers, stays out of every test).")
        answer = "Yes, clearly" if test.p < ALPHA else "Not clearly"
        return (f"{what} {answer}: interaction F({test.df1:.0f}, {test.df2:.0f}) = {test.statistic:.2f}, "
                f"p = {test.p:.3f}, on team means.")

    def to_dict(self) -> dict:
        return {"dimension": self.dimension, "outcomes": list(self.outcomes), "primary": self.primary,
                "interactions": {key: None if test is None else test.to_dict()
                                 for key, test in self.interactions.items()},
                "segments": [{"segment": r.segment, "differences": r.differences, "p_holm": r.p_holm,
                              "flags": {key: r.flagged(key) for key in self.outcomes}} for r in self.rows]}


def _view(dimension: str, segment: str | None) -> View:
    return View(segment, None) if dimension == "region" else View(None, segment)


def testable_cells(answered: pd.DataFrame, dimension: str, k: int) -> set[tuple[str, str]]:
    """The (segment, model) cells whose teams may each enter a test on team means: every team in the cell has
    at least k answers there and none elsewhere in the dimension. A team mean of fewer than k answers could be
    solved for from the p-value and the shown cell means; a team split between two segments (a band that
    changed during the wave) would make its two parts differences of each other."""
    if answered.empty:
        return set()
    units = answered.groupby(["team", dimension, "coaching_model"], observed=True).size().reset_index(name="n")
    split = set(units.loc[units.duplicated("team", keep=False), "team"])
    bad = units[(units["n"] < k) | units["team"].isin(split)]
    cells = set(zip(units[dimension].astype(str), units["coaching_model"].astype(str), strict=True))
    return cells - set(zip(bad[dimension].astype(str), bad["coaching_model"].astype(str), strict=True))


def family(survey: pd.DataFrame, pattern, dimension: str, title: str, segments: list[str], models: list[str],
           outcomes: list[str], primary: str, k: int) -> SegmentFamily | None:
    """One dimension's heatmap and tests; None with fewer than two segments.

    A difference is shown where both the segment's filtered view and the whole report show the model's mean
    (at least two models shown there, as ``sections.compare`` needs to show any). The tests read the cells
    the segment's view shows and ``testable_cells`` allows, nothing else."""
    if len(segments) < 2:
        return None
    rows = {s: {"differences": {m: {} for m in models}, "p_holm": {}} for s in segments}
    interactions = {}
    for key in outcomes:
        overall_shown = pattern.shown_models(View(), key, models)
        overall_shown = set(overall_shown) if len(overall_shown) >= 2 else set()
        overall = survey.groupby("coaching_model", observed=True)[key].mean()
        answered = survey[survey[key].notna()]
        testable = testable_cells(answered, dimension, k)
        kept = []
        for segment in segments:
            inside = answered[answered[dimension] == segment]
            shown = pattern.shown_models(_view(dimension, segment), key, models)
            shown = shown if len(shown) >= 2 else []
            means = inside.groupby("coaching_model", observed=True)[key].mean()
            for model in models:
                rows[segment]["differences"][model][key] = (
                    float(means[model] - overall[model]) if model in shown and model in overall_shown else None)
            tested = [m for m in shown if (segment, m) in testable]
            kept.append(inside[inside["coaching_model"].astype(str).isin(tested)])
        result = segment_effects(pd.concat(kept), key, "coaching_model", dimension, "team", segments=segments)
        for effect in result.effects:
            rows[effect.segment]["p_holm"][key] = effect.p_holm
        interactions[key] = result.interaction
    return SegmentFamily(dimension, title, tuple(outcomes),
                         tuple(SegmentRow(s, rows[s]["differences"], rows[s]["p_holm"]) for s in segments),
                         primary if primary in outcomes else None, interactions)


def segments(survey: pd.DataFrame, pattern, models: list[str], outcomes: list[str], primary: str,
             k: int) -> tuple[SegmentFamily, ...]:
    """The report's segment heatmaps: one per declared dimension with at least two segments in the wave."""
    if survey.empty or pattern.disclosure is None:
        return ()
    levels = {"region": pattern.regions, "band": pattern.bands}
    built = (family(survey, pattern, dimension, title, list(levels[dimension]), models, list(outcomes), primary, k)
             for dimension, title in FAMILIES)
    return tuple(f for f in built if f is not None)
