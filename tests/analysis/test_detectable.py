"""The smallest difference a null finding says the study could have detected is one it can detect: the
power of the product's own pipeline at the stated difference is 80 % (audit F4, issue 13 item 4).

The quick checks here use 150 fresh data sets per situation (a 95 % band of about ±6.5 points around
80 %, so the tolerance is ±10); ``test_detectable_slow.py`` repeats them with 1,000–2,000 data sets
and the audit's ±5.
"""

import time

import numpy as np
import pytest

from analysis.verdict import summarise_outcome

from . import mde_situations as s

QUICK = 150


def test_the_pair_rule_of_the_power_checks_is_the_verdicts():
    for seed in range(6):
        comparison = s.compare_quota(s.quota(np.random.default_rng(seed), delta=14.0))
        differences = {(d.higher, d.lower) for d in summarise_outcome(comparison).differences}
        for higher in s.LEVELS:
            for lower in s.LEVELS:
                if higher != lower:
                    assert s.named(comparison, higher, lower) == ((higher, lower) in differences)


# (a) a rank test chosen for outliers ------------------------------------------------------------

def test_a_rank_test_states_a_difference_it_detects_four_times_in_five():
    # Today: "about 35.24 points" from an SD inflated by the outliers; the rank test detects 12 points.
    comparison = s.compare_quota(s.quota(np.random.default_rng(0)))
    assert comparison.chosen == "kruskal"
    stated = s.finding(comparison).detectable
    share, _ = s.power(s.quota, s.compare_quota, stated, QUICK, seed=11, higher="external", lower="manager")
    assert share == pytest.approx(0.80, abs=0.10), (stated, share)


def test_the_rank_test_simulation_is_fast_and_seeded():
    comparison = s.compare_quota(s.quota(np.random.default_rng(0)))
    summarise_outcome(comparison)  # imports and caches
    start = time.perf_counter()
    first = summarise_outcome(comparison).detectable
    elapsed = time.perf_counter() - start
    assert elapsed < 0.3, elapsed
    assert summarise_outcome(comparison).detectable == first


# (b) Welch with a group of two ------------------------------------------------------------------

def test_b_a_group_of_two_makes_the_view_too_small_and_that_is_true():
    # Today: "about 1.91 points" (a pooled t test); Welch has 1.6 df here and reaches 57 % at 4 points.
    data = s.two_of_thirty(np.random.default_rng(2))
    comparison = s.compare_two(data)
    assert comparison.chosen == "welch"
    found = s.finding(comparison)
    assert found.beyond_scale, found.text
    assert "too small to detect any difference within the scale" in found.text
    share, _ = s.power(s.two_of_thirty, s.compare_two, comparison.scale_range, QUICK, seed=12,
                       higher="peer", lower="manager")
    assert share < 0.75, share


# (c) team means -----------------------------------------------------------------------------------

def test_c_the_team_means_fallback_states_a_difference_it_detects():
    # Today: 0.60 from the reps as if independent; the team means detect about 0.95.
    with s.mixed_model_unusable():
        comparison = s.compare_teams(s.teams(np.random.default_rng(0)))
        assert comparison.chosen == "team_means"
        stated = s.finding(comparison).detectable
        share, _ = s.power(s.teams, s.compare_teams, stated, QUICK, seed=13, higher="external", lower="manager")
    assert share == pytest.approx(0.80, abs=0.10), (stated, share)


# (d) few teams and a singular fit ------------------------------------------------------------------

def test_d_a_singular_fit_states_a_range_of_team_iccs_not_zero():
    # Today: the boundary estimate ICC = 0 is used, 2.57 points, 68 % power when the ICC is 0.20.
    _, data = s.singular_few_teams()
    comparison = s.compare_teams(data)
    assert comparison.chosen == "mixed_model"
    found = s.finding(comparison)
    detail = found.to_dict()["detectable_detail"]
    assert detail["icc_range"] == [0.05, 0.20] or tuple(detail["icc_range"]) == (0.05, 0.20)
    assert detail["value"] == found.detectable and detail["low"] < found.detectable
    assert "ICC" in found.text and "0.05–0.20" in found.text
    share, _ = s.power(lambda rng, d: s.few_teams(rng, d, icc=0.20), s.compare_teams, found.detectable, QUICK,
                       seed=14, higher="external", lower="manager")
    assert share >= 0.70, (found.detectable, share)


def test_the_json_finding_says_how_the_difference_was_computed():
    comparison = s.compare_quota(s.quota(np.random.default_rng(0)))
    detail = s.finding(comparison).to_dict()["detectable_detail"]
    assert detail["method"].startswith("rank test")
    assert detail["power"] == 0.8 and detail["alpha"] == 0.05 and detail["draws"] >= 200
    assert detail["value"] == pytest.approx(s.finding(comparison).detectable)
