"""Non-inferiority and equivalence of coaching models against a declared margin.

A leader asks "is the cheaper model no worse than the manager's by more than 3 quota points?" —
non-inferiority — or "are the two within ±3 points of each other?" — equivalence, by two one-sided
tests (TOST). Both start from a difference ``level − vs`` with its SE and df: the mixed model's
(Satterthwaite df) or, with few teams or a fit that did not converge, Welch's t on team means.

References
----------
Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power approach
    for assessing the equivalence of average bioavailability. J. Pharmacokinet. Biopharm. 15, 657–680.
Piaggio, G. et al. (2012). Reporting of noninferiority and equivalence randomized trials: extension
    of the CONSORT 2010 statement. JAMA 308, 2594–2604 (the one-sided bound against the margin).
Welch, B. L. (1947). The generalization of "Student's" problem when several different population
    variances are involved. Biometrika 34, 28–35.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ._distributions import norm_ppf, norm_sf, t_ppf, t_sf
from ._result import Result
from ._validate import finite_number as _check_number
from ._validate import level_order, require_columns
from .clustered import mixed_model
from .randomisation import FEW_TEAMS, team_values


@dataclass(frozen=True)
class MarginTest(Result):
    """Non-inferiority and equivalence of ``level`` against ``vs`` with margin ``margin`` (> 0, outcome units).

    ``estimate`` is ``level − vs`` with its ``se`` and ``df`` (None: normal distribution).
    Non-inferiority (higher is better) tests H0: difference ≤ −margin; ``bound`` is the one-sided
    (1 − alpha) lower confidence bound, and ``noninferior`` holds when it lies above −margin
    (equivalently ``p_noninferiority`` < alpha). When lower is better the test is H0: difference
    ≥ +margin and ``bound`` is the upper bound. Equivalence is TOST: ``p_lower`` tests H0:
    difference ≤ −margin, ``p_upper`` H0: difference ≥ +margin, each one-sided at alpha;
    ``p_equivalence`` is the larger and ``equivalent`` holds when the (1 − 2·alpha) interval
    ``ci_low``–``ci_high`` (90 % at alpha .05) lies within ±margin. ``method`` is ``"mixed_model"``
    or ``"team_means"`` (Welch's t on team means) or ``"given"`` (estimate passed in); ``notes`` say
    why a fallback was taken. ``unit`` names the outcome's unit in :meth:`words`.
    """

    level: str
    vs: str
    margin: float
    estimate: float
    se: float
    df: float | None
    alpha: float
    higher_is_better: bool
    bound: float
    ci_low: float
    ci_high: float
    p_noninferiority: float
    noninferior: bool
    p_lower: float
    p_upper: float
    p_equivalence: float
    equivalent: bool
    method: str
    unit: str = "points"
    notes: tuple[str, ...] = field(default=())

    def words(self) -> str:
        """The non-inferiority finding in a leader's words, e.g. "Peer coaching is no worse than manager
        coaching by more than 3.0 points: the worst it may be is 1.2 points below (95 % one-sided bound)"."""
        digits = _digits(self.margin)
        level, vs = _model_name(self.level, capital=True), _model_name(self.vs)
        margin = f"{self.margin:.{digits}f} {self.unit}"
        worse = -self.bound if self.higher_is_better else self.bound  # how far worse the bound lets it be
        side = "below" if self.higher_is_better else "above"
        other = "above" if self.higher_is_better else "below"
        confidence = f"{100 * (1 - self.alpha):g} % one-sided bound"
        where = (f"{abs(worse):.{digits}f} {self.unit} {side if worse >= 0 else other}"
                 if round(worse, digits) != 0 else "level with it")
        if self.noninferior:
            worst = "the worst it may be is" if worse > 0 else "even at worst it is"
            return f"{level} is no worse than {vs} by more than {margin}: {worst} {where} ({confidence})"
        return (f"{level} may be worse than {vs} by more than {margin}: "
                f"it may be as far as {where} ({confidence}), beyond the margin")

    def equivalence_words(self) -> str:
        """The equivalence finding (TOST) in a leader's words."""
        digits = _digits(self.margin)
        level, vs = _model_name(self.level, capital=True), _model_name(self.vs)
        interval = (f"{100 * (1 - 2 * self.alpha):g} % interval {self.ci_low:.{digits}f} to "
                    f"{self.ci_high:.{digits}f} {self.unit}")
        if self.equivalent:
            return f"{level} and {vs} are within ±{self.margin:.{digits}f} {self.unit} of each other ({interval})"
        return (f"{level} and {vs} cannot be shown to be within ±{self.margin:.{digits}f} {self.unit} of each "
                f"other ({interval})")

    def to_dict(self) -> dict:
        """The fields, then ``words`` and ``equivalence_words``."""
        return {**asdict(self), "words": self.words(), "equivalence_words": self.equivalence_words()}


def _digits(margin: float) -> int:
    """Decimals to show: one more than the margin's leading digit needs (3 → 1, 0.3 → 2)."""
    return max(1, 1 - math.floor(math.log10(margin)))


def _model_name(level: str, capital: bool = False) -> str:
    name = level if level.lower().endswith("coaching") else f"{level} coaching"
    return name[:1].upper() + name[1:] if capital else name


def _check_margin(margin, alpha) -> tuple[float, float]:
    margin = _check_number("margin", margin)
    if margin <= 0:
        raise ValueError(f"margin: must be greater than 0 (a difference in the outcome's units that would "
                         f"still count as no worse), not {margin:g}")
    alpha = _check_number("alpha", alpha)
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha: expected a level between 0 and 0.5, not {alpha:g}")
    return margin, alpha


def margin_test(level: str, vs: str, estimate: float, se: float, df: float | None, margin: float,
                alpha: float = 0.05, higher_is_better: bool = True, method: str = "given",
                unit: str = "points", notes: tuple[str, ...] = ()) -> MarginTest:
    """Non-inferiority and equivalence (TOST) of ``level`` against ``vs`` from a difference and its SE.

    Parameters
    ----------
    level, vs : str
        The model asked about and the one it is held against; ``estimate`` is ``level − vs``.
    estimate, se : float
        The difference and its standard error (> 0).
    df : float or None
        Degrees of freedom of its t distribution (Satterthwaite's, Welch's); None or infinity: normal.
    margin : float
        The largest shortfall (> 0, in the outcome's units) that still counts as no worse.
    alpha : float
        One-sided level of each test; the equivalence interval has coverage 1 − 2·alpha.
    higher_is_better : bool
        False when a lower outcome is better (then "worse" means higher).
    method, unit, notes
        Recorded in the result (``unit`` names the outcome's unit in the sentences).

    Returns
    -------
    MarginTest

    Notes
    -----
    With T the t (or normal) variable, non-inferiority when higher is better: H0 diff ≤ −margin,
    p = P(T ≥ (est + margin)/se), bound = est − t₁₋α·se; when lower is better: H0 diff ≥ margin,
    p = P(T ≤ (est − margin)/se), bound = est + t₁₋α·se. TOST takes both at alpha,
    p_equivalence = max of the two, and the interval est ± t₁₋α·se.
    """
    margin, alpha = _check_margin(margin, alpha)
    estimate = _check_number("estimate", estimate)
    se = _check_number("se", se, positive=True)
    if df is not None:
        df = float(df)
        if math.isnan(df) or df <= 0:
            raise ValueError(f"df: expected a positive number of degrees of freedom or None, not {df}")
        if math.isinf(df):
            df = None
    if df is None:
        def upper_tail(x: float) -> float:
            return float(norm_sf(x))
        quantile = float(norm_ppf(1 - alpha))
    else:
        def upper_tail(x: float) -> float:
            return t_sf(x, df)
        quantile = t_ppf(1 - alpha, df)
    p_lower = upper_tail((estimate + margin) / se)    # H0: diff ≤ −margin
    p_upper = upper_tail(-(estimate - margin) / se)   # H0: diff ≥ +margin
    ci_low, ci_high = estimate - quantile * se, estimate + quantile * se
    if higher_is_better:
        p_ni, bound, noninferior = p_lower, ci_low, ci_low > -margin
    else:
        p_ni, bound, noninferior = p_upper, ci_high, ci_high < margin
    return MarginTest(
        level=str(level), vs=str(vs), margin=margin, estimate=estimate, se=se, df=df, alpha=alpha,
        higher_is_better=bool(higher_is_better), bound=bound, ci_low=ci_low, ci_high=ci_high,
        p_noninferiority=p_ni, noninferior=bool(noninferior), p_lower=p_lower, p_upper=p_upper,
        p_equivalence=max(p_lower, p_upper), equivalent=bool(ci_low > -margin and ci_high < margin),
        method=method, unit=unit, notes=tuple(notes))


def ordered_pairs(levels: tuple[str, ...]) -> list[tuple[str, str]]:
    """(level, vs) in the order :func:`margin_tests` returns them: each non-reference level against the
    reference first, then every other ordered pair (``vs`` in level order, then ``level``)."""
    first = [(level, levels[0]) for level in levels[1:]]
    return first + [(level, vs) for vs in levels for level in levels if level != vs and (level, vs) not in first]


def _welch(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """mean(x) − mean(y), its SE and Welch's df (as R's ``t.test(x, y)``)."""
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    se2 = vx + vy
    df = se2 ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    return float(np.mean(x) - np.mean(y)), float(np.sqrt(se2)), float(df)


def margin_tests(data: pd.DataFrame, dv: str, between: str, cluster: str, levels: tuple[str, ...] | None,
                 margin: float, baseline: str | None = None, alpha: float = 0.05, higher_is_better: bool = True,
                 unit: str = "points", df_method: str = "satterthwaite") -> tuple[MarginTest, ...]:
    """Non-inferiority and equivalence of every coaching model against every other, teams as clusters.

    Parameters
    ----------
    data : DataFrame
        One row per rep.
    dv, between, cluster : str
        Outcome, coaching-model and team columns.
    levels : tuple of str, optional
        Level order; the first is the reference (else sorted).
    margin : float
        The non-inferiority (and equivalence) margin, > 0, in the outcome's units.
    baseline : str, optional
        The same measure before the pilot: differences are adjusted for it.
    alpha, higher_is_better, unit
        As :func:`margin_test`.
    df_method : str
        The mixed model's df (:func:`analysis.clustered.mixed_model`); Satterthwaite's by default, as lmerTest.

    Returns
    -------
    tuple of MarginTest
        In the order of :func:`ordered_pairs`: each non-reference level against the reference, then every
        other ordered pair, so that "is A no worse than B" can be read for any A and B.

    Notes
    -----
    The differences are the mixed model's (``dv ~ arm [+ baseline] + (1 | team)``, REML) with each
    contrast's own df. With fewer than ``FEW_TEAMS`` (6) teams in the smallest arm, or a model that
    cannot be fitted or did not converge, they are Welch's t on team means (``method="team_means"``;
    with a baseline, of each rep's outcome first adjusted by the slope on the baseline over all reps,
    as :func:`analysis.randomisation.team_values`), provided every team sits in one model.
    """
    margin, alpha = _check_margin(margin, alpha)
    require_columns(data, dv, between, cluster, baseline)
    levels = level_order(data, between, levels)
    if len(levels) < 2:
        raise ValueError(f"column {between!r}: margins need two coaching models at least, "
                         f"not {len(levels)} ({', '.join(levels) or 'none'})")
    counted = team_values(data, dv, between, cluster, levels)
    if counted is None:
        raise ValueError(f"column {dv!r}: no rep has a value, a model and a team")
    smallest = min(counted.per_arm.values())
    notes: list[str] = []
    fit = None
    if smallest >= FEW_TEAMS:
        try:
            fit = mixed_model(data, dv, between, cluster, baseline, levels, df_method=df_method)
        except ValueError as error:
            notes.append(f"{dv}: the mixed model could not be fitted ({error}); team means are compared instead")
        else:
            if not fit.converged or not fit.contrasts:
                notes.append(f"{dv}: the mixed model did not converge; team means are compared instead")
                fit = None
    else:
        notes.append(f"{dv}: only {smallest} team{'' if smallest == 1 else 's'} in the smallest arm (fewer than "
                     f"{FEW_TEAMS}); the margins are tested on team means (Welch's t)")
    pairs = ordered_pairs(levels)
    if fit is not None:
        by_pair = {(c.a, c.b): c for c in fit.contrasts}
        results = []
        for level, vs in pairs:
            contrast, sign = ((by_pair[(vs, level)], 1.0) if (vs, level) in by_pair
                              else (by_pair[(level, vs)], -1.0))  # Contrast.diff is b − a
            results.append(margin_test(level, vs, sign * contrast.diff, contrast.se, contrast.df, margin, alpha,
                                       higher_is_better, "mixed_model", unit, tuple(notes)))
        return tuple(results)
    teams = team_values(data, dv, between, cluster, levels, baseline) if baseline else counted
    if teams is None or teams.mixed:
        raise ValueError(f"column {cluster!r}: some teams hold reps of several coaching models, so team means "
                         "cannot be compared, and the mixed model is not usable; " + " ".join(notes))
    arms = np.asarray(teams.arms, dtype=object)
    values = {level: teams.values[arms == level] for level in levels}
    for level, v in values.items():
        if len(v) < 2:
            raise ValueError(f"group {level!r} of {between!r} has {len(v)} team(s) with a value of {dv!r}; "
                             "comparing team means needs two teams per model at least")
    results = []
    for level, vs in pairs:
        x, y = values[level], values[vs]
        if np.ptp(x) == 0 and np.ptp(y) == 0:
            raise ValueError(f"{dv!r}: the team means of {level!r} and {vs!r} do not vary; "
                             "their difference has no standard error")
        estimate, se, df = _welch(x, y)
        results.append(margin_test(level, vs, estimate, se, df, margin, alpha, higher_is_better,
                                   "team_means", unit, tuple(notes)))
    return tuple(results)
