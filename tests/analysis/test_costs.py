"""Costs per rep and cost-effectiveness (``analysis.costs``) against base R on the same team resamples.

The reference is ``reference/costs.R`` run on ``data/costs.csv`` and the 200 resamples in
``data/costs_boot_index.csv`` (``data/make_costs.py`` draws them with ``bootstrap_teams``).
"""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.costs import (
    DEFAULT_SEED,
    CostInputs,
    bootstrap_teams,
    cost_effectiveness,
    cost_per_rep,
    parse_costs,
)
from tests.analysis.test_reference import DATA, HERE

REFERENCE = json.loads((HERE / "reference" / "costs.json").read_text())
LEVELS = ("manager", "peer", "external")
COSTS = "manager=hour:120,peer=hour:30,external=rep_month:300+hour:20"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(DATA / "costs.csv")


def run(data, adjust=True, interval="expanded", **kwargs):
    return cost_effectiveness(data, "quota", "arm", "team", LEVELS, parse_costs(COSTS), minutes="minutes",
                              n_boot=200, seed=DEFAULT_SEED, interval=interval,
                              baseline="baseline" if adjust else None, **kwargs)


def test_the_resamples_are_those_the_reference_used(data):
    index = pd.read_csv(DATA / "costs_boot_index.csv")
    teams = data.drop_duplicates("team")[["team", "arm"]]
    teams = teams.assign(code=teams["arm"].map({level: i for i, level in enumerate(LEVELS)}))
    teams = teams.sort_values(["code", "team"], kind="stable").reset_index(drop=True)
    drawn = teams["team"].to_numpy()[bootstrap_teams(teams["code"].to_numpy(), 200, DEFAULT_SEED)]
    assert (drawn.ravel() == index["team"].to_numpy()).all()


@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("interval", ["expanded", "percentile"])
def test_effects_costs_and_intervals_match_r_on_the_same_resamples(data, adjust, interval):
    ref = REFERENCE["adjusted" if adjust else "unadjusted"]
    result = run(data, adjust, interval)
    costs = {arm.level: arm.cost_per_rep_month for arm in result.arms}
    for level in LEVELS:
        assert costs[level] == pytest.approx(ref["cost"][level], rel=1e-12)
    for level in ("peer", "external"):
        c = result.comparison(level)
        assert c.effect == pytest.approx(ref["effect"][level], rel=1e-9)
        assert c.delta_cost == pytest.approx(ref["delta_cost"][level], rel=1e-9)
        assert (c.effect_low, c.effect_high) == pytest.approx(ref[interval][level], rel=1e-9)
    ratio = result.comparison("external")
    assert (ratio.low, ratio.high) == pytest.approx(ref[interval]["ratio_external"], rel=1e-9)
    assert ratio.points_per_1000 == pytest.approx(ref["effect"]["external"] / (ref["delta_cost"]["external"] / 1000))
    # Peer costs less than the manager: no ratio, a standing instead.
    assert result.comparison("peer").points_per_1000 is None and "cheaper" in result.comparison("peer").standing


def test_the_expanded_interval_uses_hesterbergs_probabilities():
    from analysis.costs import _quantiles
    values = np.arange(1000.0)
    low, high = _quantiles(values, 0.05, "expanded", 12)
    expected = np.quantile(values, REFERENCE["expanded_probs"])
    assert (low, high) == pytest.approx(tuple(expected), rel=1e-12)


def test_break_even_and_revenue_per_1000_in_words(data):
    result = run(data, revenue_per_point=250.0)
    c = result.comparison("external")
    delta = REFERENCE["adjusted"]["delta_cost"]["external"]
    assert c.break_even_points == pytest.approx(delta / 250.0)
    assert c.revenue_per_1000 == pytest.approx(c.points_per_1000 * 250.0)
    assert f"An outside coach pays for itself if it adds more than {delta / 250:.2g} quota points" in c.text \
        or "it costs more and adds less" in c.text
    assert "one quota point is worth $250 of revenue a rep a month" in result.assumption


def test_cost_per_rep_says_what_it_was_computed_from_and_unknown_is_not_zero():
    costs = {c.level: c for c in cost_per_rep(parse_costs(COSTS), {"manager": 30.0, "external": 90.0}, "$")}
    assert costs["manager"].per_rep_month == pytest.approx(60.0)
    assert costs["manager"].basis == "$120 an hour × 0.5 hours a rep a month of logged coaching"
    assert costs["external"].per_rep_month == pytest.approx(330.0)
    assert costs["peer"].per_rep_month is None and "cost is unknown" in costs["peer"].basis


def test_the_canonical_text_round_trips():
    inputs = parse_costs("Outside=rep_month:350+hour:20, manager=hour:85")
    assert inputs.text() == "manager=hour:85,external=rep_month:350+hour:20"
    assert parse_costs(inputs.text()) == inputs
    assert CostInputs.from_dict(inputs.to_dict()) == inputs


@pytest.mark.parametrize(("text", "words"), [
    ("", "nothing given"),
    ("coach=hour:3", "'coach' is not a coaching model"),
    ("manager=week:3", "'week:3' is not a cost"),
    ("manager=hour:-5", "an amount is zero or more"),
    ("manager=hour:lots", "'lots' is not an amount"),
    ("manager=hour:1,manager=hour:2", "manager is given twice"),
    ("manager=hour:1+hour:2", "hour is given twice"),
    ("manager", "write a model, '=' and its costs"),
    ("peer=hour:nan", "an amount is zero or more"),
])
def test_bad_costs_are_named(text, words):
    with pytest.raises(ValueError, match=words):
        parse_costs(text)


def test_bad_input_to_cost_effectiveness_is_named(data):
    with pytest.raises(ValueError, match="no column of coaching minutes"):
        cost_effectiveness(data, "quota", "arm", "team", LEVELS, parse_costs(COSTS), n_boot=200)
    with pytest.raises(ValueError, match="n_boot: at least 200"):
        cost_effectiveness(data, "quota", "arm", "team", LEVELS, parse_costs(COSTS), minutes="minutes", n_boot=10)
    one_team = data[(data["arm"] != "peer") | (data["team"] == "pee-00")]
    with pytest.raises(ValueError, match="'peer' of 'arm' has 1 team"):
        run(one_team)
    mixed = data.copy()
    mixed.loc[mixed.index[0], "arm"] = "peer"
    with pytest.raises(ValueError, match="holds reps of several models"):
        run(mixed)
