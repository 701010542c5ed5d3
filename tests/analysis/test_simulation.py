"""Simulation checks with analysis/simulate.py: error rates, planted differences, planted ICC.

The long runs carry the ``slow`` marker; ``.ci/run`` runs them once (``make test-slow``).
"""

import numpy as np
import pandas as pd
import pytest

from analysis.clustered import mixed_model
from analysis.comparison import compare_models, compare_outcome
from analysis.simulate import simulate_pilot

LEVELS = ("manager", "peer", "external")


def follow_up(pilot):
    return pilot.responses[pilot.responses["wave"] == "follow-up"]


def null_scores(rng, n=60):
    """Three arms of continuous scores with no true difference."""
    return pd.DataFrame({"arm": np.repeat(LEVELS, n), "score": rng.normal(3.3, 0.8, 3 * n)})


def test_planted_icc_is_recovered_by_the_mixed_model():
    pilot = simulate_pilot(n_teams=240, icc=0.2, survey_effects={}, seed=7)
    fit = mixed_model(follow_up(pilot), "candour", "coaching_model", "team", levels=LEVELS)
    assert fit.converged
    # 240 teams of about 7 responders: the SE of the ICC estimate is about 0.02.
    assert fit.icc == pytest.approx(0.2, abs=0.06)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_difference_is_named_and_nothing_else(seed):
    # 90 teams give about 99 % power for the planted 0.5-point differences.
    pilot = simulate_pilot(n_teams=90, seed=seed)
    outcomes = ["candour", "expertise", "coaching", "mentoring"]
    result = compare_models(follow_up(pilot), outcomes, "coaching_model", LEVELS, cluster="team",
                            primary="candour")
    findings = {f.outcome: f for f in result.verdict.findings}
    assert findings["candour"].best == "peer"
    assert findings["expertise"].best == "external"
    for null in ("coaching", "mentoring"):
        assert not findings[null].differences


@pytest.mark.slow
def test_false_positive_rate_of_the_headline_test_is_about_five_percent():
    """2,000 null comparisons: the SE of a 5 % rate is 0.5 points, so 8 % would stand out clearly."""
    rng = np.random.default_rng(2026)
    runs = 2000
    rejections = sum(compare_outcome(null_scores(rng), "score", "arm", LEVELS).p < 0.05 for _ in range(runs))
    assert 0.035 <= rejections / runs <= 0.065


@pytest.mark.slow
def test_false_positive_rate_with_teams_stays_near_five_percent_with_the_mixed_model():
    """1,000 null pilots of 27 teams; Welch ignoring teams would reject far more often."""
    runs = 1000
    mixed, naive = 0, 0
    for seed in range(runs):
        data = follow_up(simulate_pilot(n_teams=27, icc=0.15, survey_effects={}, performance_effects={},
                                        seed=10_000 + seed))
        result = compare_outcome(data, "satisfaction", "coaching_model", LEVELS, cluster="team")
        assert result.chosen == "mixed_model"
        mixed += result.p < 0.05
        naive += result.welch.p < 0.05
    assert 0.03 <= mixed / runs <= 0.075  # SE 0.7 points
    assert naive / runs > 0.08


@pytest.mark.slow
def test_with_a_planted_difference_the_verdict_names_the_right_model():
    """Over 40 simulated pilots the planted winner is named in nearly all, and no other model ever.

    "Wrong" means naming another model best, or peer coaching worse than anything; a false
    positive between the two equal models (manager vs external) is allowed at the 5 % rate.
    """
    right, wrong = 0, 0
    for seed in range(40):
        pilot = simulate_pilot(n_teams=45, survey_effects={"candour": {"peer": 0.6}}, seed=500 + seed)
        result = compare_models(follow_up(pilot), ["candour"], "coaching_model", LEVELS, cluster="team")
        finding = result.verdict.findings[0]
        right += finding.best == "peer"
        wrong += finding.best not in (None, "peer") or any(d.lower == "peer" for d in finding.differences)
    assert right >= 34 and wrong == 0


def test_an_unconverged_mixed_model_is_never_reported_as_fine(monkeypatch):
    """With an impossible flatness requirement no optimiser can succeed: the fit must say so."""
    import analysis.clustered as clustered

    monkeypatch.setattr(clustered, "FLATNESS", 0.0)
    data = follow_up(simulate_pilot(n_teams=30, icc=0.3, seed=4))
    result = compare_outcome(data, "candour", "coaching_model", LEVELS, cluster="team")
    assert result.mixed_model.converged is False
    assert result.chosen == "team_means"  # the fallback that still respects teams
    assert any("did not converge" in w for w in result.warnings)


def test_without_a_usable_team_analysis_no_model_is_named(monkeypatch):
    """Teams that mix models and a mixed model that fails: the p-values are unsafe, so nothing is named."""
    import analysis.clustered as clustered

    monkeypatch.setattr(clustered, "FLATNESS", 0.0)
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"team": np.repeat(np.arange(12), 30), "arm": np.tile(LEVELS, 120)})
    data["score"] = 3 + 0.8 * (data["arm"] == "peer") + rng.normal(0, 0.5, 12)[data["team"]] + rng.normal(0, 0.5, 360)
    result = compare_models(data, ["score"], "arm", LEVELS, cluster="team")
    outcome = result.outcome("score")
    assert outcome.trustworthy is False and outcome.p < 0.05
    assert result.verdict.findings[0].differences == () and result.verdict.findings[0].best is None
    assert "no model is named" in result.verdict.findings[0].text
