"""The decision reads costs, margins and chances (issue 16): "no worse, and cheaper", consistent certainty.

Each case runs the real comparison and ``analysis.worth`` on a simulated pilot with a planted answer.
"""

import pytest

from analysis.comparison import compare_models
from analysis.decision import LIKELY, VERY_LIKELY, WorthFacts, decide
from analysis.worth import outcome_worth
from tests.analysis.test_decision import MODELS, STATISTICS_WORDS, pilot

COSTS = {"manager": 160.0, "peer": 95.0, "external": 300.0}


def facts(analysis, data, margins, costs=COSTS):
    worths = [outcome_worth(o, data, "coaching_model", "team", margin=margins.get(o.outcome))
              for o in analysis.outcomes if o.outcome in ("satisfaction", "quota_attainment")]
    return WorthFacts(
        chances={w.outcome: {c.level: c.probability_best for c in w.bayes.chances} for w in worths},
        flat={w.outcome: {c.level: c.probability_best for c in w.bayes.flat} for w in worths},
        no_worse={w.outcome: {(t.level, t.vs): t.words() for t in w.margin_tests if t.noninferior}
                  for w in worths if w.margin_tests},
        margins={w.outcome: f"{w.margin:g} points" for w in worths if w.margin_tests},
        costs=costs, cost_words={m: "an hour of selling time" for m in costs}, currency="$")


def run(effects, margins, costs=COSTS, **kwargs):
    data, outcomes = pilot(effects, **kwargs)
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary="satisfaction")
    worth = facts(analysis, data, margins, costs)
    return decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction", worth=worth), worth


def test_when_nothing_differs_the_cheapest_model_no_worse_than_the_others_is_chosen():
    decision, worth = run({}, {"satisfaction": 0.5, "quota_attainment": 0.5}, teams_per_model=15, reps=10, sd=0.6,
                          seed=3)
    assert worth.no_worse["satisfaction"], "the planted pilot should pass its margin"
    assert decision.recommendation == "peer" and decision.decided_by == "non-inferiority"
    assert decision.certainty == LIKELY
    assert decision.headline.startswith("Choose peer coaching: no model did clearly better")
    assert "costs $65 less per rep a month" in decision.headline
    assert not STATISTICS_WORDS.search(decision.headline)


def test_without_a_margin_on_the_primary_outcome_nothing_is_chosen_for_being_cheap():
    decision, _ = run({}, {"quota_attainment": 0.5}, teams_per_model=15, reps=10, sd=0.6, seed=3)
    assert decision.recommendation is None and decision.decided_by == "none"


def test_without_costs_for_every_model_no_worse_alone_chooses_nothing():
    decision, _ = run({}, {"satisfaction": 0.5}, costs={"peer": 95.0}, teams_per_model=15, reps=10, sd=0.6, seed=3)
    assert decision.recommendation is None


def test_a_clear_winner_says_its_cost_and_its_chance_of_being_best():
    decision, worth = run({"manager": {"satisfaction": 1.0}}, {"satisfaction": 0.3})
    assert decision.recommendation == "manager"
    assert decision.trade_offs[0] == ("Manager coaching costs about $160 per rep a month in managers' selling time "
                                      "(an hour of selling time).")
    [line] = [r for r in decision.reasons if r.startswith("The chance that manager coaching is the best")]
    assert "over 99 % on satisfaction" in line


def test_very_likely_needs_the_chance_of_being_best_too():
    data, outcomes = pilot({"manager": {"satisfaction": 1.0}})
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary="satisfaction")
    sure = decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction",
                  worth=WorthFacts(chances={"satisfaction": {"manager": 0.999}}))
    assert sure.certainty == VERY_LIKELY
    # The same p-values with a chance of being best below 95 % (a prior that doubts them): "likely".
    doubted = decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction",
                     worth=WorthFacts(chances={"satisfaction": {"manager": 0.90}}))
    assert doubted.certainty == LIKELY


@pytest.mark.parametrize("cheaper_no_worse", [True, False])
def test_a_cheaper_model_no_worse_than_the_winner_is_named_as_a_trade_off(cheaper_no_worse):
    data, outcomes = pilot({"manager": {"satisfaction": 0.6}}, teams_per_model=15, reps=10, sd=0.6)
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary="satisfaction")
    no_worse = {"satisfaction": {("peer", "manager"): "Peer coaching is no worse"}} if cheaper_no_worse else {}
    decision = decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction",
                      worth=WorthFacts(no_worse=no_worse, margins={"satisfaction": "0.8 points"}, costs=COSTS,
                                       currency="$"))
    assert decision.recommendation == "manager"
    line = ("Peer coaching is no worse than manager coaching by more than 0.8 points of satisfaction and costs $65 "
            "less per rep a month: the cheaper choice if that gain is not worth the difference.")
    assert (line in decision.trade_offs) is cheaper_no_worse


def test_a_cheap_model_that_trails_on_another_deciding_outcome_is_not_chosen_for_being_no_worse():
    """Adversary: the margin covers satisfaction only; peer is cheapest and no worse there, but clearly
    behind on quota attainment. "No worse, and cheaper" must not recommend it."""
    data, outcomes = pilot({"manager": {"quota_attainment": 0.9}, "external": {"quota_attainment": 0.9}},
                           teams_per_model=15, reps=10, sd=0.6, seed=3)
    analysis = compare_models(data, outcomes, "coaching_model", MODELS, cluster="team", primary="satisfaction")
    found = {f.outcome: f for f in analysis.verdict.findings}
    assert any(d.lower == "peer" for d in found["quota_attainment"].differences)
    worth = facts(analysis, data, {"satisfaction": 0.5})
    decision = decide(analysis.outcomes, analysis.verdict.findings, MODELS, "satisfaction", worth=worth)
    assert decision.recommendation != "peer"
