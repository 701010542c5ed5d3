"""Is a coaching model worth it? "No worse" against a margin, the chance of being best, and what it risks.

One outcome's comparison (``analysis.comparison.OutcomeComparison``, teams as clusters) is read three
more ways, beside the frequentist answer and never instead of it:

- **non-inferiority and equivalence** against a margin the consultant declared before launch
  (``analysis.margins``), from the same mixed model's Satterthwaite contrasts the headline test used,
  or from Welch's t on team means when the headline test had to use team means;
- **the chance of being best and the expected loss** of each model (``analysis.bayes``), from the same
  model's arm effects and their covariance (or, without a mixed model, from the team means), under a
  sceptical prior centred on no difference and under a flat one, with how much the prior moved it.

``OutcomeWorth`` holds them for one outcome; ``worth_json`` writes the JSON keys ``non_inferiority``,
``equivalence``, ``probability_best`` and ``expected_loss`` of the report and of ``analyze``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._result import Result
from .bayes import (
    QUOTA_PRIOR_SD_UNITS,
    SURVEY_PRIOR_SD_UNITS,
    BayesResult,
    prior_sd_from,
    probability_best,
    probability_best_from_model,
)
from .margins import MarginTest, margin_test, margin_tests, ordered_pairs
from .randomisation import FEW_TEAMS, team_values

QUOTA_OUTCOMES = ("quota_attainment",)  # objective sales results: the quota prior scale applies
# Each declared margin is its own pre-registered question: one-sided at 5 % (a 95 % bound, 90 % TOST interval),
# not at the outcome's share of the multiplicity correction, which guards the claims of difference.
MARGIN_ALPHA = 0.05
# A prior narrower than this (in SDs of the outcome) is no prior anyone holds: its covariance is numerically
# singular. 0 means no prior at all.
MIN_PRIOR_SCALE = 0.01


@dataclass(frozen=True)
class OutcomeWorth(Result):
    """Margins and chances of one outcome.

    ``margin`` is in the outcome's shown units (None: none declared, so no margin tests);
    ``margin_tests`` every ordered pair of models (``analysis.margins.ordered_pairs``); ``bayes`` the
    chance of being best (None when it cannot be computed, said in ``notes``); ``prior_scale`` the
    prior's SD in SDs of the outcome and ``outcome_sd`` the SD it was turned into units with.
    """

    outcome: str
    label: str
    unit: str
    levels: tuple[str, ...]
    margin: float | None
    margin_tests: tuple[MarginTest, ...]
    bayes: BayesResult | None
    prior_scale: float | None
    outcome_sd: float | None
    notes: tuple[str, ...] = field(default=())

    def test(self, level: str, vs: str) -> MarginTest | None:
        """The margin test of ``level`` against ``vs``, if a margin was declared."""
        return next((t for t in self.margin_tests if t.level == level and t.vs == vs), None)

    def chance(self, level: str) -> float | None:
        """P(``level`` is best) under the prior, or None."""
        return None if self.bayes is None else self.bayes.chance(level).probability_best

    def prior_words(self) -> str:
        """How the prior moved the chances, in one sentence."""
        if self.bayes is None or self.bayes.prior_sd is None:
            return "No prior: the chances rest on the data alone."
        moved = 100 * self.bayes.prior_moved
        scale = f"{self.prior_scale:g} SD" if self.prior_scale is not None else "the default"
        size = "under one percentage point" if moved < 1 else f"{moved:.0f} percentage points"
        return (f"The sceptical prior (a difference between coach types of about {scale} of the outcome is "
                f"as large as the coaching literature makes likely) moved any model's chance by {size} "
                "from a flat prior.")


def default_prior_scale(outcome: str) -> float:
    """The prior scale in SDs of the outcome when the study sets none: 0.1 for quota attainment, 0.2 for
    a survey outcome (market note 5.3; ``analysis.bayes``)."""
    return QUOTA_PRIOR_SD_UNITS if outcome in QUOTA_OUTCOMES else SURVEY_PRIOR_SD_UNITS


def _smallest_teams(comparison) -> int:
    mixed = comparison.mixed_model
    if mixed is not None and mixed.team_sizes:
        return min(len(sizes) for sizes in mixed.team_sizes.values())
    return 0


def _fit_margins(fit, levels, margin, alpha, unit) -> tuple[MarginTest, ...]:
    """``margin_tests`` from a fitted mixed model's contrasts (as ``analysis.margins.margin_tests`` does)."""
    by_pair = {(c.a, c.b): c for c in fit.contrasts}
    results = []
    for level, vs in ordered_pairs(tuple(levels)):
        contrast, sign = ((by_pair[(vs, level)], 1.0) if (vs, level) in by_pair else (by_pair[(level, vs)], -1.0))
        results.append(margin_test(level, vs, sign * contrast.diff, contrast.se, contrast.df, margin, alpha,
                                   True, "mixed_model", unit))
    return tuple(results)


def _usable(fit) -> bool:
    return fit is not None and fit.converged and bool(fit.contrasts) and bool(fit.arm_covariance)


def _team_mean_bayes(data, dv, between, cluster, levels, baseline, prior_sd_units):
    """Chances from team means when there is no usable mixed model: each arm's mean of team means with
    variance s²/teams, differences against the first level (which share its variance)."""
    teams = team_values(data, dv, between, cluster, list(levels), baseline)
    if teams is None or teams.mixed:
        return None, None, "teams hold reps of several models"
    arms = np.asarray(teams.arms, dtype=object)
    values = [teams.values[arms == level] for level in levels]
    if any(len(v) < 2 for v in values):
        return None, None, "fewer than two teams in a model"
    means = np.array([v.mean() for v in values])
    variances = np.array([v.var(ddof=1) / len(v) for v in values])
    if not np.all(variances > 0):
        return None, None, "every team of a model has the same mean"
    estimates = means[1:] - means[0]
    covariance = np.full((len(levels) - 1, len(levels) - 1), variances[0]) + np.diag(variances[1:])
    sd = float(np.sqrt(np.mean([v.var(ddof=1) for v in values])))
    prior = None if prior_sd_units is None else prior_sd_from(prior_sd_units, sd)
    return probability_best(levels, estimates, covariance, prior), sd, None


def outcome_worth(comparison, data: pd.DataFrame | None, between: str, cluster: str | None,
                  baseline: str | None = None, margin: float | None = None, prior_scale: float | None = None,
                  dv: str | None = None) -> OutcomeWorth:
    """Margins and chances of one compared outcome.

    Parameters
    ----------
    comparison : OutcomeComparison
        The outcome's comparison, as the report or ``analyze`` made it (its levels are the models shown).
    data : DataFrame, optional
        The rows it was computed from (one per rep), for the team-means fallback.
    between, cluster, baseline : str
        The model, team and baseline columns of ``data``.
    margin : float, optional
        The declared non-inferiority margin in the outcome's shown units (e.g. 3 quota points; for an
        outcome shown × 100, such as a 0–1 rate in percentage points, it is divided back).
    prior_scale : float, optional
        The prior's SD in SDs of the outcome (None: :func:`default_prior_scale`; ``0``: flat only).
    dv : str, optional
        The outcome's column in ``data`` (default ``comparison.outcome``).
    """
    dv = dv or comparison.outcome
    levels = tuple(comparison.levels)
    notes: list[str] = []
    scale = default_prior_scale(comparison.outcome) if prior_scale is None else float(prior_scale)
    prior_units = None if scale == 0 else scale
    fit = comparison.mixed_model
    mixed_ok = _usable(fit) and _smallest_teams(comparison) >= FEW_TEAMS
    tests: tuple[MarginTest, ...] = ()
    if margin is not None and len(levels) >= 2:
        internal = float(margin) / (comparison.unit_scale or 1.0)
        try:
            if mixed_ok:
                tests = _fit_margins(fit, levels, internal, MARGIN_ALPHA, comparison.unit)
            elif data is not None and cluster is not None:
                tests = margin_tests(data[data[between].astype(str).isin(levels)], dv, between, cluster, levels,
                                     internal, baseline=baseline, alpha=MARGIN_ALPHA, unit=comparison.unit)
            if comparison.unit_scale not in (None, 1.0):
                tests = tuple(_scaled(t, comparison.unit_scale) for t in tests)
            if not mixed_ok and cluster is None:
                notes.append(f"{comparison.label}: the margin is tested with teams as clusters; name the team "
                             "column (--cluster)")
        except ValueError as error:
            notes.append(f"{comparison.label}: no margin test ({error})")
    bayes, sd = None, None
    if len(levels) >= 2:
        try:
            if mixed_ok:
                sd = float(math.sqrt(fit.var_cluster + fit.var_residual))
                prior = None if prior_units is None else prior_sd_from(prior_units, sd)
                bayes = probability_best_from_model(fit, prior)
            elif data is not None and cluster is not None:
                bayes, sd, why = _team_mean_bayes(data[data[between].astype(str).isin(levels)], dv, between, cluster,
                                                  levels, baseline, prior_units)
                if why:
                    notes.append(f"{comparison.label}: no chance of being best ({why})")
            else:
                notes.append(f"{comparison.label}: the chance of being best is computed with teams as clusters; "
                             "name the team column (--cluster)")
        except ValueError as error:
            notes.append(f"{comparison.label}: no chance of being best ({error})")
    return OutcomeWorth(comparison.outcome, comparison.label, comparison.unit, levels,
                        None if margin is None else float(margin), tests, bayes, scale, sd, tuple(notes))


def _scaled(test: MarginTest, factor: float) -> MarginTest:
    """A margin test in the outcome's shown units (× ``factor``); p-values and verdicts are unchanged."""
    return replace(test, margin=test.margin * factor, estimate=test.estimate * factor, se=test.se * factor,
                   bound=test.bound * factor, ci_low=test.ci_low * factor, ci_high=test.ci_high * factor)


def worth_json(worths: Sequence[OutcomeWorth]) -> dict:
    """The JSON keys ``non_inferiority``, ``equivalence``, ``probability_best`` and ``expected_loss``.

    Each is keyed by outcome; an outcome without a margin has no entry under the first two, one
    without a chance of being best none under the last two.
    """
    non_inferiority, equivalence, best, loss = {}, {}, {}, {}
    for w in worths:
        if w.margin_tests:
            non_inferiority[w.outcome] = {
                "margin": w.margin, "unit": w.unit,
                "tests": [{"level": t.level, "vs": t.vs, "estimate": t.estimate, "se": t.se, "df": t.df,
                           "bound": t.bound, "p": t.p_noninferiority, "noninferior": t.noninferior,
                           "method": t.method, "words": t.words()} for t in w.margin_tests]}
            equivalence[w.outcome] = {
                "margin": w.margin, "unit": w.unit,
                "tests": [{"level": t.level, "vs": t.vs, "ci_low": t.ci_low, "ci_high": t.ci_high,
                           "p_lower": t.p_lower, "p_upper": t.p_upper, "p": t.p_equivalence,
                           "equivalent": t.equivalent, "words": t.equivalence_words()}
                          for t in w.margin_tests if (t.vs, t.level) not in
                          {(u.level, u.vs) for u in w.margin_tests[:w.margin_tests.index(t)]}]}
        if w.bayes is not None:
            b = w.bayes
            best[w.outcome] = {"chances": {c.level: c.probability_best for c in b.chances},
                               "flat": {c.level: c.probability_best for c in b.flat},
                               "prior_scale": w.prior_scale, "prior_sd": b.prior_sd, "outcome_sd": w.outcome_sd,
                               "prior_moved": b.prior_moved, "draws": b.draws, "seed": b.seed}
            loss[w.outcome] = {"unit": w.unit, "loss": {c.level: c.expected_loss for c in b.chances},
                               "flat": {c.level: c.expected_loss for c in b.flat}}
    return {"non_inferiority": non_inferiority, "equivalence": equivalence, "probability_best": best,
            "expected_loss": loss}
