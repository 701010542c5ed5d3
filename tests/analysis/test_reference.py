"""Every statistic against R (``tests/analysis/reference/reference.R`` → ``reference.json``).

The data sets are the CSV files in ``tests/analysis/data`` (PlantGrowth is R's published set;
the others come from ``make_datasets.py``). R 4.2.2 with car, lme4, lmerTest, nlme, emmeans,
rstatix, effectsize and psych produced the numbers; the versions are in the JSON.

Tolerances, and why:

- test statistics, means, effect sizes: relative 1e-7 (both sides compute in double precision);
- p-values of F, t, chi-square and normal tests: absolute 1e-9;
- anything from the studentized range (Tukey, Games–Howell): absolute 5e-6 — R documents
  ``qtukey`` as accurate to about four decimals and ``ptukey`` to about 1e-6, and our own
  quadrature agrees with SciPy to 1e-6;
- Hedges' g CI: absolute 1e-6 against the ``uniroot`` bounds (effectsize's own optimiser is
  only good to ~1e-5, see the reference README);
- mixed models: estimates and variances relative 1e-5, SEs relative 1e-5, p absolute 1e-6 —
  both sides stop an iterative optimiser near the REML optimum.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis._validate import split_groups
from analysis.baseline import ancova, difference_in_differences
from analysis.clustered import correlation, mixed_model
from analysis.comparison import compare_outcome
from analysis.multiplicity import holm
from analysis.planning import Design, minimum_detectable_effect, sample_ratio_check, teams_needed
from analysis.scales import cronbach_alpha, reliability

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "reference.json").read_text())
DATA = HERE / "data"

ONE_WAY = {
    "plantgrowth": ("plantgrowth.csv", "weight", "group"),
    "likert": ("likert.csv", "rating", "arm"),
    "unequal_var": ("unequal_var.csv", "score", "arm"),
    "ties": ("ties.csv", "value", "arm"),
    "unequal_n_y1": ("unequal_n.csv", "y1", "group"),
    "unequal_n_y2": ("unequal_n.csv", "y2", "group"),
    "two_groups": ("two_groups.csv", "score", "arm"),
    "clustered": ("clustered.csv", "outcome", "arm"),
}

STAT = {"rel": 1e-7, "abs": 1e-12}
P = {"abs": 1e-9}
TUKEY = {"abs": 5e-6}


def close(actual, expected, **tolerance):
    assert actual == pytest.approx(expected, **tolerance)


@pytest.fixture(scope="module", params=sorted(ONE_WAY))
def case(request):
    name = request.param
    file, dv, group = ONE_WAY[name]
    ref = REFERENCE[name]
    data = pd.read_csv(DATA / file)
    return name, compare_outcome(data, dv, group, ref["levels"]), ref


def test_descriptives_match_r(case):
    _, result, ref = case
    for ours, theirs in zip(result.descriptives, ref["descriptives"], strict=True):
        assert ours.group == theirs["group"] and ours.n == theirs["n"]
        for key in ("mean", "sd", "median", "ci_low", "ci_high"):
            close(getattr(ours, key), theirs[key], **STAT)


def test_omnibus_tests_match_r(case):
    _, result, ref = case
    for name, ours in (("anova", result.anova), ("welch", result.welch), ("levene", result.levene)):
        close(ours.statistic, ref[name]["statistic"], **STAT)
        close(ours.df1, ref[name]["df1"], **STAT)
        close(ours.df2, ref[name]["df2"], **STAT)
        close(ours.p, ref[name]["p"], **P)
    close(result.kruskal.statistic, ref["kruskal"]["statistic"], **STAT)
    assert result.kruskal.df == ref["kruskal"]["df"]
    close(result.kruskal.p, ref["kruskal"]["p"], **P)


def test_tukey_and_games_howell_match_r(case):
    _, result, ref = case
    for name, ours in (("tukey", result.tukey), ("games_howell", result.games_howell)):
        for pair, theirs in zip(ours, ref[name], strict=True):
            assert (pair.a, pair.b) == (theirs["a"], theirs["b"])
            close(pair.diff, theirs["diff"], **STAT)
            close(pair.ci_low, theirs["ci_low"], **TUKEY)
            close(pair.ci_high, theirs["ci_high"], **TUKEY)
            close(pair.p_adj, theirs["p_adj"], **TUKEY)


def test_dunn_and_mann_whitney_match_r(case):
    _, result, ref = case
    for pair, theirs in zip(result.dunn, ref["dunn"], strict=True):
        assert (pair.a, pair.b) == (theirs["a"], theirs["b"])
        close(pair.statistic, theirs["statistic"], **STAT)
        close(pair.p, theirs["p"], **P)
        close(pair.p_adj, theirs["p_adj"], **P)
    for pair, theirs in zip(result.mann_whitney, ref["mann_whitney"], strict=True):
        close(pair.statistic, theirs["statistic"], **STAT)
        close(pair.p, theirs["p"], **P)
        close(pair.p_adj, theirs["p_adj"], **P)


def test_effect_sizes_match_r_with_raw_values(case):
    name, result, ref = case
    for key in ("eta_squared", "omega_squared", "epsilon_squared"):
        close(getattr(result.effect_sizes, key), ref["effect_sizes"][key], **STAT)
    if name == "unequal_n_y2":  # the case where omega and epsilon squared are negative, kept raw
        assert result.effect_sizes.omega_squared < 0 and result.effect_sizes.epsilon_squared < 0
    for pair, theirs in zip(result.pairwise_effects, ref["pairwise_effects"], strict=True):
        close(pair.hedges_g, theirs["hedges_g"], **STAT)
        close(pair.g_ci_low, theirs["g_ci_low_uniroot"], abs=1e-6)
        close(pair.g_ci_high, theirs["g_ci_high_uniroot"], abs=1e-6)
        close(pair.cliffs_delta, theirs["cliffs_delta"], **STAT)


def test_plantgrowth_matches_the_published_values():
    """R's PlantGrowth, as quoted in the issue: the figures people can look up."""
    result = compare_outcome(pd.read_csv(DATA / "plantgrowth.csv"), "weight", "group")
    assert round(result.anova.statistic, 3) == 4.846 and (result.anova.df1, result.anova.df2) == (2, 27)
    assert round(result.anova.p, 4) == 0.0159
    assert round(result.kruskal.statistic, 3) == 7.988 and round(result.kruskal.p, 4) == 0.0184
    trt2_trt1 = next(d for d in result.tukey if (d.a, d.b) == ("trt1", "trt2"))
    assert round(trt2_trt1.diff, 3) == 0.865 and round(trt2_trt1.p_adj, 3) == 0.012


MIXED = REFERENCE["clustered_models"]


@pytest.mark.parametrize("baseline, key", [("baseline", "lme_baseline"), (None, "lme_nobaseline")])
def test_mixed_model_matches_nlme_and_lme4(baseline, key):
    """nlme's numbers, so its containment df (30 teams: the default would be Satterthwaite's, below)."""
    data = pd.read_csv(DATA / "clustered.csv")
    fit = mixed_model(data, "outcome", "arm", "team", baseline, ("manager", "peer", "external"),
                      df_method="containment")
    ref = MIXED[key]
    assert fit.converged
    for effect, term in zip(fit.arm_effects, ("armpeer", "armexternal"), strict=True):
        theirs = ref["tTable"][term]
        close(effect.estimate, theirs["estimate"], rel=1e-5)
        close(effect.se, theirs["se"], rel=1e-5)
        assert effect.df == theirs["df"]
        close(effect.p, theirs["p"], abs=1e-6)
    close(fit.var_cluster, ref["var_cluster"], rel=1e-4)
    close(fit.var_residual, ref["var_residual"], rel=1e-5)
    close(fit.icc, ref["icc"], rel=1e-4)
    close(fit.arm_test.statistic, ref["arm_test"]["statistic"], rel=1e-5)
    close(fit.arm_test.p, ref["arm_test"]["p"], abs=1e-6)
    lmer = MIXED[key.replace("lme_", "lmer_")]
    close(fit.var_cluster, lmer["var_cluster"], rel=1e-4)
    if baseline:
        close(fit.baseline.estimate, ref["tTable"]["baseline"]["estimate"], rel=1e-5)
        close(fit.baseline.se, ref["tTable"]["baseline"]["se"], rel=1e-5)


@pytest.mark.parametrize("baseline, key", [("baseline", "lmer_baseline"), (None, "lmer_nobaseline")])
def test_mixed_model_by_default_matches_lmertests_satterthwaite_df(baseline, key):
    """With 30 teams (fewer than 40) the default df are Satterthwaite's: lmerTest's summary and anova."""
    data = pd.read_csv(DATA / "clustered.csv")
    fit = mixed_model(data, "outcome", "arm", "team", baseline, ("manager", "peer", "external"))
    ref = MIXED[key]
    assert fit.df_method == "satterthwaite"
    for effect, term in zip(fit.arm_effects, ("armpeer", "armexternal"), strict=True):
        theirs = ref["fixed"][term]
        close(effect.df, theirs["df_satterthwaite"], rel=1e-5)
        close(effect.p, theirs["p_satterthwaite"], rel=1e-5)
    test = ref["arm_test_satterthwaite"]
    close(fit.arm_test.statistic, test["statistic"], rel=1e-5)
    close(fit.arm_test.df2, test["df2"], rel=1e-5)
    close(fit.arm_test.p, test["p"], rel=1e-5)


def test_design_effect_matches_r():
    """R stores the mean-size form 1 + (m̄ − 1)·ICC; the team sizes here are 4 to 10, so the result is
    Eldridge's 1 + ((CV² + 1)·m̄ − 1)·ICC, which exceeds it by CV²·m̄·ICC (test_unequal_teams.py checks
    it against R on teams of 2 to 40)."""
    data = pd.read_csv(DATA / "clustered.csv")
    fit = mixed_model(data, "outcome", "arm", "team", None, ("manager", "peer", "external"))
    ref = MIXED["design_effect"]
    assert fit.n_clusters == ref["n_clusters"] and fit.n == ref["n_obs"]
    close(fit.mean_cluster_size, ref["m_bar"], **STAT)
    sizes = data["team"].value_counts().to_numpy(float)
    close(fit.cluster_size_cv, sizes.std() / sizes.mean(), **STAT)
    close(fit.design_effect - fit.cluster_size_cv ** 2 * ref["m_bar"] * ref["icc"], ref["design_effect"], rel=1e-4)


@pytest.mark.parametrize("dataset, dv, covariate, key", [
    ("clustered.csv", "outcome", "baseline", "clustered"),
    ("performance.csv", "after", "before", "performance"),
])
def test_ancova_matches_lm_car_and_emmeans(dataset, dv, covariate, key):
    data = pd.read_csv(DATA / dataset)
    fit = ancova(data, dv, "arm", covariate, ("manager", "peer", "external"))
    ref = MIXED["ancova"] if key == "clustered" else REFERENCE["performance_did"]["ancova"]
    for effect, term in zip(fit.arm_effects, ("armpeer", "armexternal"), strict=True):
        theirs = ref["arm_coefficients"][term]
        close(effect.estimate, theirs["estimate"], **STAT)
        close(effect.se, theirs["se"], **STAT)
        close(effect.p, theirs["p"], **P)
    for name in ("statistic", "df1", "df2"):
        close(getattr(fit.arm_test, name), ref["arm_test"][name], **STAT)
    close(fit.arm_test.p, ref["arm_test"]["p"], **P)
    for ours, theirs in zip(fit.adjusted_means, ref["adjusted_means"], strict=True):
        assert ours.group == theirs["group"]
        close(ours.mean, theirs["mean"], **STAT)
        close(ours.se, theirs["se"], **STAT)


def test_difference_in_differences_matches_welch_t_tests():
    data = pd.read_csv(DATA / "performance.csv")
    result = difference_in_differences(data, "before", "after", "arm", ("manager", "peer", "external"))
    ref = REFERENCE["performance_did"]
    for ours, theirs in zip(result.changes, ref["per_arm"], strict=True):
        assert ours.n == theirs["n"]
        close(ours.mean, theirs["mean_change"], **STAT)
        close(ours.sd, theirs["sd_change"], **STAT)
        close(ours.ci_low, theirs["ci_low"], **STAT)
    for ours, theirs in zip(result.pairs, ref["pairwise"], strict=True):
        assert (ours.a, ours.b) == (theirs["a"], theirs["b"])
        close(ours.did, theirs["did"], **STAT)
        close(ours.ci_low, theirs["ci_low"], **STAT)
        close(ours.ci_high, theirs["ci_high"], **STAT)
        close(ours.p, theirs["p"], **P)


def test_team_level_correlation_matches_cor_test():
    data = pd.read_csv(DATA / "clustered.csv")
    teams = data.groupby("team")[["baseline", "outcome"]].mean()
    result = correlation(teams["baseline"].to_numpy(), teams["outcome"].to_numpy())
    ref = MIXED["team_link"]
    assert result.n == ref["pearson"]["n"]
    for ours, key in ((result.r, "r"), (result.ci_low, "ci_low"), (result.ci_high, "ci_high")):
        close(ours, ref["pearson"][key], **STAT)
    close(result.p, ref["pearson"]["p"], rel=1e-6)
    close(result.rho, ref["spearman"]["rho"], **STAT)
    close(result.rho_p, ref["spearman"]["p"], rel=1e-6)


def test_cronbach_alpha_matches_psych():
    data = pd.read_csv(DATA / "scale_items.csv")
    items = ["item_1", "item_2", "item_3", "item_4"]
    result = reliability(data, items, between="arm", levels=("manager", "peer", "external"), scale="scale",
                         reverse=["item_3"])
    ref = REFERENCE["alpha"]  # complete rows: the listwise figure (pairwise: test_alpha_pairwise.py)
    assert result.n_listwise == ref["overall"]["n"]
    close(result.alpha_listwise, ref["overall"]["alpha_psych"], **STAT)
    for theirs in ref["per_arm"]:
        close(result.by_group_listwise[theirs["group"]], theirs["alpha_psych"], **STAT)
        assert result.n_by_group_listwise[theirs["group"]] == theirs["n"]
    assert set(result.low) == {"overall", "peer", "external"}  # pairwise 0.679, 0.666, 0.641 < 0.7


def test_holm_matches_p_adjust():
    close(holm(REFERENCE["holm"]["p"]), REFERENCE["holm"]["p_adj"], **STAT)
    assert np.isnan(holm([0.01, float("nan"), 0.02])[1])


@pytest.mark.parametrize("case", ["case1", "case2", "case3"])
def test_sample_ratio_check_matches_chisq_test(case):
    ref = REFERENCE["srm"][case]
    names = [f"arm{i}" for i in range(len(ref["observed"]))]
    result = sample_ratio_check(dict(zip(names, ref["observed"], strict=True)), ref["ratio"])
    close(result.statistic, ref["statistic"], **STAT)
    assert result.df == ref["df"]
    close(result.p, ref["p"], **P)


@pytest.mark.parametrize("index", range(5))
def test_minimum_detectable_effect_matches_r(index):
    ref = REFERENCE["planning"]["mde_cases"][index]
    design = Design(ref["k"], ref["J"], ref["m"], ref["rho"], ref["alpha"], ref["power"])
    close(design.design_effect, ref["design_effect"], **STAT)
    close(minimum_detectable_effect(design), ref["mde"], rel=1e-6)


def test_mde_without_clustering_equals_power_t_test():
    check = REFERENCE["planning"]["power_t_test_check"]
    design = Design(2, check["n"], 1, 0.0, check["sig.level"], check["power"])
    close(minimum_detectable_effect(design), check["delta_strict"], rel=1e-6)


@pytest.mark.parametrize("index", range(2))
def test_teams_needed_matches_r(index):
    ref = REFERENCE["planning"]["teams_needed"][index]
    result = teams_needed(ref["delta"], ref["k"], ref["m"], ref["rho"], ref["alpha"], ref["power"])
    assert result.teams_per_arm == ref["J"]
    close(result.power, ref["power_reached"], rel=1e-6)


def test_missing_values_are_dropped_per_outcome_and_counted():
    data = pd.read_csv(DATA / "scale_items.csv")
    groups = split_groups(data, "item_2", "arm", ("manager", "peer", "external"))
    assert groups.n_missing == 1 and groups.n == 119
    alpha, n = cronbach_alpha(data[["item_1", "item_2", "item_4"]])
    assert n == 117 and 0 < alpha < 1
