"""Pairwise comparisons after an omnibus test, each matched to one omnibus test.

Every pair ``(a, b)`` has ``a`` before ``b`` in the level order; differences are ``b − a``.

References
----------
Tukey, J. W. (1949); Kramer, C. Y. (1956). Extension of multiple range tests to group means
    with unequal numbers of replications. Biometrics 12, 307–310.
Games, P. A. & Howell, J. F. (1976). Pairwise multiple comparison procedures with unequal n's
    and/or variances. Journal of Educational Statistics 1, 113–125.
Dunn, O. J. (1964). Multiple comparisons using rank sums. Technometrics 6, 241–252.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65–70.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _studentized as studentized
from ._distributions import norm_sf
from ._ranks import mann_whitney_sorted
from ._result import Result
from ._validate import Groups, group_variance
from .multiplicity import holm
from .omnibus import AnovaTable, anova_table


@dataclass(frozen=True)
class MeanDifference(Result):
    """A pairwise difference of means with its simultaneous 95 % CI and adjusted p-value."""

    a: str
    b: str
    diff: float
    ci_low: float
    ci_high: float
    p_adj: float


@dataclass(frozen=True)
class PairTest(Result):
    """A pairwise test statistic with its raw and Holm-adjusted p-values."""

    a: str
    b: str
    statistic: float
    p: float
    p_adj: float


def tukey_hsd(groups: Groups, table: AnovaTable | None = None, confidence: float = 0.95) -> tuple[MeanDifference, ...]:
    """Tukey–Kramer honestly significant differences (matches the classic ANOVA).

    ``se = √(MSW/2 · (1/n_a + 1/n_b))``; p from the studentized range with k and N − k df.
    """
    table = table or anova_table(groups)
    k, df = groups.k, table.df_within
    q_crit = studentized.ppf(confidence, k, df)
    means = [v.mean() for v in groups.values]
    result = []
    for i, j in groups.pairs():
        diff = means[j] - means[i]
        se = np.sqrt(table.ms_within / 2 * (1 / len(groups.values[i]) + 1 / len(groups.values[j])))
        q = abs(diff) / se if se > 0 else np.inf
        result.append(MeanDifference(groups.levels[i], groups.levels[j], float(diff), float(diff - q_crit * se),
                                     float(diff + q_crit * se), studentized.sf(q, k, df)))
    return tuple(result)


def games_howell(groups: Groups, confidence: float = 0.95) -> tuple[MeanDifference, ...] | None:
    """Games–Howell pairwise comparisons (matches Welch's ANOVA); None when a group has no spread.

    Each pair uses its own Welch–Satterthwaite df and the studentized range with k groups:
    ``p = P(Q > |t|·√2)``, ``CI = diff ± q(0.95; k, df)/√2 · se``.
    """
    variances = [group_variance(v) for v in groups.values]
    if any(var == 0 for var in variances):
        return None
    k = groups.k
    result = []
    for i, j in groups.pairs():
        vi, vj = variances[i] / len(groups.values[i]), variances[j] / len(groups.values[j])
        diff = groups.values[j].mean() - groups.values[i].mean()
        se = np.sqrt(vi + vj)
        df = (vi + vj) ** 2 / (vi ** 2 / (len(groups.values[i]) - 1) + vj ** 2 / (len(groups.values[j]) - 1))
        q_crit = studentized.ppf(confidence, k, df)
        half = q_crit / np.sqrt(2) * se
        p = studentized.sf(abs(diff) / se * np.sqrt(2), k, df)
        result.append(MeanDifference(groups.levels[i], groups.levels[j], float(diff), float(diff - half),
                                     float(diff + half), p))
    return tuple(result)


def dunn(groups: Groups) -> tuple[PairTest, ...]:
    """Dunn's rank test of each pair (matches Kruskal–Wallis), Holm-adjusted.

    ``z = (R̄_b − R̄_a) / √((N(N+1)/12 − Σ(t³ − t)/(12(N − 1))) · (1/n_a + 1/n_b))`` with ranks
    of the pooled sample and the tie correction; p is two-sided normal.
    """
    pooled = np.concatenate(groups.values)
    ranks, tie_counts = groups.pooled_ranks  # shared with Kruskal–Wallis
    n_total = len(pooled)
    tie_term = float(((tie_counts ** 3) - tie_counts).sum()) / (12 * (n_total - 1))
    bounds = np.cumsum([0, *groups.sizes])
    mean_ranks = [ranks[bounds[i]:bounds[i + 1]].mean() for i in range(groups.k)]
    z_values, p_values = [], []
    for i, j in groups.pairs():
        se = np.sqrt((n_total * (n_total + 1) / 12 - tie_term) * (1 / groups.sizes[i] + 1 / groups.sizes[j]))
        z = (mean_ranks[j] - mean_ranks[i]) / se
        z_values.append(float(z))
        p_values.append(float(2 * norm_sf(abs(z))))
    adjusted = holm(p_values)
    return tuple(PairTest(groups.levels[i], groups.levels[j], z, p, pa)
                 for (i, j), z, p, pa in zip(groups.pairs(), z_values, p_values, adjusted, strict=True))


def mann_whitney(groups: Groups) -> tuple[PairTest, ...]:
    """Pairwise Mann–Whitney U tests, normal approximation with continuity and tie correction, Holm-adjusted.

    ``statistic`` is U of group ``a`` (R's ``W`` for ``wilcox.test(x = a, y = b)``).
    """
    statistics, p_values = [], []
    ordered, group = groups.pooled_sorted  # sorted once for all pairs
    for i, j in groups.pairs():
        in_pair = (group == i) | (group == j)
        u, p = mann_whitney_sorted(ordered[in_pair], group[in_pair] == i)
        statistics.append(u)
        p_values.append(p)
    adjusted = holm(p_values)
    return tuple(PairTest(groups.levels[i], groups.levels[j], u, p, pa)
                 for (i, j), u, p, pa in zip(groups.pairs(), statistics, p_values, adjusted, strict=True))
