"""Average ranks, Kruskal–Wallis, Mann–Whitney U and Levene's test, computed as ``scipy.stats`` does.

The formulas and the order of the arithmetic are SciPy 1.17's (``stats.rankdata``,
``stats.kruskal``, ``stats.mannwhitneyu(method="asymptotic")``, ``stats.levene``), so the
results are the same to the last bit or within a few ulps (``tests/analysis/test_kernels.py`` checks
them against SciPy on tied and untied data). They live here so that ``python -m analysis`` does not
import ``scipy.stats`` (0.3–0.9 s of start-up), and so that one sort of the pooled values serves
Kruskal–Wallis, Dunn's test and every pair's Mann–Whitney test instead of one sort each.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._distributions import chi2_sf, f_sf


def sorted_ranks(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks of values already sorted (ties share the mean of their ranks, from 1), and the
    size of each tie group."""
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(ordered)))
    return np.repeat((starts + 1) + (counts - 1) / 2, counts), counts


def rankdata(values: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks, as ``scipy.stats.rankdata``, and the size of each tie group; ``order`` is
    ``np.argsort(values)`` when the caller has it."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values) if order is None else order
    ranks = np.empty(len(values))
    ranks[order], counts = sorted_ranks(values[order])
    return ranks, counts


def tie_sum(counts: np.ndarray) -> float:
    """Σ (t³ − t) over the tie groups (exact in floating point below 2⁵³)."""
    t = counts.astype(float)
    return float((t ** 3 - t).sum())


def kruskal(samples, ranked: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, float]:
    """Kruskal–Wallis H with the tie correction and its χ² p-value, as ``scipy.stats.kruskal``.

    ``ranked`` passes :func:`rankdata` of the concatenated samples when the caller has it already.
    """
    sizes = [len(s) for s in samples]
    total = sum(sizes)
    ranks, counts = ranked if ranked is not None else rankdata(np.concatenate(samples))
    ties = 1 - tie_sum(counts) / (total ** 3 - total)
    bounds = np.cumsum([0, *sizes])
    ssbn = sum(ranks[bounds[i]:bounds[i + 1]].sum() ** 2 / sizes[i] for i in range(len(sizes)))
    h = 12.0 / (total * (total + 1)) * ssbn - 3 * (total + 1)
    h /= ties
    return float(h), chi2_sf(h, len(sizes) - 1)


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """U of ``x`` and the two-sided p of the normal approximation with continuity and tie correction,
    as ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``."""
    pooled = np.concatenate([x, y]).astype(float)
    order = np.argsort(pooled)
    return mann_whitney_sorted(pooled[order], order < len(x))


def mann_whitney_sorted(ordered: np.ndarray, in_x: np.ndarray) -> tuple[float, float]:
    """:func:`mann_whitney_u` from the two samples' values sorted together (``ordered``) and a mask of
    which of them belong to ``x`` — no sort needed when the pooled values of all groups are sorted
    once. The rank sum is of half-integers, so exact in any order."""
    n1 = int(in_x.sum())
    n2 = len(ordered) - n1
    ranks, counts = sorted_ranks(ordered)
    u1 = ranks[in_x].sum() - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    n = n1 + n2
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_sum(counts) / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (max(u1, u2) - n1 * n2 / 2 - 0.5) / s
    p = float(np.clip(2 * special.ndtr(-z), 0.0, 1.0))
    return float(u1), p


def levene_median(samples) -> tuple[float, float]:
    """Levene's W centred on the group medians (Brown–Forsythe) and its F p-value, as
    ``scipy.stats.levene(*samples, center="median")``; W is inf or NaN when the deviations have no spread."""
    k = len(samples)
    sizes = [len(s) for s in samples]
    total = sum(sizes)
    deviations = [np.abs(s - np.median(s)) for s in samples]
    means = [d.mean() for d in deviations]
    grand = sum(n * m for n, m in zip(sizes, means, strict=True)) / total
    dfd = total - k
    numer = dfd * sum(n * (m - grand) ** 2 for n, m in zip(sizes, means, strict=True))
    dfn = k - 1.0
    denom = dfn * sum(((d - m) ** 2).sum() for d, m in zip(deviations, means, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.float64(numer) / np.float64(denom)
    return float(w), f_sf(w, dfn, float(dfd))
