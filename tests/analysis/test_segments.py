"""The arm effect per segment and the model × segment interaction (``analysis.segments``) against R
(``reference/segments.R``: ``anova(lm(...))`` on team means, ``p.adjust(..., "holm")``), and their error rate
on simulated pilots with no difference at all."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.segments import segment_effects, team_means
from analysis.simulate import simulate_pilot
from tests.analysis.test_reference import DATA, HERE

REFERENCE = json.loads((HERE / "reference" / "segments.json").read_text())


@pytest.fixture(scope="module")
def result():
    return segment_effects(pd.read_csv(DATA / "segments.csv"), "score", "coaching_model", "region", "team")


def test_the_arm_effect_per_segment_and_its_holm_adjustment_match_r(result):
    assert [e.segment for e in result.effects] == [s["segment"] for s in REFERENCE["segments"]]
    for effect, ref in zip(result.effects, REFERENCE["segments"], strict=True):
        if ref["F"] is None:  # Islands: one model only
            assert effect.test is None and effect.p_holm is None, effect
            continue
        assert (effect.test.df1, effect.test.df2) == (ref["df1"], ref["df2"]), effect.segment
        assert (effect.test.statistic, effect.test.p, effect.p_holm) == pytest.approx(
            (ref["F"], ref["p"], ref["p_holm"]), rel=1e-9), effect.segment


def test_the_interaction_matches_r_with_an_empty_model_segment_cell(result):
    ref = REFERENCE["interaction"]
    # No peer team in West, one model in Islands: 12 cells of 15, so 5 degrees of freedom, not 8.
    assert (result.interaction.df1, result.interaction.df2) == (ref["df1"], ref["df2"]) == (5, 30)
    assert (result.interaction.statistic, result.interaction.p) == pytest.approx((ref["F"], ref["p"]), rel=1e-9)


def test_teams_are_counted_per_model_in_each_segment(result):
    west = result.effect("West")
    assert west.teams == {"external": 5, "manager": 5}
    means = team_means(pd.read_csv(DATA / "segments.csv"), "score", "coaching_model", "region", "team")
    assert len(means) == 42 and means["team"].is_unique


def test_a_segment_asked_for_without_data_has_no_test_and_leaves_holm_to_the_others(result):
    data = pd.read_csv(DATA / "segments.csv")
    more = segment_effects(data, "score", "coaching_model", "region", "team",
                           segments=["East", "North", "South", "West", "Islands", "Nowhere"])
    assert more.effect("Nowhere").test is None and more.effect("Nowhere").teams == {}
    for name in ("East", "North", "South", "West", "Islands"):  # the same four tests share the correction
        assert more.effect(name).p_holm == result.effect(name).p_holm, name


def test_too_little_to_test_gives_no_test_not_an_error():
    one_team_each = pd.DataFrame({"team": [1, 2], "coaching_model": ["a", "b"], "region": ["N", "N"],
                                  "y": [1.0, 2.0]})
    result = segment_effects(one_team_each, "y", "coaching_model", "region", "team")
    assert result.effect("N").test is None and result.interaction is None
    with pytest.raises(ValueError, match="region"):
        segment_effects(one_team_each.drop(columns="region"), "y", "coaching_model", "region", "team")


def _null_rates(pilots: int, seed: int) -> tuple[int, int]:
    """Pilots (of 36 teams in four regions, no planted difference) where some region is flagged after Holm,
    and where the interaction test rejects, at 0.05."""
    any_segment = interaction = 0
    for i in range(pilots):
        pilot = simulate_pilot(n_teams=36, survey_effects={}, performance_effects={}, seed=seed + i)
        rows = pilot.responses[pilot.responses["wave"] == "follow-up"].merge(pilot.teams[["team", "region"]])
        result = segment_effects(rows, "satisfaction", "coaching_model", "region", "team")
        any_segment += any(e.p_holm is not None and e.p_holm < 0.05 for e in result.effects)
        interaction += result.interaction is not None and result.interaction.p < 0.05
    return any_segment, interaction


@pytest.mark.slow
def test_with_no_difference_anywhere_segments_are_flagged_at_most_five_percent_of_the_time():
    """2,000 null pilots. Holm keeps the chance that any of the four regions is flagged at or below 5 %; the
    interaction test, exact under normal team means, rejects 5 %. Tolerance: 3 binomial SE (1.5 points)."""
    n = 2000
    any_segment, interaction = _null_rates(n, 40_000)
    se = np.sqrt(0.05 * 0.95 / n)
    assert any_segment / n <= 0.05 + 3 * se, any_segment
    assert abs(interaction / n - 0.05) <= 3 * se, interaction
