"""Non-inferiority and equivalence margins (issue 16 item 2) against R (``reference/margins.R`` →
``margins.json``): lmerTest's ``contest1D`` (Satterthwaite df) on the mixed model, and Welch ``t.test``
with ``mu = ∓margin`` on team means when the smallest arm has fewer than 6 teams.

Tolerances: team means, relative 1e-9 (closed forms on both sides). Mixed model: relative 1e-6 on
estimates, SEs, df, p-values and bounds (largest seen 2.4e-7), bounds near 0 absolute 1e-6·SE —
both sides stop an iterative optimiser near the REML optimum.
"""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import margins
from analysis.clustered import mixed_model
from analysis.margins import margin_test, margin_tests, ordered_pairs

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "margins.json").read_text())
LEVELS = ("manager", "peer", "external")


def data(name):
    return pd.read_csv(HERE / "data" / name)


def close(actual, expected, rel, scale=0.0):
    assert actual == pytest.approx(expected, rel=rel, abs=rel * scale)


@pytest.fixture(params=sorted(REFERENCE["cases"]))
def case(request):
    return REFERENCE["cases"][request.param]


def test_every_pair_matches_r_in_both_directions_of_better(case):
    rel = 1e-6 if case["method"] == "mixed_model" else 1e-9
    frame = data(case["file"])
    for higher in (True, False):
        tests = margin_tests(frame, "outcome", "arm", "team", tuple(case["levels"]), case["margin"],
                             baseline=case["baseline"], higher_is_better=higher)
        assert [(t.level, t.vs) for t in tests] == [(r["level"], r["vs"]) for r in case["tests"]]
        for test, r in zip(tests, case["tests"], strict=True):
            assert test.method == case["method"]
            for key in ("estimate", "se", "df", "p_lower", "p_upper"):
                close(getattr(test, key), r[key], rel)
            close(test.ci_low, r["lower_bound"], rel, r["se"])
            close(test.ci_high, r["upper_bound"], rel, r["se"])
            close(test.p_equivalence, max(r["p_lower"], r["p_upper"]), rel)
            assert test.equivalent == (r["lower_bound"] > -case["margin"] and r["upper_bound"] < case["margin"])
            if higher:
                close(test.p_noninferiority, r["p_lower"], rel)
                close(test.bound, r["lower_bound"], rel, r["se"])
                assert test.noninferior == (r["lower_bound"] > -case["margin"])
            else:
                close(test.p_noninferiority, r["p_upper"], rel)
                close(test.bound, r["upper_bound"], rel, r["se"])
                assert test.noninferior == (r["upper_bound"] < case["margin"])
            if "ci_low" in r:  # R's own two-sided 90 % Welch interval
                close(test.ci_low, r["ci_low"], rel, r["se"])
                close(test.ci_high, r["ci_high"], rel, r["se"])


@pytest.mark.parametrize("name", sorted(n for n, c in REFERENCE["cases"].items() if c["method"] == "mixed_model"))
def test_the_mixed_models_arm_covariance_is_rs_vcov(name):
    case = {**REFERENCE["cases"][name], "name": name}
    fit = mixed_model(data(case["file"]), "outcome", "arm", "team", case["baseline"], LEVELS,
                      df_method="satterthwaite")
    np.testing.assert_allclose(np.array(fit.arm_covariance), np.array(case["arm_covariance"]), rtol=1e-6)


def test_the_reference_data_exercise_both_verdicts():
    """The R cases are not all one way: some pairs pass non-inferiority and some fail."""
    seen = set()
    for case in REFERENCE["cases"].values():
        for r in case["tests"]:
            seen.add(r["lower_bound"] > -case["margin"])
    assert seen == {True, False}


def test_pairs_start_with_each_model_against_the_reference_then_every_other_direction():
    assert ordered_pairs(LEVELS) == [("peer", "manager"), ("external", "manager"), ("manager", "peer"),
                                     ("external", "peer"), ("manager", "external"), ("peer", "external")]


def test_a_mixed_model_that_did_not_converge_gives_way_to_team_means(monkeypatch):
    frame = data("clustered.csv")
    real = mixed_model(frame, "outcome", "arm", "team", None, LEVELS)
    monkeypatch.setattr(margins, "mixed_model", lambda *a, **k: replace(real, converged=False))
    tests = margin_tests(frame, "outcome", "arm", "team", LEVELS, 0.3)
    assert {t.method for t in tests} == {"team_means"}
    assert "did not converge" in tests[0].notes[0]
    means = frame.groupby("team").agg(y=("outcome", "mean"), arm=("arm", "first"))
    r = stats.ttest_ind(means.y[means.arm == "peer"], means.y[means.arm == "manager"], equal_var=False)
    close(tests[0].df, r.df, 1e-9)


def test_one_sided_bound_and_p_agree_on_noninferiority_and_tost_on_equivalence():
    rng = np.random.default_rng(3)
    for _ in range(300):
        est, se, margin = rng.normal(0, 2), rng.uniform(0.2, 2), rng.uniform(0.1, 3)
        df = None if rng.random() < 0.3 else rng.uniform(2, 60)
        for higher in (True, False):
            t = margin_test("peer", "manager", est, se, df, margin, higher_is_better=higher)
            assert t.noninferior == (t.p_noninferiority < 0.05)
            assert t.equivalent == (t.p_equivalence < 0.05)


def test_no_df_means_the_normal_distribution():
    t = margin_test("peer", "manager", -0.4, 1.0, None, 3.0)
    close(t.p_noninferiority, stats.norm.sf(2.6), 1e-12)
    close(t.bound, -0.4 - stats.norm.ppf(0.95), 1e-12)
    assert t.df is None
    assert margin_test("peer", "manager", -0.4, 1.0, math.inf, 3.0).p_noninferiority == t.p_noninferiority


def test_a_leader_reads_the_bound_against_the_margin():
    ok = margin_test("peer", "manager", 0.445, 1.0, None, 3.0, unit="quota points")
    assert ok.words() == ("Peer coaching is no worse than manager coaching by more than 3.0 quota points: "
                          "the worst it may be is 1.2 quota points below (95 % one-sided bound)")
    bad = margin_test("peer", "manager", -2.0, 1.5, None, 3.0, unit="quota points")
    assert bad.words().startswith("Peer coaching may be worse than manager coaching by more than 3.0 quota points: "
                                  "it may be as far as 4.5 quota points below")
    better = margin_test("peer", "manager", 2.0, 1.0, None, 3.0)
    assert "even at worst it is 0.4 points above" in better.words()
    lower = margin_test("peer", "manager", -2.0, 1.0, None, 3.0, higher_is_better=False)
    assert "even at worst it is 0.4 points below" in lower.words()
    assert margin_test("peer", "manager", 0.0, 0.05, None, 0.3).equivalence_words().startswith(
        "Peer coaching and manager coaching are within ±0.30 points of each other (90 % interval -0.08 to 0.08")
    assert set(ok.to_dict()) >= {"level", "vs", "margin", "bound", "ci_low", "ci_high", "p_noninferiority",
                                 "noninferior", "p_equivalence", "equivalent", "method", "words"}


@pytest.mark.parametrize("kwargs, message", [
    ({"margin": 0}, "margin: must be greater than 0"),
    ({"margin": -1}, "margin: must be greater than 0"),
    ({"margin": float("nan")}, "margin: expected a finite number"),
    ({"estimate": float("nan")}, "estimate: expected a finite number"),
    ({"se": 0}, "se: must be greater than 0"),
    ({"df": 0}, "df: expected a positive number"),
    ({"alpha": 0.5}, "alpha: expected a level between 0 and 0.5"),
])
def test_bad_numbers_are_refused_by_name(kwargs, message):
    arguments = {"estimate": 0.1, "se": 0.2, "df": 10.0, "margin": 0.3, "alpha": 0.05, **kwargs}
    with pytest.raises(ValueError, match=message):
        margin_test("peer", "manager", **arguments)


def test_one_coaching_model_is_refused():
    frame = data("clustered.csv")
    with pytest.raises(ValueError, match="two coaching models at least"):
        margin_tests(frame, "outcome", "arm", "team", ("peer",), 0.3)


def test_a_margin_of_zero_is_refused_before_any_model_is_fitted():
    with pytest.raises(ValueError, match="margin: must be greater than 0"):
        margin_tests(data("clustered.csv"), "outcome", "arm", "team", LEVELS, 0)


def test_one_team_in_an_arm_is_refused_with_a_reason():
    frame = data("satterthwaite_balanced.csv")
    frame = frame[(frame.arm != "peer") | (frame.team == frame.team[frame.arm == "peer"].iloc[0])]
    with pytest.raises(ValueError, match="'peer' of 'arm' has 1 team"):
        margin_tests(frame, "outcome", "arm", "team", LEVELS, 5)


def test_teams_mixing_models_with_few_teams_are_refused():
    frame = data("satterthwaite_balanced.csv").copy()
    frame.loc[frame.index[:3], "arm"] = "peer" if frame.arm.iloc[0] != "peer" else "manager"
    with pytest.raises(ValueError, match="several coaching models"):
        margin_tests(frame, "outcome", "arm", "team", LEVELS, 5)
