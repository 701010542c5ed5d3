"""Pairwise contrasts between coaching models estimated by a regression model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._distributions import t_ppf, t_sf
from ._result import Result
from .multiplicity import holm


@dataclass(frozen=True)
class Contrast(Result):
    """A pairwise difference ``b − a`` estimated by a model (mixed model or ANCOVA), Holm-adjusted,
    with its unadjusted 95 % CI and the df of its t test."""

    a: str
    b: str
    diff: float
    se: float
    p: float
    p_adj: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    df: float | None = None


def model_contrasts(levels: Sequence[str], estimates: Sequence[float], covariance: np.ndarray,
                    df: float | Callable[[np.ndarray], float]) -> tuple[Contrast, ...]:
    """Every pairwise difference of arm effects (reference level = 0), t tests on ``df``, Holm-adjusted.

    ``estimates`` and ``covariance`` are the coefficients of the non-reference levels and their
    covariance matrix; ``se(b − a) = √(V_aa + V_bb − 2 V_ab)``. ``df`` is one number for every
    contrast, or a function of the contrast's weights on the non-reference levels that returns its df
    (Satterthwaite's, which differ per contrast).
    """
    beta = np.concatenate([[0.0], np.asarray(estimates, float)])
    cov = np.zeros((len(levels), len(levels)))
    cov[1:, 1:] = np.asarray(covariance, float)
    raw = []
    for i in range(len(levels)):
        for j in range(i + 1, len(levels)):
            diff = beta[j] - beta[i]
            se = float(np.sqrt(cov[i, i] + cov[j, j] - 2 * cov[i, j]))
            weights = np.zeros(len(levels))
            weights[j], weights[i] = 1.0, -1.0
            pair_df = float(df(weights[1:]) if callable(df) else df)
            raw.append((levels[i], levels[j], float(diff), se, float(2 * t_sf(abs(diff / se), pair_df)),
                        pair_df))
    adjusted = holm([r[4] for r in raw])
    result = []
    for (a, b, d, se, p, pair_df), pa in zip(raw, adjusted, strict=True):
        half = float(t_ppf(0.975, pair_df))  # unadjusted 95 % interval, for charts
        result.append(Contrast(a, b, d, se, p, pa, d - half * se, d + half * se, pair_df))
    return tuple(result)
