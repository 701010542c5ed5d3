"""The probability functions the analysis needs, straight from ``scipy.special``.

Each is the ufunc that ``scipy.stats`` itself calls for that distribution (``stats.t.sf(x, df)`` is
``special.stdtr(df, -x)``, ``stats.f.sf`` is ``special.fdtrc``, …), so the numbers are the same
to the last bit (``tests/analysis/test_kernels.py``). They are called directly because importing
``scipy.stats`` takes 0.3–0.9 s — most of the start-up of ``python -m analysis`` — and because its
generic argument checks cost about 0.1 ms a call, which root finders pay hundreds of times.

Noncentral t probabilities stay finite deep in the tails: SciPy's ``nct.cdf`` returns NaN when the
probability underflows (a negative t with a large positive noncentrality, for instance); the mirror
identity P(T ≤ t; δ) = P(T ≥ −t; −δ) and, failing that, the limit 0 or 1, keep root finders working.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

try:  # the ufunc behind scipy.stats.nct.sf (private in SciPy 1.17)
    from scipy.special._ufuncs import _nct_sf
except ImportError:  # pragma: no cover - another SciPy: fall back to scipy.stats
    _nct_sf = None

_LOG_2 = math.log(2)


def f_sf(x: float, dfn: float, dfd: float) -> float:
    """P(F > x) for F ~ F(dfn, dfd), as ``scipy.stats.f.sf``."""
    if np.isnan(x):
        return float("nan")
    return 1.0 if x <= 0 else float(special.fdtrc(dfn, dfd, x))


def t_sf(x: float, df: float) -> float:
    """P(T > x) for Student's t on ``df``, as ``scipy.stats.t.sf``."""
    return float(special.stdtr(df, -x))


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t on ``df``, as ``scipy.stats.t.ppf``."""
    return float(special.stdtrit(df, q))


def norm_sf(x):
    """P(Z > x) for a standard normal, as ``scipy.stats.norm.sf`` (arrays too)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q):
    """The ``q`` quantile of the standard normal, as ``scipy.stats.norm.ppf``."""
    return special.ndtri(q)


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for X ~ χ²(df), as ``scipy.stats.chi2.sf``."""
    if np.isnan(x):
        return float("nan")
    return 1.0 if x <= 0 else float(special.chdtrc(df, x))


def chi2_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of χ²(df), as ``scipy.stats.chi2.ppf``."""
    return float(2 * special.gammaincinv(df / 2, q))


def chi2_isf(q: float, df: float) -> float:
    """The upper ``q`` quantile of χ²(df), as ``scipy.stats.chi2.isf``."""
    return float(special.chdtri(df, q))


def chi2_logpdf(x: np.ndarray, df: float) -> np.ndarray:
    """log density of χ²(df) at ``x`` > 0, as ``scipy.stats.chi2.logpdf``."""
    return special.xlogy(df / 2. - 1, x) - x / 2. - special.gammaln(df / 2.) - (_LOG_2 * df) / 2.


def _nct_upper(t: float, df: float, ncp: float) -> float:
    if _nct_sf is None:  # pragma: no cover
        from scipy import stats
        return float(stats.nct.sf(t, df, ncp))
    with np.errstate(over="ignore"):
        return float(np.clip(_nct_sf(t, df, ncp), 0, 1))


def nct_cdf(t: float, df: float, ncp: float) -> float:
    """P(T ≤ t) for T ~ noncentral t(df, ncp)."""
    value = float(special.nctdtr(df, ncp, t))
    if np.isnan(value):
        value = _nct_upper(-t, df, -ncp)
    if np.isnan(value):
        value = 0.0 if ncp > t else 1.0
    return value


def nct_sf(t: float, df: float, ncp: float) -> float:
    """P(T > t) for T ~ noncentral t(df, ncp)."""
    value = _nct_upper(t, df, ncp)
    if np.isnan(value):
        value = float(special.nctdtr(df, -ncp, -t))
    if np.isnan(value):
        value = 1.0 if ncp > t else 0.0
    return value
