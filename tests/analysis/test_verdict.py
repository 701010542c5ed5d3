"""The plain-language verdict follows its rules: names a model only after correction, sizes in words
and numbers, the detectable difference for a null result, and the caveats."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from analysis.comparison import compare_models
from analysis.detectable import welch_detectable
from analysis.effects import delta_magnitude, magnitude
from analysis.multiplicity import holm
from analysis.planning import sample_ratio_check
from analysis.scales import Reliability
from analysis.verdict import DesignFacts

LEVELS = ("manager", "peer", "external")


def test_sizes_in_words_follow_cohen_for_g_and_romano_for_cliffs_delta():
    assert [magnitude(g) for g in (0.19, -0.2, 0.49, 0.5, -0.79, 0.8, np.nan)] == [
        "negligible", "small", "small", "medium", "medium", "large", "negligible"]
    assert [delta_magnitude(d) for d in (0.146, -0.147, 0.329, 0.33, -0.473, 0.474, np.nan)] == [
        "negligible", "small", "small", "medium", "medium", "large", "negligible"]


def arms(means, n=60, sd=0.7, seed=1, name="score"):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"arm": np.repeat(LEVELS, n),
                         name: np.concatenate([rng.normal(m, sd, n) for m in means])})


def test_a_clear_winner_is_named_with_the_size_in_points_and_words():
    result = compare_models(arms([3.0, 3.0, 3.9]), ["score"], "arm", LEVELS)
    finding = result.verdict.findings[0]
    assert finding.best == "external"
    assert "external coaching came out ahead" in result.verdict.headline
    assert "points above manager coaching" in finding.text and "points above peer coaching" in finding.text
    assert "large effect, g = " in finding.text
    diff = next(d for d in finding.differences if d.lower == "manager")
    means = result.outcome("score").descriptives
    assert diff.diff == pytest.approx(means[2].mean - means[0].mean)


def test_no_model_is_named_without_a_difference_and_the_detectable_size_is_given():
    data = arms([3.3, 3.3, 3.3], seed=5)
    result = compare_models(data, ["score"], "arm", LEVELS)
    finding = result.verdict.findings[0]
    assert not finding.differences and finding.best is None
    assert "No coaching model is clearly better on score" in result.verdict.headline
    # The headline is Welch's ANOVA, so the least powerful Games–Howell pair (analysis.detectable).
    groups = result.outcome("score").descriptives
    expected = max(welch_detectable(a.sd, a.n, b.sd, b.n, 0.05, 3) for a, b in combinations(groups, 2))
    assert finding.detectable == pytest.approx(expected, rel=1e-9)
    assert finding.detectable_detail.method.startswith("Welch t (Games–Howell), df ")
    assert f"about {expected:.2f} points" in finding.text


def test_secondary_outcomes_are_holm_corrected_and_the_primary_is_not():
    data = arms([3.0, 3.1, 3.3], seed=2).assign(second=arms([3.0, 3.0, 3.2], seed=3)["score"],
                                                  third=arms([3.0, 3.0, 3.0], seed=4)["score"])
    result = compare_models(data, ["score", "second", "third"], "arm", LEVELS, primary="score")
    assert result.outcome("score").p_adjusted == result.outcome("score").p
    expected = holm([result.outcome("second").p, result.outcome("third").p])
    assert [result.outcome("second").p_adjusted, result.outcome("third").p_adjusted] == pytest.approx(expected)
    assert result.outcome("score").primary and not result.outcome("second").primary


def test_a_difference_that_does_not_survive_correction_is_not_named():
    # Chosen so that the raw p of "second" is below 0.05 but its Holm-adjusted p is not.
    for seed in range(200):
        data = arms([3.0, 3.0, 3.0], seed=seed).assign(second=arms([3.0, 3.0, 3.28], seed=seed + 1000)["score"],
                                                       third=arms([3.0, 3.0, 3.0], seed=seed + 2000)["score"])
        result = compare_models(data, ["score", "second", "third"], "arm", LEVELS)
        second = result.outcome("second")
        if second.p < 0.05 <= second.p_adjusted:
            finding = next(f for f in result.verdict.findings if f.outcome == "second")
            assert not finding.differences and finding.best is None
            return
    pytest.fail("no seed gave a raw-significant but adjusted-non-significant outcome")


def test_camp_claims_are_judged_from_the_named_outcomes():
    data = arms([3.0, 3.7, 3.0], name="candour", seed=7)
    data["expertise"] = arms([3.0, 3.0, 3.0], seed=8)["score"]
    data["availability"] = arms([2.5, 3.3, 3.3], seed=9)["score"]
    result = compare_models(data, ["candour", "expertise", "availability"], "arm", LEVELS)
    claims = {c.camp: c.status for c in result.verdict.claims}
    assert claims == {"peer": "supported", "external": "not supported", "busy": "supported"}
    assert "Managers are too busy to coach: supported" in result.verdict.text


def test_contradicted_claim():
    data = arms([3.6, 3.0, 3.0], name="candour", seed=11)
    result = compare_models(data, ["candour"], "arm", LEVELS)
    assert {c.camp: c.status for c in result.verdict.claims} == {"peer": "contradicted"}


def test_caveats_name_small_groups_low_alpha_unbalanced_allocation():
    data = arms([3.0, 3.2, 3.4], n=12, seed=3)
    facts = DesignFacts(allocation=sample_ratio_check({"manager": 30, "peer": 9, "external": 9}),
                        reliability=(Reliability("candour", ("a", "b"), 0.55, 100, {}, {}, ("overall",)),))
    result = compare_models(data, ["score"], "arm", LEVELS, design=facts)
    caveats = " ".join(result.verdict.caveats)
    assert "Small groups" in caveats and "Low reliability" in caveats and "Unbalanced allocation" in caveats
    assert set(result.verdict.caveats) <= set(result.warnings)


def test_few_teams_and_the_mixed_model_are_mentioned():
    rng = np.random.default_rng(4)
    rows = []
    for team in range(9):
        arm = LEVELS[team % 3]
        effect = rng.normal(0, 0.3)
        rows += [(arm, f"t{team}", 3.2 + effect + rng.normal(0, 0.7)) for _ in range(8)]
    data = pd.DataFrame(rows, columns=["arm", "team", "score"])
    result = compare_models(data, ["score"], "arm", LEVELS, cluster="team")
    # Three teams per model: the headline re-runs the randomisation; the mixed model is still fitted.
    assert result.outcome("score").chosen == "randomisation" and result.outcome("score").mixed_model.converged
    assert any("Few teams (9)" in c and "randomisation test on team means" in c for c in result.verdict.caveats)
    assert "randomisation test on team means" in result.verdict.findings[0].text


def test_to_dict_has_the_shape_of_the_design_document():
    data = arms([3.0, 3.2, 3.6])
    data["baseline"] = data["score"] + np.random.default_rng(1).normal(0, 0.5, len(data))
    data["team"] = np.tile(np.arange(12), 15)
    result = compare_models(data, ["score"], "arm", LEVELS, cluster="team", baseline="baseline").to_dict()
    assert set(result) == {"group", "levels", "outcomes", "verdict", "warnings"}
    outcome = result["outcomes"][0]
    for key in ("outcome", "n", "descriptives", "tests", "chosen", "p_adjusted", "effect_sizes", "posthoc",
                "pairwise_effects", "mixed_model", "ancova"):
        assert key in outcome
    assert set(outcome["tests"]) == {"anova", "welch", "kruskal", "levene"}
    assert outcome["tests"]["levene"]["center"] == "median"
    assert set(outcome["posthoc"]) == {"tukey", "games_howell", "dunn", "mann_whitney"}
    assert {"converged", "arm_effects", "baseline", "var_cluster", "var_residual", "icc"} <= set(outcome["mixed_model"])
    assert {"arm_effects", "arm_test", "adjusted_means"} <= set(outcome["ancova"])
    assert set(outcome["pairwise_effects"][0]) == {"a", "b", "hedges_g", "g_ci_low", "g_ci_high", "cliffs_delta"}
    assert "text" in result["verdict"]
