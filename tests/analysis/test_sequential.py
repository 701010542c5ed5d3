"""Group-sequential boundaries (issue 17 item 3) against rpact (``reference/sequential.R`` →
``sequential.json``): 15 Lan–DeMets O'Brien–Fleming-type designs (2, 3 and 4 looks, equal and
unequal information rates, two-sided alpha .05, one-sided .025 and .05, five with non-binding
O'Brien–Fleming-type beta spending, one with a look too early to stop).

Tolerances: critical values and futility bounds absolute 1e-6 (largest difference seen 1.1e-8;
the issue asked for 1e-4), cumulative alpha and beta absolute 1e-6 (seen 1e-8: rpact stops its
iteration at 1e-8, its last cumulative alpha is 0.04999999), one-sided stage levels relative 1e-6,
rpact's shift (the squared drift) relative 1e-6. An independent Monte Carlo check of 400,000
Brownian paths with corr(Z_i, Z_j) = √(t_i/t_j) keeps each error rate within 4 Monte Carlo SEs.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis._result import json_safe
from analysis.sequential import (
    ADVICE,
    Boundaries,
    boundaries,
    information_rate,
    interim_decision,
    spending_obf,
)

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "sequential.json").read_text())
DESIGNS = REFERENCE["designs"]


def design(spec) -> Boundaries:
    futility = "obf-beta" if "beta" in spec else None
    return boundaries(spec["information_rates"], spec["alpha"], spec["sided"], futility=futility,
                      beta=spec.get("beta", 0.2))


@pytest.fixture(params=sorted(DESIGNS))
def case(request):
    return DESIGNS[request.param]


def test_bounds_and_spending_match_rpact(case):
    b = design(case)
    assert b.information_rates == pytest.approx(case["information_rates"], abs=1e-15)
    expected = [math.inf if c is None else c for c in case["critical_values"]]
    for ours, theirs in zip(b.z_upper, expected, strict=True):
        assert ours == pytest.approx(theirs, abs=1e-6) if math.isfinite(theirs) else math.isinf(ours)
    assert b.cumulative_alpha == pytest.approx(case["alpha_spent"], abs=1e-6)
    assert sum(b.alpha_spent) == pytest.approx(b.cumulative_alpha[-1], abs=1e-15)
    assert b.cumulative_alpha[-1] == pytest.approx(case["alpha"], abs=1e-9)
    one_sided_levels = [p / case["sided"] for p in b.nominal_p]
    assert one_sided_levels == pytest.approx(case["stage_levels"], rel=1e-6, abs=1e-15)
    if "beta" in case:
        assert b.z_futility[:-1] == pytest.approx(case["futility_bounds"], abs=1e-6)
        assert b.z_futility[-1] == b.z_upper[-1]
        assert b.cumulative_beta == pytest.approx(case["beta_spent"], abs=1e-6)
        assert b.drift ** 2 == pytest.approx(case["shift"], rel=1e-6)
    else:
        assert b.z_futility is None and b.cumulative_beta is None and b.drift is None


def test_the_textbook_three_looks():
    """Lan–DeMets O'Brien–Fleming, three equal looks, two-sided 5 %: 3.71, 2.51, 1.99 (e.g. rpact,
    gsDesign; Jennison & Turnbull 2000, ch. 7). Naive looks at 1.96 each would spend about 10.7 %."""
    b = boundaries([1 / 3, 2 / 3, 1])
    assert [round(c, 2) for c in b.z_upper] == [3.71, 2.51, 1.99]
    naive = brownian_crossing((1 / 3, 2 / 3, 1), (1.96, 1.96, 1.96), sided=2, paths=200_000, seed=3)
    assert naive > 0.10


def test_spending_function_closed_form():
    t = np.array([0.0, 0.1, 0.25, 0.5, 0.8, 1.0, 1.3])
    one = spending_obf(t, 0.025, sided=1)
    positive = np.minimum(np.where(t > 0, t, 1), 1)
    # 2 − 2Φ(x) written as 2Φ̄(x), which keeps its digits in the tail
    expected = np.where(t > 0, 2 * stats.norm.sf(stats.norm.isf(0.0125) / np.sqrt(positive)), 0)
    assert one == pytest.approx(expected, rel=1e-12, abs=0)
    assert spending_obf(t, 0.05, sided=2) == pytest.approx(2 * one, rel=1e-15, abs=0)
    assert spending_obf(1.0, 0.05) == pytest.approx(0.05, abs=1e-15)
    assert np.all(np.diff(one) >= 0)
    assert isinstance(spending_obf(0.5, 0.05), float)


def brownian_crossing(rates, upper, sided, paths, seed, drift=0.0, lower=None):
    """Share of Brownian paths Z_k = S_k/√t_k that cross ``upper`` (|Z| when two-sided) at some look;
    with ``lower``, paths stop for futility below it first (binding, as the check of power needs)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(rates)
    steps = rng.standard_normal((paths, len(t))) * np.sqrt(np.diff(np.concatenate(([0], t))))
    z = (np.cumsum(steps, axis=1) + drift * t) / np.sqrt(t)
    hit = (np.abs(z) if sided == 2 else z) >= np.asarray(upper)
    if lower is not None:
        out = z < np.asarray(lower)
        first_hit = np.where(hit.any(1), hit.argmax(1), len(t))
        first_out = np.where(out.any(1), out.argmax(1), len(t))
        return float(np.mean(first_hit < first_out))
    return float(hit.any(axis=1).mean())


@pytest.mark.parametrize("rates,alpha,sided", [((1 / 3, 2 / 3, 1), 0.05, 2), ((0.2, 0.45, 0.7, 1), 0.05, 2),
                                               ((0.25, 0.4, 0.75, 1), 0.025, 1), ((0.5, 1), 0.05, 1)])
def test_error_rate_kept_over_brownian_paths(rates, alpha, sided):
    b = boundaries(rates, alpha, sided)
    paths = 400_000
    share = brownian_crossing(rates, b.z_upper, sided, paths, seed=11)
    assert abs(share - alpha) < 4 * math.sqrt(alpha * (1 - alpha) / paths)


def test_futility_design_has_its_power_and_keeps_alpha_when_ignored():
    rates = (0.25, 0.5, 0.8, 1)
    b = boundaries(rates, 0.025, 1, futility="obf-beta", beta=0.2)
    paths = 400_000
    power = brownian_crossing(rates, b.z_upper, 1, paths, seed=5, drift=b.drift, lower=b.z_futility)
    assert abs(power - 0.8) < 4 * math.sqrt(0.8 * 0.2 / paths)
    # non-binding: the efficacy bounds are those without futility, so ignoring futility keeps 2.5 %
    assert b.z_upper == boundaries(rates, 0.025, 1).z_upper
    assert b.cumulative_beta[-1] == pytest.approx(0.2, abs=1e-9)
    assert all(f <= c for f, c in zip(b.z_futility, b.z_upper, strict=True))


def test_an_early_look_cannot_stop():
    b = boundaries([0.01, 0.5, 1], 0.025, sided=1)
    assert math.isinf(b.z_upper[0]) and b.cumulative_alpha[0] == 0
    look = interim_decision(9.0, 1, b)
    assert look.advice == "continue" and "too early" in look.words
    assert json.dumps(json_safe(b.to_dict()), allow_nan=False)


THREE = boundaries([1 / 3, 2 / 3, 1])
ONE_SIDED = boundaries([1 / 3, 2 / 3, 1], 0.025, 1, futility="obf-beta")


@pytest.mark.parametrize("z,look,bounds,advice", [
    (1.8, 1, THREE, "continue"), (3.70, 1, THREE, "continue"), (3.72, 1, THREE, "stop: clear winner"),
    (-3.72, 1, THREE, "stop: clear winner"), (2.6, 2, THREE, "stop: clear winner"), (2.0, 3, THREE,
                                                                                    "stop: clear winner"),
    (-1.5, 3, THREE, "stop: futility"), (1.98, 3, THREE, "stop: futility"),
    (-0.3, 1, ONE_SIDED, "stop: futility"), (-0.2, 1, ONE_SIDED, "continue"), (1.0, 2, ONE_SIDED, "stop: futility"),
    (1.2, 2, ONE_SIDED, "continue"), (-3.0, 2, ONE_SIDED, "stop: futility"), (2.6, 2, ONE_SIDED,
                                                                             "stop: clear winner"),
])
def test_advice(z, look, bounds, advice):
    result = interim_decision(z, look, bounds)
    assert result.advice == advice and result.advice in ADVICE
    assert result.bound == bounds.z_upper[look - 1]
    assert result.look == look and result.looks == bounds.looks


def test_words_a_leader_reads():
    keep = interim_decision(1.8, 1, THREE)
    assert keep.words == ("Keep going: the difference so far (z = 1.8) is within the ±3.71 an early stop needs "
                          "at this first of three looks.")
    win = interim_decision(-3.9, 1, THREE, labels=("peer", "manager"))
    assert "Manager coaching is ahead of peer coaching" in win.words and "5 %" in win.words
    assert "z = −3.90" in win.words
    futile = interim_decision(-0.5, 1, ONE_SIDED)
    assert futile.words.startswith("Stop for futility") and "−0.24" in futile.words
    assert interim_decision(-0.04, 2, THREE).words.count("z = 0.0)") == 1
    assert interim_decision(1.5, 3, THREE).words.startswith("Stop: no clear winner")
    assert json.dumps(win.to_dict())


def test_information_rate():
    assert information_rate(40, 120) == pytest.approx(1 / 3)
    assert information_rate(0, 10) == 0
    assert information_rate(130, 120) == 1.0


@pytest.mark.parametrize("kwargs,message", [
    ({"information_rates": [0.5, 0.4, 1]}, "strictly increasing"),
    ({"information_rates": [0.5, 0.5, 1]}, "strictly increasing"),
    ({"information_rates": [0.3, 0.6]}, "last look must be at 1"),
    ({"information_rates": [0, 0.5, 1]}, "above 0"),
    ({"information_rates": [0.5, 1.2]}, "at most 1"),
    ({"information_rates": []}, "at least one look"),
    ({"information_rates": "0.5,1"}, "sequence of numbers"),
    ({"information_rates": 1.0}, "sequence of numbers"),
    ({"information_rates": [0.5, float("nan")]}, r"information_rates\[1\]: expected a finite number"),
    ({"information_rates": [0.5, "x"]}, r"information_rates\[1\]: expected a number"),
    ({"information_rates": [0.5, 1], "alpha": 0}, "alpha: expected a number between 0 and 0.5"),
    ({"information_rates": [0.5, 1], "alpha": 0.7}, "alpha"),
    ({"information_rates": [0.5, 1], "alpha": None}, "alpha: expected a number"),
    ({"information_rates": [0.5, 1], "sided": 3}, "sided: expected 1 or 2"),
    ({"information_rates": [0.5, 1], "sided": True}, "sided: expected 1 or 2"),
    ({"information_rates": [0.5, 1], "futility": "pocock"}, "futility: expected None or 'obf-beta'"),
    ({"information_rates": [0.5, 1], "futility": "obf-beta"}, "futility: .*one-sided; use sided=1"),
    ({"information_rates": [0.5, 1], "sided": 1, "futility": "obf-beta", "beta": 0}, "beta: expected"),
    ({"information_rates": [0.5, 1], "sided": 1, "futility": "obf-beta", "beta": 0.6}, "beta: expected"),
])
def test_bad_design_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        boundaries(**kwargs)


@pytest.mark.parametrize("args,message", [
    ((float("nan"), 1, THREE), "z: expected a finite number"),
    (("high", 1, THREE), "z: expected a number"),
    ((1.0, 0, THREE), "look: expected a whole number from 1 to 3"),
    ((1.0, 4, THREE), "look: expected a whole number from 1 to 3"),
    ((1.0, 1.5, THREE), "look: expected a whole number"),
    ((1.0, True, THREE), "look: expected a whole number"),
    ((1.0, 1, {"z_upper": [3]}), "bounds: expected the Boundaries"),
])
def test_bad_decision_input(args, message):
    with pytest.raises(ValueError, match=message):
        interim_decision(*args)


@pytest.mark.parametrize("labels", ["peer", ("peer",), ("peer", ""), ("peer", 3)])
def test_bad_labels(labels):
    with pytest.raises(ValueError, match="labels: expected two model names"):
        interim_decision(4.0, 1, THREE, labels=labels)


@pytest.mark.parametrize("args,message", [
    ((-1, 10), "n_now: expected 0 or more"), ((5, 0), "n_planned: expected more than 0"),
    ((None, 10), "n_now: expected a number"), ((5, float("inf")), "n_planned: expected a finite number"),
])
def test_bad_information_rate_input(args, message):
    with pytest.raises(ValueError, match=message):
        information_rate(*args)


@pytest.mark.parametrize("t", [-0.1, float("nan"), [0.5, -1]])
def test_bad_spending_input(t):
    with pytest.raises(ValueError, match="t: expected information rates of 0 or more"):
        spending_obf(t, 0.05)
