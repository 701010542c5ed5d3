"""Few teams (issue 13 item 5, audit F4(d) and section 3): with fewer than 6 teams in the smallest arm
the headline is the randomisation test on team means, re-running the study's randomisation; the
mixed model is still fitted and shown, and the verdict and the decision read the new headline."""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.comparison import compare_models, compare_outcome
from analysis.decision import decide
from analysis.effects import MIXED_SD
from analysis.randomisation import RandomisationPlan
from analysis.verdict import detectable_difference

LEVELS = ("manager", "peer", "external")
HERE = Path(__file__).parent


def few_teams(seed, teams=2, reps=10, icc=0.2, levels=LEVELS, effects=None):
    """The audit's d7 shape: ``teams`` teams per arm of ``reps`` reps, team variance ``icc`` of a total of 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm in levels:
        for t in range(teams):
            shift = (effects or {}).get(arm, 0.0) + rng.normal(0, np.sqrt(icc))
            rows += [(arm, f"{arm}-{t}", 3.5 + shift + rng.normal(0, np.sqrt(1 - icc))) for _ in range(reps)]
    return pd.DataFrame(rows, columns=["arm", "team", "score"])


def test_two_teams_per_arm_are_compared_by_re_running_the_randomisation_not_by_a_boundary_mixed_model():
    data = few_teams(14)
    result = compare_outcome(data, "score", "arm", LEVELS, cluster="team")
    assert result.mixed_model is not None and result.mixed_model.optimiser == "boundary (γ = 0)"  # still shown
    assert result.chosen == "randomisation"
    assert "only 2 teams in the smallest arm" in result.chosen_reason
    assert "re-running the randomisation on the teams' means" in result.chosen_reason


# --- the few-teams rule in the comparison, the verdict and the decision -----------------------------------------


def test_the_mixed_model_is_still_fitted_and_the_json_carries_the_randomisation_result():
    data = few_teams(14)
    result = compare_outcome(data, "score", "arm", LEVELS, cluster="team")
    out = result.to_dict()
    assert out["chosen"] == "randomisation" and out["mixed_model"]["converged"]
    test = out["randomisation"]
    for key in ("statistic", "p", "n_assignments", "exact", "draws", "seed", "procedure", "method", "p_min", "pairs"):
        assert key in test, key
    assert test["exact"] and test["n_assignments"] == 90 and test["p"] == out["p"]
    assert {(p["a"], p["b"]) for p in test["pairs"]} == {(p["a"], p["b"]) for p in result.headline_pairs()}
    assert result.trustworthy and any("singular fit" in w for w in result.warnings)


def test_six_teams_in_the_smallest_arm_keep_the_mixed_model():
    result = compare_outcome(few_teams(1, teams=6, reps=4), "score", "arm", LEVELS, cluster="team")
    assert result.chosen == "mixed_model" and result.randomisation is None


def test_one_arm_of_one_team_is_compared_by_the_randomisation_test():
    """Audit section 3, "one arm = one team": the mixed model gave df = 4; now 1, 3 and 3 teams are re-randomised."""
    data = few_teams(3, teams=3)
    data = data[~data["team"].isin(["manager-1", "manager-2"])]
    result = compare_outcome(data, "score", "arm", LEVELS, cluster="team")
    test = result.randomisation
    assert result.chosen == "randomisation" and test.teams == {"manager": 1, "peer": 3, "external": 3}
    assert test.exact and test.n_assignments == math.factorial(7) // (1 * 6 * 6)
    assert "only 1 team in the smallest arm" in result.chosen_reason
    assert all(np.isfinite(p.p) for p in test.pairs)


def test_when_reps_not_teams_were_randomised_the_rule_is_kept_and_says_why():
    rng = np.random.default_rng(2)
    rows = [(LEVELS[(team + rep) % 3], f"t{team}", rng.normal(3, 1)) for team in range(4) for rep in range(9)]
    data = pd.DataFrame(rows, columns=["arm", "team", "score"])  # every team has reps of every model
    result = compare_outcome(data, "score", "arm", LEVELS, cluster="team")
    assert result.chosen == "mixed_model" and result.randomisation is None
    assert any("reps, not teams, were randomised" in w and "does not apply" in w for w in result.warnings)
    # A rep-level study whose small teams happen to sit in one model each: the plan says what was randomised.
    unmixed = compare_outcome(few_teams(14), "score", "arm", LEVELS, cluster="team",
                              randomisation=RandomisationPlan(unit="rep", seed=5))
    assert unmixed.chosen == "mixed_model"
    assert any("reps, not teams, were randomised" in w for w in unmixed.warnings)


def test_the_verdict_names_pairs_from_the_randomisation_p_values_and_the_decision_follows():
    data = few_teams(4, teams=5, reps=8, icc=0.05, effects={"manager": 1.5})
    analysis = compare_models(data, ["score"], "arm", LEVELS, cluster="team")
    outcome = analysis.outcome("score")
    assert outcome.chosen == "randomisation" and outcome.randomisation.n_assignments == 756_756
    named = {(d.higher, d.lower) for d in analysis.verdict.findings[0].differences}
    expected = set()
    for pair in outcome.randomisation.pairs:
        if pair.p_adj < outcome.alpha:
            expected.add((pair.b, pair.a) if pair.diff > 0 else (pair.a, pair.b))
    assert named == expected == {("manager", "peer"), ("manager", "external")}
    finding = analysis.verdict.findings[0].text
    assert finding.startswith("Manager coaching scored highest on score")
    assert "randomisation test on team means" in finding
    decision = decide(analysis.outcomes, analysis.verdict.findings, LEVELS, "score")
    assert decision.recommendation == "manager" and decision.certainty == "likely"  # never "very likely" below 6
    evidence = {(e.higher, e.lower): e for e in decision.evidence}
    pair = outcome.randomisation.pairs[0]  # peer − manager, with its t interval on team means
    assert (pair.a, pair.b) == ("manager", "peer")
    assert evidence[("manager", "peer")].diff == pytest.approx(-pair.diff)
    assert evidence[("manager", "peer")].ci_low == pytest.approx(-pair.ci_high)


def test_too_few_teams_to_name_a_model_are_said_so_instead_of_a_detectable_difference():
    analysis = compare_models(few_teams(14), ["score"], "arm", LEVELS, cluster="team")
    finding = analysis.verdict.findings[0]
    assert finding.detectable is None and "with so few teams no difference could have shown" in finding.text
    assert any("cannot show a model ahead whatever the data" in c and "0.067" in c for c in analysis.verdict.caveats)
    decision = decide(analysis.outcomes, analysis.verdict.findings, LEVELS, "score")
    assert decision.recommendation is None and not any("could have found" in r for r in decision.reasons)


def test_the_detectable_difference_does_not_crash_on_the_randomisation_headline():
    result = compare_outcome(few_teams(4, teams=5, reps=8), "score", "arm", LEVELS, cluster="team")
    assert result.chosen == "randomisation"
    assert detectable_difference(result).value > 0
    unfitted = replace(result, mixed_model=replace(result.mixed_model, converged=False, icc=float("nan")))
    assert detectable_difference(unfitted).value > 0


def test_with_a_baseline_the_pairs_carry_the_adjusted_g_over_the_mixed_models_total_sd():
    data = pd.read_csv(HERE / "data" / "randomisation_3x2.csv")
    result = compare_outcome(data, "score", "arm", LEVELS, cluster="team", baseline="baseline")
    assert result.chosen == "randomisation" and result.randomisation.adjusted_for == "baseline"
    assert "adjusted for baseline" in result.chosen_reason
    assert result.adjusted_effects is not None and result.adjusted_effects[0].sd_kind == MIXED_SD
    assert [e.diff for e in result.adjusted_effects] == [p.diff for p in result.randomisation.pairs]


@pytest.mark.slow
def test_under_the_null_the_verdict_names_a_model_at_most_five_percent_of_the_time():
    """400 null pilots of 3 × 5 teams × 8 reps, ICC 0.2, through the whole comparison: a pair is named
    in at most 5 % + 3 binomial SEs (0.033) of the verdicts."""
    named = 0
    runs = 400
    for run in range(runs):
        analysis = compare_models(few_teams(run, teams=5, reps=8), ["score"], "arm", LEVELS, cluster="team")
        assert analysis.outcome("score").chosen == "randomisation"
        named += bool(analysis.verdict.findings[0].differences)
    assert named / runs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs)


def test_the_comparison_passes_the_teams_baseline_and_plan_through_to_the_values_r_computed():
    r = json.loads((HERE / "reference" / "randomisation.json").read_text())
    data = pd.read_csv(HERE / "data" / "randomisation_3x2.csv")
    for name, baseline in (("three_by_two", None), ("three_by_two_baseline", "baseline")):
        result = compare_outcome(data, "score", "arm", LEVELS, cluster="team", baseline=baseline)
        assert result.chosen == "randomisation" and result.p == pytest.approx(r[name]["p"], abs=1e-12)
        assert result.randomisation.statistic == pytest.approx(r[name]["statistic"], rel=1e-12)
    case = r["blocks"]
    plan = pd.DataFrame(case["plan"])
    strata = {s: tuple(part.sort_values("position")["team"]) for s, part in plan.groupby("stratum")}
    result = compare_outcome(pd.read_csv(HERE / "data" / "randomisation_blocks.csv"), "score", "arm", LEVELS,
                             cluster="team", randomisation=RandomisationPlan(
                                 strata=strata, block=tuple(case["block"]),
                                 assignment=dict(zip(plan["team"], plan["arm"], strict=True))))
    assert result.randomisation.method == "permuted blocks" and result.p == pytest.approx(case["p"], abs=1e-12)
    assert [p.p_adj for p in result.randomisation.pairs] == pytest.approx([p["p_adj"] for p in case["pairs"]],
                                                                          abs=1e-12)
