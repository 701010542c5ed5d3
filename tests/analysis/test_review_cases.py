"""Edge cases found in review: rank-test direction, extreme ICC, reused team ids, corrections, wording."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.cli import run
from analysis.clustered import mixed_model
from analysis.comparison import compare_models, compare_outcome
from analysis.verdict import summarise_outcome

LEVELS = ("manager", "peer", "external")


def test_after_a_rank_test_the_direction_comes_from_the_ranks_not_the_means():
    # a: mostly 1s with a few huge outliers (higher mean); b: all 2s (higher ranks).
    data = pd.DataFrame({"g": ["a"] * 66 + ["b"] * 66, "y": [1.0] * 60 + [100.0] * 6 + [2.0] * 66})
    result = compare_models(data, ["y"], "g")
    assert result.outcome("y").chosen == "kruskal"
    finding = result.verdict.findings[0]
    assert [(d.higher, d.lower) for d in finding.differences] == [("b", "a")]
    assert "Cliff's δ" in finding.text and "points" not in finding.text


def test_a_team_level_outcome_with_an_icc_near_one_does_not_crash():
    rng = np.random.default_rng(1)
    team = np.repeat(np.arange(24), 8)
    arm = np.array(LEVELS)[team % 3]
    data = pd.DataFrame({"team": team, "arm": arm, "y": rng.normal(0, 1, 24)[team] + rng.normal(0, 1e-4, 192)})
    fit = mixed_model(data, "y", "arm", "team", levels=LEVELS)
    assert fit.converged is False and any("team-level measure" in w for w in fit.warnings)
    result = compare_outcome(data, "y", "arm", LEVELS, cluster="team")
    assert result.chosen == "team_means"


def test_team_ids_reused_across_models_are_flagged_and_tested_within_teams():
    rng = np.random.default_rng(2)
    rows = [(arm, team, rng.normal(3, 1)) for arm in LEVELS for team in range(6) for _ in range(8)]
    data = pd.DataFrame(rows, columns=["arm", "team", "y"])
    fit = mixed_model(data, "y", "arm", "team", levels=LEVELS, df_method="containment")
    assert any("several coaching models" in w for w in fit.warnings)
    assert fit.arm_effects[0].df == len(data) - 6 - 2  # within-team df, not J - k = 3


def test_pairs_of_a_secondary_outcome_must_pass_the_stricter_alpha():
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"arm": np.repeat(LEVELS, 80), "y": np.concatenate(
        [rng.normal(m, 1, 80) for m in (0.0, 0.0, 0.45)])})
    comparison = compare_outcome(data, "y", "arm", LEVELS)
    comparison = replace(comparison, p_adjusted=comparison.p)
    assert summarise_outcome(comparison).differences
    strict = replace(comparison, alpha=min(p["p_adj"] for p in comparison.headline_pairs()) / 2)
    assert summarise_outcome(strict).differences == ()
    rng2 = np.random.default_rng(9)
    many = compare_models(data.assign(z=data["y"] + rng2.normal(0, 0.01, len(data)), w=rng2.normal(0, 1, len(data))),
                          ["y", "z", "w"], "arm", LEVELS, primary="y")
    # Holm levels: the smaller p of the two secondary outcomes gets 0.05 / 2, the larger 0.05 / 1.
    assert many.outcome("z").alpha == pytest.approx(0.025) and many.outcome("w").alpha == pytest.approx(0.05)
    assert many.outcome("y").alpha == 0.05


def test_an_omnibus_difference_without_a_clear_pair_is_said_so():
    data = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 10 + ["c"] * 10,
                         "y": [5.0] * 10 + [4.0, 5.0] * 5 + [4.0, 4.5] * 5})
    result = compare_outcome(data, "y", "g")
    finding = summarise_outcome(replace(result, p_adjusted=0.01, p=0.01,
                                        dunn=tuple(replace(t, p_adj=0.2) for t in result.dunn)))
    assert "differ" in finding.text and "no pair of them can be told apart" in finding.text


def test_level_names_keep_their_capitals():
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"g": ["CoachAI"] * 40 + ["manager"] * 40,
                         "y": np.concatenate([rng.normal(4, 0.5, 40), rng.normal(3, 0.5, 40)])})
    text = compare_models(data, ["y"], "g").verdict.findings[0].text
    assert text.startswith("CoachAI scored highest")


def test_numeric_group_labels_match_levels_given_as_numbers():
    data = pd.DataFrame({"g": [1.0, 1.0, 2.0, 2.0, np.nan, 3.0, 3.0], "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0]})
    assert compare_outcome(data, "y", "g", levels=["1", "2", "3"]).levels == ("1", "2", "3")


def test_the_command_checks_the_allocation_of_teams(tmp_path):
    rows = [("manager", f"m{t}", float(v)) for t in range(16) for v in range(1, 6)]
    rows += [(arm, f"{arm[0]}{t}", float(v)) for arm in ("peer", "external") for t in range(3) for v in range(1, 6)]
    path = tmp_path / "pilot.csv"
    pd.DataFrame(rows, columns=["model", "team", "score"]).to_csv(path, index=False)
    analysis = run(path, "model", ["score"], "manager,peer,external", cluster="team")
    assert any("Unbalanced allocation" in c for c in analysis.verdict.caveats)
