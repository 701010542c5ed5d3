"""Reps nested in teams: a random-intercept mixed model, ICC, design effect, and team-level links.

References
----------
Pinheiro, J. C. & Bates, D. M. (2000). Mixed-effects models in S and S-PLUS, sec. 2.4.2
    (the between/within denominator degrees of freedom used for the t and F tests here).
Donner, A. & Klar, N. (2000). Design and analysis of cluster randomization trials (design effect).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._result import Result
from ._validate import (
    RowAccount,
    account_rows,
    group_labels,
    level_order,
    numeric_column,
    require_baseline_in_every_arm,
    require_columns,
)
from .contrasts import Contrast, model_contrasts
from .omnibus import FTest

GAMMA_GRID = np.concatenate([[0.0], np.logspace(-6, 6, 61)])  # τ²/σ² values scanned before refining
FLATNESS = 1e-6  # |dℓ/dlog γ| below this (relative to |ℓ|) counts as the optimum


@dataclass(frozen=True)
class ArmEffect(Result):
    """A coaching model's effect against the reference level: estimate, SE, p (and df of the t test)."""

    level: str
    vs: str
    estimate: float
    se: float
    p: float
    df: float | None = None


@dataclass(frozen=True)
class Coefficient(Result):
    """A covariate's coefficient and SE."""

    estimate: float
    se: float


@dataclass(frozen=True)
class MixedModelResult(Result):
    """A random-intercept model fitted by REML.

    ``converged`` is False when no optimiser reached a proper optimum; the estimates are then
    kept for diagnosis but must not be reported as findings (``warnings`` says so). ``n_used`` counts the
    reps the model used per arm, ``n_dropped`` those left out per arm by reason (``missing_outcome``,
    ``missing_baseline``, ``missing_team``); ``n`` is their total used. ``team_sizes`` gives the
    sizes of the teams used per arm (empty when a team holds reps of several arms), and
    ``var_within_teams`` the variance within teams, from the model with a fixed effect per team
    (what a detectable difference starts from when the team variance is estimated at zero). ``arm_test``
    is the Wald F test of the arm factor (None when its covariance is singular), an
    :class:`~analysis.omnibus.FTest` like ``AncovaResult.arm_test``.
    """

    converged: bool
    optimiser: str | None
    arm_effects: tuple[ArmEffect, ...]
    baseline: Coefficient | None
    var_cluster: float
    var_residual: float
    icc: float
    design_effect: float
    n: int
    n_clusters: int
    mean_cluster_size: float
    arm_test: FTest | None
    contrasts: tuple[Contrast, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())
    n_used: dict[str, int] = field(default_factory=dict)
    n_dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    team_sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    var_within_teams: float = float("nan")


def _within_teams_variance(y: np.ndarray, exog: np.ndarray, groups: np.ndarray) -> float:
    """Residual variance of ``y`` on a fixed effect per team and the columns of ``exog`` that vary
    within teams (RSS / (N − J − their rank)); NaN without residual df."""
    sizes = np.bincount(groups).astype(float)

    def demeaned(values):
        return values - (np.bincount(groups, weights=values) / sizes)[groups]

    y_within = demeaned(y)
    x_within = np.column_stack([demeaned(column) for column in exog.T])
    coefficients, _, rank, _ = np.linalg.lstsq(x_within, y_within, rcond=None)
    df = len(y) - len(sizes) - rank
    if df <= 0:
        return float("nan")
    return float(np.sum((y_within - x_within @ coefficients) ** 2) / df)


def _team_sizes(exog: np.ndarray, groups: np.ndarray, levels: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """Sizes of the teams in each arm (columns 1..k−1 of ``exog`` are the arm dummies); empty when a
    team holds reps of several arms."""
    if not len(groups):
        return {}
    arm = (exog[:, 1:len(levels)] @ np.arange(1, len(levels))).astype(int)
    first = np.zeros(int(groups.max()) + 1, dtype=int)
    first[groups] = arm  # the arm of one of each team's reps; any other rep differing shows below
    if np.any(first[groups] != arm):
        return {}
    sizes = np.bincount(groups)
    return {level: tuple(int(m) for m in sizes[first == index]) for index, level in enumerate(levels)}


def _standardise(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(values − centre) / scale`` with the centre and scale used (scale 1 for constant values).

    Fitting on standardised columns makes the numerics independent of the data's level and unit
    (issue 13, audit F5: raw cross-products of values ~1e6 with spread ~1 lose every digit of the
    spread); the results are turned back to the original scale.
    """
    centre = float(np.mean(values)) if len(values) else 0.0
    deviations = values - centre
    scale = float(np.sqrt(np.mean(deviations ** 2))) if len(values) else 1.0
    if not np.isfinite(scale) or scale == 0:
        scale = 1.0
    return deviations / scale, centre, scale


def _design(data: pd.DataFrame, dv: str, between: str, cluster: str, baseline: str | None,
            levels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], RowAccount]:
    """Response, fixed-effects design (intercept, arm dummies, baseline) and cluster codes, complete cases,
    and the account of the rows left out per arm."""
    columns = [dv, between, cluster] + ([baseline] if baseline else [])
    frame = data[columns].copy()
    frame[dv] = numeric_column(data, dv)
    if baseline:
        frame[baseline] = numeric_column(data, baseline)
    frame[between] = group_labels(frame[between])
    frame = frame[frame[between].isin(levels)]
    require_baseline_in_every_arm(frame, between, baseline, levels)
    account = account_rows(frame, between, levels, [(dv, "missing_outcome"), (baseline, "missing_baseline"),
                                                    (cluster, "missing_team")])
    frame = frame[account.keep]
    names = ["intercept"] + [f"arm[{level}]" for level in levels[1:]] + ([baseline] if baseline else [])
    exog = [np.ones(len(frame))] + [(frame[between] == level).to_numpy(float) for level in levels[1:]]
    if baseline:
        exog.append(frame[baseline].to_numpy(float))
    groups = pd.factorize(frame[cluster])[0]
    return frame[dv].to_numpy(float), np.column_stack(exog), groups, names, account


class _ProfileReml:
    """The REML criterion of ``y = Xβ + u_team + e`` profiled over β and σ², as a function of γ = τ²/σ².

    With W_j = I − c_j 11ᵀ and c_j = γ / (1 + n_j γ) (so V_j⁻¹ = W_j / σ²), only per-team sums
    are needed::

        XᵀWX = XᵀX − Sᵀ diag(c) S,   XᵀWy = Xᵀy − Sᵀ (c ⊙ s_y),   yᵀWy = yᵀy − Σ c_j s_y,j²
        β̂ = (XᵀWX)⁻¹ XᵀWy,   σ̂² = (yᵀWy − β̂ᵀ XᵀWy) / (N − p)
        ℓ(γ) = −½ [(N − p) log σ̂² + Σ log(1 + n_j γ) + log det XᵀWX]      (constants dropped)
    """

    def __init__(self, y: np.ndarray, exog: np.ndarray, groups: np.ndarray):
        self.n, self.p = exog.shape
        n_groups = int(groups.max()) + 1
        self.sizes = np.bincount(groups, minlength=n_groups).astype(float)
        self.sums_x = np.zeros((n_groups, self.p))
        np.add.at(self.sums_x, groups, exog)
        self.sums_y = np.bincount(groups, weights=y, minlength=n_groups)
        self.xtx, self.xty, self.yty = exog.T @ exog, exog.T @ y, float(y @ y)

    def solve(self, gamma: float) -> tuple[np.ndarray, float, np.ndarray, float]:
        """β̂, σ̂², (XᵀWX)⁻¹ and ℓ at ``gamma``."""
        c = gamma / (1 + self.sizes * gamma)
        xwx = self.xtx - self.sums_x.T @ (c[:, None] * self.sums_x)
        xwy = self.xty - self.sums_x.T @ (c * self.sums_y)
        ywy = self.yty - float(c @ self.sums_y ** 2)
        inverse = np.linalg.inv(xwx)
        beta = inverse @ xwy
        sigma2 = (ywy - float(beta @ xwy)) / (self.n - self.p)
        sign, logdet = np.linalg.slogdet(xwx)
        if sign <= 0 or sigma2 <= 0:
            return beta, sigma2, inverse, -np.inf
        loglik = -0.5 * ((self.n - self.p) * np.log(sigma2) + np.log1p(self.sizes * gamma).sum() + logdet)
        return beta, sigma2, inverse, float(loglik)

    def loglik(self, gamma: float) -> float:
        return self.solve(max(gamma, 0.0))[3]


def _maximise(profile: _ProfileReml) -> tuple[float | None, str | None, list[str]]:
    """Maximise ℓ(γ) over γ ≥ 0.

    A grid scan finds the basin; Brent's method refines it, with golden-section search as the
    second optimiser. A point is accepted only where ℓ is flat in log γ, or at γ = 0 when ℓ
    falls away from there (the boundary: teams do not differ).
    """
    values = np.array([profile.loglik(g) for g in GAMMA_GRID])
    if not np.all(np.isfinite(values)):
        return None, None, ["the REML criterion is not finite"]
    best = int(np.argmax(values))
    if best == 0:
        if profile.loglik(1e-9) <= values[0]:
            return 0.0, "boundary (γ = 0)", []
        best = 1
    if best == len(GAMMA_GRID) - 1:
        return None, None, ["the team variance swamps the variation within teams (ICC near 1); "
                            "the outcome is really a team-level measure"]
    low, high = GAMMA_GRID[best - 1], GAMMA_GRID[best + 1]
    notes = []
    attempts = (("brent", {"method": "bounded", "bounds": (low, high), "options": {"xatol": 1e-14}}),
                ("golden-section", {"method": "golden", "bracket": (low, GAMMA_GRID[best], high), "tol": 1e-12}))
    for name, options in attempts:
        try:
            result = optimize.minimize_scalar(lambda g: -profile.loglik(g), **options)
        except (ValueError, FloatingPointError) as error:
            notes.append(f"{name} failed: {error}")
            continue
        gamma = float(result.x)
        if not getattr(result, "success", True) or not low <= gamma <= high:
            notes.append(f"{name} did not converge")
            continue
        step = 1e-4
        slope = (profile.loglik(gamma * np.exp(step)) - profile.loglik(gamma * np.exp(-step))) / (2 * step)
        if abs(slope) < FLATNESS * max(1.0, abs(float(result.fun))):
            return gamma, name, notes
        notes.append(f"{name} stopped where the REML criterion is not flat (slope {slope:.2g})")
    return None, None, notes


def mixed_model(data: pd.DataFrame, dv: str, between: str, cluster: str, baseline: str | None = None,
                levels: tuple[str, ...] | None = None) -> MixedModelResult:
    """Random-intercept linear mixed model ``dv ~ arm [+ baseline] + (1 | cluster)`` fitted by REML.

    Parameters
    ----------
    data : DataFrame
    dv, between, cluster : str
        Outcome, coaching-model and team columns.
    baseline : str, optional
        A covariate (the same measure before the pilot).
    levels : tuple of str, optional
        Level order; the first is the reference the arm effects are measured against.

    Returns
    -------
    MixedModelResult

    Notes
    -----
    The REML criterion is profiled down to one parameter, γ = τ²/σ² (see ``_ProfileReml``),
    scanned on a grid and maximised by Brent's method, with golden-section search as the second
    optimiser. A fit counts as converged only where the criterion is flat at the optimum, or at
    γ = 0 when it falls away from there (a boundary fit: teams do not differ). Fixed-effect SEs
    are the GLS ones, σ̂² (Xᵀ Ŵ X)⁻¹, as in ``nlme`` and ``lme4``. Arm effects are tested with t on the between-cluster
    degrees of freedom (J − number of cluster-level coefficients, as ``nlme::lme``), the arm factor
    with a Wald F on the same df; the baseline, varying within teams, gets N − J − 1 df.
    """
    require_columns(data, dv, between, cluster, baseline)
    levels = level_order(data, between, levels)
    y, exog, groups, names, account = _design(data, dv, between, cluster, baseline, levels)
    n, n_clusters = len(y), int(groups.max()) + 1 if len(groups) else 0
    if n_clusters < len(levels) + 1:
        raise ValueError(f"column {cluster!r}: {n_clusters} clusters are too few for a mixed model "
                         f"with {len(levels)} groups")
    # Fit on standardised outcome and baseline (scale-free numerics); report on the original scale.
    y, _, y_scale = _standardise(y)
    b_scale = 1.0
    if baseline:
        exog = exog.copy()
        exog[:, -1], _, b_scale = _standardise(exog[:, -1])
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        raise ValueError(f"column {baseline or between!r}: the design is collinear; the mixed model cannot "
                         "separate the groups")
    profile = _ProfileReml(y, exog, groups)
    gamma, optimiser, notes = _maximise(profile)
    mean_size = float(np.bincount(groups).mean())
    notes_out = account.warnings(f"mixed model for {dv!r}") + [f"mixed model for {dv!r}: {note}" for note in notes]
    rows = {"n_used": account.n_used, "n_dropped": account.n_dropped,
            "team_sizes": _team_sizes(exog, groups, levels),
            "var_within_teams": _within_teams_variance(y, exog, groups) * y_scale ** 2}
    if gamma is None:
        notes_out.append(f"mixed model for {dv!r} did not converge with any optimiser; "
                         "its estimates are not reliable and are not used")
        return MixedModelResult(False, None, (), None, float("nan"), float("nan"), float("nan"), float("nan"),
                                n, n_clusters, mean_size, None, (), tuple(notes_out), **rows)
    fe, var_residual, inverse, _ = profile.solve(gamma)
    fe_covariance = var_residual * inverse
    unscale = np.full(len(fe), y_scale)  # coefficient k on the original scale is fe[k] · unscale[k]
    if baseline:
        unscale[-1] = y_scale / b_scale
    fe, fe_covariance = fe * unscale, fe_covariance * np.outer(unscale, unscale)
    var_residual *= y_scale ** 2
    var_cluster = gamma * var_residual
    icc = gamma / (1 + gamma)
    se = np.sqrt(np.diag(fe_covariance))
    # Denominator df as nlme: coefficients constant within every team are tested on J − p_between,
    # the others on N − J − p_within. Arms are team-level when whole teams were randomised.
    between = pd.DataFrame(exog).groupby(groups).nunique().max().to_numpy() <= 1
    df_between = n_clusters - int(between.sum())
    df_within = n - n_clusters - int((~between).sum())
    arm_indices = list(range(1, len(levels)))
    arm_df = float(df_between if between[arm_indices].all() else df_within)
    if not between[arm_indices].all():
        notes_out.append(f"mixed model for {dv!r}: some teams contain reps of several coaching models, so the "
                         "model effects are estimated within teams; if team ids were reused across models, "
                         "make them unique")
    effects = []
    for index, level in enumerate(levels[1:], start=1):
        t = fe[index] / se[index]
        effects.append(ArmEffect(level, levels[0], float(fe[index]), float(se[index]),
                                 float(2 * stats.t.sf(abs(t), arm_df)), arm_df))
    covariance = fe_covariance[np.ix_(arm_indices, arm_indices)]
    beta = fe[arm_indices]
    try:
        wald = float(beta @ np.linalg.solve(covariance, beta)) / len(arm_indices)
        arm_test = FTest(wald, float(len(arm_indices)), arm_df, float(stats.f.sf(wald, len(arm_indices), arm_df)))
        contrasts = model_contrasts(levels, beta, covariance, arm_df)
    except np.linalg.LinAlgError:
        arm_test, contrasts = None, ()
    coefficient = Coefficient(float(fe[-1]), float(se[-1])) if baseline else None
    if gamma == 0.0:
        notes_out.append(f"mixed model for {dv!r}: the team variance is estimated as zero (singular fit); "
                         "teams do not differ beyond chance")
    return MixedModelResult(
        converged=True, optimiser=optimiser, arm_effects=tuple(effects), baseline=coefficient,
        var_cluster=var_cluster, var_residual=var_residual, icc=float(icc),
        design_effect=float(1 + (mean_size - 1) * icc), n=n, n_clusters=n_clusters, mean_cluster_size=mean_size,
        arm_test=arm_test, contrasts=contrasts, warnings=tuple(notes_out), **rows)


@dataclass(frozen=True)
class Correlation(Result):
    """Pearson's r (with Fisher-z 95 % CI and p) and Spearman's ρ (with p) of n pairs."""

    n: int
    r: float
    ci_low: float
    ci_high: float
    p: float
    rho: float
    rho_p: float


def correlation(x: np.ndarray, y: np.ndarray) -> Correlation | None:
    """Correlation of paired values; None with fewer than four pairs or no spread."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = len(x)
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    r, p = stats.pearsonr(x, y)
    z, half = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3)
    rho, rho_p = stats.spearmanr(x, y)
    return Correlation(n, float(r), float(np.tanh(z - half)), float(np.tanh(z + half)), float(p),
                       float(rho), float(rho_p))


@dataclass(frozen=True)
class TeamLink:
    """How team-mean satisfaction goes with team-mean performance, overall and within each model."""

    x: str
    y: str
    overall: Correlation | None
    by_group: dict[str, Correlation | None]
    n_teams: int

    def to_dict(self) -> dict:
        """As ``Result.to_dict`` but with ``n_teams`` before the correlations (the order callers have seen)."""
        return {"x": self.x, "y": self.y, "n_teams": self.n_teams,
                "overall": self.overall.to_dict() if self.overall else None,
                "by_group": {k: (v.to_dict() if v else None) for k, v in self.by_group.items()}}


def team_link(data: pd.DataFrame, x: str, y: str, between: str, levels: tuple[str, ...] | None = None) -> TeamLink:
    """Correlate two team-level means (``data`` has one row per team), overall and per coaching model.

    Responses cannot be linked to reps, so satisfaction and performance meet only here, as
    team means.
    """
    require_columns(data, x, y, between)
    levels = level_order(data, between, levels)
    xs, ys = numeric_column(data, x), numeric_column(data, y)
    group = group_labels(data[between])
    by_group = {level: correlation(xs[group == level], ys[group == level]) for level in levels}
    return TeamLink(x, y, correlation(xs, ys), by_group, int((xs.notna() & ys.notna()).sum()))
