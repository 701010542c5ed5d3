"""Does the difference between the coaching models depend on the segment (region, team-size band)?

Segments are declared in the analysis plan before the data (``surveys.plans``). Teams were randomised,
and a segment is a property of a team, so each test here is on team means (one value per team and
segment, every team weighted alike, as a cluster-level analysis of a cluster-randomised trial):

- per segment, the arm effect: a one-way ANOVA of the team means across the models in that segment,
  Holm-adjusted across the segments of one dimension (so that many regions do not make a finding by
  their number alone);
- over the segments, the interaction test: does the difference between the models vary by segment? The
  F test of ``model × segment`` against the additive ``model + segment`` model, on the team means (R:
  the last row of ``anova(lm(mean ~ model * segment))``). Empty model × segment cells make the full
  model smaller, and the test's degrees of freedom with it, as in R.

Only the rows a caller passes are used: the report passes the cells its disclosure pattern shows, so no
test rests on a cell that is hidden.

References
----------
Campbell, M. K., Piaggio, G., Elbourne, D. R. & Altman, D. G. (2012). Consort 2010 statement: extension to
cluster randomised trials. BMJ 345:e5661 (item 18: subgroup analyses, pre-specified, with interaction tests).
Hayes, R. J. & Moulton, L. H. (2017). Cluster Randomised Trials, 2nd ed., ch. 9 (cluster-level analysis).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._distributions import f_sf
from ._result import Result
from ._validate import require_columns
from .multiplicity import holm
from .omnibus import FTest


@dataclass(frozen=True)
class SegmentEffect(Result):
    """The arm effect in one segment: the one-way F test of its team means across the models in it.

    ``test`` is None when it cannot be made (fewer than two models, or no model with two teams), and
    ``p_holm`` is then None too; ``teams`` counts the segment's teams per model.
    """

    segment: str
    teams: dict[str, int]
    test: FTest | None
    p_holm: float | None


@dataclass(frozen=True)
class SegmentAnalysis(Result):
    """The arm effect per segment of one dimension, and the test of whether it varies between segments."""

    dv: str
    segment_column: str
    effects: tuple[SegmentEffect, ...]
    interaction: FTest | None  # None: fewer than two segments or models, or no residual degrees of freedom

    def effect(self, segment: str) -> SegmentEffect | None:
        return next((e for e in self.effects if e.segment == segment), None)


def team_means(data: pd.DataFrame, dv: str, between: str, segment: str, cluster: str) -> pd.DataFrame:
    """One row per team and segment with a value of ``dv``: its model, segment and mean."""
    require_columns(data, dv, between, segment, cluster)
    rows = data[[cluster, between, segment, dv]].dropna(subset=[dv])
    rows = rows.assign(**{between: rows[between].astype(str), segment: rows[segment].astype(str),
                          dv: pd.to_numeric(rows[dv], errors="raise").astype(float)})
    return rows.groupby([cluster, between, segment], observed=True, sort=True)[dv].mean().reset_index()


def _oneway(means: pd.DataFrame, dv: str, between: str) -> FTest | None:
    """The one-way ANOVA F of the team means across models; None without two models or residual df."""
    groups = [g[dv].to_numpy() for _, g in means.groupby(between, observed=True, sort=True)]
    k, n = len(groups), sum(len(g) for g in groups)
    if k < 2 or n - k < 1:
        return None
    grand = np.concatenate(groups).mean()
    ss_between = float(sum(len(g) * (g.mean() - grand) ** 2 for g in groups))
    ss_within = float(sum(((g - g.mean()) ** 2).sum() for g in groups))
    df1, df2 = k - 1, n - k
    if ss_within <= 0:
        return None  # every team equal to its model's mean: no spread to test against
    f = (ss_between / df1) / (ss_within / df2)
    return FTest(float(f), float(df1), float(df2), f_sf(f, df1, df2))


def _rss_rank(design: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Residual sum of squares and rank of a least-squares fit (rank-deficient designs allowed)."""
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return float(residual @ residual), int(rank)


def _indicators(labels: pd.Series) -> np.ndarray:
    levels = sorted(labels.unique())
    return np.column_stack([(labels == level).to_numpy(dtype=float) for level in levels[1:]]) \
        if len(levels) > 1 else np.empty((len(labels), 0))


def _interaction(means: pd.DataFrame, dv: str, between: str, segment: str) -> FTest | None:
    """F test of model × segment on the team means: the cell-means model against model + segment."""
    if means[between].nunique() < 2 or means[segment].nunique() < 2:
        return None
    y = means[dv].to_numpy(dtype=float)
    additive = np.column_stack([np.ones(len(y)), _indicators(means[between]), _indicators(means[segment])])
    cells = means[between] + "\x1f" + means[segment]
    full = np.column_stack([(cells == cell).to_numpy(dtype=float) for cell in sorted(cells.unique())])
    rss_add, rank_add = _rss_rank(additive, y)
    rss_full, rank_full = _rss_rank(full, y)
    df1, df2 = rank_full - rank_add, len(y) - rank_full
    if df1 < 1 or df2 < 1 or rss_full <= 0:
        return None
    f = max(rss_add - rss_full, 0.0) / df1 / (rss_full / df2)
    return FTest(float(f), float(df1), float(df2), f_sf(f, df1, df2))


def segment_effects(data: pd.DataFrame, dv: str, between: str, segment: str, cluster: str,
                    segments: Sequence[str] | None = None) -> SegmentAnalysis:
    """The arm effect on ``dv`` per segment, Holm across segments, and the model × segment interaction.

    Parameters
    ----------
    data : DataFrame
        One row per response (or per rep), with the model, segment and cluster (team) columns.
    dv : str
        The outcome; rows without a value are left out.
    between : str
        The coaching-model column.
    segment : str
        The segment column (region, team-size band): a property of the team.
    cluster : str
        The team column; the tests are on one mean per team and segment.
    segments : sequence of str, optional
        The segments to report, in order (default: those in ``data``, sorted); one without data gets an
        effect without a test.

    Returns
    -------
    SegmentAnalysis

    Examples
    --------
    >>> from analysis.simulate import simulate_pilot
    >>> pilot = simulate_pilot(n_teams=36, seed=5)
    >>> rows = pilot.responses[pilot.responses["wave"] == "follow-up"].merge(pilot.teams[["team", "region"]])
    >>> result = segment_effects(rows, "expertise", "coaching_model", "region", "team")
    >>> [e.segment for e in result.effects]
    ['East', 'North', 'South', 'West']
    """
    means = team_means(data, dv, between, segment, cluster)
    order = list(segments) if segments is not None else sorted(means[segment].unique())
    tests = {name: _oneway(means[means[segment] == name], dv, between) for name in order}
    adjusted = holm([t.p if t is not None else float("nan") for t in tests.values()])
    effects = tuple(
        SegmentEffect(name, {str(m): int(c) for m, c in
                             means[means[segment] == name][between].value_counts().sort_index().items()},
                      tests[name], None if tests[name] is None else float(p))
        for name, p in zip(order, adjusted, strict=True))
    used = means[means[segment].isin(order)]
    return SegmentAnalysis(dv, segment, effects, _interaction(used, dv, between, segment))
