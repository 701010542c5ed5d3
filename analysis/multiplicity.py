"""Corrections for testing several hypotheses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (as R's ``p.adjust(p, "holm")``).

    Missing values (NaN) are ignored and stay NaN; the others are adjusted among themselves.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65–70.
    """
    p = np.asarray(p_values, dtype=float)
    result = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = len(present)
    if m == 0:
        return result.tolist()
    order = present[np.argsort(p[present], kind="stable")]
    # Step down: multiply the i-th smallest by (m - i), keep the running maximum, cap at 1.
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    result[order] = np.minimum(stepped, 1.0)
    return result.tolist()
