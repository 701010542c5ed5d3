"""The smallest difference a study could have detected, for the headline test it actually ran.

A null finding says "this study could have detected a difference of about X": X is the difference
between two coaching models that the verdict's own rule (the headline's matched pairwise test at
the outcome's alpha) names with 80 % power, for the least powerful pair. How X is found depends on
the headline test (``OutcomeComparison.chosen``):

``welch``
    Games–Howell, Welch's t of the pair against the studentized range of k groups at the pair's
    Welch–Satterthwaite df. The power is exact for normal data at the observed SDs: the two sample
    variances, and with them the df, vary from study to study, so the conditional (normal) power
    is integrated over their chi-square distributions (Moser, Stevens & Watts 1989). A group of
    fewer than ``THIN_GROUP`` values gets at least the pooled SD: its own rests on too few values
    to count on it being small (audit F4b: 2 reps against 30, df 1.6, where 80 % is out of reach
    on a 1–5 scale).
``team_means``
    The same, on the teams' means (one value per team): the test the fallback runs.
``kruskal``
    Simulated. The observed values, centred on their group medians (a rating item: the pooled
    answers), are dealt at random to groups of the observed sizes, the smaller group of the pair
    is shifted by δ (a rating item: by whole steps, the fraction δ − ⌊δ⌋ of its values one step
    further, within the scale), and Kruskal–Wallis with Dunn–Holm is run with the verdict's rule.
    δ is bisected on ``RANK_DRAWS`` seeded draws, the same draws at every δ. Above
    ``RANK_SIMULATED_UP_TO`` values the same rule is applied to the normal approximation of the
    groups' mean ranks, whose means follow from the shifted distribution.
``mixed_model`` (and any team-level headline)
    A t test of the arm means on the model's df for the arms, with the SE of the arm means from
    the teams' sizes and the ICC (generalised least squares weights m / (1 + (m − 1)·ICC) per team,
    which Eldridge's design effect approximates) and the total SD. When the team variance is
    estimated at zero (a singular fit, common with few teams) the ICC is not taken as zero but as
    ``PLAUSIBLE_ICC``; the difference is given at both ends and the upper one is the headline. The
    total SD is then √(σ²_within / (1 − ICC)), with σ²_within from the variation within teams: the
    fit's own total SD is too small exactly when the teams happened to look alike.
``ancova``
    A t test on the ANCOVA's residual df with its residual SD.

The t-based forms split the outcome's alpha over the pairs (Bonferroni, Holm's first step); the
omnibus gate is not modelled (the simulations check its effect: ``tests/analysis``).

References
----------
Moser, B. K., Stevens, G. R. & Watts, C. L. (1989). The two-sample t test versus Satterthwaite's
    approximate F test. Communications in Statistics – Theory and Methods 18, 3963–3975.
Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials: effect of
    coefficient of variation of cluster size and analysis method. Int. J. Epidemiology 35, 1292–1300.
Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. In Klein &
    Kozlowski (eds.), Multilevel theory, research, and methods in organizations, 349–381
    (ICC(1) of work-group outcomes: typically 0.05–0.20; James 1982 reports a median of 0.12).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np
from numpy.polynomial import chebyshev
from scipy import special

from . import _studentized as studentized
from ._distributions import chi2_logpdf, nct_cdf, nct_sf
from ._result import Result
from ._roots import brentq

POWER = 0.80
#: The teams' ICC assumed when the data estimate it at zero: typical of work-group outcomes (Bliese 2000).
PLAUSIBLE_ICC = (0.05, 0.20)
#: A group with fewer values than this gets at least the pooled SD in the Welch power.
THIN_GROUP = 5
RANK_DRAWS = 400
RANK_SEED = 20_240_613
#: Above this many values the rank test's power uses the normal approximation of the mean ranks.
RANK_SIMULATED_UP_TO = 300
_APPROXIMATION_DRAWS = 4000
_VARIANCE_NODES = 64


@dataclass(frozen=True)
class Detectable(Result):
    """The smallest difference (outcome units) the verdict's rule detects with ``power``.

    ``value`` is the headline number: at the upper end of ``icc_range`` when the ICC is a range
    (``low`` then the value at its lower end), None when the power is out of reach at any
    difference. ``beyond_scale``: None, or larger than the outcome's bounds allow. ``pair`` is the
    least powerful pair, ``alpha`` the outcome's alpha its test is judged at, ``df`` and ``sd`` those
    the test works with, ``draws`` the simulated data sets (rank tests).
    """

    value: float | None
    method: str
    power: float
    alpha: float
    pair: tuple[str, str]
    df: float | None = None
    sd: float | None = None
    icc: float | None = None
    icc_range: tuple[float, float] | None = None
    low: float | None = None
    beyond_scale: bool = False
    draws: int | None = None


@dataclass(frozen=True)
class RankSample:
    """What the rank-test simulation deals out: residuals about the group medians, or a rating item's answers."""

    values: np.ndarray = field(compare=False, repr=False)
    ordinal: bool = False


def rank_sample(values: tuple[np.ndarray, ...], ordinal: bool) -> RankSample:
    """The pooled sample of a rank-test comparison (``values`` per group)."""
    if ordinal:
        return RankSample(np.concatenate(values).astype(float), True)
    return RankSample(np.concatenate([v - np.median(v) for v in values]).astype(float), False)


def detectable_difference(comparison, power: float = POWER) -> Detectable | None:
    """The smallest pairwise difference the comparison's headline test detects with ``power``.

    Returns None when the data give no spread to work with.
    """
    alpha = float(comparison.alpha)
    chosen = comparison.chosen
    mixed = comparison.mixed_model
    if chosen not in ("welch", "kruskal", "team_means", "ancova", "anova") and mixed is not None:
        result = _team_level(comparison, mixed, alpha, power)  # mixed model, or a team-level randomisation test
    elif chosen != "team_means" and not comparison.trustworthy and mixed is not None:
        result = _team_level(comparison, mixed, alpha, power)  # teams ignored by the test: count them here
    elif chosen == "welch":
        result = _welch(comparison.descriptives, comparison.levels, alpha, power, "Welch t (Games–Howell)")
    elif chosen == "team_means" and getattr(comparison, "team_descriptives", None):
        result = _welch(comparison.team_descriptives, comparison.levels, alpha, power,
                        "Welch t on team means (Games–Howell)")
    elif chosen == "kruskal" and getattr(comparison, "rank_sample", None) is not None:
        result = _rank(comparison, alpha, power)
    elif chosen == "ancova" and comparison.ancova is not None:
        result = _ancova(comparison, alpha, power)
    else:
        result = _pooled(comparison, alpha, power)
    if result is None:
        return None
    limit = comparison.scale_range
    beyond = result.value is None or (limit is not None and result.value > limit)
    return replace(result, beyond_scale=bool(beyond))


# t tests -----------------------------------------------------------------------------------------

def t_power(ncp: float, df: float, alpha: float) -> float:
    """Power of a two-sided t test at level ``alpha`` (noncentral t with ``df`` and ``ncp``)."""
    critical = special.stdtrit(df, 1 - alpha / 2)
    return nct_sf(critical, df, ncp) + nct_cdf(-critical, df, ncp)


@lru_cache(maxsize=512)
def t_detectable_ncp(df: float, alpha: float, power: float = POWER) -> float:
    """Noncentrality at which a two-sided t test (``df``, ``alpha``) reaches ``power``."""
    high = 4.0
    while t_power(high, df, alpha) < power:
        high *= 2
    return float(brentq(lambda ncp: t_power(ncp, df, alpha) - power, 0.0, high, xtol=1e-12))


def _pair_alpha(alpha: float, k: int) -> float:
    return alpha / comb(k, 2)


def _ancova(comparison, alpha: float, power: float) -> Detectable | None:
    ancova = comparison.ancova
    sd, df = float(ancova.residual_sd), float(ancova.arm_test.df2)
    if not np.isfinite(sd) or sd <= 0 or not df > 0:
        return None
    sizes = {level: ancova.n_used.get(level, 0) for level in comparison.levels} if ancova.n_used else \
        {d.group: d.n for d in comparison.descriptives}
    a, b = max(combinations(comparison.levels, 2), key=lambda p: 1 / max(sizes[p[0]], 1) + 1 / max(sizes[p[1]], 1))
    se = sd * np.sqrt(1 / sizes[a] + 1 / sizes[b])
    value = t_detectable_ncp(df, _pair_alpha(alpha, len(comparison.levels)), power) * se
    return Detectable(float(value), f"ANCOVA t, residual SD, df {df:g}", power, alpha, (a, b), df, sd)


def _pooled(comparison, alpha: float, power: float) -> Detectable | None:
    groups = comparison.descriptives
    df = sum(d.n - 1 for d in groups)
    if df <= 0:
        return None
    sd = float(np.sqrt(sum((d.n - 1) * d.sd ** 2 for d in groups if d.n > 1) / df))
    if not np.isfinite(sd) or sd <= 0:
        return None
    a, b = max(combinations(groups, 2), key=lambda p: 1 / p[0].n + 1 / p[1].n)
    se = sd * np.sqrt(1 / a.n + 1 / b.n)
    value = t_detectable_ncp(float(df), _pair_alpha(alpha, len(groups)), power) * se
    return Detectable(float(value), f"t test, pooled SD, df {df:g}", power, alpha, (a.group, b.group), float(df), sd)


# Welch / Games–Howell ---------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _variance_nodes(nu: float, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes q = χ²_ν / ν and weights: the trapezoidal rule in log q between the 1e-12 and 1 − 1e-12
    quantiles (the integrand is smooth there and decays fast at both ends). With 1 or 2 df the left
    tail is long and the power changes fast along it, so it gets more nodes (1e-10 against 4,096)."""
    count = count or (512 if nu < 1.5 else 128 if nu < 2.5 else _VARIANCE_NODES)
    low = np.log(2 * special.gammaincinv(nu / 2, 1e-12) / nu)
    high = np.log(special.chdtri(nu, 1e-12) / nu)
    x = np.linspace(low, high, count)
    weights = np.exp(chi2_logpdf(nu * np.exp(x), nu) + np.log(nu) + x)
    weights[[0, -1]] /= 2
    return np.exp(x), weights / weights.sum()


def _range_quantiles(probability: float, k: int, dfs: np.ndarray) -> np.ndarray:
    """The studentized range's ``probability`` quantile at each of ``dfs``, all at once: the Illinois
    (regula falsi) method on ``_studentized``'s quadrature, to 1e-9 relative."""
    nodes = [studentized._scale_nodes(float(df)) for df in dfs]
    scales, weights = np.array([n[0] for n in nodes]), np.array([n[1] for n in nodes])
    target = 1.0 - probability

    def excess(q):  # P(Q > q) − target, for each df
        sf = studentized._range_sf((q[:, None] * scales).ravel(), k).reshape(scales.shape)
        return np.einsum("ij,ij->i", sf, weights) - target

    # Bracket: two groups' range (√2 · Welch's t) and Bonferroni over the k(k − 1)/2 pairs.
    dfs = np.asarray(dfs, float)
    low = np.sqrt(2) * special.stdtrit(dfs, 1 - target / 2) * (1 - 1e-12)
    high = np.sqrt(2) * special.stdtrit(dfs, 1 - target / (k * (k - 1))) * (1 + 1e-12)
    f_low, f_high = excess(low), excess(high)
    side = np.zeros(len(dfs))
    q = (low + high) / 2
    for _ in range(60):
        q = np.where(f_high != f_low, (low * f_high - high * f_low) / (f_high - f_low), (low + high) / 2)
        q = np.clip(q, low, high)
        f = excess(q)
        above = f > 0  # q is below the quantile
        f_high = np.where(above & (side > 0), f_high / 2, f_high)  # Illinois: halve the end kept twice
        f_low = np.where(~above & (side < 0), f_low / 2, f_low)
        low, f_low = np.where(above, q, low), np.where(above, f, f_low)
        high, f_high = np.where(above, high, q), np.where(above, f_high, f)
        side = np.where(above, 1.0, -1.0)
        if np.all((high - low < 1e-9 * high) | (np.abs(f) < 1e-13)):
            break
    return q


@lru_cache(maxsize=64)
def _gh_critical(alpha: float, k: int, df_low: float, df_high: float):
    """|t| a Games–Howell pair must exceed, as a function of its df (vectorised), for df in the range.

    k = 2: Welch's t quantile; k > 2: q(1 − α; k, df)/√2, the studentized range's quantile. Either is
    interpolated in 1/df on Chebyshev nodes (exact at the nodes, within 1e-9 between them: more
    nodes when the df reach down to where the quantile changes fast), which is much faster than
    inverting the distribution at every node of the power integral.
    """
    if k == 2:
        def quantile(df):
            return special.stdtrit(df, 1 - alpha / 2)
    else:
        def quantile(df):
            return _range_quantiles(1 - alpha, k, df) / np.sqrt(2)
    x_low, x_high = 1 / df_high, 1 / df_low
    if x_high - x_low < 1e-12:
        value = float(quantile(np.array([df_low]))[0])
        return lambda df: np.full(np.shape(df), value)
    degree = (20 if k == 2 else 16) if df_low < 4 else 2 if df_low > 1000 else 12 if k == 2 else 8
    fit = chebyshev.Chebyshev.interpolate(lambda x: np.log(quantile(1 / np.asarray(x))), degree,
                                          domain=[x_low, x_high])
    return lambda df: np.exp(fit(1 / np.asarray(df, float)))


def welch_power_function(sd_a: float, n_a: int, sd_b: float, n_b: int, alpha: float, k: int = 2):
    """Exact power, as a function of the true difference, of the Games–Howell (k = 2: Welch t) test of a
    pair of normal groups with true SDs ``sd_a``, ``sd_b``: the conditional power given the two sample
    variances, integrated over their scaled chi-square distributions."""
    qa, wa = _variance_nodes(float(n_a - 1))
    qb, wb = _variance_nodes(float(n_b - 1))
    va = (sd_a ** 2 * qa / n_a)[:, None]
    vb = (sd_b ** 2 * qb / n_b)[None, :]
    se = np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    weight = (wa[:, None] * wb[None, :]).ravel()
    keep = weight > 1e-15
    df, se, weight = df.ravel()[keep], se.ravel()[keep], weight[keep]
    # Welch's df lies between min(ν_a, ν_b) and ν_a + ν_b: one interpolation serves every pair of these sizes.
    threshold = _gh_critical(float(alpha), int(k), float(min(n_a, n_b) - 1), float(n_a + n_b - 2))(df) * se
    spread = np.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b)

    def power(delta: float) -> float:
        return float(weight @ (special.ndtr((delta - threshold) / spread)
                               + special.ndtr((-delta - threshold) / spread)))

    return power


def welch_detectable(sd_a: float, n_a: int, sd_b: float, n_b: int, alpha: float, k: int = 2,
                     power: float = POWER) -> float:
    """Smallest true difference the Games–Howell test of the pair detects with ``power`` (outcome units)."""
    function = welch_power_function(sd_a, n_a, sd_b, n_b, alpha, k)
    high = 4 * np.sqrt(sd_a ** 2 / n_a + sd_b ** 2 / n_b)
    while function(high) < power:
        high *= 2
    return float(brentq(lambda d: function(d) - power, 0.0, high, xtol=1e-12 * high, rtol=1e-12))


def welch_df(sd_a: float, n_a: int, sd_b: float, n_b: int) -> float:
    va, vb = sd_a ** 2 / n_a, sd_b ** 2 / n_b
    return float((va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)))


def _welch(groups, levels, alpha: float, power: float, name: str) -> Detectable | None:
    groups = [g for g in groups if g.group in levels]
    k = len(groups)
    if k < 2 or any(g.n < 2 or not np.isfinite(g.sd) or g.sd <= 0 for g in groups):
        return None
    pooled = float(np.sqrt(sum((g.n - 1) * g.sd ** 2 for g in groups) / sum(g.n - 1 for g in groups)))
    spread = {g.group: max(g.sd, pooled) if g.n < THIN_GROUP else g.sd for g in groups}
    best = None
    for a, b in combinations(groups, 2):
        value = welch_detectable(spread[a.group], a.n, spread[b.group], b.n, alpha, k, power)
        if best is None or value > best[0]:
            best = (value, a, b)
    value, a, b = best
    df = welch_df(spread[a.group], a.n, spread[b.group], b.n)
    thin = [g.group for g in (a, b) if g.n < THIN_GROUP and spread[g.group] > g.sd]
    method = f"{name}, df {df:.1f}" + (", the pooled SD for a group of fewer than 5" if thin else "")
    return Detectable(float(value), method, power, alpha, (a.group, b.group), df)


# Team level --------------------------------------------------------------------------------------

def _team_level(comparison, mixed, alpha: float, power: float) -> Detectable | None:
    levels = comparison.levels
    k = len(levels)
    estimated = np.isfinite(mixed.icc) and mixed.converged and mixed.var_cluster > 0
    within = float(getattr(mixed, "var_within_teams", float("nan")))
    if estimated:
        sd = float(np.sqrt(mixed.var_cluster + mixed.var_residual))
    elif np.isfinite(within) and within > 0:  # an assumed ICC: the total SD is √(within / (1 − ICC))
        sd = float(np.sqrt(within))
    else:  # the reps' pooled SD stands for the within-team one
        groups = comparison.descriptives
        sd = float(np.sqrt(sum((d.n - 1) * d.sd ** 2 for d in groups if d.n > 1) / sum(d.n - 1 for d in groups)))
    if not np.isfinite(sd) or sd <= 0:
        return None
    df = float(mixed.arm_test.df2) if mixed.arm_test is not None else float(mixed.n_clusters - k)
    if not df > 0:
        return None
    sizes = getattr(mixed, "team_sizes", None) or {}
    if not all(sizes.get(level) for level in levels):  # sizes unknown: the mean size for every team
        per_arm = max(mixed.n_clusters / k, 1.0)
        sizes = {level: (mixed.mean_cluster_size,) * int(round(per_arm)) for level in levels}
    ncp = t_detectable_ncp(df, _pair_alpha(alpha, k), power)

    def at(icc: float, total: float) -> tuple[float, tuple[str, str]]:
        weight = {level: float(np.sum([m / (1 + (m - 1) * icc) for m in sizes[level]])) for level in levels}
        a, b = max(combinations(levels, 2), key=lambda p: 1 / weight[p[0]] + 1 / weight[p[1]])
        return float(ncp * total * np.sqrt(1 / weight[a] + 1 / weight[b])), (a, b)

    if estimated:
        icc = float(mixed.icc)
        value, pair = at(icc, sd)
        return Detectable(value, f"team level, ICC {icc:.2f}, df {df:g}", power, alpha, pair, df, sd, icc)
    lowest, highest = PLAUSIBLE_ICC
    low, _ = at(lowest, sd / np.sqrt(1 - lowest))
    total = sd / np.sqrt(1 - highest)
    value, pair = at(highest, total)
    why = "estimated at zero" if mixed.converged else "not estimated"
    return Detectable(value, f"team level, ICC {lowest:.2f}–{highest:.2f} ({why}), df {df:g}",
                      power, alpha, pair, df, float(total), None, PLAUSIBLE_ICC, low)


# Rank tests --------------------------------------------------------------------------------------

def _holm_rows(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values of each row of ``p`` (rows: draws, columns: pairs)."""
    m = p.shape[1]
    order = np.argsort(p, axis=1)
    ranked = np.take_along_axis(p, order, axis=1) * (m - np.arange(m))
    ranked = np.minimum(np.maximum.accumulate(ranked, axis=1), 1.0)
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, ranked, axis=1)
    return adjusted


def _named_by_rank_sums(mean_ranks: np.ndarray, ties: np.ndarray, sizes: np.ndarray, pair: tuple[int, int],
                        alpha: float) -> np.ndarray:
    """The verdict's rule for each draw: Kruskal–Wallis p < alpha and the pair's Dunn–Holm p < alpha,
    the pair's second group ranked higher. ``mean_ranks``: draws × groups; ``ties``: Σ(t³ − t) per draw."""
    n = float(sizes.sum())
    k = len(sizes)
    spread = np.sum(sizes * (mean_ranks - (n + 1) / 2) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = 12 / (n * (n + 1)) * spread / (1 - ties / (n ** 3 - n))
        p_omnibus = special.chdtrc(k - 1, h)
        variance = n * (n + 1) / 12 - ties / (12 * (n - 1))
        pairs = list(combinations(range(k), 2))
        z = np.column_stack([(mean_ranks[:, j] - mean_ranks[:, i]) / np.sqrt(variance * (1 / sizes[i] + 1 / sizes[j]))
                             for i, j in pairs])
    p = np.nan_to_num(2 * special.ndtr(-np.abs(z)), nan=1.0)
    adjusted = _holm_rows(p)
    index = pairs.index(tuple(sorted(pair)))
    toward = 1 if pair[1] > pair[0] else -1
    return (np.nan_to_num(p_omnibus, nan=1.0) < alpha) & (adjusted[:, index] < alpha) & (toward * z[:, index] > 0)


def _ranks_of_rows(values: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean midrank of each group and Σ(t³ − t) of the ties, for each row of ``values`` (draws × N)."""
    draws, n = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1).ravel()
    flat = np.arange(draws * n)
    start = np.ones(draws * n, bool)
    start[1:] = ordered[1:] != ordered[:-1]
    start[::n] = True
    end = np.ones(draws * n, bool)
    end[:-1] = start[1:]
    first = np.maximum.accumulate(np.where(start, flat, 0))
    last = np.minimum.accumulate(np.where(end, flat, draws * n)[::-1])[::-1]
    midrank = (first + last) / 2 - (flat // n) * n + 1
    group = labels[order].ravel() + (flat // n) * k
    sums = np.bincount(group, weights=midrank, minlength=draws * k).reshape(draws, k)
    counts = np.bincount(labels, minlength=k).astype(float)
    runs = (last - first + 1)[start].astype(float)
    ties = np.bincount((flat // n)[start], weights=runs ** 3 - runs, minlength=draws)
    return sums / counts, ties


def _shifted(values: np.ndarray, delta: float, ordinal: bool, steps: np.ndarray | None, top: float | None):
    if not ordinal:
        return values + delta
    whole = np.floor(delta)
    moved = values + whole + (steps < delta - whole)
    return np.minimum(moved, top) if top is not None else moved


def _solve(share, guess: float, limit: float, power: float) -> float | None:
    """δ in (0, limit] where the (monotone, noisy) ``share`` first reaches ``power``; None if it never does."""
    if share(limit) < power:
        return None
    low, high = 0.0, min(guess, limit)
    while share(high) < power:
        low, high = high, min(high * 2, limit)
    while high - low > 1e-3 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if share(middle) >= power else (middle, high)
    return (low + high) / 2


def _rank(comparison, alpha: float, power: float) -> Detectable | None:
    sample = comparison.rank_sample
    values, ordinal = sample.values, sample.ordinal
    sizes = np.array([d.n for d in comparison.descriptives])
    levels = comparison.levels
    k, n = len(sizes), int(sizes.sum())
    if np.ptp(values) == 0 or k < 2:
        return None
    i, j = max(combinations(range(k), 2), key=lambda p: 1 / sizes[p[0]] + 1 / sizes[p[1]])
    shift, other = (j, i) if sizes[j] <= sizes[i] else (i, j)
    top = comparison.bounds[1] if ordinal and comparison.bounds is not None else None
    scale = float(np.subtract(*np.percentile(values, [75, 25]))) / 1.349 or float(np.std(values)) or 1.0
    guess = 3 * scale * np.sqrt(1 / sizes[i] + 1 / sizes[j])
    span = float(np.ptp(values))
    limit = (np.floor(span) + 1) if ordinal else span * 1.001 + 1e-12 * max(1.0, abs(span))
    if top is not None:
        limit = max(limit, float(top - values.min()))
    rng = np.random.default_rng(RANK_SEED)
    if n <= RANK_SIMULATED_UP_TO:
        labels = np.repeat(np.arange(k), sizes)
        dealt = values[rng.permuted(np.tile(np.arange(n), (RANK_DRAWS, 1)), axis=1)]
        columns = labels == shift
        steps = rng.random((RANK_DRAWS, int(columns.sum()))) if ordinal else None

        def share(delta: float) -> float:
            moved = dealt.copy()
            moved[:, columns] = _shifted(dealt[:, columns], delta, ordinal, steps, top)
            mean_ranks, ties = _ranks_of_rows(moved, labels, k)
            return float(_named_by_rank_sums(mean_ranks, ties, sizes, (other, shift), alpha).mean())

        draws, how = RANK_DRAWS, "simulated"
    else:
        share = _rank_approximation(values, ordinal, sizes, shift, other, alpha, top, rng)
        draws, how = _APPROXIMATION_DRAWS, "normal approximation"
    value = _solve(share, guess, limit, power)
    return Detectable(None if value is None else float(value), f"rank test (Kruskal–Wallis, Dunn–Holm), {how}",
                      power, alpha, (levels[min(i, j)], levels[max(i, j)]), draws=draws)


def _rank_approximation(values, ordinal, sizes, shift, other, alpha, top, rng):
    """The share of draws the rule names, with the groups' mean ranks normal: null covariance, means
    from θ(δ) = P(X + δ > Y) + ½ P(X + δ = Y) for X, Y from the pooled sample."""
    n, k = float(sizes.sum()), len(sizes)
    unique, counts = np.unique(values, return_counts=True)
    ties = float(np.sum(counts.astype(float) ** 3 - counts))
    variance = (n * n - 1) / 12 - ties / (12 * n)  # of the midranks of the whole sample
    covariance = -variance / (n - 1) * np.ones((k, k))
    np.fill_diagonal(covariance, variance * (n - sizes) / (sizes * (n - 1)))
    factor = np.linalg.cholesky(covariance[:-1, :-1])
    normal = rng.standard_normal((_APPROXIMATION_DRAWS, k - 1)) @ factor.T
    weights = counts / counts.sum()
    if not ordinal and len(unique) > 2000:  # θ from 2,000 quantiles of the sample
        unique = np.quantile(values, (np.arange(2000) + 0.5) / 2000)
        weights = np.full(2000, 1 / 2000)

    def theta(delta: float) -> float:
        if ordinal:
            whole = np.floor(delta)
            up = delta - whole
            moved = np.concatenate([unique + whole, unique + whole + 1])
            if top is not None:
                moved = np.minimum(moved, top)
            mass = np.concatenate([weights * (1 - up), weights * up])
        else:
            moved, mass = unique + delta, weights
        below = np.searchsorted(unique, moved, side="left")
        upto = np.searchsorted(unique, moved, side="right")
        cumulative = np.concatenate([[0.0], np.cumsum(weights)])
        return float(mass @ ((cumulative[below] + cumulative[upto]) / 2))

    def share(delta: float) -> float:
        lift = theta(delta) - 0.5
        means = np.full(k, (n + 1) / 2 - sizes[shift] * lift)  # unshifted groups
        means[shift] = (n + 1) / 2 + (n - sizes[shift]) * lift
        deviations = np.column_stack([normal, -(normal @ sizes[:-1]) / sizes[-1]])  # Σ n_g (R̄_g − mean) = 0
        draws = means + deviations
        return float(_named_by_rank_sums(draws, np.full(len(draws), ties), sizes, (other, shift), alpha).mean())

    return share
