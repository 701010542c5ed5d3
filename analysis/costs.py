"""What each coaching model costs, and what it buys on quota attainment per 1,000 of cost.

A manager's or a peer's coaching hour costs selling time (an hourly cost); an outside coach has a
fee per rep per month, per hour, or both. ``cost_per_rep`` turns them into a cost per rep per month
with the logged coaching minutes; ``cost_effectiveness`` sets each model's extra quota points
against its extra cost over the reference model, with 95 % intervals from a bootstrap that resamples
whole teams within each model (teams are the unit randomised), and says where a model pays for itself.

The effect is the difference of rep means, adjusted for the quarter before when a baseline is given
(ANCOVA with a pooled within-model slope); a team bootstrap re-estimates it, and the hours behind the
hourly costs, on every resample. The interval is Hesterberg's expanded percentile interval by default:
with twelve teams a model the plain percentile interval of a clustered mean is too narrow (92.0 % over
1,000 simulated pilots, ``tests/analysis/test_costs_slow.py``; the expanded one 94.9 %): it stretches the
quantiles by the small-sample factor √(n/(n−1))·t.

References
----------
Davison, A. C. & Hinkley, D. V. (1997). Bootstrap methods and their application, sec. 3.8 (resampling
    clusters) and 5.2 (percentile intervals).
Hesterberg, T. C. (2015). What teachers should know about the bootstrap: resampling in the
    undergraduate statistics curriculum. The American Statistician 69, 371–386 (the expanded percentile
    interval, sec. 4.4).
Drummond, M. F. et al. (2015). Methods for the economic evaluation of health care programmes, 4th ed.,
    ch. 4 (incremental cost-effectiveness, dominance).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._distributions import t_ppf
from ._result import Result
from ._validate import level_order, require_columns

LEVELS = ("manager", "peer", "external")
ALIASES = {"outside": "external", "outside_coach": "external", "external": "external"}
BASES = {"rep_month": "per_rep_month", "month": "per_rep_month", "hour": "per_hour"}
NAMES = {"manager": "manager coaching", "peer": "peer coaching", "external": "external coaching"}
WHO = {"manager": "a manager", "peer": "a peer", "external": "an outside coach"}
DEFAULT_SEED = 20261202
MAX_AMOUNT = 1e9  # per rep per month or per hour: beyond any coaching budget, in any currency
INTERVALS = ("expanded", "percentile")


@dataclass(frozen=True)
class ModelCostInput(Result):
    """One model's cost inputs: a cost per rep per month and/or per coaching hour (None: not entered)."""

    level: str
    per_rep_month: float | None = None
    per_hour: float | None = None


@dataclass(frozen=True)
class CostInputs(Result):
    """The cost inputs of a study, one entry per model that has any."""

    models: tuple[ModelCostInput, ...]

    def of(self, level: str) -> ModelCostInput | None:
        return next((m for m in self.models if m.level == level), None)

    def text(self) -> str:
        """The canonical text, as the study keeps it: "manager=hour:85,external=rep_month:350+hour:20"."""
        parts = []
        for m in self.models:
            bases = ([f"rep_month:{amount_text(m.per_rep_month)}"] if m.per_rep_month is not None else []) + (
                [f"hour:{amount_text(m.per_hour)}"] if m.per_hour is not None else [])
            parts.append(f"{m.level}=" + "+".join(bases))
        return ",".join(parts)

    @classmethod
    def from_dict(cls, data: Mapping) -> CostInputs:
        return cls(tuple(ModelCostInput(**m) for m in data["models"]))


def _amount(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"costs: {where}: {text.strip()!r} is not an amount") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"costs: {where}: an amount is zero or more, not {text.strip()}")
    if value > MAX_AMOUNT:
        raise ValueError(f"costs: {where}: {text.strip()} is more than {MAX_AMOUNT:,.0f}, no cost of coaching")
    return value


def amount_text(value: float) -> str:
    """An amount as the canonical text writes it: plain digits, never an exponent ("1234567", "85.5")."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_costs(text: str, levels: Sequence[str] = LEVELS) -> CostInputs:
    """``"manager=hour:85,peer=hour:40,external=rep_month:350+hour:20"`` → :class:`CostInputs`.

    Each model (``outside`` is another name for ``external``) gets one or both bases: ``rep_month``
    (a cost per rep per month) and ``hour`` (per coaching hour). ``ValueError`` names what is wrong.
    """
    if text is None or not str(text).strip():
        raise ValueError("costs: nothing given; write them like manager=hour:85,external=rep_month:350")
    seen: dict[str, ModelCostInput] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        name, sep, rest = part.partition("=")
        level = ALIASES.get(name.strip().lower(), name.strip().lower())
        if not sep or not rest.strip():
            raise ValueError(f"costs: {part.strip()!r}: write a model, '=' and its costs, like manager=hour:85")
        if level not in levels:
            raise ValueError(f"costs: {name.strip()!r} is not a coaching model here ({', '.join(levels)})")
        if level in seen:
            raise ValueError(f"costs: {level} is given twice")
        values: dict[str, float] = {}
        for basis_text in rest.split("+"):
            basis, colon, amount = basis_text.partition(":")
            key = BASES.get(basis.strip().lower())
            if key is None or not colon:
                raise ValueError(f"costs: {level}: {basis_text.strip()!r} is not a cost like rep_month:350 or "
                                 "hour:85")
            if key in values:
                raise ValueError(f"costs: {level}: {basis.strip()} is given twice")
            values[key] = _amount(amount, level)
        seen[level] = ModelCostInput(level, values.get("per_rep_month"), values.get("per_hour"))
    if not seen:
        raise ValueError("costs: nothing given; write them like manager=hour:85,external=rep_month:350")
    return CostInputs(tuple(seen[level] for level in levels if level in seen))


@dataclass(frozen=True)
class ModelCost(Result):
    """One model's cost per rep per month (None: unknown, ``basis`` says why) and what it was computed from."""

    level: str
    per_rep_month: float | None
    from_fee: float
    from_hours: float | None
    hours_per_rep_month: float | None
    basis: str


def _money(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}".rstrip("0").rstrip(".")


def cost_per_rep(inputs: CostInputs, minutes_per_rep_month: Mapping[str, float] | None = None,
                 currency: str = "") -> tuple[ModelCost, ...]:
    """Each model's cost per rep per month: its fee plus its hourly cost × logged hours a rep a month.

    A model with an hourly cost and no logged minutes has an unknown cost (None), not 0. ``currency``
    goes before the amounts of ``basis`` ("$").
    """
    minutes = dict(minutes_per_rep_month or {})
    result = []
    for m in inputs.models:
        fee = m.per_rep_month or 0.0
        words = [f"{currency}{_money(fee)} a rep a month"] if m.per_rep_month is not None else []
        hours = from_hours = None
        if m.per_hour is not None:
            if m.level not in minutes or not np.isfinite(minutes[m.level]):
                result.append(ModelCost(m.level, None, fee, None, None,
                                        f"{currency}{_money(m.per_hour)} an hour, but no coaching minutes are "
                                        f"logged for {NAMES.get(m.level, m.level)}, so its cost is unknown"))
                continue
            hours = float(minutes[m.level]) / 60
            from_hours = m.per_hour * hours
            words.append(f"{currency}{_money(m.per_hour)} an hour × {hours:.1f} hours a rep a month of logged "
                         "coaching")
        result.append(ModelCost(m.level, fee + (from_hours or 0.0), fee, from_hours, hours, " + ".join(words)))
    return tuple(result)


@dataclass(frozen=True)
class ArmCost(Result):
    """A model's reps, teams, mean outcome, hours and cost per rep per month in the data."""

    level: str
    reps: int
    teams: int
    mean: float
    hours_per_rep_month: float | None
    cost_per_rep_month: float | None


@dataclass(frozen=True)
class CostComparison(Result):
    """``level`` against ``vs``: extra quota points (``effect``, with its interval), extra cost per rep per
    month (``delta_cost``), points and revenue per 1,000 of extra cost (None when it costs no more),
    the points at which it pays for itself, its ``standing`` and a sentence (``text``)."""

    level: str
    vs: str
    effect: float
    effect_low: float
    effect_high: float
    delta_cost: float | None
    points_per_1000: float | None
    low: float | None
    high: float | None
    revenue_per_1000: float | None
    revenue_low: float | None
    revenue_high: float | None
    break_even_points: float | None
    standing: str
    text: str


@dataclass(frozen=True)
class CostEffectiveness(Result):
    """Cost-effectiveness of every model against ``reference`` on one outcome."""

    outcome: str
    reference: str
    arms: tuple[ArmCost, ...]
    comparisons: tuple[CostComparison, ...]
    n_boot: int
    seed: int
    interval: str
    alpha: float
    revenue_per_point: float | None
    assumption: str
    warnings: tuple[str, ...] = field(default=())

    def comparison(self, level: str) -> CostComparison:
        return next(c for c in self.comparisons if c.level == level)


@dataclass(frozen=True)
class _Teams:
    """Per-team sums of one outcome, for fast resampling: rows are teams."""

    names: np.ndarray
    arm: np.ndarray  # level index
    n: np.ndarray
    sy: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    sm: np.ndarray  # Σ minutes per rep per month
    nm: np.ndarray  # reps with minutes


def _team_sums(data, outcome, between, cluster, levels, baseline, minutes) -> _Teams:
    frame = pd.DataFrame({"team": data[cluster], "arm": data[between].astype(str),
                          "y": pd.to_numeric(data[outcome], errors="coerce")})
    frame["x"] = pd.to_numeric(data[baseline], errors="coerce") if baseline else 0.0
    frame["m"] = pd.to_numeric(data[minutes], errors="coerce") if isinstance(minutes, str) else np.nan
    frame = frame[frame["arm"].isin(levels)].dropna(subset=["team", "y", "x"])
    mixed = frame.groupby("team")["arm"].nunique()
    if (mixed > 1).any():
        raise ValueError(f"column {cluster!r}: team {mixed[mixed > 1].index[0]!r} holds reps of several models; "
                         "teams must be resampled whole")
    frame = frame.assign(xx=frame["x"] ** 2, xy=frame["x"] * frame["y"], has_m=frame["m"].notna().astype(float),
                         m0=frame["m"].fillna(0.0))
    sums = frame.groupby("team", sort=True).agg(arm=("arm", "first"), n=("y", "size"), sy=("y", "sum"),
                                                sx=("x", "sum"), sxx=("xx", "sum"), sxy=("xy", "sum"),
                                                sm=("m0", "sum"), nm=("has_m", "sum"))
    index = {level: i for i, level in enumerate(levels)}
    return _Teams(sums.index.to_numpy(), sums["arm"].map(index).to_numpy(int), *(
        sums[c].to_numpy(float) for c in ("n", "sy", "sx", "sxx", "sxy", "sm", "nm")))


def bootstrap_teams(arms: Sequence[int], n_boot: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Resamples of teams, stratified by model: an ``n_boot × teams`` array of team indices (0-based).

    Each row draws, for every model in turn (in order of first appearance in ``arms``), as many of
    its teams with replacement as it has, by ``numpy.random.default_rng(seed)``.
    """
    arms = np.asarray(arms)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(arms == a) for a in pd.unique(arms)]
    columns = [group[rng.integers(0, len(group), size=(n_boot, len(group)))] for group in groups]
    return np.concatenate(columns, axis=1)


def _estimates(t: _Teams, counts: np.ndarray, k: int, adjust: bool):
    """Per resample (rows of ``counts``, teams × how often drawn): each arm's adjusted mean difference from
    arm 0 and its mean minutes. Vectorised over resamples."""
    by_arm = [counts[:, t.arm == a] for a in range(k)]  # per arm: B × its teams (arms differ in teams)

    def total(values):
        return np.stack([by_arm[a] @ values[t.arm == a] for a in range(k)], axis=0)  # k × B

    n, sy, sx, sxx, sxy = (total(v) for v in (t.n, t.sy, t.sx, t.sxx, t.sxy))
    mean_y, mean_x = sy / n, sx / n
    if adjust:
        within_xx = (sxx - sx ** 2 / n).sum(axis=0)
        within_xy = (sxy - sx * sy / n).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(within_xx > 0, within_xy / within_xx, 0.0)
    else:
        slope = np.zeros(counts.shape[0])
    effect = (mean_y[1:] - mean_y[0]) - slope * (mean_x[1:] - mean_x[0])
    nm = total(t.nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        minutes = np.where(nm > 0, total(t.sm) / nm, np.nan)
    return effect, minutes, mean_y, slope


def _cost(inputs: CostInputs, level: str, minutes) -> float | np.ndarray | None:
    m = inputs.of(level)
    if m is None:
        return None
    fee = m.per_rep_month or 0.0
    if m.per_hour is None:
        return fee + 0 * np.asarray(minutes, dtype=float) if np.ndim(minutes) else fee
    return fee + m.per_hour * np.asarray(minutes, dtype=float) / 60


def _quantiles(values: np.ndarray, alpha: float, interval: str, teams: int) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    if interval == "expanded":
        # Hesterberg (2015): the percentile interval at Φ(±√(n/(n−1))·t_{α/2, n−1}), n the teams resampled.
        z = math.sqrt(teams / (teams - 1)) * t_ppf(1 - alpha / 2, teams - 1)
        probs = (normal_cdf(-z), normal_cdf(z))
    else:
        probs = (alpha / 2, 1 - alpha / 2)
    low, high = np.quantile(values, probs)  # R's quantile type 7
    return float(low), float(high)


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2))


def _few(value: float) -> str:
    """A small positive amount to two significant figures (0.032, 0.32, 3.2, 32)."""
    return f"{value:.2g}" if value < 10 else f"{value:,.0f}"


def _signed(value: float) -> str:
    """+1.2, −0.4; a value that rounds to zero is 0.0, never −0.0."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _points(value: float) -> str:
    return f"{value:+.1f}" if abs(value) < 100 else f"{value:+,.0f}"


def cost_effectiveness(data: pd.DataFrame, outcome: str, between: str, cluster: str, levels: Sequence[str] | None,
                       inputs: CostInputs, minutes: str | Mapping[str, float] | None = None,
                       revenue_per_point: float | None = None,
                       reference: str | None = None, n_boot: int = 2000, seed: int = DEFAULT_SEED,
                       alpha: float = 0.05, interval: str = "expanded", baseline: str | None = None,
                       unit: str = "quota points", currency: str = "$") -> CostEffectiveness:
    """Extra outcome per extra cost of each model against ``reference``, with team-bootstrap intervals.

    Parameters
    ----------
    data : DataFrame
        One row per rep: ``outcome`` (quota attainment, points), ``between``, ``cluster`` (team), and
        optionally ``baseline`` (the same before) and ``minutes`` (coaching minutes a rep a month, to
        cost the hourly models).
    levels : sequence of str, optional
        The models in order; the reference defaults to the first.
    inputs : CostInputs
        The costs (:func:`parse_costs`). A model without any has no comparison.
    minutes : str or mapping, optional
        A column of coaching minutes a rep a month (resampled with the teams), or the models' minutes a rep
        a month as known figures (level → minutes; the same in every resample).
    revenue_per_point : float, optional
        What one point of the outcome brings a rep in a month (for revenue per 1,000 and break-even).
    n_boot, seed, alpha, interval
        Bootstrap resamples of teams (stratified by model), their seed, the level of the intervals and
        their kind: ``"expanded"`` (Hesterberg's, default) or ``"percentile"``.
    """
    fixed_minutes = dict(minutes) if isinstance(minutes, Mapping) else None
    require_columns(data, outcome, between, cluster, baseline, None if fixed_minutes is not None else minutes)
    levels = level_order(data, between, levels)
    if isinstance(minutes, str):
        values = pd.to_numeric(data[minutes], errors="coerce")
        bad = values[values.notna() & (~np.isfinite(values) | (values < 0))]
        if len(bad):
            raise ValueError(f"column {minutes!r}: coaching minutes are zero or more, not {bad.iloc[0]:g} "
                             f"(row {bad.index[0]})")
    for level, value in (fixed_minutes or {}).items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ValueError(f"minutes: {level}'s coaching minutes a rep a month are zero or more, not {value!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval: {interval!r} is not one of {', '.join(INTERVALS)}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 200:
        raise ValueError(f"n_boot: at least 200 resamples, not {n_boot!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha: between 0 and 0.5, not {alpha!r}")
    if revenue_per_point is not None and not (math.isfinite(revenue_per_point) and revenue_per_point > 0):
        raise ValueError(f"revenue_per_point: a positive amount, not {revenue_per_point!r}")
    reference = reference or levels[0]
    if reference not in levels:
        raise ValueError(f"reference: {reference!r} is not one of {', '.join(levels)}")
    levels = (reference, *[level for level in levels if level != reference])
    teams = _team_sums(data, outcome, between, cluster, levels, baseline, minutes)
    per_arm = np.bincount(teams.arm, minlength=len(levels))
    for level, count in zip(levels, per_arm, strict=True):
        if count < 2:
            raise ValueError(f"group {level!r} of {between!r} has {count} team(s) with a value of {outcome!r}; a "
                             "team bootstrap needs two teams per model at least")
    warnings = []
    for level in levels:
        m = inputs.of(level)
        if m is not None and m.per_hour is not None and not minutes:
            raise ValueError(f"costs: {level} has a cost per hour, but no column of coaching minutes was given")
    order = np.argsort(teams.arm, kind="stable")
    teams = _Teams(*(getattr(teams, f)[order] for f in _Teams.__dataclass_fields__))
    ones = np.ones((1, len(teams.n)))
    effect, arm_minutes, means, _ = _estimates(teams, ones, len(levels), baseline is not None)
    index = bootstrap_teams(teams.arm, n_boot, seed)
    counts = np.zeros((n_boot, len(teams.n)))
    np.add.at(counts, (np.repeat(np.arange(n_boot), index.shape[1]), index.ravel()), 1.0)
    boot_effect, boot_minutes, _, _ = _estimates(teams, counts, len(levels), baseline is not None)
    if fixed_minutes is not None:  # the models' logged minutes, taken as known: the same in every resample
        fixed = np.array([[fixed_minutes.get(level, np.nan)] for level in levels], dtype=float)
        arm_minutes, boot_minutes = fixed, np.repeat(fixed, n_boot, axis=1)
    arms = []
    cost_point = {}
    for a, level in enumerate(levels):
        c = _cost(inputs, level, arm_minutes[a, 0])
        cost_point[level] = None if c is None or not np.isfinite(c) else float(c)
        hours = None if not np.isfinite(arm_minutes[a, 0]) else float(arm_minutes[a, 0]) / 60
        arms.append(ArmCost(level, int(teams.n[teams.arm == a].sum()), int(per_arm[a]), float(means[a, 0]),
                            hours, cost_point[level]))
    comparisons = []
    smallest = int(per_arm.min())
    for a, level in enumerate(levels[1:], start=1):
        est = float(effect[a - 1, 0])
        low, high = _quantiles(boot_effect[a - 1], alpha, interval, smallest)
        if cost_point[level] is None or cost_point[reference] is None:
            comparisons.append(CostComparison(level, reference, est, low, high, None, None, None, None, None, None,
                                              None, None, "cost unknown",
                                              f"{NAMES[level].capitalize()} against {NAMES[reference]}: "
                                              f"{_points(est)} {unit}; its cost or the reference's is not known, "
                                              "so no cost-effectiveness."))
            continue
        delta = cost_point[level] - cost_point[reference]
        boot_delta = (np.asarray(_cost(inputs, level, boot_minutes[a]), dtype=float)
                      - np.asarray(_cost(inputs, reference, boot_minutes[0]), dtype=float)) * np.ones(n_boot)
        per, plow, phigh = None, None, None
        rev, rlow, rhigh = None, None, None
        if delta > 0:
            with np.errstate(invalid="ignore", divide="ignore"):
                ratios = np.where(boot_delta > 0, boot_effect[a - 1] / (boot_delta / 1000), np.nan)
            per = est / (delta / 1000)
            plow, phigh = _quantiles(ratios, alpha, interval, smallest)
            if revenue_per_point is not None:
                rev, rlow, rhigh = (v * revenue_per_point if v is not None else None for v in (per, plow, phigh))
        better = low > 0
        worse = high < 0
        if delta > 0:
            standing = "costs more, adds less" if worse else "costs more, adds more" if better else "costs more"
        else:
            standing = ("cheaper and better" if better else "cheaper and worse" if worse else
                        "cheaper" if delta < 0 else "same cost")
        breakeven = delta / revenue_per_point if revenue_per_point is not None and delta > 0 else None
        pct = f"{round(100 * (1 - alpha))} %"
        text = (f"{NAMES[level].capitalize()} against {NAMES[reference]}: {_points(est)} {unit} ({pct} interval "
                f"{_signed(low)} to {_signed(high)}) for {currency}{_money(abs(delta))} "
                f"{'more' if delta >= 0 else 'less'} per rep a month")
        if per is not None and not worse:
            text += f": {per:+.1f} {unit} per {currency}1,000 ({plow:+.1f} to {phigh:+.1f})"
            if rev is not None:
                gained = "gained" if rev >= 0 else "lost"
                text += f", {currency}{_money(abs(rev))} of revenue {gained} per {currency}1,000"
        elif worse and delta > 0:
            text += ": it costs more and adds less"
        text += "."
        if breakeven is not None:
            verdict = ("it clearly adds more" if low > breakeven else "it clearly adds less" if high < breakeven
                       else "the interval includes that, so it is not yet clear")
            text += (f" {WHO[level].capitalize()} pays for itself if it adds more than {_few(breakeven)} {unit}; "
                     f"{verdict}.")
        elif delta <= 0:
            text += (" It costs no more and adds more: the better buy." if better else
                     " It costs less but adds less." if worse else
                     " It costs no more; whether it is no worse is the margin's question.")
        comparisons.append(CostComparison(level, reference, est, low, high, float(delta), per, plow, phigh, rev, rlow,
                                          rhigh, breakeven, standing, text))
    name = "Hesterberg's expanded percentile" if interval == "expanded" else "percentile"
    assumption = (f"Intervals: {name} intervals from {n_boot:,} resamples of whole teams within each model (seed "
                  f"{seed}). Effects are differences of rep means"
                  + (", adjusted for the period before" if baseline else "")
                  + "; costs per rep per month from the study's costs and the logged coaching hours"
                  + (f"; one {unit.removesuffix('s')} is worth {currency}{_money(revenue_per_point)} of revenue a "
                     "rep a month" if revenue_per_point is not None else
                     "; without a revenue link, no break-even is given")
                  + ".")
    if smallest < 6:
        warnings.append(f"only {smallest} teams in the smallest model: bootstrap intervals of so few teams are rough")
    return CostEffectiveness(outcome, reference, tuple(arms), tuple(comparisons), int(n_boot), int(seed), interval,
                             float(alpha), revenue_per_point, assumption, tuple(warnings))


__all__ = ["CostInputs", "ModelCostInput", "ModelCost", "ArmCost", "CostComparison", "CostEffectiveness",
           "parse_costs", "cost_per_rep", "cost_effectiveness", "bootstrap_teams"]
