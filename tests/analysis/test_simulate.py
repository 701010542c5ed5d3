"""The simulator plants what it says it plants. No Flask, no database.

Tolerances are about four standard errors of the quantity checked, so a correct simulator fails
far less than once in ten thousand runs, while a wrong effect, ICC or correlation fails at once.
"""

import numpy as np
import pandas as pd
import pytest

from analysis.simulate import (
    BASE_MEANS,
    PERFORMANCE_EFFECTS,
    SESSION_RATES,
    SURVEY_EFFECTS,
    PlantedDifference,
    simulate_pilot,
)

ITEMS = [
    {"key": "cand_1", "dimension": "candour", "reverse": False, "scale_min": 1, "scale_max": 5},
    {"key": "cand_2", "dimension": "candour", "reverse": False, "scale_min": 1, "scale_max": 5},
    {"key": "cand_3", "dimension": "candour", "reverse": True, "scale_min": 1, "scale_max": 5},
    {"key": "recommend", "dimension": "recommend", "reverse": False, "scale_min": 0, "scale_max": 10},
    {"key": "comment", "dimension": None, "reverse": False, "scale_min": None, "scale_max": None},
]


@pytest.fixture(scope="module")
def big():
    """A large pilot (300 teams) so that sample means sit close to the planted truth."""
    return simulate_pilot(n_teams=300, items=ITEMS, seed=11)


@pytest.fixture(scope="module")
def null_pilot():
    return simulate_pilot(n_teams=300, survey_effects={}, performance_effects={}, seed=12)


def did_by_arm(responses: pd.DataFrame, outcome: str) -> pd.Series:
    """Follow-up minus baseline mean per arm: team effects cancel, the planted shift remains."""
    means = responses.groupby(["coaching_model", "wave"])[outcome].mean().unstack("wave")
    return means["follow-up"] - means["baseline"]


def anova_icc(frame: pd.DataFrame, outcome: str, cluster: str) -> float:
    """ICC(1) by the one-way ANOVA estimator (Shrout & Fleiss 1979), written independently here."""
    groups = frame.groupby(cluster)[outcome]
    n_i = groups.size().to_numpy()
    k, n = len(n_i), n_i.sum()
    grand = frame[outcome].mean()
    ss_between = (n_i * (groups.mean().to_numpy() - grand) ** 2).sum()
    ss_within = ((frame[outcome] - groups.transform("mean")) ** 2).sum()
    ms_between, ms_within = ss_between / (k - 1), ss_within / (n - k)
    n0 = (n - (n_i ** 2).sum() / n) / (k - 1)
    return (ms_between - ms_within) / (ms_between + (n0 - 1) * ms_within)


def test_same_seed_gives_the_same_pilot_and_another_seed_another():
    a, b, c = simulate_pilot(seed=5, items=ITEMS), simulate_pilot(seed=5, items=ITEMS), simulate_pilot(seed=6)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    pd.testing.assert_frame_equal(a.answers, b.answers)
    pd.testing.assert_frame_equal(a.performance, b.performance)
    assert not a.responses["candour"].equals(c.responses["candour"])


def test_teams_are_sized_in_range_and_allocated_evenly():
    pilot = simulate_pilot(n_teams=28, team_size=(5, 12), seed=3)
    assert pilot.teams["n_reps"].between(5, 12).all()
    counts = pilot.teams["coaching_model"].value_counts()
    assert set(counts.index) == {"manager", "peer", "external"}
    assert counts.max() - counts.min() <= 1
    assert pilot.reps.groupby("team").size().tolist() == pilot.teams["n_reps"].tolist()
    assert pilot.reps["email"].is_unique and pilot.reps["crm_id"].is_unique


def test_about_the_requested_share_of_reps_answer_each_wave(big):
    per_wave = big.responses.groupby("wave").size() / len(big.reps)
    assert per_wave.between(0.78, 0.82).all()  # 2,300 reps: 4 standard errors is about 0.017


@pytest.mark.parametrize("outcome", ["accountability", "onboarding", "candour", "expertise", "availability",
                                     "coaching", "satisfaction"])
def test_planted_survey_shifts_are_in_the_data(big, outcome):
    observed = did_by_arm(big.responses, outcome)
    for arm in big.arms:
        planted = SURVEY_EFFECTS.get(outcome, {}).get(arm, 0.0)
        # ~620 responses per arm and wave; SE of a difference of two means about 0.04.
        assert observed[arm] == pytest.approx(planted, abs=0.16), (arm, observed[arm], planted)


def test_without_planted_effects_the_arms_do_not_differ(null_pilot):
    for outcome in BASE_MEANS:
        scale = 2.5 if outcome == "recommend" else 1.0
        spread = did_by_arm(null_pilot.responses, outcome)
        assert spread.abs().max() < 0.16 * scale, outcome


def test_planted_icc_is_recovered(null_pilot):
    baseline = null_pilot.responses[null_pilot.responses["wave"] == "baseline"]
    estimates = [anova_icc(baseline, outcome, "team") for outcome in BASE_MEANS]
    # 300 teams: the SE of an ICC estimate near 0.10 is about 0.02; the mean of ten is tighter.
    assert np.mean(estimates) == pytest.approx(null_pilot.icc, abs=0.03)


def test_rep_scores_correlate_between_baseline_and_follow_up(null_pilot):
    wide = null_pilot.responses.pivot_table(index="rep", columns="wave", values="candour").dropna()
    expected = 0.10 + 0.90 * 0.45  # team share plus the persistent share of the rest
    assert np.corrcoef(wide["baseline"], wide["follow-up"])[0, 1] == pytest.approx(expected, abs=0.06)


def test_items_follow_their_dimension_and_reverse_keys_are_mirrored(big):
    wide = big.answers.pivot(index="response", columns="item", values="value")
    latent = big.responses.set_index("response").loc[wide.index, "candour"]
    assert wide[["cand_1", "cand_2", "cand_3"]].stack().dropna().between(1, 5).all()
    assert set(wide["cand_1"].dropna().unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert latent.corr(wide["cand_1"]) > 0.6
    assert latent.corr(wide["cand_3"]) < -0.6
    rescored = pd.concat([wide["cand_1"], wide["cand_2"], 6 - wide["cand_3"]], axis=1).mean(axis=1)
    assert latent.corr(rescored) > 0.8
    assert "comment" not in set(big.answers["item"])
    assert wide["recommend"].dropna().between(0, 10).all()


def test_prefer_not_to_say_is_rare_and_missing(big):
    agreement = big.answers[big.answers["item"].str.startswith("cand")]
    assert agreement["value"].isna().mean() == pytest.approx(0.02, abs=0.006)


def test_planted_performance_effect_and_baseline_correlation(big):
    wide = big.performance.pivot(index="rep", columns="period", values="quota_attainment")
    arm = big.performance.drop_duplicates("rep").set_index("rep")["coaching_model"]
    change = (wide["after"] - wide["before"]).groupby(arm).mean()
    for a in big.arms:
        planted = PERFORMANCE_EFFECTS["quota_attainment"].get(a, 0.0)
        assert change[a] == pytest.approx(planted, abs=2.0)  # SE about 0.5 points per arm
    assert np.corrcoef(wide["before"], wide["after"])[0, 1] == pytest.approx(0.73, abs=0.06)
    assert big.performance["win_rate"].between(0, 1).all()


def test_session_rates_depend_on_who_coaches(big):
    months = 3
    reps_per_arm = big.teams.groupby("coaching_model")["n_reps"].sum()
    rate = big.sessions.groupby("coach_model").size() / (reps_per_arm * months)
    for arm, planted in SESSION_RATES.items():
        assert rate[arm] == pytest.approx(planted, rel=0.1)
    assert big.sessions["minutes"].between(10, 120).all()


def test_planted_differences_lists_every_differing_pair():
    pilot = simulate_pilot(n_teams=6, seed=1)
    found = set(pilot.planted_differences())
    assert PlantedDifference("candour", "peer", "manager", SURVEY_EFFECTS["candour"]["peer"]) in found
    assert PlantedDifference("availability", "peer", "manager", -SURVEY_EFFECTS["availability"]["manager"]) in found
    assert PlantedDifference("quota_attainment", "manager", "external",
                             PERFORMANCE_EFFECTS["quota_attainment"]["manager"]) in found
    sessions = [d for d in found if d.outcome == "sessions_per_rep_month"]
    assert {(d.higher, d.lower) for d in sessions} == {("peer", "manager"), ("external", "manager")}
    assert not [d for d in found if d.outcome in ("coaching", "satisfaction")]
    assert not [d for d in found if d.outcome == "candour" and {d.higher, d.lower} == {"manager", "external"}]


def test_more_waves_carry_the_planted_effects_after_the_first():
    pilot = simulate_pilot(n_teams=300, waves=("baseline", "follow-up", "pulse"),
                           response_rate={"baseline": 0.8, "follow-up": 0.8, "pulse": 0.4}, seed=21)
    per_wave = pilot.responses.groupby("wave").size() / len(pilot.reps)
    assert per_wave["pulse"] == pytest.approx(0.4, abs=0.03)
    means = pilot.responses.groupby(["wave", "coaching_model"])["candour"].mean()
    assert means["pulse"]["peer"] - means["baseline"]["peer"] == pytest.approx(SURVEY_EFFECTS["candour"]["peer"],
                                                                              abs=0.2)


@pytest.mark.parametrize("kwargs, word", [
    ({"arms": ("peer",)}, "arms"), ({"n_teams": 2}, "n_teams"), ({"icc": 1.2}, "icc"),
    ({"response_rate": 0}, "response_rate"), ({"team_size": (6, 2)}, "team_size"),
])
def test_impossible_settings_raise_a_value_error_naming_the_setting(kwargs, word):
    with pytest.raises(ValueError, match=word):
        simulate_pilot(**kwargs)
