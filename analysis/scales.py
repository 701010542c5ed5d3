"""Scale scores from items, and their reliability (Cronbach's α).

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. Psychometrika 16, 297–334.
Nunnally, J. C. (1978). Psychometric theory, 2nd ed. (α ≥ 0.7 as the usual floor for group comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._result import Result
from ._validate import group_labels, level_order, numeric_column, require_columns

ALPHA_FLOOR = 0.7


def reverse_score(values: pd.Series, scale_min: float, scale_max: float) -> pd.Series:
    """Mirror a negatively worded item onto the positive direction: ``min + max − value``."""
    return scale_min + scale_max - values


def score_scale(items: pd.DataFrame, reverse: Sequence[str] = (), scale_min: float = 1, scale_max: float = 5,
                min_share: float = 0.5) -> pd.Series:
    """Mean of the items per row after reverse scoring; missing when fewer than ``min_share`` were answered.

    For a consultant's own item-level file: the platform scores stored responses the same way (in
    SQL, when a response is stored; the report asks for at least half of the items), and a test
    holds the two together. Missing values ("prefer not to say", blanks) are not answers.
    """
    scored = items.apply(lambda column: numeric_column(items, column.name))
    for name in reverse:
        require_columns(items, name)
        scored[name] = reverse_score(scored[name], scale_min, scale_max)
    answered = scored.notna().sum(axis=1)
    return scored.mean(axis=1).where(answered >= min_share * scored.shape[1])


def cronbach_alpha(items: pd.DataFrame, missing: str = "listwise") -> tuple[float, int]:
    """Cronbach's α of already reverse-scored items; returns (alpha, n rows used).

    ``α = k/(k − 1) · (1 − tr(C) / ΣC)`` with C the sample covariance matrix of the items.
    ``missing="listwise"`` uses complete rows only (n = complete rows); ``"pairwise"`` takes each
    covariance over the rows answering both items, as ``psych::alpha`` (its default) and
    ``pingouin.cronbach_alpha`` (``nan_policy="pairwise"``) do (n = rows answering any item).
    Hand-written: pingouin is not a dependency, and with pandas' pairwise ``cov`` it is four lines.
    """
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"missing: expected 'listwise' or 'pairwise', not {missing!r}")
    used = items.dropna() if missing == "listwise" else items.dropna(how="all")
    k, n = used.shape[1], len(used)
    if k < 2 or n < 3:
        return float("nan"), n
    covariance = used.cov(ddof=1).to_numpy()
    total_variance = covariance.sum()
    if not np.isfinite(total_variance) or total_variance == 0:
        return float("nan"), n
    return float(k / (k - 1) * (1 - np.trace(covariance) / total_variance)), n


@dataclass(frozen=True)
class Reliability(Result):
    """α of one scale overall and per group, and which of them fall below the floor.

    ``alpha`` and ``by_group`` are pairwise-available α (psych's default), over ``n`` rows answering
    any item; the listwise figures (complete rows only) stand alongside. ``low`` uses the pairwise α.
    """

    scale: str
    items: tuple[str, ...]
    alpha: float
    n: int
    by_group: dict[str, float]
    n_by_group: dict[str, int]
    low: tuple[str, ...] = field(default=())
    alpha_listwise: float = float("nan")
    n_listwise: int = 0
    by_group_listwise: dict[str, float] = field(default_factory=dict)
    n_by_group_listwise: dict[str, int] = field(default_factory=dict)


def reliability(data: pd.DataFrame, items: Sequence[str], between: str | None = None,
                levels: Sequence[str] | None = None, *, scale: str, reverse: Sequence[str] = (),
                scale_min: float = 1, scale_max: float = 5, missing: str = "pairwise") -> Reliability:
    """Cronbach's α of a scale, overall and per group; ``low`` names "overall" and groups below 0.7.

    Parameters
    ----------
    data : DataFrame
        One row per response, one column per item.
    items : sequence of str
        The item columns of the scale (as ``pingouin.cronbach_alpha(data, items)``).
    between : str, optional
        The coaching-model column: α is also computed per group.
    levels : sequence of str, optional
        The groups, in order (default: sorted).
    scale : str
        The scale's name, for the result and for messages.
    reverse : sequence of str
        Reverse-keyed items, mirrored with :func:`reverse_score` first.
    scale_min, scale_max : float
        The answer scale's ends.
    missing : {"pairwise", "listwise"}
        Which α is the headline (``alpha``, ``by_group``, ``low``); the listwise figures are always
        alongside. The platform's report asks for "listwise": its disclosure control counts complete
        answers only.

    Returns
    -------
    Reliability
    """
    require_columns(data, *items, between)
    scored = pd.DataFrame({item: numeric_column(data, item) for item in items})
    for item in reverse:
        if item not in scored:
            raise ValueError(f"reverse-keyed item {item!r} is not one of the items of {scale!r}")
        scored[item] = reverse_score(scored[item], scale_min, scale_max)
    alpha, n = cronbach_alpha(scored, missing)
    alpha_listwise, n_listwise = cronbach_alpha(scored)
    by_group, n_by_group, by_group_listwise, n_by_group_listwise = {}, {}, {}, {}
    if between is not None:
        labels = group_labels(data[between])
        for level in level_order(data, between, levels):
            rows = scored[labels == level]
            by_group[level], n_by_group[level] = cronbach_alpha(rows, missing)
            by_group_listwise[level], n_by_group_listwise[level] = cronbach_alpha(rows)
    low = tuple(name for name, value in [("overall", alpha), *by_group.items()]
                if np.isfinite(value) and value < ALPHA_FLOOR)
    return Reliability(scale, tuple(items), alpha, n, by_group, n_by_group, low, alpha_listwise, n_listwise,
                       by_group_listwise, n_by_group_listwise)
