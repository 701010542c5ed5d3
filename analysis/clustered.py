"""Reps nested in teams: a random-intercept mixed model, ICC, design effect, and team-level links.

References
----------
Pinheiro, J. C. & Bates, D. M. (2000). Mixed-effects models in S and S-PLUS, sec. 2.4.2
    (the between/within "containment" denominator degrees of freedom).
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
    Biometrics Bulletin 2, 110–114.
Kuznetsova, A., Brockhoff, P. B. & Christensen, R. H. B. (2017). lmerTest package: tests in linear
    mixed effects models. Journal of Statistical Software 82(13) (the Satterthwaite df computed here).
Donner, A. & Klar, N. (2000). Design and analysis of cluster randomization trials (design effect).
Eldridge, S. M., Ashby, D. & Kerry, S. (2006). Sample size for cluster randomized trials: effect of
    coefficient of variation of cluster size and analysis method. Int. J. Epidemiol. 35, 1292–1300.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._distributions import f_sf, t_sf
from ._result import Result
from ._validate import (
    RowAccount,
    account_rows,
    group_labels,
    level_order,
    numeric_column,
    require_baseline_in_every_arm,
    require_columns,
    require_team_in_every_arm,
)
from .contrasts import Contrast, model_contrasts
from .omnibus import FTest
from .planning import design_effect, size_variation

GAMMA_GRID = np.concatenate([[0.0], np.logspace(-6, 6, 61)])  # τ²/σ² values scanned before refining
FLATNESS = 1e-6  # |dℓ/dlog γ| below this (relative to |ℓ|) counts as the optimum
DF_METHODS = ("auto", "satterthwaite", "containment")
SATTERTHWAITE_BELOW = 40  # teams: "auto" uses Satterthwaite's df below this, the containment df from it on
UNEQUAL_SIZES_CV = 0.5  # coefficient of variation of team sizes above which the sizes are said to vary a lot


@dataclass(frozen=True)
class ArmEffect(Result):
    """A coaching model's effect against the reference level: estimate, SE, p and the df of its t test
    (Satterthwaite's, per effect, or the containment df: ``MixedModelResult.df_method``)."""

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
    :class:`~analysis.omnibus.FTest` like ``AncovaResult.arm_test``. ``df_method`` says which
    denominator df its tests use, ``"satterthwaite"`` or ``"containment"``. ``design_effect`` allows for
    unequal team sizes (Eldridge's form, :func:`analysis.planning.design_effect`), with
    ``cluster_size_cv`` the coefficient of variation of the team sizes (population SD over mean);
    ``min_cluster_size`` and ``max_cluster_size`` are their range. ``arm_covariance`` is the covariance
    matrix of the arm effects (rows and columns in the order of ``arm_effects``; as R's
    ``vcov(fit)[arms, arms]``), empty when the fit did not converge.
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
    df_method: str = "containment"
    cluster_size_cv: float = 0.0
    min_cluster_size: int = 0
    max_cluster_size: int = 0
    team_sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    var_within_teams: float = float("nan")
    arm_covariance: tuple[tuple[float, ...], ...] = field(default=())


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
    require_team_in_every_arm(frame, between, cluster, levels)
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


class _Satterthwaite:
    """Satterthwaite's denominator df for tests of the fixed effects, computed as lmerTest does.

    The variance parameters are lme4's, θ = τ/σ and σ. Their asymptotic covariance is A = 2 H⁻¹, with H
    the Hessian of the REML deviance

        D(θ, σ) = Σ log(1 + n_j θ²) + log det XᵀWX + r²(θ²) / σ² + (N − p) log σ²   (constants dropped)

    at the optimum (β profiled out; r² = yᵀWy − β̂ᵀXᵀWy, W as in ``_ProfileReml`` with γ = θ²). H is
    analytic here: every term is a function of γ through c_j = γ / (1 + n_j γ), whose derivatives are
    1 / (1 + n_j γ)² and −2 n_j / (1 + n_j γ)³. lmerTest differentiates numerically (``numDeriv``) and
    takes the Moore–Penrose inverse over the positive eigenvalues; so does this class.

    For a contrast with weights l, v = lᵀ Var(β̂) l and g its gradient in (θ, σ), df = 2 v² / (gᵀ A g)
    (``contest1D``). A q-df F test decomposes L Var(β̂) Lᵀ into eigen-directions, each with its own
    df ν_m; then ν = 2E / (E − q), E = Σ ν_m / (ν_m − 2) — or 2 when any ν_m ≤ 2, and the common value
    when all ν_m are equal (lmerTest's ``contestMD`` and ``get_Fstat_ddf``).

    The df do not depend on the units of y or of the covariate (a linear change of parameters), so
    this works on the standardised problem of :func:`mixed_model`.
    """

    def __init__(self, profile: _ProfileReml, gamma: float):
        n_j, sums_x, sums_y = profile.sizes, profile.sums_x, profile.sums_y
        grow = 1 + n_j * gamma
        c, c1, c2 = gamma / grow, 1 / grow ** 2, -2 * n_j / grow ** 3
        xwx = profile.xtx - sums_x.T @ (c[:, None] * sums_x)
        m1 = -sums_x.T @ (c1[:, None] * sums_x)
        m2 = -sums_x.T @ (c2[:, None] * sums_x)
        xwy = profile.xty - sums_x.T @ (c * sums_y)
        b1, b2 = -sums_x.T @ (c1 * sums_y), -sums_x.T @ (c2 * sums_y)
        q1, q2 = -float(c1 @ sums_y ** 2), -float(c2 @ sums_y ** 2)
        inverse = np.linalg.inv(xwx)
        beta = inverse @ xwy
        r2 = profile.yty - float(c @ sums_y ** 2) - float(beta @ xwy)
        beta1 = inverse @ (b1 - m1 @ beta)
        r2_1 = q1 - 2 * float(b1 @ beta) + float(beta @ m1 @ beta)
        r2_2 = (q2 - 2 * float(b2 @ beta) - 2 * float(b1 @ beta1) + 2 * float(beta1 @ m1 @ beta)
                + float(beta @ m2 @ beta))
        im1 = inverse @ m1
        f1 = float(np.sum(n_j / grow)) + float(np.trace(im1))
        f2 = -float(np.sum(n_j ** 2 / grow ** 2)) + float(np.trace(inverse @ m2)) - float(np.trace(im1 @ im1))
        residual_df = profile.n - profile.p
        sigma2 = r2 / residual_df
        sigma, theta = np.sqrt(sigma2), np.sqrt(gamma)
        hessian = np.array([
            [2 * (f1 + r2_1 / sigma2) + 4 * gamma * (f2 + r2_2 / sigma2), -4 * theta * r2_1 / sigma ** 3],
            [-4 * theta * r2_1 / sigma ** 3, 6 * r2 / sigma2 ** 2 - 2 * residual_df / sigma2]])
        values, vectors = np.linalg.eigh(hessian)
        keep = values > 1e-8
        self.varpar_covariance = 2 * (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
        self.covariance = sigma2 * inverse
        self.gradient = (-2 * theta * sigma2 * (inverse @ m1 @ inverse), 2 * sigma * inverse)  # ∂Var(β̂)/∂(θ, σ)

    def _df(self, weights: np.ndarray, variance: float) -> float:
        g = np.array([float(weights @ d @ weights) for d in self.gradient])
        spread = float(g @ self.varpar_covariance @ g)
        return float(2 * variance ** 2 / spread) if spread > 0 else float("inf")

    def df(self, weights) -> float:
        """Satterthwaite's df of the contrast with ``weights`` (one per coefficient)."""
        weights = np.asarray(weights, float)
        return self._df(weights, float(weights @ self.covariance @ weights))

    def f_test(self, rows, beta) -> tuple[float, int, float]:
        """(F, numerator df q, denominator df) of the hypothesis ``rows · β = 0``, as lmerTest's ``contestMD``."""
        rows, beta = np.atleast_2d(np.asarray(rows, float)), np.asarray(beta, float)
        values, vectors = np.linalg.eigh(rows @ self.covariance @ rows.T)
        values, vectors = values[::-1], vectors[:, ::-1]  # decreasing, as R's eigen()
        positive = values > max(np.sqrt(np.finfo(float).eps) * values[0], 0)
        directions = vectors[:, positive].T @ rows
        q = int(positive.sum())
        statistic = float(np.sum((directions @ beta) ** 2 / values[positive]) / q)
        nu = np.array([self._df(d, v) for d, v in zip(directions, values[positive], strict=True)])
        if q == 1 or np.all(np.abs(np.diff(nu)) < 1e-8):
            return statistic, q, float(np.mean(nu))
        if np.any(nu <= 2):
            return statistic, q, 2.0
        e = float(np.sum(nu / (nu - 2)))
        return statistic, q, 2 * e / (e - q)


def _type1_rows(xtx: np.ndarray, columns: list[int]) -> np.ndarray:
    """lmerTest's type I contrasts of a term: its rows of Lᵀ, where XᵀX = L·U (Doolittle, no pivoting).

    lmerTest's ``anova`` tests a model with a single term (no covariate) on these rather than on the
    identity rows of the term's coefficients; the F is the same, the per-direction df are not.
    ``doolittle`` there sets entries below 1e-6 to 0; so does this.
    """
    size = len(xtx)
    lower, upper = np.eye(size), np.zeros((size, size))
    for i in range(size):
        upper[i, :] = xtx[i, :] - lower[i, :i] @ upper[:i, :]
        for j in range(i + 1, size):
            value = xtx[j, i] - lower[j, :i] @ upper[:i, i]
            lower[j, i] = 0.0 if abs(upper[i, i]) < 1e-6 else value / upper[i, i]
    lower[np.abs(lower) < 1e-6] = 0.0
    return lower.T[columns]


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
    from scipy import optimize  # here, not at import: only a mixed model needs it

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
                levels: tuple[str, ...] | None = None, df_method: str = "auto") -> MixedModelResult:
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
    df_method : {"auto", "satterthwaite", "containment"}
        Denominator degrees of freedom of the arm tests: Satterthwaite's, as lmerTest (each effect,
        contrast and the F test its own), or the containment df, as nlme (J − number of team-level
        coefficients). "auto" (the default) takes Satterthwaite's with fewer than 40 teams, where the
        choice matters, and the containment df from 40 teams on. At a singular fit (γ = 0) the
        containment df are used whatever is asked (see Notes); ``df_method`` of the result says which.

    Returns
    -------
    MixedModelResult

    Notes
    -----
    The REML criterion is profiled down to one parameter, γ = τ²/σ² (see ``_ProfileReml``),
    scanned on a grid and maximised by Brent's method, with golden-section search as the second
    optimiser. A fit counts as converged only where the criterion is flat at the optimum, or at
    γ = 0 when it falls away from there (a boundary fit: teams do not differ). Fixed-effect SEs
    are the GLS ones, σ̂² (Xᵀ Ŵ X)⁻¹, as in ``nlme`` and ``lme4``. Arm effects and pairwise contrasts
    are tested with t, the arm factor with a Wald F.

    Satterthwaite's df (``_Satterthwaite``) match lmerTest's ``summary``, ``contest1D`` and
    ``anova(ddf = "Satterthwaite")``, including its choice of contrasts for the F test (type I,
    Doolittle, without a covariate; the identity rows of the arm coefficients with one). The
    containment df are nlme's: J − number of team-level coefficients when whole teams were randomised,
    N − J − number of within-team coefficients otherwise.

    At a singular fit lmerTest's Satterthwaite df are N − p, the residual df of ordinary least squares
    (checked in R, ``tests/analysis/reference/satterthwaite.R``): the Hessian treats the zero team
    variance as if it were known, on the boundary where that approximation does not hold, and the
    teams stop counting. In simulation (the reference README) that gave 39 % false positives among
    the singular fits with 2 teams per arm. The containment df are used there instead, and a warning
    says so.
    """
    if df_method not in DF_METHODS:
        raise ValueError(f"df_method: expected one of {', '.join(DF_METHODS)}, not {df_method!r}")
    require_columns(data, dv, between, cluster, baseline)
    levels = level_order(data, between, levels)
    y, exog, groups, names, account = _design(data, dv, between, cluster, baseline, levels)
    n, n_clusters = len(y), int(groups.max()) + 1 if len(groups) else 0
    if n_clusters < len(levels) + 1:
        raise ValueError(f"column {cluster!r}: {n_clusters} clusters are too few for a mixed model "
                         f"with {len(levels)} groups")
    if n_clusters == n:  # the team and rep variances are not identifiable; lme4 refuses this model too
        raise ValueError(f"column {cluster!r}: every team has one rep, so differences between teams cannot be "
                         "told from differences between reps")
    method = df_method if df_method != "auto" else (
        "satterthwaite" if n_clusters < SATTERTHWAITE_BELOW else "containment")
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
    sizes = np.bincount(groups)
    mean_size, size_cv = float(sizes.mean()), size_variation(sizes)
    notes_out = account.warnings(f"mixed model for {dv!r}") + [f"mixed model for {dv!r}: {note}" for note in notes]
    rows = {"n_used": account.n_used, "n_dropped": account.n_dropped, "df_method": method,
            "cluster_size_cv": size_cv, "min_cluster_size": int(sizes.min()), "max_cluster_size": int(sizes.max()),
            "team_sizes": _team_sizes(exog, groups, levels),
            "var_within_teams": _within_teams_variance(y, exog, groups) * y_scale ** 2}
    if size_cv > UNEQUAL_SIZES_CV:
        notes_out.append(f"mixed model for {dv!r}: team sizes vary a lot ({sizes.min()} to {sizes.max()} reps, "
                         f"coefficient of variation {size_cv:.2f}); the design effect allows for it")
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
    # Containment df as nlme: coefficients constant within every team are tested on J − p_between,
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
    satterthwaite = _Satterthwaite(profile, gamma) if method == "satterthwaite" else None
    if satterthwaite is not None and gamma == 0.0:
        boundary = satterthwaite.df(np.eye(len(fe))[1])
        notes_out.append(f"mixed model for {dv!r}: at this singular fit Satterthwaite's df (as lmerTest) "
                         f"would be {boundary:.0f}, those of reps treated as independent; the containment df "
                         f"({arm_df:g}, from the {n_clusters} teams) are used instead")
        satterthwaite, method = None, "containment"

    def contrast_df(weights: np.ndarray) -> float:
        """df of the contrast with ``weights`` on the non-reference arms."""
        if satterthwaite is None:
            return arm_df
        full = np.zeros(len(fe))
        full[arm_indices] = weights
        return satterthwaite.df(full)

    effects = []
    for index, level in enumerate(levels[1:], start=1):
        t = fe[index] / se[index]
        df = contrast_df(np.eye(len(arm_indices))[index - 1])
        effects.append(ArmEffect(level, levels[0], float(fe[index]), float(se[index]),
                                 float(2 * t_sf(abs(t), df)), df))
    covariance = fe_covariance[np.ix_(arm_indices, arm_indices)]
    beta = fe[arm_indices]
    try:
        wald = float(beta @ np.linalg.solve(covariance, beta)) / len(arm_indices)
        test_df = arm_df
        if satterthwaite is not None:
            # lmerTest's anova: type I (Doolittle) contrasts for a single term, else the identity rows
            hypothesis = (_type1_rows(profile.xtx, arm_indices) if not baseline
                          else np.eye(len(fe))[arm_indices])
            _, _, test_df = satterthwaite.f_test(hypothesis, profile.solve(gamma)[0])
        arm_test = FTest(wald, float(len(arm_indices)), test_df, f_sf(wald, len(arm_indices), test_df))
        contrasts = model_contrasts(levels, beta, covariance, contrast_df)
    except np.linalg.LinAlgError:
        arm_test, contrasts = None, ()
    coefficient = Coefficient(float(fe[-1]), float(se[-1])) if baseline else None
    if gamma == 0.0:
        notes_out.append(f"mixed model for {dv!r}: the team variance is estimated as zero (singular fit); "
                         "teams do not differ beyond chance")
    return MixedModelResult(
        converged=True, optimiser=optimiser, arm_effects=tuple(effects), baseline=coefficient,
        var_cluster=var_cluster, var_residual=var_residual, icc=float(icc),
        design_effect=design_effect(mean_size, float(icc), size_cv), n=n, n_clusters=n_clusters,
        mean_cluster_size=mean_size, arm_test=arm_test, contrasts=contrasts, warnings=tuple(notes_out),
        arm_covariance=tuple(tuple(float(v) for v in row) for row in covariance),
        **{**rows, "df_method": method})


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
    from scipy import stats  # here, not at import: scipy.stats takes 0.3–0.9 s to load

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
