"""Baseline adjustment: ANCOVA (outcome ~ model + baseline) and difference in differences."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._distributions import f_sf, t_sf
from ._result import Result
from ._validate import (
    account_rows,
    group_labels,
    level_order,
    numeric_column,
    require_baseline_in_every_arm,
    require_columns,
)
from .clustered import ArmEffect, Coefficient, _standardise
from .contrasts import Contrast, model_contrasts
from .describe import GroupDescriptives, describe_group
from .omnibus import FTest


@dataclass(frozen=True)
class AdjustedMean(Result):
    """A group's mean at the average baseline, with its SE (as ``emmeans``)."""

    group: str
    mean: float
    se: float


@dataclass(frozen=True)
class AncovaResult(Result):
    """``outcome ~ arm + baseline`` by least squares."""

    arm_effects: tuple[ArmEffect, ...]
    arm_test: FTest
    adjusted_means: tuple[AdjustedMean, ...]
    baseline: Coefficient
    n: int
    contrasts: tuple[Contrast, ...] = ()
    residual_sd: float = float("nan")
    n_used: dict[str, int] = field(default_factory=dict)  # reps used per arm
    n_dropped: dict[str, dict[str, int]] = field(default_factory=dict)  # per arm: {reason: count}
    warnings: tuple[str, ...] = ()


#: A gap between two arms' baseline means of at least this many pooled within-arm SDs is flagged: the
#: What Works Clearinghouse (Standards Handbook 4.1, 2020) does not trust a statistical adjustment to
#: remove a baseline difference above 0.25 SD.
IMBALANCE_SD = 0.25


def baseline_imbalance(data: pd.DataFrame, dv: str, between: str, baseline: str,
                       levels: tuple[str, ...]) -> str | None:
    """A warning when the arms started apart on the baseline (reps with outcome and baseline), else None.

    The largest gap between two arms' baseline means over the pooled within-arm SD of the baseline;
    at :data:`IMBALANCE_SD` or more the raw differences on the outcome mix the coaching with a head
    start, and only the adjusted ones compare like with like (statistics review F3).
    """
    frame = _complete(data, [dv, between, baseline], between, levels)
    values = {level: frame.loc[frame[between] == level, baseline].to_numpy(float) for level in levels}
    values = {level: v for level, v in values.items() if len(v)}
    n, k = sum(len(v) for v in values.values()), len(values)
    if k < 2 or n <= k:
        return None
    pooled = np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in values.values()) / (n - k))
    means = {level: float(v.mean()) for level, v in values.items()}
    high, low = max(means, key=means.get), min(means, key=means.get)
    if not pooled > 0 or (means[high] - means[low]) / pooled < IMBALANCE_SD:
        return None
    listed = ", ".join(f"{level} {mean:.4g}" for level, mean in means.items())
    return (f"{dv}: the arms started apart on {baseline!r} (means {listed}; {high} − {low} = "
            f"{(means[high] - means[low]) / pooled:.2f} SD, above the {IMBALANCE_SD} SD up to which an adjustment "
            f"is trusted to remove a gap): the raw differences on {dv!r} mix the coaching with that head start; "
            "quote the adjusted ones")


def _complete(data, columns, between, levels, drop=True):
    frame = data[columns].copy()
    for column in columns:
        if column != between:
            frame[column] = numeric_column(data, column)
    frame[between] = group_labels(frame[between])
    frame = frame[frame[between].isin(levels)]
    return frame.dropna() if drop else frame


def ancova(data: pd.DataFrame, dv: str, between: str, baseline: str,
           levels: tuple[str, ...] | None = None) -> AncovaResult:
    """Analysis of covariance: the arm effects adjusted for the baseline.

    Parameters
    ----------
    data : DataFrame
    dv, between, baseline : str
        Outcome, coaching model and covariate columns; rows missing any of them are dropped.
    levels : tuple of str, optional
        Level order; the first is the reference.

    Returns
    -------
    AncovaResult
        Arm coefficients against the reference (t tests on N − k − 1 df), the F test of the arm
        factor given the baseline (type II; no interaction in the model), and adjusted means
        at the mean baseline with SEs from the coefficient covariance.
    """
    require_columns(data, dv, between, baseline)
    levels = level_order(data, between, levels)
    frame = _complete(data, [dv, between, baseline], between, levels, drop=False)
    require_baseline_in_every_arm(frame, between, baseline, levels)
    account = account_rows(frame, between, levels, [(dv, "missing_outcome"), (baseline, "missing_baseline")])
    frame = frame[account.keep]
    # Fit on standardised outcome and baseline so that the numerics do not depend on the data's
    # level or unit (audit F5: a valid file at level/SD = 1e7 was refused as collinear); the
    # coefficients are turned back to the original scale below.
    y, y_centre, y_scale = _standardise(frame[dv].to_numpy(float))
    z, _, b_scale = _standardise(frame[baseline].to_numpy(float))
    dummies = [(frame[between] == level).to_numpy(float) for level in levels[1:]]
    x = np.column_stack([np.ones(len(frame)), *dummies, z])
    n, p = x.shape
    if n <= p:
        raise ValueError(f"too few complete rows ({n}) of {dv!r} and {baseline!r} for an ANCOVA")
    # Least squares via QR for stability; covariance σ² (XᵀX)⁻¹.
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    if rank < p:
        raise ValueError(f"column {baseline!r} is collinear with the groups; the ANCOVA cannot separate them")
    residual = y - x @ coef
    df_resid = n - p
    sigma2 = float(residual @ residual) / df_resid
    cov = sigma2 * np.linalg.inv(x.T @ x)
    # Back to the original scale: the intercept row is handled in the adjusted means (centre added).
    unscale = np.full(p, y_scale)
    unscale[-1] = y_scale / b_scale
    coef, cov, sigma2 = coef * unscale, cov * np.outer(unscale, unscale), sigma2 * y_scale ** 2
    se = np.sqrt(np.diag(cov))
    effects = tuple(
        ArmEffect(level, levels[0], float(coef[i]), float(se[i]),
                  float(2 * t_sf(abs(coef[i] / se[i]), df_resid)), float(df_resid))
        for i, level in enumerate(levels[1:], start=1))
    arm = list(range(1, len(levels)))
    beta = coef[arm]
    f = float(beta @ np.linalg.solve(cov[np.ix_(arm, arm)], beta)) / len(arm)
    arm_test = FTest(f, float(len(arm)), float(df_resid), f_sf(f, len(arm), df_resid))
    adjusted = []
    for i, level in enumerate(levels):
        row = np.zeros(p)  # at the mean baseline, which is 0 on the centred scale
        row[0] = 1
        if i > 0:
            row[i] = 1
        adjusted.append(AdjustedMean(level, y_centre + float(row @ coef), float(np.sqrt(row @ cov @ row))))
    contrasts = model_contrasts(levels, beta, cov[np.ix_(arm, arm)], df_resid)
    return AncovaResult(effects, arm_test, tuple(adjusted), Coefficient(float(coef[-1]), float(se[-1])), n,
                        contrasts, float(np.sqrt(sigma2)), account.n_used, account.n_dropped,
                        tuple(account.warnings(f"ANCOVA for {dv!r}")))


@dataclass(frozen=True)
class DidPair(Result):
    """Difference in differences of two models: mean change of ``b`` minus mean change of ``a`` (Welch)."""

    a: str
    b: str
    did: float
    ci_low: float
    ci_high: float
    p: float


@dataclass(frozen=True)
class DidResult(Result):
    """Change from before to after per model, and pairwise differences of those changes."""

    changes: tuple[GroupDescriptives, ...]
    pairs: tuple[DidPair, ...]


def difference_in_differences(data: pd.DataFrame, before: str, after: str, between: str,
                              levels: tuple[str, ...] | None = None) -> DidResult:
    """Per model, the mean change ``after − before`` with its t CI; per pair, the DiD with a Welch t test."""
    require_columns(data, before, after, between)
    levels = level_order(data, between, levels)
    frame = _complete(data, [before, after, between], between, levels)
    change = {level: (frame.loc[frame[between] == level, after] - frame.loc[frame[between] == level, before])
              .to_numpy(float) for level in levels}
    for level, values in change.items():
        if len(values) < 2:
            raise ValueError(f"group {level!r} has fewer than two reps with {before!r} and {after!r}")
    from scipy import stats  # here, not at import: scipy.stats takes 0.3–0.9 s to load

    pairs = []
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            result = stats.ttest_ind(change[b], change[a], equal_var=False)
            interval = result.confidence_interval(0.95)
            pairs.append(DidPair(a, b, float(change[b].mean() - change[a].mean()), float(interval.low),
                                 float(interval.high), float(result.pvalue)))
    return DidResult(tuple(describe_group(level, change[level]) for level in levels), tuple(pairs))
