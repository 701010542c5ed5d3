"""The decision rule (``analysis.decision``): each branch on data with a planted answer.

Every case simulates a cluster-randomised pilot (teams of reps, three models) with the differences
named in it, runs the real comparison (mixed models, multiplicity correction, verdict) and checks
what the rule recommends, how sure it says it is, and that the headline speaks a VP's words.
"""

import re

import numpy as np
import pandas as pd
import pytest

from analysis.comparison import compare_models
from analysis.decision import LIKELY, TOO_CLOSE, TOO_EARLY, VERY_LIKELY, decide

MODELS = ("manager", "peer", "external")
STATISTICS_WORDS = re.compile(r"\bp\s*[=<>]|\bg\s*=|Holm|mixed model|ANOVA|Welch|Kruskal|ANCOVA|α", re.I)


def pilot(effects: dict[str, dict[str, float]], teams_per_model=12, reps=8, seed=1, sd=1.0, icc=0.05):
    """Rep-level data: each outcome = 3 + the model's planted effect + team effect + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    outcomes = sorted({o for e in effects.values() for o in e} | {"satisfaction"})
    for model in MODELS:
        for t in range(teams_per_model):
            team_effect = {o: rng.normal(0, sd * np.sqrt(icc)) for o in outcomes}
            for _ in range(reps):
                row = {"coaching_model": model, "team": f"{model}-{t}"}
                for o in outcomes:
                    row[o] = 3 + effects.get(model, {}).get(o, 0.0) + team_effect[o] + rng.normal(0, sd * np.sqrt(
                        1 - icc))
                rows.append(row)
    return pd.DataFrame(rows), outcomes


def run(effects, primary="satisfaction", **kwargs):
    data, outcomes = pilot(effects, **kwargs)
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary=primary)
    return decide(analysis.outcomes, analysis.verdict.findings, MODELS, primary)


def test_performance_decides_when_the_primary_outcome_does_not_differ():
    decision = run({"manager": {"quota_attainment": 1.0, "accountability": 0.8}, "peer": {"candour": 0.8}})
    assert decision.recommendation == "manager" and decision.decided_by == "performance"
    assert decision.certainty == VERY_LIKELY
    assert decision.headline.startswith("Choose manager coaching: its reps reached")
    assert "quota attainment" in decision.headline and "accountability" in decision.headline
    assert any(t.startswith("Peer coaching leads on candour") and "candid deal reviews" in t
               for t in decision.trade_offs), decision.trade_offs
    assert any("did not differ clearly" in r and "primary" in r for r in decision.reasons), decision.reasons
    assert {e.outcome for e in decision.evidence} == {"quota_attainment"}
    assert all(e.higher == "manager" and e.ci_low > 0 for e in decision.evidence)


def test_the_primary_outcome_decides_first():
    decision = run({"peer": {"satisfaction": 0.9}})
    assert decision.recommendation == "peer" and decision.decided_by == "primary"


def test_a_leader_that_trails_elsewhere_on_what_decides_means_not_yet():
    decision = run({"peer": {"satisfaction": 0.9}, "manager": {"quota_attainment": 1.0}})
    assert decision.recommendation is None and decision.decided_by == "conflict"
    assert decision.certainty == TOO_CLOSE
    assert decision.headline.startswith("No change is justified yet: the results pull two ways")


def test_nothing_differs_means_no_change_with_what_would_settle_it():
    decision = run({}, seed=3)
    assert decision.recommendation is None and decision.decided_by == "none"
    assert decision.certainty == TOO_CLOSE
    assert decision.headline == "No change is justified yet: no coaching model did clearly better on " \
                                "satisfaction."
    assert decision.next_steps, "an open question gets a next step"
    assert all("teams per model" in s or "treat them as equal" in s for s in decision.next_steps)


def test_the_responsibilities_decide_only_when_nothing_else_does_and_never_very_likely():
    decision = run({"manager": {"accountability": 1.0, "onboarding": 1.0}})
    assert decision.recommendation == "manager" and decision.decided_by == "responsibilities"
    assert decision.certainty == LIKELY
    one = run({"manager": {"accountability": 1.0}})
    assert one.recommendation is None, "one responsibility alone is not enough"


def test_a_claim_of_a_camp_never_decides():
    decision = run({"peer": {"candour": 1.2, "expertise": 1.2}})
    assert decision.recommendation is None


def test_a_wave_before_the_models_started_recommends_nothing():
    data, outcomes = pilot({"manager": {"satisfaction": 1.0}})
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary="satisfaction")
    decision = decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction", pre_intervention=True,
                      next_wave="the “follow-up” wave")
    assert decision.recommendation is None and decision.certainty == TOO_EARLY
    assert "before the coaching models started" in decision.headline
    assert decision.next_steps == ("Read the “follow-up” wave: it shows the models at work.",)


def test_few_teams_say_likely_not_very_likely():
    # Five teams per model: the fewest with which the randomisation test on team means, the headline
    # below six teams, can name a pair of three models (Holm: 3 × 2 / C(10, 5) = 0.024 < 0.05).
    decision = run({"manager": {"quota_attainment": 1.5}}, teams_per_model=5, reps=12)
    assert decision.recommendation == "manager"
    assert decision.certainty == LIKELY
    assert any("Confirm it with another wave" in s for s in decision.next_steps)


@pytest.mark.parametrize("effects", [
    {"manager": {"quota_attainment": 1.0}}, {"peer": {"satisfaction": 0.9}}, {},
    {"peer": {"satisfaction": 0.9}, "manager": {"quota_attainment": 1.0}},
    {"manager": {"accountability": 1.0, "onboarding": 1.0}, "external": {"availability": 0.9}}])
def test_the_headline_and_trade_offs_speak_no_statistics(effects):
    decision = run(effects)
    for text in (decision.headline, *decision.trade_offs, *decision.next_steps):
        assert not STATISTICS_WORDS.search(text), text
