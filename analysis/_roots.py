"""Brent's root finder, for the quantiles and interval ends the analysis solves for.

``scipy.optimize.brentq`` does the same job, but importing ``scipy.optimize`` (it loads
``scipy.linalg`` and ``scipy.sparse``) took a fifth of the start-up of ``python -m analysis``, and
the command solves only one-dimensional, bracketed, smooth equations: the studentized-range quantile
of Tukey and Games–Howell, the noncentral-t ends of a Hedges' g interval, the detectable difference.
This is Brent's method (Brent 1973, *Algorithms for Minimization without Derivatives*, ch. 4; the
algorithm of R's ``uniroot``): inverse quadratic interpolation or the secant step while they make
progress, bisection otherwise, so it never needs more steps than bisection by much and keeps the
root bracketed. It stops when the bracket is narrower than ``xtol + rtol·|x|``, the guarantee
``brentq`` gives; the roots agree with ``brentq``'s to within that (``tests/analysis/test_kernels.py``).
"""

from __future__ import annotations

from collections.abc import Callable

EPS = 2.220446049250313e-16


def brentq(f: Callable[..., float], a: float, b: float, args: tuple = (), xtol: float = 2e-12,
           rtol: float = 4 * EPS, maxiter: int = 200) -> float:
    """A root of ``f(x, *args)`` between ``a`` and ``b``, where ``f`` changes sign, to within
    ``xtol + rtol·|x|``; ``ValueError`` when ``f(a)`` and ``f(b)`` have the same sign."""
    fa, fb = float(f(a, *args)), float(f(b, *args))
    if fa == 0:
        return float(a)
    if fb == 0:
        return float(b)
    if (fa > 0) == (fb > 0):
        raise ValueError("f(a) and f(b) must have different signs")
    c, fc = a, fa  # b is the best estimate, c the other end of the bracket, a the previous b
    step = previous = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):  # keep the root between b and c
            c, fc = a, fa
            step = previous = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol = (xtol + rtol * abs(b)) / 2
        half = (c - b) / 2
        if abs(half) <= tol or fb == 0:
            return float(b)
        if abs(previous) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant through a and b
                p, q = 2 * half * s, 1 - s
            else:  # inverse quadratic interpolation through a, b, c
                qa, r = fa / fc, fb / fc
                p = s * (2 * half * qa * (qa - r) - (b - a) * (r - 1))
                q = (qa - 1) * (r - 1) * (s - 1)
            if p > 0:
                q = -q
            else:
                p = -p
            if 2 * p < min(3 * half * q - abs(tol * q), abs(previous * q)):
                previous, step = step, p / q  # the interpolation stays well inside the bracket
            else:
                previous = step = half  # bisect
        else:
            previous = step = half
        a, fa = b, fb
        b += step if abs(step) > tol else (tol if half > 0 else -tol)
        fb = float(f(b, *args))
    raise RuntimeError(f"no root to {xtol:g} within {maxiter} steps")
