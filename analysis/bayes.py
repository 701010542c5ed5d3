"""The chance that each coaching model is best, and what choosing it may give up, on one outcome.

The arm differences against the reference (from the mixed model, with their covariance) are taken
as normal — the usual large-sample approximation of their likelihood — and combined with a sceptical
normal prior centred on "no difference" (conjugate, so the posterior is normal too). The posterior is
sampled by a seeded randomised quasi-Monte Carlo (scrambled Sobol points): P(arm is best) and the
expected loss E[max_j θ_j − θ_i], the amount of the outcome given up on average by choosing arm i.
Both are also given under a flat prior (posterior = the estimates themselves), and ``prior_moved``
says how much the prior changed the chances.

References
----------
Gelman, A. et al. (2013). Bayesian data analysis, 3rd ed., sec. 3.5 (the normal model with known
    covariance and its conjugate prior).
Owen, A. B. (1997). Scrambled net variance for integrals of smooth functions. Ann. Statist. 25,
    1541–1562 (why scrambled Sobol points beat plain Monte Carlo draws at the same number).
Stucchio, C. (2015). Bayesian A/B testing at VWO (expected loss as the decision criterion); GrowthBook's
    "chance to win" and "risk" are the same two quantities (docs.growthbook.io, statistics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._result import Result

SURVEY_PRIOR_SD_UNITS = 0.2
"""Sceptical prior scale of a difference between coach types on a survey dimension: 0.2 SD.

From the market note, ``shared/reviews/market.md`` section 5.3 ("Calibration for CoachLab's simulator
and priors"): there is no direct estimate between coach types; a sceptical prior is a standardised
difference ~ N(0, 0.2²) for survey dimensions (coaching against no coaching runs d ≈ 0.3–0.6 on
self-report). Turn it into outcome units with :func:`prior_sd_from`."""

QUOTA_PRIOR_SD_UNITS = 0.1
"""Sceptical prior scale of a difference between coach types on quota attainment: 0.1 SD.

From the market note, ``shared/reviews/market.md`` section 5.3: a standardised difference ~ N(0, 0.1²)
for quota attainment (coaching against no coaching runs d ≈ 0.2 on objective results). Turn it into
outcome units with :func:`prior_sd_from`."""

DEFAULT_DRAWS = 2 ** 18  # 262,144 Sobol points; any other number is rounded up to a power of two
DEFAULT_SEED = 20260016  # fixed, so a report shows the same chances every time it is built
CONDITION_LIMIT = 1e12  # covariance matrices worse conditioned than this count as singular


@dataclass(frozen=True)
class ArmChance(Result):
    """One coaching model's chance of being best and its expected loss (outcome units, ≥ 0)."""

    level: str
    probability_best: float
    expected_loss: float


@dataclass(frozen=True)
class BayesResult(Result):
    """Chance of being best and expected loss for every coaching model, with the prior and with a flat one.

    ``chances`` use the prior (``prior_sd`` per arm, in outcome units; equal to ``flat`` when
    ``prior_sd`` is None), ``flat`` a flat prior. ``posterior_mean``, ``posterior_sd`` and
    ``posterior_covariance`` describe the differences ``level − reference`` for ``levels[1:]`` under the
    prior used; ``flat_mean`` and ``flat_sd`` are the estimates and their SEs. ``prior_sd_difference``
    is the prior SD of any difference between two arms (``prior_sd``·√2). ``prior_moved`` is the
    largest absolute change in P(best) between the two. ``draws`` is the number of (Sobol) points used.
    ``monte_carlo_se`` is the largest SE a P(best) would have from as many plain Monte Carlo draws,
    √(p(1 − p)/draws): an upper bound; scrambled Sobol points are far closer (2e-6 from the two-arm
    closed form; for three and four arms within the Monte Carlo error of 2,000,000 draws in R,
    ``tests/analysis/test_bayes.py``). Both analyses use the same points.
    """

    levels: tuple[str, ...]
    reference: str
    higher_is_better: bool
    prior_sd: float | None
    prior_sd_difference: float | None
    chances: tuple[ArmChance, ...]
    flat: tuple[ArmChance, ...]
    posterior_mean: tuple[float, ...]
    posterior_sd: tuple[float, ...]
    posterior_covariance: tuple[tuple[float, ...], ...]
    flat_mean: tuple[float, ...]
    flat_sd: tuple[float, ...]
    prior_moved: float
    draws: int
    seed: int
    monte_carlo_se: float

    def chance(self, level: str, flat: bool = False) -> ArmChance:
        """The :class:`ArmChance` of ``level`` (under the flat prior when ``flat``)."""
        for arm in self.flat if flat else self.chances:
            if arm.level == level:
                return arm
        raise KeyError(level)


def prior_sd_from(scale_sd_units: float, outcome_sd: float) -> float:
    """The per-arm prior SD τ in outcome units for a prior on a *difference* of ``scale_sd_units`` SDs.

    The market note's priors (:data:`SURVEY_PRIOR_SD_UNITS`, :data:`QUOTA_PRIOR_SD_UNITS`) are on the
    standardised difference between two coach types, N(0, s²). Under the model of
    :func:`probability_best` each arm's mean is N(0, τ²) around a common level, so a difference of two
    arms is N(0, 2τ²); τ = s·``outcome_sd``/√2 makes that difference N(0, (s·outcome_sd)²).
    ``outcome_sd`` is the outcome's SD among reps (for the mixed model, √(team + residual variance)).
    """
    scale = _positive("scale_sd_units", scale_sd_units)
    sd = _positive("outcome_sd", outcome_sd)
    return scale * sd / math.sqrt(2)


def _positive(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, not {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number greater than 0, not {value}")
    return value


def _check_inputs(levels, estimates, covariance) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    levels = tuple(str(level) for level in levels)
    if len(levels) < 2:
        raise ValueError(f"levels: the chance of being best needs two coaching models at least, not {len(levels)}")
    if len(set(levels)) != len(levels):
        raise ValueError(f"levels: {', '.join(levels)} names a model twice")
    try:
        d = np.asarray(estimates, dtype=float).reshape(-1)
        v = np.atleast_2d(np.asarray(covariance, dtype=float))
    except (TypeError, ValueError):
        raise ValueError("estimates and covariance: expected numbers") from None
    m = len(levels) - 1
    if len(d) != m:
        raise ValueError(f"estimates: expected {m} differences against {levels[0]!r} (one per other level), "
                         f"not {len(d)}")
    if v.shape != (m, m):
        raise ValueError(f"covariance: expected a {m}×{m} matrix, not {'×'.join(map(str, v.shape))}")
    if not np.all(np.isfinite(d)):
        raise ValueError("estimates: every difference must be a finite number (a NaN means the model gave none)")
    if not np.all(np.isfinite(v)):
        raise ValueError("covariance: every entry must be a finite number")
    if not np.allclose(v, v.T, rtol=1e-8, atol=1e-12 * float(np.max(np.abs(v)) or 1.0)):
        raise ValueError("covariance: the matrix is not symmetric")
    v = (v + v.T) / 2
    values = np.linalg.eigvalsh(v)
    if values[0] <= 0 or values[-1] / values[0] > CONDITION_LIMIT:
        raise ValueError("covariance: the matrix is singular (or not positive definite), so some difference "
                         "has no uncertainty; the chance of being best cannot be computed")
    return levels, d, v


def posterior(estimates, covariance, prior_sd: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and covariance of the differences vs the reference (conjugate normal).

    Prior: the differences are N(0, P), P = τ²(I + J) (each arm's mean N(0, τ²) independently around a
    common level; J the matrix of ones); likelihood: estimates ~ N(θ, V). Then
    Σ = (V⁻¹ + P⁻¹)⁻¹ = V − V(V + P)⁻¹V and μ = Σ V⁻¹ d̂ = P(V + P)⁻¹ d̂. ``prior_sd`` None: flat, (d̂, V).
    """
    d, v = np.asarray(estimates, float), np.asarray(covariance, float)
    if prior_sd is None:
        return d.copy(), v.copy()
    m = len(d)
    prior = prior_sd ** 2 * (np.eye(m) + np.ones((m, m)))
    total = v + prior
    mean = prior @ np.linalg.solve(total, d)
    cov = v - v @ np.linalg.solve(total, v)
    return mean, (cov + cov.T) / 2


def standard_normal_points(dimension: int, draws: int, seed: int) -> np.ndarray:
    """``draws`` (rounded up to a power of two) scrambled Sobol points turned into standard normal
    vectors (draws × dimension), seeded by ``numpy.random.Generator(PCG64(seed))``."""
    from scipy.special import ndtri
    from scipy.stats import qmc  # here, not at import: scipy.stats takes 0.3–0.9 s to load

    sobol = qmc.Sobol(dimension, scramble=True, seed=np.random.Generator(np.random.PCG64(seed)))
    uniform = sobol.random_base2(max(0, math.ceil(math.log2(draws))))
    return ndtri(np.clip(uniform, 1e-16, 1 - 1e-16))  # the scramble never gives 0, but stay finite


def _chances(levels, mean, cov, normal, higher_is_better) -> tuple[ArmChance, ...]:
    """P(best) and expected loss averaged over standard normal points ``normal`` (draws × m)."""
    theta = mean + normal @ np.linalg.cholesky(cov).T
    values = np.hstack([np.zeros((len(theta), 1)), theta])  # the reference arm is 0
    if not higher_is_better:
        values = -values  # best = lowest; the loss is θ_i − min θ
    best = values.max(axis=1)
    wins = np.bincount(values.argmax(axis=1), minlength=len(levels)) / len(values)
    loss = (best[:, None] - values).mean(axis=0)
    return tuple(ArmChance(level, float(p), float(x)) for level, p, x in zip(levels, wins, loss, strict=True))


def probability_best(levels: Sequence[str], estimates: Sequence[float], covariance, prior_sd: float | None = None,
                     higher_is_better: bool = True, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED
                     ) -> BayesResult:
    """The chance that each coaching model is best, and the expected loss of choosing it.

    Parameters
    ----------
    levels : sequence of str
        The coaching models; the first is the reference.
    estimates : sequence of float
        The differences ``level − reference`` for ``levels[1:]`` (e.g. the mixed model's arm effects).
    covariance : array (m−1)×(m−1)
        Their covariance (``MixedModelResult.arm_covariance``); must be positive definite.
    prior_sd : float, optional
        τ, the prior SD of each arm's mean around a common level, in outcome units (see
        :func:`prior_sd_from`); None for a flat prior.
    higher_is_better : bool
        False when a lower outcome is better.
    draws, seed : int
        Points drawn from the posterior: ``draws`` rounded up to a power of two, scrambled Sobol
        points seeded by numpy's ``Generator(PCG64(seed))`` (:func:`standard_normal_points`).

    Returns
    -------
    BayesResult

    Notes
    -----
    Normal approximation: d̂ ~ N(θ, V). Prior θ ~ N(0, τ²(I + J)), conjugate, so the posterior is normal
    (:func:`posterior`). With the reference arm at 0 and the others at θ, P(best)ᵢ is the share of
    draws where arm i is highest and the expected loss E[max_j θ_j − θ_i] (≥ 0; 0 for an arm that is
    surely best). The points are randomised quasi-Monte Carlo (scrambled Sobol, turned normal by the
    inverse normal CDF): unbiased like plain Monte Carlo draws, with an error that falls much faster
    with their number, so 2¹⁸ points give the two-arm closed form to about 1e-5 where as many plain
    draws would be off by ~1e-3. The same points serve the prior and the flat analysis.
    """
    levels, d, v = _check_inputs(levels, estimates, covariance)
    if prior_sd is not None:
        prior_sd = _positive("prior_sd", prior_sd)
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1000:
        raise ValueError(f"draws: expected a whole number of at least 1000, not {draws!r}")
    normal = standard_normal_points(len(d), int(draws), seed)
    draws = len(normal)
    flat = _chances(levels, d, v, normal, higher_is_better)
    mean, cov = posterior(d, v, prior_sd)
    chances = flat if prior_sd is None else _chances(levels, mean, cov, normal, higher_is_better)
    moved = max(abs(a.probability_best - b.probability_best) for a, b in zip(chances, flat, strict=True))
    mc_se = max(math.sqrt(c.probability_best * (1 - c.probability_best) / draws) for c in chances + flat)
    return BayesResult(
        levels=levels, reference=levels[0], higher_is_better=bool(higher_is_better), prior_sd=prior_sd,
        prior_sd_difference=None if prior_sd is None else prior_sd * math.sqrt(2), chances=chances, flat=flat,
        posterior_mean=tuple(float(x) for x in mean), posterior_sd=tuple(float(x) for x in np.sqrt(np.diag(cov))),
        posterior_covariance=tuple(tuple(float(x) for x in row) for row in cov),
        flat_mean=tuple(float(x) for x in d), flat_sd=tuple(float(x) for x in np.sqrt(np.diag(v))),
        prior_moved=float(moved), draws=int(draws), seed=int(seed), monte_carlo_se=float(mc_se))


def probability_best_from_model(result, prior_sd: float | None = None, higher_is_better: bool = True,
                                draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> BayesResult:
    """:func:`probability_best` from a :class:`~analysis.clustered.MixedModelResult` (its arm effects
    and ``arm_covariance``); a fit that did not converge is refused, as it is never reported."""
    if not result.converged or not result.arm_effects or not result.arm_covariance:
        raise ValueError("the mixed model did not converge (or has no arm covariance); its estimates are not "
                         "used, so no chance of being best is computed from it")
    levels = (result.arm_effects[0].vs,) + tuple(e.level for e in result.arm_effects)
    return probability_best(levels, [e.estimate for e in result.arm_effects], result.arm_covariance, prior_sd,
                            higher_is_better, draws, seed)
