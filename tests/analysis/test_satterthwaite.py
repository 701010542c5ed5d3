"""Issue 13 item 5, statistics review F6: Satterthwaite degrees of freedom for the mixed model, as lmerTest.

Reference values: ``reference/satterthwaite.R`` -> ``reference/satterthwaite.json`` (lmerTest 3.1.3 on
lme4 1.1.31 for Satterthwaite; nlme 3.1.162 for the containment df); the data sets are the
``satterthwaite_*.csv`` files it writes. R is not needed to run these tests.

Tolerance: relative 1e-5 on df, F, t and p (two REML optimisers stop near the same optimum, and
lmerTest's Hessian is numerical, ``numDeriv``'s Richardson extrapolation).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.clustered import mixed_model
from analysis.comparison import compare_models, compare_outcome

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "satterthwaite.json").read_text())
DATA = {name: pd.read_csv(HERE / "data" / f"satterthwaite_{name}.csv") for name in ("unbalanced", "balanced",
                                                                                     "singular")}
LEVELS = ("manager", "peer", "external")
REL = 1e-5
REGULAR = ["unbalanced_baseline", "unbalanced_nobaseline", "unbalanced_two_arms", "balanced_baseline",
           "balanced_nobaseline"]


def _fit(key, df_method):
    ref = REFERENCE[key]
    data = DATA[key.split("_")[0]]
    return mixed_model(data, "outcome", "arm", "team", "baseline" if ref["with_baseline"] else None,
                       tuple(ref["levels"]), df_method=df_method), ref


@pytest.mark.parametrize("key", REGULAR)
def test_the_arm_test_and_every_contrast_match_lmertest(key):
    fit, ref = _fit(key, "satterthwaite")
    expected = ref["satterthwaite"]
    assert fit.converged and fit.df_method == "satterthwaite"
    assert fit.var_cluster == pytest.approx(ref["var_cluster"], rel=1e-4)
    test = expected["arm_test"]
    assert fit.arm_test.df1 == test["df1"]
    assert fit.arm_test.df2 == pytest.approx(test["df2"], rel=REL)
    assert fit.arm_test.statistic == pytest.approx(test["F"], rel=REL)
    assert fit.arm_test.p == pytest.approx(test["p"], rel=REL)
    for effect, level in zip(fit.arm_effects, ref["levels"][1:], strict=True):
        theirs = expected["coefficients"][f"arm{level}"]
        assert effect.df == pytest.approx(theirs["df"], rel=REL)
        assert effect.p == pytest.approx(theirs["p"], rel=REL)
        assert effect.estimate / effect.se == pytest.approx(theirs["t"], rel=REL)
    for ours, theirs in zip(fit.contrasts, expected["contrasts"], strict=True):
        assert (ours.a, ours.b) == (theirs["a"], theirs["b"])
        assert ours.diff == pytest.approx(theirs["diff"], rel=REL)
        assert ours.se == pytest.approx(theirs["se"], rel=REL)
        assert ours.df == pytest.approx(theirs["df"], rel=REL)
        assert ours.p == pytest.approx(theirs["p"], rel=REL)
        assert ours.p_adj == pytest.approx(theirs["p_adj"], rel=REL)


@pytest.mark.parametrize("key", REGULAR + ["singular_nobaseline"])
def test_the_containment_option_gives_nlmes_df(key):
    fit, ref = _fit(key, "containment")
    expected = ref["containment"]
    assert fit.df_method == "containment"
    assert fit.arm_test.df2 == expected["df"]
    assert [e.df for e in fit.arm_effects] == list(np.atleast_1d(expected["nlme_tTable_df"]))
    assert fit.arm_test.statistic == pytest.approx(expected["arm_test"]["F"], rel=REL)
    assert fit.arm_test.p == pytest.approx(expected["arm_test"]["p"], rel=REL)
    for ours, theirs in zip(fit.contrasts, expected["contrasts"], strict=True):
        assert ours.df == theirs["df"]
        assert ours.p == pytest.approx(theirs["p"], rel=REL)
        assert ours.p_adj == pytest.approx(theirs["p_adj"], rel=REL)


def test_a_balanced_design_without_covariate_gives_satterthwaite_the_containment_df():
    fit, _ = _fit("balanced_nobaseline", "satterthwaite")
    assert fit.arm_test.df2 == pytest.approx(15 - 3, rel=1e-6)  # exactly, at the exact optimum
    assert all(c.df == pytest.approx(12, rel=1e-6) for c in fit.contrasts)


def test_the_unbalanced_design_is_tested_on_fewer_df_than_containment():
    """The audit's F6: with team sizes 2-40, J - k = 15 is more liberal than Satterthwaite."""
    satterthwaite, ref = _fit("unbalanced_baseline", "auto")
    containment, _ = _fit("unbalanced_baseline", "containment")
    assert satterthwaite.df_method == "satterthwaite"  # 18 teams, fewer than 40
    assert satterthwaite.arm_test.df2 < containment.arm_test.df2 == 15
    assert satterthwaite.arm_test.p > containment.arm_test.p


def _teams(n_teams, seed=5, reps=4):
    rng = np.random.default_rng(seed)
    team = np.repeat(np.arange(n_teams), reps)
    arm = np.array(LEVELS)[team % 3]
    y = rng.normal(0, 0.5, n_teams)[team] + rng.normal(0, 1, len(team))
    return pd.DataFrame({"team": team, "arm": arm, "y": y})


@pytest.mark.parametrize("n_teams, method", [(39, "satterthwaite"), (40, "containment"), (45, "containment")])
def test_auto_uses_satterthwaite_below_40_teams_and_containment_from_40(n_teams, method):
    fit = mixed_model(_teams(n_teams), "y", "arm", "team", levels=LEVELS)
    assert fit.var_cluster > 0
    assert fit.df_method == method
    if method == "containment":
        assert fit.arm_test.df2 == n_teams - 3
    else:
        assert fit.arm_test.df2 != n_teams - 3


def test_an_unknown_df_method_is_refused_by_name():
    with pytest.raises(ValueError, match="df_method"):
        mixed_model(_teams(12), "y", "arm", "team", levels=LEVELS, df_method="kenward-roger")


def test_at_a_singular_fit_satterthwaite_as_lmertest_gives_n_minus_p_so_containment_is_used():
    """lmerTest at the boundary (γ = 0) gives the OLS residual df N − p = 93 for 12 teams: it treats the
    zero team variance as known. CoachLab reproduces that number but tests on the containment df."""
    from analysis.clustered import _ProfileReml, _Satterthwaite

    ref = REFERENCE["singular_nobaseline"]
    assert ref["singular"] and ref["theta"] == 0
    data = DATA["singular"]
    y = data["outcome"].to_numpy(float)
    arm = data["arm"].to_numpy()
    exog = np.column_stack([np.ones(len(y))] + [(arm == level).astype(float) for level in LEVELS[1:]])
    groups = pd.factorize(data["team"])[0]
    satterthwaite = _Satterthwaite(_ProfileReml((y - y.mean()) / y.std(), exog, groups), 0.0)
    lmertest = ref["satterthwaite"]
    assert satterthwaite.df(np.array([0.0, 1.0, 0.0])) == pytest.approx(lmertest["coefficients"]["armpeer"]["df"],
                                                                        rel=REL)
    assert satterthwaite.f_test(np.eye(3)[1:], np.zeros(3))[2] == pytest.approx(lmertest["arm_test"]["df2"], rel=REL)

    fit = mixed_model(data, "outcome", "arm", "team", levels=LEVELS)  # auto, 12 teams
    assert fit.var_cluster == 0 and fit.df_method == "containment"
    assert fit.arm_test.df2 == ref["containment"]["df"] == 9
    assert fit.arm_test.p == pytest.approx(ref["containment"]["arm_test"]["p"], rel=REL)
    assert any("singular" in w and "containment" in w and "93" in w for w in fit.warnings)
    forced = mixed_model(data, "outcome", "arm", "team", levels=LEVELS, df_method="satterthwaite")
    assert forced.df_method == "containment" and forced.arm_test.df2 == 9


def test_the_df_method_is_in_the_json_and_passed_through_compare_models():
    data = DATA["unbalanced"]
    outcome = compare_outcome(data, "outcome", "arm", LEVELS, cluster="team", baseline="baseline")
    assert outcome.to_dict()["mixed_model"]["df_method"] == "satterthwaite"
    assert "df" in outcome.to_dict()["model_contrasts"][0]
    analysis = compare_models(data, ["outcome"], "arm", LEVELS, cluster="team", baseline="baseline",
                              df_method="containment")
    fit = analysis.outcome("outcome").mixed_model
    assert fit.df_method == "containment" and fit.arm_test.df2 == 15
    assert analysis.outcome("outcome").p == pytest.approx(REFERENCE["unbalanced_baseline"]["containment"]
                                                          ["arm_test"]["p"], rel=REL)


def test_the_command_takes_a_df_flag_and_says_which_df_were_used(tmp_path, capsys):
    path = tmp_path / "pilot.csv"
    DATA["unbalanced"].to_csv(path, index=False)
    args = [str(path), "--group", "arm", "--outcome", "outcome", "--cluster", "team", "--baseline", "baseline",
            "--levels", "manager,peer,external"]
    assert main(args + ["--format", "json", "--df", "containment"]) == 0
    fit = json.loads(capsys.readouterr().out)["outcomes"][0]["mixed_model"]
    assert fit["df_method"] == "containment" and fit["arm_test"]["df2"] == 15
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Satterthwaite" in text and "14.3" in text
    with pytest.raises(SystemExit):
        main(args + ["--df", "kenward"])


@pytest.mark.parametrize("key", ["unbalanced_baseline"])  # the balanced set's 4 teams per arm: randomisation test
def test_the_adjusted_effect_sizes_use_each_contrasts_satterthwaite_df(key):
    outcome = compare_outcome(DATA[key.split("_")[0]], "outcome", "arm", LEVELS, cluster="team", baseline="baseline")
    assert outcome.chosen == "mixed_model"
    for ours, theirs in zip(outcome.adjusted_effects, REFERENCE[key]["satterthwaite"]["adjusted"], strict=True):
        assert (ours.a, ours.b) == (theirs["a"], theirs["b"])
        for name in ("df", "sd", "g", "ci_low", "ci_high"):
            assert getattr(ours, name) == pytest.approx(theirs[name], rel=REL), name
