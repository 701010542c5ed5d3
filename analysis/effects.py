"""Effect sizes: η², ω², ε² for the omnibus comparison; Hedges' g and Cliff's δ for pairs; the
standardised size of a baseline-adjusted difference.

References
----------
Hays, W. L. (1963). Statistics for psychologists (ω²).
Kelley, T. L. (1935). An unbiased correlation ratio measure. PNAS 21, 554–559 (ε²).
Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. Journal of Educational Statistics 6, 107–128.
Steiger, J. H. & Fouladi, R. T. (1997). Noncentrality interval estimation and the evaluation of
    statistical models (CI of a standardised difference by inverting the noncentral t).
Hedges, L. V. (2007). Effect sizes in cluster-randomized designs. Journal of Educational and
    Behavioral Statistics 32, 341–370 (standardising by the total of the team and rep variances).
Cliff, N. (1993). Dominance statistics: ordinal analyses to answer ordinal questions.
    Psychological Bulletin 114, 494–509.
Cohen, J. (1988). Statistical power analysis for the behavioral sciences, 2nd ed. (0.2, 0.5, 0.8).
Romano, J. et al. (2006). Appropriate statistics for ordinal level data (Cliff's δ: 0.147, 0.33, 0.474).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from ._distributions import nct_cdf
from ._ranks import mann_whitney_u
from ._result import Result
from ._roots import brentq
from ._validate import Groups, group_variance
from .omnibus import AnovaTable, anova_table

#: Words for an effect's size, from the smallest up; an effect below the n-th threshold gets the n-th word.
SIZE_WORDS = ("negligible", "small", "medium", "large")
#: Cohen's thresholds for a standardised difference (|g|).
COHEN_G = (0.2, 0.5, 0.8)
#: Romano et al.'s thresholds for Cliff's |δ|.
ROMANO_DELTA = (0.147, 0.33, 0.474)


@dataclass(frozen=True)
class OmnibusEffects(Result):
    """Share of variance explained by the grouping (raw values; ω² and ε² can be slightly negative)."""

    eta_squared: float
    omega_squared: float
    epsilon_squared: float


@dataclass(frozen=True)
class PairEffect(Result):
    """Standardised difference ``b − a`` (Hedges' g, 95 % CI) and Cliff's δ = P(b > a) − P(b < a)."""

    a: str
    b: str
    hedges_g: float
    g_ci_low: float
    g_ci_high: float
    cliffs_delta: float


@dataclass(frozen=True)
class AdjustedEffect(Result):
    """A model's pairwise difference ``b − a`` (adjusted for a baseline) over the SD the model leaves.

    ``g`` = ``diff`` / ``sd`` (times J(df) when ``corrected``), with its 95 % CI; ``sd_kind`` says
    which SD: the ANCOVA's residual SD, or the mixed model's √(team variance + residual variance).
    """

    a: str
    b: str
    diff: float
    se: float
    df: float
    sd: float
    sd_kind: str
    g: float
    ci_low: float
    ci_high: float
    corrected: bool


#: The SD each adjusting model standardises by, in words (``AdjustedEffect.sd_kind``).
ANCOVA_SD = "residual SD of the ANCOVA (outcome given model and baseline)"
MIXED_SD = "√(team variance + residual variance) of the mixed model with the baseline"


def omnibus_effects(groups: Groups, table: AnovaTable | None = None) -> OmnibusEffects:
    """η² = SSb/SSt; ω² = (SSb − dfb·MSw)/(SSt + MSw); ε² = (SSb − dfb·MSw)/SSt."""
    table = table or anova_table(groups)
    corrected = table.ss_between - table.df_between * table.ms_within
    return OmnibusEffects(eta_squared=table.ss_between / table.ss_total,
                          omega_squared=corrected / (table.ss_total + table.ms_within),
                          epsilon_squared=corrected / table.ss_total)


def hedges_correction(df: float) -> float:
    """Exact small-sample correction J(df) = Γ(df/2) / (√(df/2) Γ((df − 1)/2))."""
    return float(np.exp(special.gammaln(df / 2) - np.log(np.sqrt(df / 2)) - special.gammaln((df - 1) / 2)))


def _ncp_interval(t: float, df: float, confidence: float) -> tuple[float, float]:
    """Noncentrality parameters whose t distributions put ``t`` at the upper and lower tail quantiles."""
    alpha = 1 - confidence

    def at(ncp: float, target: float) -> float:
        return nct_cdf(t, df, ncp) - target

    def solve(target: float) -> float:
        span = 4 * np.sqrt(1 + t * t / (2 * df)) + 1
        low, high = t - span, t + span
        while at(low, target) < 0:
            low -= span
        while at(high, target) > 0:
            high += span
        return brentq(at, low, high, args=(target,), xtol=1e-12)

    return solve(1 - alpha / 2), solve(alpha / 2)


def hedges_g(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Hedges' g for ``b − a`` with the pooled SD, and its CI.

    Returns
    -------
    (g, ci_low, ci_high)

    Notes
    -----
    ``d = (mean_b − mean_a) / s_pooled``; the CI of d inverts the noncentral t of
    ``t = d · √(n_a n_b / (n_a + n_b))``; g and its bounds are d and its bounds times J(df).
    """
    n_a, n_b = len(a), len(b)
    df = n_a + n_b - 2
    if df < 1:
        return float("nan"), float("nan"), float("nan")
    spread = [(n - 1) * group_variance(x) if n > 1 else 0.0 for n, x in ((n_a, a), (n_b, b))]  # n = 1: no spread
    pooled = np.sqrt(sum(spread) / df)
    if pooled == 0:
        return float("nan"), float("nan"), float("nan")
    d = (np.mean(b) - np.mean(a)) / pooled
    scale = np.sqrt(n_a * n_b / (n_a + n_b))
    ncp_low, ncp_high = _ncp_interval(d * scale, df, confidence)
    j = hedges_correction(df)
    return float(d * j), float(ncp_low / scale * j), float(ncp_high / scale * j)


def standardised_contrast(diff: float, se: float, sd: float, df: float, correct: bool = True,
                          confidence: float = 0.95) -> tuple[float, float, float]:
    """A model-estimated difference over an SD, and its CI from the noncentral t of ``diff / se``.

    Returns
    -------
    (g, ci_low, ci_high)

    Notes
    -----
    ``t = diff / se`` has a noncentral t distribution on ``df`` with noncentrality
    ``δ · sd / se``, where δ is the true standardised difference; the ncp bounds that put ``t`` at
    the 97.5 % and 2.5 % quantiles, times ``se / sd``, bound δ. For the ANCOVA (``sd`` its residual
    SD on the same ``df`` as ``se``) this is exact given the baselines, and ``correct`` multiplies
    the estimate and the bounds by Hedges' J(df) as :func:`hedges_g` does. For the mixed model
    ``sd`` is estimated from the variance components and the interval is an approximation (its
    simulated coverage is in ``tests/analysis/reference/adjusted_effects.json``); it is left
    uncorrected there, since the total variance has no single df.
    """
    if not (np.isfinite(diff) and np.isfinite(se) and np.isfinite(sd)) or se <= 0 or sd <= 0:
        return float("nan"), float("nan"), float("nan")
    ncp_low, ncp_high = _ncp_interval(diff / se, df, confidence)
    j = hedges_correction(df) if correct else 1.0
    return float(diff / sd * j), float(ncp_low * se / sd * j), float(ncp_high * se / sd * j)


def adjusted_effects(contrasts, sd: float, df: float, sd_kind: str, correct: bool) -> tuple[AdjustedEffect, ...]:
    """:func:`standardised_contrast` for every contrast (``analysis.contrasts.Contrast``: a, b, diff, se),
    on the contrast's own df where it has one (Satterthwaite's differ per contrast), else on ``df``."""
    result = []
    for c in contrasts:
        own = getattr(c, "df", None)
        pair_df = float(own) if own is not None else float(df)
        g, low, high = standardised_contrast(c.diff, c.se, sd, pair_df, correct)
        result.append(AdjustedEffect(c.a, c.b, float(c.diff), float(c.se), pair_df, float(sd), sd_kind, g,
                                     low, high, correct))
    return tuple(result)


def cliffs_delta_from_u(u_a: float, n_a: int, n_b: int) -> float:
    """Cliff's δ = P(b > a) − P(b < a) from the Mann–Whitney U of ``a`` (ties count half)."""
    return float(1 - 2 * u_a / (n_a * n_b))


def pairwise_effects(groups: Groups,
                     u_statistics: dict[tuple[int, int], float] | None = None) -> tuple[PairEffect, ...]:
    """Hedges' g (with CI) and Cliff's δ for every pair; ``u_statistics`` reuses Mann–Whitney U values."""
    result = []
    for i, j in groups.pairs():
        a, b = groups.values[i], groups.values[j]
        g, low, high = hedges_g(a, b)
        u = u_statistics[(i, j)] if u_statistics else mann_whitney_u(a, b)[0]
        result.append(PairEffect(groups.levels[i], groups.levels[j], g, low, high,
                                 cliffs_delta_from_u(u, len(a), len(b))))
    return tuple(result)


def size_in_words(value: float, thresholds: tuple[float, float, float]) -> str:
    """The word of :data:`SIZE_WORDS` for ``|value|`` on a ladder of three thresholds; "negligible" when not finite."""
    size = abs(value)
    if not np.isfinite(size):
        return SIZE_WORDS[0]
    return next((word for word, limit in zip(SIZE_WORDS, thresholds, strict=False) if size < limit), SIZE_WORDS[-1])


def magnitude(g: float) -> str:
    """Cohen's words for a standardised difference: |g| < 0.2 negligible, < 0.5 small, < 0.8 medium, else large."""
    return size_in_words(g, COHEN_G)


def delta_magnitude(delta: float) -> str:
    """Words for Cliff's δ (Romano et al. 2006): < 0.147 negligible, < 0.33 small, < 0.474 medium, else large."""
    return size_in_words(delta, ROMANO_DELTA)
