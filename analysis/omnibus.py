"""Omnibus tests across k groups: one-way ANOVA, Welch ANOVA, Kruskal–Wallis, Brown–Forsythe.

References
----------
Welch, B. L. (1951). On the comparison of several mean values: an alternative approach.
    Biometrika 38, 330–336.
Brown, M. B. & Forsythe, A. B. (1974). Robust tests for the equality of variances. JASA 69, 364–367.
Kruskal, W. H. & Wallis, W. A. (1952). Use of ranks in one-criterion variance analysis. JASA 47, 583–621.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._distributions import f_sf
from ._ranks import kruskal, levene_median
from ._result import Result
from ._validate import Groups, group_variance, within_ss


@dataclass(frozen=True)
class FTest(Result):
    """An F test: statistic, numerator and denominator degrees of freedom, p-value."""

    statistic: float
    df1: float
    df2: float
    p: float


@dataclass(frozen=True)
class ChiSquareTest(Result):
    """A chi-square test (Kruskal–Wallis H): statistic, degrees of freedom, p-value."""

    statistic: float
    df: float
    p: float


@dataclass(frozen=True)
class LeveneTest(FTest):
    """Levene's test of equal spread; ``center="median"`` is the Brown–Forsythe variant."""

    center: str = "median"


@dataclass(frozen=True)
class AnovaTable:
    """Sums of squares of a one-way ANOVA, kept for the effect sizes."""

    ss_between: float
    ss_within: float
    df_between: int
    df_within: int

    @property
    def ss_total(self) -> float:
        return self.ss_between + self.ss_within

    @property
    def ms_within(self) -> float:
        return self.ss_within / self.df_within


def anova_table(groups: Groups) -> AnovaTable:
    """Between- and within-group sums of squares."""
    grand = np.concatenate(groups.values).mean()
    ss_between = float(sum(len(v) * (v.mean() - grand) ** 2 for v in groups.values))
    ss_within = float(sum(within_ss(v) for v in groups.values))
    return AnovaTable(ss_between, ss_within, groups.k - 1, groups.n - groups.k)


def anova_oneway(groups: Groups, table: AnovaTable | None = None) -> FTest:
    """Classic one-way ANOVA (equal variances assumed)."""
    table = table or anova_table(groups)
    if table.ss_within == 0:
        return FTest(float("inf"), table.df_between, table.df_within, 0.0)
    f = (table.ss_between / table.df_between) / table.ms_within
    return FTest(float(f), table.df_between, table.df_within, f_sf(f, table.df_between, table.df_within))


def welch_anova(groups: Groups) -> FTest | None:
    """Welch's heteroscedastic one-way ANOVA; None when a group has no spread (weights undefined).

    Notes
    -----
    With weights ``w_i = n_i / s_i²``::

        F = [Σ w_i (ȳ_i − ȳ_w)² / (k − 1)] / [1 + 2 (k − 2) / (k² − 1) · Σ (1 − w_i/W)² / (n_i − 1)]
        df2 = (k² − 1) / (3 Σ (1 − w_i/W)² / (n_i − 1))

    as R's ``oneway.test(var.equal = FALSE)``.
    """
    n = groups.sizes.astype(float)
    means = np.array([v.mean() for v in groups.values])
    variances = np.array([group_variance(v) for v in groups.values])
    if np.any(variances == 0):
        return None
    k = groups.k
    w = n / variances
    total = w.sum()
    weighted_mean = (w * means).sum() / total
    a = (w * (means - weighted_mean) ** 2).sum() / (k - 1)
    tmp = ((1 - w / total) ** 2 / (n - 1)).sum()
    b = 1 + 2 * (k - 2) / (k ** 2 - 1) * tmp
    f = a / b
    df2 = (k ** 2 - 1) / (3 * tmp)
    return FTest(float(f), float(k - 1), float(df2), f_sf(f, k - 1, df2))


def kruskal_wallis(groups: Groups) -> ChiSquareTest:
    """Kruskal–Wallis H with the tie correction, chi-square approximation."""
    statistic, p = kruskal(groups.values, groups.pooled_ranks)
    return ChiSquareTest(statistic, float(groups.k - 1), p)


def brown_forsythe(groups: Groups) -> LeveneTest:
    """Levene's test centred on the group medians (Brown–Forsythe), as ``car::leveneTest``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic, p = levene_median(groups.values)
    if not np.isfinite(statistic):  # no spread of the deviations within groups: the test is undefined
        statistic, p = float("nan"), float("nan")
    return LeveneTest(statistic, float(groups.k - 1), float(groups.n - groups.k), p, center="median")
