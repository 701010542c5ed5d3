"""Issue 13 item 5, statistics review F6 and "Converged vs singular": unequal team sizes and singular fits.

- The design effect allows for unequal team sizes (Eldridge, Ashby & Kerry 2006):
  DE = 1 + ((CV² + 1)·m̄ − 1)·ICC, CV = population SD of the team sizes over their mean, so that
  (CV² + 1)·m̄ = Σ m_j² / Σ m_j. R values: ``reference/satterthwaite.json`` (``design_effect``).
- A singular fit (team variance 0) raises a caveat in the verdict, not only a warning.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.clustered import mixed_model
from analysis.comparison import compare_models, compare_outcome
from analysis.planning import Design, minimum_detectable_effect, teams_needed
from analysis.verdict import detectable_difference

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "satterthwaite.json").read_text())
UNBALANCED = pd.read_csv(HERE / "data" / "satterthwaite_unbalanced.csv")
BALANCED = pd.read_csv(HERE / "data" / "satterthwaite_balanced.csv")
SINGULAR = pd.read_csv(HERE / "data" / "satterthwaite_singular.csv")
LEVELS = ("manager", "peer", "external")


def test_the_design_effect_with_unequal_sizes_by_hand():
    # Teams of 2, 4 and 6 reps: m̄ = 4, population SD √(8/3), CV² = 1/6; Σm²/Σm = 56/12 = 14/3.
    cv = np.sqrt(np.mean((np.array([2, 4, 6]) - 4) ** 2)) / 4
    design = Design(2, 3, 4, 0.1, cv=cv)
    assert design.design_effect == pytest.approx(1 + (14 / 3 - 1) * 0.1, rel=1e-12)  # 1.3667
    assert Design(2, 3, 4, 0.1).design_effect == pytest.approx(1.3, rel=1e-12)  # equal sizes: 1 + (m − 1)·ICC
    assert design.standard_error() == pytest.approx(np.sqrt(2 * design.design_effect / (3 * 4)), rel=1e-12)
    with pytest.raises(ValueError, match="cv"):
        Design(2, 3, 4, 0.1, cv=-0.1)


def test_the_audits_design_effect_of_2_91_with_teams_of_2_to_40():
    """The audit's d8: 18 teams, 262 reps (m̄ = 14.56), CV 0.91; the mean-size form gave 2.01, Eldridge's 2.91."""
    mean_size = 262 / 18
    icc = 1.01 / (mean_size - 1)  # the ICC at which 1 + (m̄ − 1)·ICC = 2.01
    assert round(Design(3, 6, mean_size, icc).design_effect, 2) == 2.01
    assert round(Design(3, 6, mean_size, icc, cv=0.91).design_effect, 2) == 2.91


def test_the_mixed_model_design_effect_allows_for_the_team_sizes():
    expected = REFERENCE["unbalanced_nobaseline"]["design_effect"]
    fit = mixed_model(UNBALANCED, "outcome", "arm", "team", levels=LEVELS)
    assert (fit.min_cluster_size, fit.max_cluster_size) == (2, 40)
    assert fit.mean_cluster_size == pytest.approx(expected["mean_size"], rel=1e-12)
    assert fit.cluster_size_cv == pytest.approx(expected["cv_population"], rel=1e-12) == pytest.approx(0.908, abs=5e-4)
    assert fit.icc == pytest.approx(expected["icc"], rel=1e-4)
    assert fit.design_effect == pytest.approx(expected["eldridge"], rel=1e-4)
    # with the population SD, (CV² + 1)·m̄ = Σ m_j² / Σ m_j (the sample SD would not give this)
    assert (fit.cluster_size_cv ** 2 + 1) * fit.mean_cluster_size == pytest.approx(expected["sum_sq_over_sum"],
                                                                                  rel=1e-12)
    assert fit.design_effect > expected["mean_size_form"] + 0.5
    assert fit.to_dict()["cluster_size_cv"] == fit.cluster_size_cv
    balanced = mixed_model(BALANCED, "outcome", "arm", "team", levels=LEVELS)
    assert balanced.cluster_size_cv == 0
    assert balanced.design_effect == pytest.approx(1 + (10 - 1) * balanced.icc, rel=1e-12)


def test_very_unequal_team_sizes_are_warned_about_and_raise_a_caveat():
    fit = mixed_model(UNBALANCED, "outcome", "arm", "team", levels=LEVELS)
    assert any("team sizes vary a lot (2 to 40 reps" in w for w in fit.warnings)
    analysis = compare_models(UNBALANCED, ["outcome"], "arm", LEVELS, cluster="team")
    assert "Team sizes vary a lot (2 to 40 reps); the design effect allows for it." in analysis.verdict.caveats
    even = compare_models(BALANCED, ["outcome"], "arm", LEVELS, cluster="team")
    assert not any("Team sizes vary" in c for c in even.verdict.caveats)


def test_the_detectable_difference_and_the_teams_needed_use_the_unequal_sizes():
    comparison = compare_outcome(UNBALANCED, "outcome", "arm", LEVELS, cluster="team")
    fit = comparison.mixed_model
    assert comparison.chosen == "mixed_model"
    sd = np.sqrt(fit.var_cluster + fit.var_residual)
    design = Design(3, fit.n_clusters / 3, fit.mean_cluster_size, fit.icc, alpha=comparison.alpha,
                    cv=fit.cluster_size_cv)
    # The verdict's detectable difference weighs each team by its own size (analysis.detectable), which
    # Eldridge's CV form approximates: close to it, and above the value for equal sizes.
    stated = detectable_difference(comparison).value
    assert minimum_detectable_effect(design) * sd > stated  # Design is conservative: Bonferroni, df 2(J − 1)
    equal = Design(3, fit.n_clusters / 3, fit.mean_cluster_size, fit.icc, alpha=comparison.alpha)
    assert stated > minimum_detectable_effect(equal) * sd
    assert teams_needed(0.5, 3, 14.56, 0.1, cv=0.91).teams_per_arm > teams_needed(0.5, 3, 14.56, 0.1).teams_per_arm


def _no_team_effect(seed: int = 0) -> pd.DataFrame:
    """18 teams of 8 (6 per arm, so the mixed model is the headline), no team effect: a singular fit at seed 0."""
    rng = np.random.default_rng(seed)
    team = np.repeat(np.arange(18), 8)
    return pd.DataFrame({"team": team, "arm": np.array(LEVELS)[team % 3], "outcome": rng.normal(3.5, 0.8, len(team))})


def test_a_singular_fit_raises_a_caveat_in_the_verdict():
    """The audit's r6/r7: the singular fit was a warning only. (satterthwaite.R's singular set has 4 teams per
    arm, so its headline is now the randomisation test; its fit is checked against lmer in test_satterthwaite.)"""
    analysis = compare_models(_no_team_effect(), ["outcome"], "arm", LEVELS, cluster="team")
    outcome = analysis.outcome("outcome")
    assert outcome.chosen == "mixed_model" and outcome.mixed_model.var_cluster == 0
    caveat = next(c for c in analysis.verdict.caveats if "outcome" in c and "beyond chance" in c)
    assert "teams did not differ beyond chance in this sample" in caveat
    assert "independent" in caveat and "degrees of freedom" in caveat and "15" in caveat
    few = compare_models(SINGULAR, ["outcome"], "arm", LEVELS, cluster="team")
    assert few.outcome("outcome").chosen == "randomisation"  # no model df behind its headline: no such caveat
    assert not any("beyond chance" in c for c in few.verdict.caveats)
    assert caveat in analysis.warnings
    regular = compare_models(BALANCED, ["outcome"], "arm", LEVELS, cluster="team")
    assert not any("beyond chance" in c for c in regular.verdict.caveats)
