"""Margins and chances read off a comparison (``analysis.worth``): the same numbers as the checked modules."""

import numpy as np
import pandas as pd
import pytest

from analysis.bayes import prior_sd_from, probability_best_from_model
from analysis.comparison import compare_models
from analysis.margins import margin_tests
from analysis.worth import default_prior_scale, outcome_worth, worth_json
from tests.analysis.test_reference import DATA

LEVELS = ["manager", "peer", "external"]


@pytest.fixture(scope="module")
def clustered():
    data = pd.read_csv(DATA / "clustered.csv")
    analysis = compare_models(data, ["outcome"], "arm", LEVELS, cluster="team", baseline="baseline")
    return data, analysis.outcomes[0]


def test_margins_read_off_the_comparison_are_those_of_margin_tests_on_the_data(clustered):
    data, comparison = clustered
    worth = outcome_worth(comparison, data, "arm", "team", "baseline", margin=0.3)
    direct = margin_tests(data, "outcome", "arm", "team", tuple(LEVELS), 0.3, baseline="baseline")
    assert [(t.level, t.vs) for t in worth.margin_tests] == [(t.level, t.vs) for t in direct]
    for mine, theirs in zip(worth.margin_tests, direct, strict=True):
        assert mine.method == "mixed_model"
        assert mine.bound == pytest.approx(theirs.bound, rel=1e-9)
        assert mine.p_noninferiority == pytest.approx(theirs.p_noninferiority, rel=1e-9)
        assert mine.noninferior is theirs.noninferior
        assert mine.p_equivalence == pytest.approx(theirs.p_equivalence, rel=1e-9)


def test_no_margin_declared_means_no_margin_test_and_no_json_entry(clustered):
    data, comparison = clustered
    worth = outcome_worth(comparison, data, "arm", "team", "baseline")
    assert worth.margin_tests == ()
    keys = worth_json([worth])
    assert keys["non_inferiority"] == {} and keys["equivalence"] == {}
    assert set(keys["probability_best"]["outcome"]["chances"]) == set(LEVELS)


def test_the_chance_of_being_best_uses_the_mixed_model_and_the_default_survey_prior(clustered):
    data, comparison = clustered
    worth = outcome_worth(comparison, data, "arm", "team", "baseline")
    fit = comparison.mixed_model
    sd = float(np.sqrt(fit.var_cluster + fit.var_residual))
    expected = probability_best_from_model(fit, prior_sd_from(default_prior_scale("outcome"), sd))
    assert worth.prior_scale == 0.2
    for level in LEVELS:
        assert worth.chance(level) == pytest.approx(expected.chance(level).probability_best, abs=1e-12)
    assert sum(worth.chance(level) for level in LEVELS) == pytest.approx(1.0, abs=1e-9)


def test_a_prior_scale_of_zero_is_the_flat_prior(clustered):
    data, comparison = clustered
    worth = outcome_worth(comparison, data, "arm", "team", "baseline", prior_scale=0)
    assert worth.bayes.prior_sd is None and worth.bayes.prior_moved == 0
    assert "No prior" in worth.prior_words()


def test_with_few_teams_the_chances_come_from_team_means_and_agree_with_a_monte_carlo_of_that_posterior():
    rng = np.random.default_rng(20261202)
    rows = []
    for arm, shift in zip(LEVELS, (0.5, 0.0, 0.1), strict=True):
        for t in range(4):  # four teams a model: fewer than six, so no mixed model carries the test
            team_effect = rng.normal(0, 0.3)
            rows += [{"team": f"{arm}-{t}", "arm": arm, "y": 3 + shift + team_effect + rng.normal(0, 1)}
                     for _ in range(8)]
    data = pd.DataFrame(rows)
    comparison = compare_models(data, ["y"], "arm", LEVELS, cluster="team").outcomes[0]
    worth = outcome_worth(comparison, data, "arm", "team", prior_scale=0, margin=1.0)
    assert worth.bayes is not None
    assert worth.margin_tests and worth.margin_tests[0].method == "team_means"
    # The stated posterior under a flat prior: each arm's mean of team means, variance s²/teams.
    means = data.groupby(["arm", "team"])["y"].mean()
    draws = np.column_stack([rng.normal(means[arm].mean(), means[arm].std(ddof=1) / 2, 400_000) for arm in LEVELS])
    best = np.bincount(draws.argmax(axis=1), minlength=3) / len(draws)
    for level, p in zip(LEVELS, best, strict=True):
        assert worth.chance(level) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / len(draws)) + 1e-4)
