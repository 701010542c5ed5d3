"""Compare the coaching models on each outcome: every test, the headline choice, and the verdict.

This is the entry point of the library: :func:`compare_models` takes a tidy DataFrame (one row
per respondent or rep) and returns an :class:`Analysis`, the object behind the web report, the
``analyze`` command's JSON and text, and the charts.

The headline test of an outcome is chosen by a fixed rule, recorded with its reason:

0. teams given (``cluster``) and fewer than :data:`~analysis.randomisation.FEW_TEAMS` (6) teams
   in the smallest arm → ``randomisation``: the randomisation test on team means, re-running the
   study's own randomisation procedure (``randomisation``, an
   :class:`~analysis.randomisation.RandomisationPlan`; without one, complete randomisation of the
   teams keeping each arm's number), which needs no model; the mixed model is still fitted and
   shown. Not when reps, not teams, were randomised (a team's reps have different models): then
   the rule goes on as below, with a warning;
1. teams given (``cluster``) and the mixed model converged → ``mixed_model`` (the only choice
   whose p-values respect that reps in one team are alike);
2. a baseline given → ``ancova``;
   … when the mixed model cannot be used, the teams' means are compared instead (``team_means``);
3. a single rating item (whole numbers, at most 11 distinct values) or heavy outliers
   (more than 2 % of values beyond 3 IQR of their group's quartiles) → ``kruskal``;
4. otherwise → ``welch`` (jamovi's default; no equal-variance assumption);
5. when Welch cannot be computed (a group without spread) → ``kruskal``.

Each headline has its matched pairwise comparisons: Games–Howell ↔ Welch, Tukey ↔ ANOVA,
Dunn (Holm) ↔ Kruskal–Wallis, and Holm-adjusted contrasts of the model coefficients ↔ mixed
model and ANCOVA; the randomisation test has its own pairs (each pair's teams re-randomised,
Holm). Holm's correction runs across the secondary outcomes; the primary outcome named by the
caller keeps its own p-value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._validate import Groups, group_labels, is_id_like, level_order, require_columns, split_groups
from .baseline import AncovaResult, ancova, baseline_imbalance
from .clustered import DF_METHODS, MixedModelResult, mixed_model
from .contrasts import Contrast
from .describe import AnswerShares, GroupDescriptives, answer_distribution, describe, is_ordinal_item
from .detectable import RankSample, rank_sample
from .effects import (
    ANCOVA_SD,
    MIXED_SD,
    AdjustedEffect,
    OmnibusEffects,
    PairEffect,
    adjusted_effects,
    omnibus_effects,
    pairwise_effects,
)
from .multiplicity import holm
from .omnibus import ChiSquareTest, FTest, LeveneTest, anova_oneway, anova_table, brown_forsythe, kruskal_wallis
from .omnibus import welch_anova as welch
from .posthoc import MeanDifference, PairTest, dunn, games_howell, mann_whitney, tukey_hsd
from .randomisation import FEW_TEAMS, RandomisationPlan, RandomisationTest, randomisation_test, team_values
from .verdict import Verdict, write_verdict

OUTLIER_SHARE = 0.02
OUTLIER_IQR = 3.0
ALPHA = 0.05


@dataclass(frozen=True)
class OutcomeComparison:
    """Everything computed for one outcome across the coaching models."""

    outcome: str
    label: str
    levels: tuple[str, ...]
    n: int
    n_missing: int
    descriptives: tuple[GroupDescriptives, ...]
    anova: FTest
    welch: FTest | None
    kruskal: ChiSquareTest
    levene: LeveneTest
    chosen: str
    chosen_reason: str
    p: float
    effect_sizes: OmnibusEffects
    tukey: tuple[MeanDifference, ...]
    games_howell: tuple[MeanDifference, ...] | None
    dunn: tuple[PairTest, ...]
    mann_whitney: tuple[PairTest, ...]
    pairwise_effects: tuple[PairEffect, ...]
    distribution: tuple[AnswerShares, ...] | None = None
    mixed_model: MixedModelResult | None = None
    ancova: AncovaResult | None = None
    model_contrasts: tuple[Contrast, ...] | None = None
    team_means: tuple[MeanDifference, ...] | None = None
    p_adjusted: float = float("nan")
    primary: bool = False
    alpha: float = ALPHA
    trustworthy: bool = True
    unit: str = "points"
    unit_scale: float = 1.0
    warnings: tuple[str, ...] = field(default=())
    adjusted_effects: tuple[AdjustedEffect, ...] | None = None
    bounds: tuple[float, float] | None = None
    randomisation: RandomisationTest | None = None
    #: The teams' means per arm (n teams, mean and SD of their means) when the headline compares them.
    team_descriptives: tuple[GroupDescriptives, ...] | None = None
    #: What the rank test's detectable-difference simulation deals out (``analysis.detectable``).
    rank_sample: RankSample | None = field(default=None, compare=False, repr=False)

    def amount(self, value: float) -> str:
        """A difference in the outcome's own words: "0.42 points", "3.10 percentage points", "19,470 in revenue"."""
        return f"{self._number(value)} {self.unit}".strip()

    def _number(self, value: float) -> str:
        scaled = abs(value) * self.unit_scale
        return f"{scaled:,.0f}" if scaled >= 100 else f"{scaled:.2f}"

    def amount_range(self, low: float, high: float) -> str:
        """Two amounts as a range in the outcome's words: "0.62–0.91 points", "19,470–25,100 in revenue"."""
        return f"{self._number(low)}–{self.amount(high)}"

    def versus(self, value: float, other: str, higher: bool = True, unit: bool = True) -> str:
        """A difference against ``other``: "0.42 points above peer coaching", "19,470 more revenue than
        peer coaching" (a unit "in X" names a quantity such as money), "1.44 sessions a month below …".

        ``unit=False`` leaves the unit out, for a second mention in the same sentence.
        """
        number = self._number(value)
        if self.unit.startswith("in "):
            noun = f" {self.unit[3:]}" if unit else ""
            return f"{number} {'more' if higher else 'less'}{noun} than {other}"
        words = f"{number} {self.unit}".strip() if unit else number
        return f"{words} {'above' if higher else 'below'} {other}"

    @property
    def scale_range(self) -> float | None:
        """The largest difference the outcome's bounds allow (max − min), or None without bounds."""
        return None if self.bounds is None else float(self.bounds[1] - self.bounds[0])

    def headline_pairs(self) -> list[dict]:
        """The pairwise comparisons matched to the headline test.

        Each pair has ``a``, ``b``, ``direction`` (+1 when b is higher, −1 when a is, 0 for a tie),
        ``diff`` (b − a in outcome units, None for rank tests) and ``p_adj``. Rank tests take their
        direction from the ranks (Dunn's z), never from the means, which outliers can reverse.
        """
        if self.chosen in ("mixed_model", "ancova") and self.model_contrasts is not None:
            pairs = [(c.a, c.b, c.diff, c.p_adj) for c in self.model_contrasts]
        elif self.chosen == "team_means" and self.team_means is not None:
            pairs = [(d.a, d.b, d.diff, d.p_adj) for d in self.team_means]
        elif self.chosen == "randomisation" and self.randomisation is not None:
            pairs = [(d.a, d.b, d.diff, d.p_adj) for d in self.randomisation.pairs]
        elif self.chosen == "kruskal":
            return [{"a": t.a, "b": t.b, "direction": int(np.sign(t.statistic)), "diff": None, "p_adj": t.p_adj}
                    for t in self.dunn]
        else:
            source = self.games_howell if self.chosen == "welch" and self.games_howell else self.tukey
            pairs = [(d.a, d.b, d.diff, d.p_adj) for d in source]
        return [{"a": a, "b": b, "direction": int(np.sign(diff)), "diff": diff, "p_adj": p} for a, b, diff, p in pairs]

    def pair_effect(self, a: str, b: str) -> PairEffect | None:
        """The effect sizes of the pair, whichever order it is asked in (sign as stored: b − a)."""
        for effect in self.pairwise_effects:
            if {effect.a, effect.b} == {a, b}:
                return effect
        return None

    def adjusted_effect(self, a: str, b: str) -> AdjustedEffect | None:
        """The baseline-adjusted standardised difference of the pair (sign as stored: b − a), if any.

        It goes with the headline difference of :meth:`headline_pairs` when the headline model
        (ANCOVA, or the mixed model with the baseline) adjusted for a baseline; the raw Hedges' g
        of :meth:`pair_effect` goes with the raw difference of the means.
        """
        for effect in self.adjusted_effects or ():
            if {effect.a, effect.b} == {a, b}:
                return effect
        return None

    def to_dict(self) -> dict:
        """The JSON shape of DESIGN.md section 6 (plus label, reasons and warnings)."""
        result = {
            "outcome": self.outcome, "label": self.label, "n": self.n, "n_missing": self.n_missing,
            "primary": self.primary, "pair_alpha": self.alpha, "trustworthy": self.trustworthy,
            "descriptives": [d.to_dict() for d in self.descriptives],
            "tests": {"anova": self.anova.to_dict(), "welch": self.welch.to_dict() if self.welch else None,
                      "kruskal": self.kruskal.to_dict(), "levene": self.levene.to_dict()},
            "chosen": self.chosen, "chosen_reason": self.chosen_reason, "p": _finite(self.p),
            "p_adjusted": _finite(self.p_adjusted),
            "effect_sizes": self.effect_sizes.to_dict(),
            "posthoc": {"tukey": [d.to_dict() for d in self.tukey],
                        "games_howell": [d.to_dict() for d in self.games_howell] if self.games_howell else None,
                        "dunn": [t.to_dict() for t in self.dunn],
                        "mann_whitney": [t.to_dict() for t in self.mann_whitney]},
            "pairwise_effects": [e.to_dict() for e in self.pairwise_effects],
            "warnings": list(self.warnings),
        }
        if self.distribution is not None:
            result["distribution"] = [d.to_dict() for d in self.distribution]
        if self.mixed_model is not None:
            result["mixed_model"] = self.mixed_model.to_dict()
        if self.ancova is not None:
            result["ancova"] = self.ancova.to_dict()
        if self.model_contrasts is not None:
            result["model_contrasts"] = [c.to_dict() for c in self.model_contrasts]
        if self.team_means is not None:
            result["team_means"] = [d.to_dict() for d in self.team_means]
        if self.team_descriptives is not None:
            result["team_descriptives"] = [d.to_dict() for d in self.team_descriptives]
        if self.adjusted_effects is not None:
            result["adjusted_effects"] = [e.to_dict() for e in self.adjusted_effects]
        if self.randomisation is not None:
            result["randomisation"] = self.randomisation.to_dict()
        return result


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def heavy_outliers(groups: Groups) -> bool:
    """More than 2 % of values lie beyond 3 IQR of their group's quartiles (Tukey's far-out values)."""
    far = 0
    for values in groups.values:
        q1, q3 = np.percentile(values, [25, 75])
        spread = OUTLIER_IQR * (q3 - q1)
        far += int(((values < q1 - spread) | (values > q3 + spread)).sum()) if spread > 0 else 0
    return far >= 2 and far > OUTLIER_SHARE * groups.n


def compare_outcome(data: pd.DataFrame, dv: str, between: str, levels: Sequence[str] | None = None,
                    cluster: str | None = None, baseline: str | None = None, label: str | None = None,
                    scale: tuple[float, ...] | None = None, unit: str = "points",
                    unit_scale: float = 1.0, bounds: tuple[float, float] | None = None,
                    df_method: str = "auto", randomisation: RandomisationPlan | None = None) -> OutcomeComparison:
    """Compare the groups on one outcome with every test of DESIGN.md section 5.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (or rep).
    dv : str
        The outcome column (the dependent variable).
    between : str
        The coaching-model column (the groups compared).
    levels : sequence of str, optional
        Level order (default: sorted); the first is the reference of model-based effects.
    cluster : str, optional
        Team column: fits the random-intercept mixed model.
    baseline : str, optional
        Baseline column: fits the ANCOVA (and enters the mixed model).
    label : str, optional
        Readable name of the outcome for text.
    scale : tuple of float, optional
        Possible answers of a rating item, for its answer distribution.
    unit, unit_scale : str, float
        How differences are worded: ``unit_scale`` × difference, then ``unit`` (default "points");
        a unit "in X" names a quantity ("in revenue": "19,470 more revenue than …").
    bounds : (float, float), optional
        The lowest and highest value the outcome can take (default: those of ``scale``), so the
        verdict never states a detectable difference the scale cannot hold.
    df_method : {"auto", "satterthwaite", "containment"}
        Denominator df of the mixed model's tests (see :func:`analysis.clustered.mixed_model`):
        by default Satterthwaite's with fewer than 40 teams, the containment df from 40 on.
    randomisation : RandomisationPlan, optional
        How the study randomised its teams, for the randomisation test that is the headline with
        fewer than 6 teams in the smallest arm (default: complete randomisation of the teams,
        keeping each arm's number of teams).

    Returns
    -------
    OutcomeComparison

    Raises
    ------
    ValueError
        Missing column, non-numeric values, fewer than two groups, a group without values, no more
        values than groups, or all values equal — the message names the column or group. A group
        of one value is analysed (ANOVA, Kruskal–Wallis) with a warning; Welch is then undefined.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"arm": ["a"] * 3 + ["b"] * 3, "y": [1, 2, 3, 4, 5, 6]})
    >>> compare_outcome(frame, "y", "arm").chosen
    'kruskal'
    """
    groups = split_groups(data, dv, between, levels, min_per_group=1)
    table = anova_table(groups)
    notes: list[str] = []
    singles = [level for level, values in zip(groups.levels, groups.values, strict=True) if len(values) == 1]
    if singles:  # ANOVA and Kruskal–Wallis are defined (R: aov, kruskal.test); Welch needs each group's variance
        welch_result, gh = None, None
        notes.append(f"{dv}: {', '.join(map(repr, singles))} has only one value, so its spread is unknown: "
                     "Welch's test and Games–Howell are not defined; one-way ANOVA and Kruskal–Wallis are used, "
                     "and any difference to that group rests on a single rep")
    else:
        welch_result = welch(groups)
        gh = games_howell(groups)
    if welch_result is None and not singles:
        notes.append(f"{dv}: a group has no spread, so Welch's test and Games–Howell are not defined")
    mw = mann_whitney(groups)
    kw = kruskal_wallis(groups)  # once: the headline and the table both quote it
    u_values = {pair: test.statistic for pair, test in zip(groups.pairs(), mw, strict=True)}
    ordinal = is_ordinal_item(groups)
    mixed = None
    contrasts = None
    ancova_result = None
    team_pairs = None
    team_groups = None
    trustworthy = True
    if baseline is not None:
        ancova_result = ancova(data, dv, between, baseline, groups.levels)
    if df_method not in DF_METHODS:
        raise ValueError(f"df_method: expected one of {', '.join(DF_METHODS)}, not {df_method!r}")
    if cluster is not None:
        try:
            mixed = mixed_model(data, dv, between, cluster, baseline, groups.levels, df_method=df_method)
            notes.extend(mixed.warnings)
        except ValueError as error:
            notes.append(f"{dv}: no mixed model: {error}")
    if ancova_result is not None and mixed is None:  # else the mixed model's account (a superset) is shown
        notes.extend(ancova_result.warnings)
    if baseline is not None and (imbalance := baseline_imbalance(data, dv, between, baseline, groups.levels)):
        notes.append(imbalance)
    few = None
    if cluster is not None:
        few, note = _few_teams_test(data, dv, between, cluster, groups.levels, baseline, randomisation)
        if note:
            notes.append(note)

    if few is not None:
        chosen, reason = "randomisation", _few_teams_reason(few)
        p = few.p
    elif mixed is not None and mixed.converged and mixed.arm_test is not None:
        chosen, reason = "mixed_model", "reps are nested in teams; the mixed model accounts for teams being alike"
        p = mixed.arm_test.p
        contrasts = mixed.contrasts
    elif cluster is not None and (team_test := _team_means_test(data, dv, between, cluster, groups.levels)):
        chosen, reason = "team_means", ("the mixed model was not usable, so the teams' means were compared "
                                        "(Welch), one value per team")
        p, team_pairs, team_groups = team_test
    elif ancova_result is not None:
        chosen, reason = "ancova", "a baseline was measured; adjusting for it removes noise"
        p = ancova_result.arm_test.p
        contrasts = ancova_result.contrasts
        if mixed is not None:
            reason += " (the mixed model did not converge, so teams are not accounted for)"
    elif ordinal:
        chosen, reason = "kruskal", "a single rating item: ranks, not means"
        p = kw.p
    elif heavy_outliers(groups):
        chosen, reason = "kruskal", "heavy outliers: a rank test is not swayed by them"
        p = kw.p
    elif welch_result is not None:
        chosen, reason = "welch", "scores compared without assuming equal spread (Welch)"
        p = welch_result.p
    elif singles:
        chosen, reason = "kruskal", "a group has only one value, so Welch's test is undefined"
        p = kw.p
    else:
        chosen, reason = "kruskal", "a group has no spread, so Welch's test is undefined"
        p = kw.p
    adjusted = None
    if baseline is not None and chosen == "ancova":
        adjusted = adjusted_effects(contrasts, ancova_result.residual_sd, ancova_result.arm_test.df2, ANCOVA_SD,
                                    correct=True)
    elif baseline is not None and chosen == "mixed_model":
        adjusted = adjusted_effects(contrasts, float(np.sqrt(mixed.var_cluster + mixed.var_residual)),
                                    mixed.arm_test.df2, MIXED_SD, correct=False)
    elif baseline is not None and chosen == "randomisation" and mixed is not None and mixed.converged:
        # The pairs' differences are of baseline-adjusted team means; their g over the mixed model's total SD.
        adjusted = adjusted_effects(few.pairs, float(np.sqrt(mixed.var_cluster + mixed.var_residual)),
                                    sum(few.teams.values()) - len(few.teams), MIXED_SD, correct=False)
    if bounds is None and scale:
        bounds = (float(min(scale)), float(max(scale)))
    if cluster is not None and chosen not in ("mixed_model", "team_means", "randomisation"):
        trustworthy = False
        notes.append(f"{dv}: teams were given but neither the mixed model nor a comparison of team means "
                     "was possible; the p-values treat reps as independent and are too small, so no model is named")
    return OutcomeComparison(
        outcome=dv, label=label or dv.replace("_", " "), levels=groups.levels, n=groups.n,
        n_missing=groups.n_missing, descriptives=describe(groups), anova=anova_oneway(groups, table),
        welch=welch_result, kruskal=kw, levene=brown_forsythe(groups), chosen=chosen,
        chosen_reason=reason, p=float(p), effect_sizes=omnibus_effects(groups, table),
        tukey=tukey_hsd(groups, table), games_howell=gh, dunn=dunn(groups), mann_whitney=mw,
        pairwise_effects=pairwise_effects(groups, u_values),
        distribution=answer_distribution(groups, scale) if ordinal else None,
        mixed_model=mixed, ancova=ancova_result, model_contrasts=contrasts, team_means=team_pairs,
        trustworthy=trustworthy, unit=unit, unit_scale=unit_scale, warnings=tuple(notes),
        adjusted_effects=adjusted, bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
        randomisation=few, team_descriptives=team_groups,
        rank_sample=rank_sample(groups.values, ordinal) if chosen == "kruskal" else None)


def _few_teams_test(data, dv, between, cluster, levels, baseline,
                    plan: RandomisationPlan | None) -> tuple[RandomisationTest | None, str | None]:
    """The randomisation test on team means when the smallest arm has fewer than ``FEW_TEAMS`` teams
    (and a warning when it cannot apply: reps, not teams, were randomised), else (None, None)."""
    counted = team_values(data, dv, between, cluster, levels)  # teams with a value, per arm
    smallest = min(counted.per_arm.values()) if counted is not None else 0
    if smallest >= FEW_TEAMS or smallest == 0:
        return None, None
    teams = team_values(data, dv, between, cluster, levels, baseline) if baseline else counted
    if teams is None or teams.mixed or (plan is not None and plan.unit != "team"):
        return None, (f"{dv}: only {smallest} team{'' if smallest == 1 else 's'} in the smallest arm, but reps, not "
                      "teams, were randomised (a team's reps have different models), so the randomisation test on "
                      "team means does not apply; the headline stays with the models fitted to reps")
    try:
        return randomisation_test(teams.values, teams.arms, levels, teams.teams, plan, adjusted_for=baseline), None
    except ValueError as error:  # e.g. an arm whose teams all lack the baseline
        return None, f"{dv}: no randomisation test on team means: {error}"


def _few_teams_reason(test: RandomisationTest) -> str:
    smallest = test.smallest_teams
    adjusted = (f", each rep's value first adjusted for {test.adjusted_for} (a regression that ignores the models)"
                if test.adjusted_for else "")
    return (f"only {smallest} team{'' if smallest == 1 else 's'} in the smallest arm: too few to tell how much teams "
            "differ, so the mixed model's p-values cannot be relied on; the models are compared by re-running the "
            f"randomisation on the teams' means, which needs no model assumptions{adjusted} ({test.words()})")


def _team_means_test(data, dv, between, cluster, levels
                     ) -> tuple[float, tuple[MeanDifference, ...], tuple[GroupDescriptives, ...]] | None:
    """Welch's ANOVA and Games–Howell on team means, when every team sits in one model and it is computable."""
    frame = data[[dv, between, cluster]].copy()
    frame[between] = group_labels(frame[between])
    frame[dv] = pd.to_numeric(frame[dv], errors="coerce")
    frame = frame[frame[between].isin(levels)].dropna()
    if frame.groupby(cluster)[between].nunique().max() > 1:
        return None
    means = frame.groupby(cluster).agg(**{dv: (dv, "mean"), between: (between, "first")}).reset_index()
    try:
        teams = split_groups(means, dv, between, levels)
    except ValueError:
        return None
    test, pairs = welch(teams), games_howell(teams)
    if test is None or pairs is None:
        return None
    return test.p, pairs, describe(teams)


@dataclass(frozen=True)
class Analysis:
    """A comparison of the coaching models on several outcomes, with the verdict.

    ``group`` is the name of the coaching-model column (``between``), as the JSON names it.
    """

    group: str
    levels: tuple[str, ...]
    outcomes: tuple[OutcomeComparison, ...]
    verdict: Verdict
    warnings: tuple[str, ...]
    cluster: str | None = None
    baseline: str | None = None
    # Further JSON keys of ``analyze`` (``analysis.worth``, ``analysis.costs``): non_inferiority, equivalence,
    # probability_best, expected_loss, cost_effectiveness, fidelity. Empty for the plain comparison.
    extra: dict = field(default_factory=dict)
    worth: tuple = field(default=(), compare=False)  # the ``analysis.worth.OutcomeWorth`` behind ``extra``

    def outcome(self, name: str) -> OutcomeComparison:
        """The comparison of outcome ``name``."""
        for comparison in self.outcomes:
            if comparison.outcome == name:
                return comparison
        raise KeyError(name)

    def to_dict(self) -> dict:
        """The JSON of DESIGN.md section 6 (``cluster`` and ``baseline`` are not part of it)."""
        return {"group": self.group, "levels": list(self.levels),
                "outcomes": [o.to_dict() for o in self.outcomes],
                "verdict": self.verdict.to_dict(), "warnings": list(self.warnings), **self.extra}


def adjust_secondary(comparisons: list[OutcomeComparison], primary: str | None) -> list[OutcomeComparison]:
    """Holm across the secondary outcomes; the primary keeps its own p-value.

    Pairwise differences of a secondary outcome must pass that outcome's Holm level,
    0.05 / (m − r + 1) for the outcome ranked r-th by p among the m secondary ones, on top of
    their own pairwise correction — a gatekeeping scheme that keeps naming pairs protected
    across outcomes.
    """
    secondary = [c for c in comparisons if c.outcome != primary]
    adjusted = dict(zip([c.outcome for c in secondary], holm([c.p for c in secondary]), strict=True))
    order = sorted(secondary, key=lambda c: (np.nan_to_num(c.p, nan=1.0), c.outcome))
    level = {c.outcome: ALPHA / (len(secondary) - rank) for rank, c in enumerate(order)}
    return [replace(c, primary=c.outcome == primary,
                    p_adjusted=c.p if c.outcome == primary else adjusted[c.outcome],
                    alpha=ALPHA if c.outcome == primary else level[c.outcome]) for c in comparisons]


def compare_models(data: pd.DataFrame, dvs: Sequence[str] | None, between: str,
                   levels: Sequence[str] | None = None, cluster: str | None = None,
                   baseline: str | Mapping[str, str] | None = None, primary: str | None = None,
                   labels: Mapping[str, str] | None = None, scales: Mapping[str, tuple[float, ...]] | None = None,
                   design=None, units: Mapping[str, tuple[str, float]] | None = None,
                   df_method: str = "auto") -> Analysis:
    """Compare the coaching models on every outcome and write the verdict.

    Parameters
    ----------
    data : DataFrame
    dvs : sequence of str or None
        The outcome columns (dependent variables), each compared with :func:`compare_outcome`;
        None takes every numeric column except ``between``, ``cluster``, the baseline(s) and
        identifiers (``id``, ``*_id``, ``team``, whole numbers unique per row).
        The name is pingouin's for a list of dependent variables (``pingouin.box_m(data, dvs,
        group)``): the plural of ``dv``, which :func:`compare_outcome` takes for one outcome.
    between : str
        Coaching-model column.
    levels : sequence of str, optional
        Level order (default sorted).
    cluster : str, optional
        Team column for the mixed model.
    baseline : str or mapping, optional
        One baseline column for every outcome, or a mapping outcome → its baseline column.
    primary : str, optional
        The primary outcome of the study design (default: the first outcome); it is not
        corrected for multiplicity, the others are (Holm).
    labels : mapping, optional
        Readable names of outcomes.
    scales : mapping, optional
        Possible answers per rating item (for answer distributions).
    design : analysis.verdict.DesignFacts, optional
        Facts about the study for the verdict's caveats (allocation check, reliability, ...).
    units : mapping, optional
        Outcome → (unit, unit_scale) for the wording of differences (default "points", 1).
    df_method : {"auto", "satterthwaite", "containment"}
        Denominator df of the mixed models (see :func:`compare_outcome`).

    Returns
    -------
    Analysis
    """
    if isinstance(dvs, str):
        raise TypeError(f"dvs: a list of outcome columns, such as [{dvs!r}], not one string")
    require_columns(data, between, cluster)
    levels = level_order(data, between, levels)
    skipped: list[str] = []
    if dvs is None:
        skip = {between, cluster} | (set(baseline.values()) if isinstance(baseline, Mapping) else {baseline})
        candidates = [c for c in data.columns if c not in skip]
        numeric = [c for c in candidates if pd.api.types.is_numeric_dtype(data[c])]
        dvs = [c for c in numeric if not is_id_like(data, c)]
        skipped = [f"column {c!r} looks like an identifier, so it is not analysed as an outcome; name it as an "
                   "outcome (--outcome) to analyse it" for c in numeric if c not in dvs]
        if not dvs:
            raise ValueError("no numeric outcome columns found (columns: " + ", ".join(map(str, candidates))
                             + "); name the outcomes with --outcome")
    dvs = list(dict.fromkeys(dvs))
    primary = primary or dvs[0]
    if primary not in dvs:
        raise ValueError(f"primary outcome {primary!r} is not among the outcomes")
    # The labels as a categorical once, not as text per outcome: every outcome splits the rows by them,
    # and comparing 40,000 strings was a quarter of the run (the values and their order are unchanged).
    data = data.assign(**{between: pd.Categorical(group_labels(data[between]))})
    comparisons = []
    for dv in dvs:
        base = baseline.get(dv) if isinstance(baseline, Mapping) else baseline
        unit, unit_scale = (units or {}).get(dv, ("points", 1.0))
        comparisons.append(compare_outcome(data, dv, between, levels, cluster, base,
                                           (labels or {}).get(dv), (scales or {}).get(dv), unit=unit,
                                           unit_scale=unit_scale, df_method=df_method))
    analysis = assemble(comparisons, between, levels, primary, design, cluster=cluster,
                        baseline=baseline if isinstance(baseline, str) else None)
    return replace(analysis, warnings=tuple(skipped) + analysis.warnings) if skipped else analysis


def assemble(comparisons: Sequence[OutcomeComparison], between: str, levels: Sequence[str], primary: str,
             design=None, cluster: str | None = None, baseline: str | None = None) -> Analysis:
    """Correct for multiplicity across outcomes compared separately and write the verdict.

    For callers that compare outcomes from different tables (survey responses, CRM figures per
    rep) with :func:`compare_outcome` and want one verdict over all of them. ``between`` is the
    coaching-model column the comparisons were made on (it becomes ``Analysis.group``).
    """
    comparisons = adjust_secondary(list(comparisons), primary)
    notes = tuple(note for c in comparisons for note in c.warnings)
    verdict = write_verdict(comparisons, tuple(levels), primary, design)
    return Analysis(group=between, levels=tuple(levels), outcomes=tuple(comparisons), verdict=verdict,
                    warnings=notes + tuple(verdict.caveats), cluster=cluster, baseline=baseline)
