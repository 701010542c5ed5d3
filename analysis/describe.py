"""Per-group descriptive statistics and answer distributions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._distributions import t_ppf
from ._result import Result
from ._validate import Groups, group_labels


@dataclass(frozen=True)
class GroupDescriptives(Result):
    """n, mean, standard deviation, median and the t-based 95 % CI of the mean of one group."""

    group: str
    n: int
    mean: float
    sd: float
    median: float
    ci_low: float
    ci_high: float


def describe_group(name: str, values: np.ndarray, confidence: float = 0.95) -> GroupDescriptives:
    """Descriptives of one group's values.

    Notes
    -----
    The CI is ``mean ± t(1 - α/2, n - 1) · sd / √n``, as R's ``t.test(x)$conf.int``.
    """
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if n > 1 and np.ptp(values) > 0 else (0.0 if n > 1 else float("nan"))
    half = float(t_ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return GroupDescriptives(group=name, n=n, mean=mean, sd=sd, median=float(np.median(values)),
                             ci_low=mean - half, ci_high=mean + half)


def describe(groups: Groups) -> tuple[GroupDescriptives, ...]:
    """Descriptives of every group, in level order."""
    return tuple(describe_group(level, values) for level, values in zip(groups.levels, groups.values, strict=True))


@dataclass(frozen=True)
class AnswerShares(Result):
    """Share of each answer value in one group (a Likert item's distribution)."""

    group: str
    n: int
    shares: dict[str, float]


def answer_distribution(groups: Groups, scale: tuple[float, ...] | None = None) -> tuple[AnswerShares, ...]:
    """For an item answered on a small integer scale, the share of each answer per group.

    ``scale`` lists the possible answers (default: every value seen), so that answers nobody
    chose still appear with share 0.
    """
    values = scale if scale is not None else tuple(sorted(np.unique(np.concatenate(groups.values))))
    result = []
    for level, v in zip(groups.levels, groups.values, strict=True):
        counts = pd.Series(v).value_counts()
        shares = {f"{value:g}": float(counts.get(value, 0)) / len(v) for value in values}
        result.append(AnswerShares(group=level, n=len(v), shares=shares))
    return tuple(result)


def is_ordinal_item(groups: Groups, max_levels: int = 11) -> bool:
    """Whether the outcome looks like a single rating item: whole numbers with few distinct values."""
    pooled = np.concatenate(groups.values)
    return bool(np.all(pooled == np.round(pooled)) and len(np.unique(pooled)) <= max_levels)


@dataclass(frozen=True)
class SessionRates(Result):
    """Coaching received per rep per month in one group: the "manager too busy" evidence."""

    group: str
    reps: int
    sessions_per_rep_month: float
    minutes_per_rep_month: float
    share_without_session: float


def session_rates(data: pd.DataFrame, between: str = "coaching_model",
                  levels: tuple[str, ...] | None = None) -> tuple[SessionRates, ...]:
    """Mean sessions and minutes per rep per month by group.

    ``data`` has one row per rep, with the columns ``sessions``, ``minutes`` and ``months`` and
    the coaching-model column ``between``; ``levels`` default to its values, sorted.
    """
    levels = levels or tuple(sorted(group_labels(data[between]).dropna().unique()))
    result = []
    for level in levels:
        group = data[group_labels(data[between]) == level]
        months = group["months"].replace(0, np.nan)
        result.append(SessionRates(
            group=level, reps=len(group),
            sessions_per_rep_month=float((group["sessions"] / months).mean()) if len(group) else float("nan"),
            minutes_per_rep_month=float((group["minutes"] / months).mean()) if len(group) else float("nan"),
            share_without_session=float((group["sessions"] == 0).mean()) if len(group) else float("nan")))
    return tuple(result)
