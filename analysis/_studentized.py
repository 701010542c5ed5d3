"""The studentized range distribution, fast enough for large samples.

SciPy's ``studentized_range`` integrates adaptively and takes 10–150 ms per call at large degrees
of freedom, which would make a 40,000-row comparison take seconds. Here both integrals use fixed
Gauss–Legendre rules, vectorised with numpy:

    P(range of k standard normals ≤ w) = k ∫ φ(z) [Φ(z) − Φ(z − w)]^(k−1) dz   (Gauss–Legendre, z on [−8.5, 8.5])
    P(Q > q; k, ν) = ∫ P(range > q · e^(x/2)) f(x) dx,   x = log(χ²_ν / ν)

The second integral uses the trapezoidal rule on an even grid in x between the 1e-16 and
1 − 1e-16 quantiles; the integrand is smooth and decays fast at both ends, so the rule converges
geometrically. The tests check against SciPy to within 1e-9 for k = 2…6 and ν = 2…40,000.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy import special

from ._distributions import chi2_isf, chi2_logpdf, chi2_ppf
from ._roots import brentq

_Z, _WZ = leggauss(96)
_Z, _WZ = _Z * 8.5, _WZ * 8.5
_PHI_Z = np.exp(-0.5 * _Z ** 2) / np.sqrt(2 * np.pi)
_CDF_Z = special.ndtr(_Z)
_GRID = 120


def _range_sf(w: np.ndarray, k: int) -> np.ndarray:
    """P(range of k standard normals > w), for an array of w."""
    inner = np.clip(_CDF_Z[None, :] - special.ndtr(_Z[None, :] - w[:, None]), 0.0, 1.0)
    return np.clip(1.0 - (k * (_PHI_Z * inner ** (k - 1)) @ _WZ), 0.0, 1.0)


@lru_cache(maxsize=256)
def _scale_nodes(df: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes s = √(χ²/ν) and trapezoid weights of the density of x = log(χ²/ν)."""
    low = np.log(chi2_ppf(1e-16, df) / df)
    high = np.log(chi2_isf(1e-16, df) / df)
    x = np.linspace(low, high, _GRID)
    weights = np.exp(chi2_logpdf(df * np.exp(x), df) + np.log(df) + x) * (x[1] - x[0])
    return np.exp(x / 2), weights


def sf(q: float, k: int, df: float) -> float:
    """P(Q > q) for the studentized range of k means with ν = ``df`` degrees of freedom."""
    if not np.isfinite(q):
        return 0.0
    if q <= 0:
        return 1.0
    if np.isinf(df):
        return float(_range_sf(np.array([q]), k)[0])
    scale, weights = _scale_nodes(float(df))
    return float(np.clip(_range_sf(q * scale, k) @ weights, 0.0, 1.0))


@lru_cache(maxsize=1024)
def ppf(probability: float, k: int, df: float) -> float:
    """The ``probability`` quantile of the studentized range (e.g. 0.95 for a 95 % interval)."""
    target = 1.0 - probability
    low, high = 0.5, 8.0
    while sf(high, k, df) > target:
        low, high = high, high * 2
    return brentq(lambda q: sf(q, k, df) - target, low, high, xtol=1e-10)
