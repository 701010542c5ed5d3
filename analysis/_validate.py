"""Input checks shared by every analysis function: one place that says what is wrong, by name."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Groups:
    """An outcome split by group, missing values dropped, in level order."""

    dv: str
    between: str
    levels: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    n_missing: int

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(v) for v in self.values])

    @property
    def n(self) -> int:
        return int(self.sizes.sum())

    @property
    def k(self) -> int:
        return len(self.levels)

    @cached_property
    def pooled_order(self) -> np.ndarray:
        """``argsort`` of the pooled values (groups concatenated in level order): one sort of the data
        serves Kruskal–Wallis, Dunn and the pairwise Mann–Whitney tests."""
        return np.argsort(np.concatenate(self.values))

    @cached_property
    def pooled_ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """Average ranks of the pooled values (in level order) and tie-group sizes."""
        from ._ranks import rankdata
        return rankdata(np.concatenate(self.values), self.pooled_order)

    @cached_property
    def pooled_sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """The pooled values sorted, and the index of the group each came from."""
        group = np.repeat(np.arange(self.k), self.sizes)
        return np.concatenate(self.values)[self.pooled_order], group[self.pooled_order]

    def pairs(self):
        """(i, j) index pairs with i before j in level order."""
        return [(i, j) for i in range(self.k) for j in range(i + 1, self.k)]


def group_variance(values: np.ndarray) -> float:
    """The sample variance of one group, exactly 0 when all its values are equal.

    The floating-point mean of equal values need not equal them (ten 4.7s have a mean of
    4.700000000000001 and a variance of 9e-31), which made an ANOVA F of 1e31, a Hedges' g of 1e15
    and a "computed" Welch test out of groups without spread (statistics review, section 3).
    """
    values = np.asarray(values, dtype=float)
    return float(values.var(ddof=1)) if np.ptp(values) > 0 else 0.0


def within_ss(values: np.ndarray) -> float:
    """Σ (x − x̄)² of one group, exactly 0 when all its values are equal (see :func:`group_variance`)."""
    return float(((values - values.mean()) ** 2).sum()) if np.ptp(values) > 0 else 0.0


def require_columns(data: pd.DataFrame, *columns: str | None) -> None:
    """Raise ``ValueError`` naming the first column that is not in ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data: expected a pandas DataFrame")
    for column in columns:
        if column is not None and column not in data.columns:
            raise ValueError(f"column {column!r} not found (columns: {', '.join(map(str, data.columns))})")


def numeric_column(data: pd.DataFrame, column: str) -> pd.Series:
    """The column as floats; raise ``ValueError`` naming it when a value is not a number."""
    series = data[column]
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    converted = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & converted.isna()
    if bad.any():
        example = series[bad].iloc[0]
        raise ValueError(f"column {column!r} has non-numeric values (for example {example!r} in row "
                         f"{int(np.flatnonzero(bad.to_numpy())[0]) + 1})")
    converted = converted.astype(float)
    values = converted.to_numpy()
    if np.isinf(values).any():
        raise ValueError(f"column {column!r} has infinite values")
    _check_magnitude(column, values[np.isfinite(values)])
    return converted


# Sums of squares of values beyond these overflow or underflow a double (adversarial review of issue 13:
# 1e80 crashed Games–Howell, 1e-100 the effect sizes). Revenue in cents of a large company is ~1e12.
LARGEST, SMALLEST_SPREAD = 1e30, 1e-30


def _check_magnitude(column: str, values: np.ndarray) -> None:
    """Refuse values whose squares a double cannot hold, naming the column and what to do."""
    if not len(values):
        return
    largest = float(np.max(np.abs(values)))
    if largest > LARGEST:
        raise ValueError(f"column {column!r} has values as large as {largest:.3g}; the tests cannot square them "
                         f"reliably — rescale the column (say, to thousands or millions) below {LARGEST:g}")
    deviations = np.abs(values - np.median(values))
    spread = float(np.max(deviations))
    if 0 < spread < SMALLEST_SPREAD:
        raise ValueError(f"column {column!r} varies by at most {spread:.3g}; the tests cannot square differences "
                         f"that small reliably — rescale the column (multiply it by a power of ten)")


def group_labels(series: pd.Series) -> pd.Series:
    """Group labels as text, missing kept missing; whole numbers read "1", not "1.0".

    Categorical columns stay categorical (with text categories): comparing them is much faster.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        if all(isinstance(c, str) for c in series.cat.categories):
            return series
        return series.cat.rename_categories([str(c) for c in series.cat.categories])
    if pd.api.types.is_float_dtype(series):
        present = series.dropna()
        if (present == present.round()).all():
            return series.map(lambda value: None if pd.isna(value) else str(int(value)))
    return series.astype(str).where(series.notna())


def _labels_present(labels: pd.Series) -> set[str]:
    """The labels that occur (for a categorical: the categories that have rows)."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        codes = labels.cat.codes.to_numpy()
        seen = np.bincount(codes[codes >= 0], minlength=len(labels.cat.categories)) > 0
        return set(labels.cat.categories[seen])
    return set(labels.dropna().unique())


def level_order(data: pd.DataFrame, between: str, levels: Sequence[str] | None,
                labels: pd.Series | None = None) -> tuple[str, ...]:
    """The group levels: as given, or sorted; raise if a given level is absent or duplicated.
    ``labels`` is ``group_labels(data[between])`` when the caller has it."""
    present = _labels_present(group_labels(data[between]) if labels is None else labels)
    if levels is None:
        return tuple(sorted(present))
    levels = tuple(str(level) for level in levels)
    if len(set(levels)) != len(levels):
        raise ValueError(f"levels: {', '.join(levels)} names a group twice")
    missing = [level for level in levels if level not in present]
    if missing:
        raise ValueError(f"group {missing[0]!r} has no rows in column {between!r}")
    return levels


def _level_codes(labels: pd.Series, order: Sequence[str]) -> np.ndarray:
    """The position of each row's label in ``order``; -1 for a missing label or another level."""
    wanted = pd.Index(order)
    if isinstance(labels.dtype, pd.CategoricalDtype):  # map the few categories, not every row
        codes = labels.cat.codes.to_numpy()
        to_order = np.append(wanted.get_indexer(labels.cat.categories), -1)  # code -1 (missing) → last
        return to_order[codes]
    return wanted.get_indexer(labels)


def split_groups(data: pd.DataFrame, dv: str, between: str, levels: Sequence[str] | None = None,
                 min_per_group: int = 2) -> Groups:
    """Check ``data`` and split ``dv`` by ``between``; rows of other levels are ignored.

    Raises ``ValueError`` for a missing column, non-numeric values, fewer than two groups, a
    group with fewer than ``min_per_group`` values, or an outcome whose values are all equal.
    """
    require_columns(data, dv, between)
    y = numeric_column(data, dv).to_numpy(dtype=float)
    group = group_labels(data[between])
    order = level_order(data, between, levels, group)
    if len(order) < 2:
        raise ValueError(f"column {between!r} has fewer than two groups ({', '.join(order) or 'none'})")
    codes = _level_codes(group, order)
    present = ~np.isnan(y)
    missing = int(((codes >= 0) & ~present).sum())
    values = []
    for index, level in enumerate(order):
        v = y[(codes == index) & present]
        if len(v) < min_per_group:
            raise ValueError(f"group {level!r} of {between!r} has {len(v)} value(s) of {dv!r}; "
                             f"at least {min_per_group} are needed")
        values.append(v)
    pooled = np.concatenate(values)
    if len(pooled) <= len(order):
        raise ValueError(f"{dv!r} has {len(pooled)} value(s) in {len(order)} groups of {between!r}; at least one "
                         "group needs two values for the groups to be compared")
    if np.ptp(pooled) == 0:
        raise ValueError(f"column {dv!r}: all values are equal ({pooled[0]:g}); there is nothing to compare")
    return Groups(dv=dv, between=between, levels=order, values=tuple(values), n_missing=missing)


@dataclass(frozen=True)
class RowAccount:
    """Which rows a model uses, and why the others are left out, per arm (issue 13, audit F2).

    ``n_dropped[arm]`` maps a reason (``missing_outcome``, ``missing_baseline``, ``missing_team``)
    to a count; a row missing several things is counted once, under the first reason in that order.
    """

    keep: pd.Series
    n_used: dict[str, int]
    n_dropped: dict[str, dict[str, int]]

    def warnings(self, model: str) -> list[str]:
        """One sentence per arm that lost rows, e.g. "30 of 64 reps of 'external' (47 %) left out: ..."."""
        notes = []
        for arm, reasons in self.n_dropped.items():
            lost = sum(reasons.values())
            if lost:
                total = lost + self.n_used[arm]
                why = dropped_in_words(reasons)
                notes.append(f"{model}: {lost} of {total} reps of {arm!r} ({100 * lost / total:.0f} %) "
                             f"left out: {why}")
        return notes


def account_rows(frame: pd.DataFrame, between: str, levels: Sequence[str],
                 columns: Sequence[tuple[str | None, str]]) -> RowAccount:
    """Count, per arm of ``levels``, the rows of ``frame`` complete in ``columns`` ((column, reason) pairs,
    in the order reasons are assigned) and those left out, by reason. Rows of other arms are ignored."""
    keep = pd.Series(True, index=frame.index)
    reason_of = pd.Series(None, index=frame.index, dtype=object)
    for column, reason in columns:
        if column is None:
            continue
        missing = frame[column].isna() & reason_of.isna()
        reason_of[missing] = reason
        keep &= frame[column].notna()
    n_used, n_dropped = {}, {}
    for level in levels:
        in_arm = frame[between] == level
        n_used[level] = int((keep & in_arm).sum())
        counts = reason_of[in_arm & ~keep].value_counts()
        n_dropped[level] = {reason: int(counts[reason]) for _, reason in columns if reason in counts}
    return RowAccount(keep, n_used, n_dropped)


def require_baseline_in_every_arm(frame: pd.DataFrame, between: str, baseline: str | None,
                                  levels: Sequence[str]) -> None:
    """Refuse, by name, a baseline that is missing for every rep of an arm (not 'collinear')."""
    if baseline is None:
        return
    for level in levels:
        values = frame.loc[frame[between] == level, baseline]
        if len(values) and values.isna().all():
            raise ValueError(f"column {baseline!r} is missing for every rep of {level!r}; the outcome cannot "
                             "be adjusted for the baseline in that arm (leave the baseline out, or supply it)")


def require_team_in_every_arm(frame: pd.DataFrame, between: str, cluster: str, levels: Sequence[str]) -> None:
    """Refuse, by name, a team column that is empty for every rep of an arm (not 'collinear')."""
    for level in levels:
        values = frame.loc[frame[between] == level, cluster]
        if len(values) and values.isna().all():
            raise ValueError(f"column {cluster!r} is missing for every rep of {level!r}, so that arm's teams are "
                             "unknown and teams cannot be accounted for (fill in the team)")


def dropped_in_words(reasons) -> str:
    """Rows left out of a model, by reason, as a sentence says it: "30 with no baseline, 2 with no team"."""
    return ", ".join(f"{count} with no {reason.removeprefix('missing_')}" for reason, count in reasons.items())


def merge_label_spellings(series: pd.Series, levels: Sequence[str] | None = None) -> tuple[pd.Series, list[str]]:
    """Group labels that differ only in case or surrounding spaces ('Manager', 'peer ') read as one group.

    The spelling kept is the one ``levels`` names, else the most frequent trimmed spelling (ties: the
    first in sorted order). Returns the labels and one warning per spelling changed, naming both
    (statistics review F8b: such labels silently became extra groups).
    """
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return series, []
    text = series.where(series.isna(), series.astype(str))
    counts = text.dropna().value_counts()
    wanted = {str(level).strip().casefold(): str(level) for level in levels or ()}
    spellings: dict[str, list[str]] = {}
    for label in counts.index:
        spellings.setdefault(label.strip().casefold(), []).append(label)
    mapping, notes = {}, []
    for key, found in spellings.items():
        trimmed = sorted({label.strip() for label in found},
                         key=lambda t: (-sum(counts[f] for f in found if f.strip() == t), t))
        keep = wanted.get(key, trimmed[0])
        for label in sorted(found):
            if label != keep:
                mapping[label] = keep
                notes.append(f"column {series.name!r}: {int(counts[label])} row(s) labelled {label!r} were read as "
                             f"{keep!r} (the labels differ only in case or spaces)")
    return (text.replace(mapping) if mapping else series), notes


def is_id_like(data: pd.DataFrame, column: str) -> bool:
    """Whether a column is an identifier, never an outcome unless named (statistics review F8a): named
    ``id``, ``*_id``, ``team`` (or ``*_team``), or whole numbers unique per row that number the rows
    (ascending in file order, or a run without gaps), in a file of at least 10 rows — so a revenue
    column of whole amounts, unique but in no order, stays an outcome."""
    name = str(column).strip().casefold()
    if name in ("id", "team") or name.endswith(("_id", " id", "_team")):
        return True
    values = data[column].dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) or len(values) < 10:
        return False
    if not ((values == values.round()).all() and values.is_unique and len(values) == len(data)):
        return False
    return bool(values.is_monotonic_increasing or values.max() - values.min() == len(values) - 1)


def finite_number(name: str, value, positive: bool = False) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name``: not a number (a bool is not one), not finite, or
    (``positive``) not above 0."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, not {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, not {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, not {value}")
    if positive and value <= 0:
        raise ValueError(f"{name}: must be greater than 0, not {value:g}")
    return value
