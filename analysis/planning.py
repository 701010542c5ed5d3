"""Planning a cluster-randomised pilot: minimum detectable effect, teams needed, allocation check.

References
----------
Donner, A. & Klar, N. (2000). Design and analysis of cluster randomization trials in health research.
Raudenbush, S. W. (1997). Statistical analysis and optimal design for cluster randomized trials.
    Psychological Methods 2, 173–185.
Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials: effect of
    coefficient of variation of cluster size and analysis method. Int. J. Epidemiol. 35, 1292–1300.
Kohavi, R. et al. (2020). Trustworthy online controlled experiments, ch. 21 (sample ratio mismatch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import comb

import numpy as np

from ._distributions import chi2_sf, nct_cdf, nct_sf, t_ppf
from ._result import Result
from ._roots import brentq

SRM_ALPHA = 0.01


def design_effect(mean_size: float, icc: float, cv: float = 0.0) -> float:
    """Variance inflation from clustering with unequal team sizes: 1 + ((CV² + 1)·m̄ − 1)·ICC.

    Eldridge, Ashby & Kerry (2006). ``cv`` is the coefficient of variation of the team sizes, their
    population SD (divisor J) over their mean m̄ — then (CV² + 1)·m̄ = Σ m_j² / Σ m_j exactly, the
    form that follows from the variance of a mean over reps of unequal teams. With equal sizes (CV = 0)
    it is the familiar 1 + (m − 1)·ICC.
    """
    return float(1 + ((cv ** 2 + 1) * mean_size - 1) * icc)


def size_variation(sizes) -> float:
    """Coefficient of variation of team sizes: their population SD (divisor J, as Eldridge et al.) over the mean."""
    sizes = np.asarray(sizes, float)
    return float(sizes.std() / sizes.mean()) if len(sizes) and sizes.mean() > 0 else 0.0


@dataclass(frozen=True)
class Design:
    """A cluster-randomised comparison of ``k`` coaching models; ``cv`` is the coefficient of variation of
    the team sizes (population SD over mean, 0 for equal teams) and ``reps_per_team`` their mean."""

    k: int
    teams_per_arm: float
    reps_per_team: float
    icc: float
    alpha: float = 0.05
    power: float = 0.8
    cv: float = 0.0

    def __post_init__(self):
        if self.k < 2:
            raise ValueError("k: at least two coaching models are compared")
        if self.teams_per_arm < 2:
            raise ValueError("teams_per_arm: at least two teams per model are needed")
        if self.reps_per_team < 1:
            raise ValueError("reps_per_team: at least one rep per team")
        if not 0 <= self.icc < 1:
            raise ValueError("icc: must be in [0, 1)")
        if not 0 < self.alpha < 1 or not 0 < self.power < 1:
            raise ValueError("alpha and power must lie strictly between 0 and 1")
        if not (np.isfinite(self.cv) and self.cv >= 0):
            raise ValueError("cv: the coefficient of variation of team sizes must be 0 or more")

    @property
    def design_effect(self) -> float:
        """Variance inflation from clustering: 1 + ((CV² + 1)·m − 1)·ICC (1 + (m − 1)·ICC for equal teams)."""
        return design_effect(self.reps_per_team, self.icc, self.cv)

    @property
    def pair_alpha(self) -> float:
        """Two-sided alpha of one pairwise comparison: Bonferroni over the k(k − 1)/2 pairs."""
        return self.alpha / comb(self.k, 2)

    @property
    def df(self) -> float:
        """Between-cluster degrees of freedom of one pairwise comparison: 2(J − 1)."""
        return 2 * (self.teams_per_arm - 1)

    def standard_error(self) -> float:
        """SE of a standardised difference of two arm means: √(2·DE / (J·m))."""
        return float(np.sqrt(2 * self.design_effect / (self.teams_per_arm * self.reps_per_team)))

    def power_at(self, effect: float) -> float:
        """Power of a two-sided t test (noncentral t, df = 2(J − 1)) to detect ``effect`` SD units."""
        critical = t_ppf(1 - self.pair_alpha / 2, self.df)
        ncp = effect / self.standard_error()
        return nct_sf(critical, self.df, ncp) + nct_cdf(-critical, self.df, ncp)


def minimum_detectable_effect(design: Design) -> float:
    """Smallest standardised difference between two arms detected with the design's power.

    Notes
    -----
    Solves ``power_at(δ) = power`` for δ. Multiply by the outcome's SD for answer-scale points.
    """
    high = 1.0
    while design.power_at(high) < design.power:
        high *= 2
    return brentq(lambda d: design.power_at(d) - design.power, 0.0, high, xtol=1e-10)


@dataclass(frozen=True)
class TeamsNeeded(Result):
    """Smallest number of teams per arm that reaches the target power, and the power reached."""

    teams_per_arm: int
    power: float


def teams_needed(effect: float, k: int, reps_per_team: float, icc: float, alpha: float = 0.05,
                 power: float = 0.8, max_teams: int = 10_000, cv: float = 0.0) -> TeamsNeeded:
    """Teams per arm needed to detect ``effect`` (SD units) — the inverse of the MDE; ``cv`` as in :class:`Design`."""
    if effect <= 0:
        raise ValueError("effect: must be positive")
    for teams in range(2, max_teams + 1):
        reached = Design(k, teams, reps_per_team, icc, alpha, power, cv).power_at(effect)
        if reached >= power:
            return TeamsNeeded(teams, reached)
    raise ValueError(f"effect: {effect:g} SD cannot be detected with up to {max_teams} teams per arm")


@dataclass(frozen=True)
class SampleRatioCheck(Result):
    """Chi-square goodness of fit of an allocation to its planned ratio."""

    observed: dict[str, int]
    expected: dict[str, float]
    statistic: float
    df: int
    p: float
    mismatch: bool


def sample_ratio_check(observed: Mapping[str, int], ratio: Mapping[str, float] | Sequence[float] | None = None,
                       alpha: float = SRM_ALPHA) -> SampleRatioCheck:
    """Check an allocation (teams or reps per model) against the planned ratio (default equal).

    A p-value below ``alpha`` (default 0.01, as usual for SRM checks) flags a mismatch: the
    randomisation or the data pipeline should be examined before trusting the comparison.
    """
    names = list(observed)
    counts = np.array([observed[name] for name in names], dtype=float)
    if len(names) < 2 or counts.sum() == 0 or np.any(counts < 0):
        raise ValueError("observed: need counts for at least two groups, not all zero")
    if ratio is None:
        weights = np.ones(len(names))
    elif isinstance(ratio, Mapping):
        weights = np.array([float(ratio[name]) for name in names])
    else:
        weights = np.array(ratio, dtype=float)
    if len(weights) != len(names) or np.any(weights <= 0):
        raise ValueError("ratio: one positive weight per group")
    expected = counts.sum() * weights / weights.sum()
    statistic = float(((counts - expected) ** 2 / expected).sum())  # Pearson's χ², as scipy.stats.chisquare
    p = chi2_sf(statistic, len(names) - 1)
    return SampleRatioCheck({n: int(c) for n, c in zip(names, counts, strict=True)},
                            {n: float(e) for n, e in zip(names, expected, strict=True)},
                            float(statistic), len(names) - 1, float(p), bool(p < alpha))
