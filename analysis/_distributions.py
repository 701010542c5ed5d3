"""Noncentral t probabilities that stay finite deep in the tails.

SciPy's ``nct.cdf`` returns NaN when the probability underflows (a negative t with a large
positive noncentrality, for instance); the mirror identity P(T ≤ t; δ) = P(T ≥ −t; −δ) and,
failing that, the limit 0 or 1, keep root finders working.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def nct_cdf(t: float, df: float, ncp: float) -> float:
    """P(T ≤ t) for T ~ noncentral t(df, ncp)."""
    value = float(stats.nct.cdf(t, df, ncp))
    if np.isnan(value):
        value = float(stats.nct.sf(-t, df, -ncp))
    if np.isnan(value):
        value = 0.0 if ncp > t else 1.0
    return value


def nct_sf(t: float, df: float, ncp: float) -> float:
    """P(T > t) for T ~ noncentral t(df, ncp)."""
    value = float(stats.nct.sf(t, df, ncp))
    if np.isnan(value):
        value = float(stats.nct.cdf(-t, df, -ncp))
    if np.isnan(value):
        value = 1.0 if ncp > t else 0.0
    return value
