"""``analyze --margin --prior-scale``: the JSON keys of issue 16 and refusals with exit status 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "analysis" / "examples" / "coaching_pilot.csv"
KEYS = ("cost_effectiveness", "non_inferiority", "equivalence", "probability_best", "expected_loss", "fidelity")


def analyze(*flags):
    return subprocess.run([sys.executable, "-m", "analysis", str(EXAMPLE), "--group", "model", "--cluster", "team",
                           "--outcome", "satisfaction", "--outcome", "candour", *flags],
                          capture_output=True, text=True, timeout=120)


def test_the_json_has_every_key_and_tests_the_declared_margin_on_the_primary_outcome():
    done = analyze("--margin", "0.5", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert all(key in result for key in KEYS)
    tests = result["non_inferiority"]["satisfaction"]["tests"]
    assert result["non_inferiority"]["satisfaction"]["margin"] == 0.5
    assert {(t["level"], t["vs"]) for t in tests} == {(a, b) for a in ("manager", "peer", "external")
                                                       for b in ("manager", "peer", "external") if a != b}
    assert all(t["noninferior"] == (t["p"] < 0.05) for t in tests)
    assert len(result["equivalence"]["satisfaction"]["tests"]) == 3  # each unordered pair once
    chances = result["probability_best"]["satisfaction"]["chances"]
    assert sum(chances.values()) == pytest.approx(1, abs=1e-9)
    assert result["probability_best"]["satisfaction"]["prior_scale"] == 0.2
    assert set(result["expected_loss"]["satisfaction"]["loss"]) == set(chances)
    assert "candour" not in result["probability_best"]  # a secondary outcome without a margin: not read


def test_a_flat_prior_and_margins_by_outcome():
    done = analyze("--margin", "satisfaction=0.5,candour=0.3", "--prior-scale", "flat", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["non_inferiority"]) == {"satisfaction", "candour"}
    best = result["probability_best"]["satisfaction"]
    assert best["prior_sd"] is None and best["chances"] == best["flat"] and best["prior_moved"] == 0


@pytest.mark.parametrize(("flags", "message"), [
    (("--margin", "x"), "--margin: 'x' is not a number"),
    (("--margin", "-1"), "must be a positive number"),
    (("--margin", "revenue=3"), "'revenue' is not an outcome compared here"),
    (("--margin", "candour=1,candour=2"), "candour is given twice"),
    (("--prior-scale", "5"), "outside 0.01 to 2 SDs"),
    (("--prior-scale", "1e-320"), "outside 0.01 to 2 SDs"),
    (("--prior-scale", "wide"), "expected a number of SDs"),
])
def test_bad_flags_are_named_and_exit_2(flags, message):
    done = analyze(*flags)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


COSTS_FILE = Path(__file__).resolve().parent / "data" / "costs.csv"


def analyze_costs(*flags):
    return subprocess.run([sys.executable, "-m", "analysis", str(COSTS_FILE), "--group", "arm", "--outcome", "quota",
                           "--levels", "manager,peer,external", *flags], capture_output=True, text=True, timeout=120)


def test_costs_give_the_cost_effectiveness_of_the_primary_outcome_with_a_team_bootstrap():
    import pandas as pd

    from analysis.costs import cost_effectiveness, parse_costs
    costs = "manager=hour:120,peer=hour:30,external=rep_month:300+hour:20"
    done = analyze_costs("--cluster", "team", "--baseline", "baseline", "--costs", costs, "--minutes", "minutes",
                         "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["cost_effectiveness"]
    direct = cost_effectiveness(pd.read_csv(COSTS_FILE), "quota", "arm", "team", ("manager", "peer", "external"),
                                parse_costs(costs), minutes="minutes", baseline="baseline", unit="points")
    for mine, theirs in zip(result["comparisons"], direct.comparisons, strict=True):
        assert mine["effect_low"] == pytest.approx(theirs.effect_low, rel=1e-12)
        assert mine["text"] == theirs.text
    text = analyze_costs("--cluster", "team", "--costs", costs, "--minutes", "minutes")
    assert "Cost: Peer coaching against manager coaching" in text.stdout


@pytest.mark.parametrize(("flags", "message"), [
    (("--costs", "manager=hour:10"), "needs the team column (--cluster)"),
    (("--cluster", "team", "--costs", "manager=week:1"), "'week:1' is not a cost"),
    (("--cluster", "team", "--costs", "manager=hour:10"), "no column of coaching minutes"),
    (("--cluster", "team", "--costs", "manager=hour:10", "--minutes", "mins"), "--minutes: no column 'mins'"),
])
def test_bad_cost_flags_are_named_and_exit_2(flags, message):
    done = analyze_costs(*flags)
    assert done.returncode == 2, done.stdout[:300]
    assert message in done.stderr and "Traceback" not in done.stderr
