"""The randomisation test on team means (``analysis.randomisation``): the study's procedure as one pure
function, its distribution enumerated or drawn, and its p-values against scipy, base R and the null."""

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.multiplicity import holm
from analysis.randomisation import (
    DRAWS,
    SEED,
    RandomisationPlan,
    _blocks,
    _enumerate,
    _procedure_draws,
    _sample,
    permuted_blocks,
    randomisation_test,
    team_values,
)

HERE = Path(__file__).parent


# --- the procedure and its distribution ---------------------------------------------------------------


class Scripted:
    """A stand-in for numpy's generator that hands out given permutations, to enumerate the procedure."""

    def __init__(self, permutations):
        self.permutations = iter(permutations)

    def permutation(self, n):
        return np.array(next(self.permutations))


def by_brute_force(plan, moving, arms):
    """The distribution of the moving teams' arms under the plan, by running ``permuted_blocks`` on every
    sequence of block permutations (each equally likely), kept where every other unit has its stored arm."""
    size = len(plan.block)
    blocks = sum(-(-len(members) // size) for members in plan.strata.values())
    tally: Counter = Counter()
    for sequence in itertools.product(itertools.permutations(range(size)), repeat=blocks):
        drawn = {unit: arm for _, unit, arm in permuted_blocks(plan.strata, plan.block, Scripted(sequence))}
        if all(drawn[u] == plan.assignment[u] for u in plan.assignment if u not in moving):
            if all(drawn[u] in arms for u in moving):
                tally[tuple(drawn[u] for u in moving)] += 1
    total = sum(tally.values())
    return {key: count / total for key, count in tally.items()}


def by_enumeration(plan, moving, arms):
    position = {u: i for i, u in enumerate(moving)}
    codes, weights = _enumerate(_blocks(plan, position, arms), len(moving))
    assert np.array_equal(weights, np.round(weights))  # whole numbers: exact sums
    result: Counter = Counter()
    for row, p in zip(codes, weights / weights.sum(), strict=True):
        result[tuple(arms[c] for c in row)] += p
    return dict(result)


# Two strata whose last blocks are cut off (4 = 3 + 1 and 2 units), a 2:1 block: unequal probabilities.
STRATIFIED = RandomisationPlan(
    strata={"north": ("n1", "n2", "n3", "n4"), "south": ("s1", "s2")}, block=("a", "a", "b"), seed=7,
    assignment={"n1": "a", "n2": "b", "n3": "a", "n4": "b", "s1": "a", "s2": "a"})
THREE_ARMS = RandomisationPlan(
    strata={"all": ("t1", "t2", "t3", "t4", "t5")}, block=("a", "b", "c"), seed=3,
    assignment={"t1": "c", "t2": "a", "t3": "b", "t4": "b", "t5": "a"})


@pytest.mark.parametrize("plan, moving, arms", [
    (STRATIFIED, ("n1", "n2", "n3", "n4", "s1", "s2"), ("a", "b")),  # everything moves: the procedure itself
    (STRATIFIED, ("n1", "n3", "n4", "s2"), ("a", "b")),  # teams without data stay where they were
    (THREE_ARMS, ("t1", "t2", "t3", "t4", "t5"), ("a", "b", "c")),
    (THREE_ARMS, ("t2", "t3", "t4", "t5"), ("a", "b")),  # a pair: the third arm's team stays
    (THREE_ARMS, ("t1", "t3", "t4"), ("b", "c")),
])
def test_the_enumerated_distribution_is_that_of_the_procedure_itself(plan, moving, arms):
    expected = by_brute_force(plan, moving, arms)
    found = by_enumeration(plan, moving, arms)
    assert set(found) == set(expected)
    for key, p in expected.items():
        assert found[key] == pytest.approx(p, abs=1e-12), key
    assert len(found) == math.prod(b.count for b in _blocks(plan, {u: i for i, u in enumerate(moving)}, arms))
    assert len(set(found.values())) > 1 or plan is THREE_ARMS  # the cut-off blocks make them unequal


def test_the_procedure_draws_and_the_block_sampler_follow_the_enumerated_distribution():
    plan, moving, arms = STRATIFIED, ("n1", "n2", "n3", "n4", "s1", "s2"), ("a", "b")
    exact = by_enumeration(plan, moving, arms)
    position = {u: i for i, u in enumerate(moving)}
    code = {a: i for i, a in enumerate(arms)}
    draws = 20_000
    for codes in (_procedure_draws(plan, position, code, np.random.default_rng(1), draws),
                  _sample(_blocks(plan, position, arms), len(moving), np.random.default_rng(2), draws)):
        counts = Counter(tuple(arms[c] for c in row) for row in codes)
        for key, p in exact.items():  # within 4.5 binomial SEs (all keys: about 1 in 10,000 to fail by chance)
            assert abs(counts[key] / draws - p) < 4.5 * np.sqrt(p * (1 - p) / draws), key


def test_a_stored_assignment_the_procedure_cannot_make_falls_back_to_complete_randomisation_and_says_so():
    impossible = RandomisationPlan(strata={"all": ("t1", "t2", "t3", "t4")}, block=("a", "b"), seed=1,
                                   assignment={"t1": "a", "t2": "a", "t3": "b", "t4": "b"})  # first block a, a
    test = randomisation_test([1.0, 2.0, 3.0, 4.0], ["a", "a", "b", "b"], ("a", "b"), ["t1", "t2", "t3", "t4"],
                              impossible)
    assert test.method == "complete randomisation" and test.n_assignments == 6
    assert "is not one the study's permuted blocks of 2" in test.procedure


# --- the test against scipy and against its own definition ------------------------------------------------


def f_statistic(*groups, axis=-1):
    """One-way ANOVA F, vectorised for scipy.stats.permutation_test."""
    n, k = sum(g.shape[axis] for g in groups), len(groups)
    total = np.concatenate(groups, axis=axis)
    grand = total.mean(axis=axis, keepdims=True)
    between = sum(g.shape[axis] * (g.mean(axis=axis) - grand.squeeze(axis)) ** 2 for g in groups)
    within = ((total - grand) ** 2).sum(axis=axis) - between
    return (between / (k - 1)) / (within / (n - k))


def scipy_test(groups, statistic, n_resamples=np.inf):
    return stats.permutation_test(groups, statistic, permutation_type="independent", vectorized=True,
                                  n_resamples=n_resamples, alternative="greater", rng=np.random.default_rng(1))


def test_complete_randomisation_gives_scipys_permutation_test_p_values():
    rng = np.random.default_rng(5)
    arms = ["a"] * 2 + ["b"] * 3 + ["c"] * 3
    values = rng.normal(size=8) + np.repeat([0.0, 0.8, 1.6], [2, 3, 3])
    ours = randomisation_test(values, arms, ("a", "b", "c"))
    assert ours.method == "complete randomisation" and ours.exact and ours.n_assignments == 560
    groups = [values[np.array(arms) == a] for a in "abc"]
    library = scipy_test(groups, f_statistic)
    assert ours.p == pytest.approx(library.pvalue, abs=1e-12)
    assert ours.statistic == pytest.approx(library.statistic, rel=1e-12)
    assert ours.statistic == pytest.approx(stats.f_oneway(*groups).statistic, rel=1e-12)
    for pair, (i, j) in zip(ours.pairs, [(0, 1), (0, 2), (1, 2)], strict=True):
        theirs = scipy_test((groups[i], groups[j]), lambda a, b, axis=-1: np.abs(b.mean(axis) - a.mean(axis)))
        assert pair.p == pytest.approx(theirs.pvalue, abs=1e-12)
        assert pair.n_assignments == len(theirs.null_distribution)
    # Monte Carlo on both sides (different draws): the same p within sampling error.
    arms = ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    values = rng.normal(size=15) + np.repeat([0.0, 0.3, 0.6], 5)
    drawn = randomisation_test(values, arms, ("a", "b", "c"))
    assert not drawn.exact and drawn.n_assignments == 756_756
    library = scipy_test([values[np.array(arms) == a] for a in "abc"], f_statistic, n_resamples=DRAWS)
    assert abs(drawn.p - library.pvalue) < 4 * np.sqrt(2 * library.pvalue * (1 - library.pvalue) / DRAWS)


def test_above_the_limit_the_p_value_is_monte_carlo_seeded_and_close_to_the_exact_one():
    rng = np.random.default_rng(6)
    arms = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    values = rng.normal(size=9) + np.repeat([0.0, 0.6, 1.2], 3)
    exact = randomisation_test(values, arms, ("a", "b", "c"))
    assert exact.exact and exact.n_assignments == 1680
    drawn = randomisation_test(values, arms, ("a", "b", "c"), limit=100, draws=1000)
    again = randomisation_test(values, arms, ("a", "b", "c"), limit=100, draws=1000)
    assert not drawn.exact and drawn.draws == 1000 and drawn.seed == SEED and drawn.p == again.p
    assert drawn.p * 1001 == pytest.approx(round(drawn.p * 1001), abs=1e-9)  # (1 + #≥) / (1 + draws)
    assert abs(drawn.p - exact.p) < 4 * np.sqrt(exact.p * (1 - exact.p) / 1000) + 1 / 1000
    assert randomisation_test(values, arms, ("a", "b", "c"), limit=100).exact  # 1,680 ≤ 5,000 draws: enumerated
    units = [f"t{i}" for i in range(9)]
    plan = RandomisationPlan(strata={"all": tuple(units)}, block=("a", "b", "c"), seed=1,
                             assignment=dict(zip(units, ["a", "b", "c", "b", "c", "a", "c", "a", "b"])))
    arms = [plan.assignment[u] for u in units]
    blocks_exact = randomisation_test(values, arms, ("a", "b", "c"), units, plan)
    blocks_drawn = randomisation_test(values, arms, ("a", "b", "c"), units, plan, limit=10, draws=100)
    assert blocks_exact.exact and blocks_exact.n_assignments == 6 ** 3 and not blocks_drawn.exact
    assert abs(blocks_drawn.p - blocks_exact.p) < 4 * np.sqrt(blocks_exact.p * (1 - blocks_exact.p) / 100) + 1 / 100


def test_pairs_are_differences_of_team_means_with_pooled_t_intervals_and_holm():
    rng = np.random.default_rng(8)
    arms = ["a"] * 4 + ["b"] * 4
    values = rng.normal(size=8) + np.repeat([0.0, 1.0], 4)
    test = randomisation_test(values, arms, ("a", "b"))
    (pair,) = test.pairs
    t = stats.ttest_ind(values[4:], values[:4])  # pooled SD: with two arms the interval is Student's t
    assert pair.diff == pytest.approx(values[4:].mean() - values[:4].mean())
    assert (pair.ci_low, pair.ci_high) == pytest.approx(tuple(t.confidence_interval()))
    assert pair.p == pytest.approx(test.p) and pair.p_adj == pair.p and pair.n_assignments == 70  # F ↔ |diff|
    three = randomisation_test(np.r_[values, values[:4] + 2], arms + ["c"] * 4, ("a", "b", "c"))
    assert [p.p_adj for p in three.pairs] == pytest.approx(holm([p.p for p in three.pairs]))


# --- against R (tests/analysis/reference/randomisation.R: every assignment, by brute force in base R) ---------

R = json.loads((HERE / "reference" / "randomisation.json").read_text())
EXACT = {"abs": 1e-12}


def r_plan(case) -> RandomisationPlan:
    plan = pd.DataFrame(case["plan"])
    strata = {s: tuple(part.sort_values("position")["team"]) for s, part in plan.groupby("stratum")}
    return RandomisationPlan(strata=strata, block=tuple(case["block"]), seed=None,
                             assignment=dict(zip(plan["team"], plan["arm"], strict=True)))


@pytest.mark.parametrize("name, file, baseline, planned", [
    ("three_by_two", "randomisation_3x2.csv", None, False),
    ("three_by_two_baseline", "randomisation_3x2.csv", "baseline", False),
    ("two_by_three", "randomisation_2x3.csv", None, False),
    ("blocks", "randomisation_blocks.csv", None, True),
])
def test_exact_randomisation_p_values_match_r(name, file, baseline, planned):
    case = R[name]
    data = pd.read_csv(HERE / "data" / file)
    plan = r_plan(case) if planned else None
    teams = team_values(data, "score", "arm", "team", case["levels"], baseline)
    test = randomisation_test(teams.values, teams.arms, case["levels"], teams.teams, plan)
    assert test.exact and test.method == ("permuted blocks" if planned else "complete randomisation")
    assert test.n_assignments == case["n_assignments"]
    assert test.p == pytest.approx(case["p"], **EXACT)
    assert test.p_min == pytest.approx(case["p_min"], **EXACT)
    assert test.statistic == pytest.approx(case["statistic"], rel=1e-12)
    for ours, theirs in zip(test.pairs, case["pairs"], strict=True):
        assert (ours.a, ours.b, ours.n_assignments) == (theirs["a"], theirs["b"], theirs["n_assignments"])
        for key in ("p", "p_adj", "p_min"):
            assert getattr(ours, key) == pytest.approx(theirs[key], **EXACT), key
        for key in ("diff", "se", "ci_low", "ci_high"):
            assert getattr(ours, key) == pytest.approx(theirs[key], rel=1e-12, abs=1e-12), key


# --- Monte Carlo: the test keeps its level under the null ----------------------------------------------------


def null_team_means(rng, teams, icc=0.2):
    """Team means of reps (4 to 12 per team) with team variance ``icc`` and no arm effect."""
    sizes = rng.integers(4, 13, teams)
    return np.array([rng.normal(0, np.sqrt(icc)) + rng.normal(0, np.sqrt(1 - icc), n).mean() for n in sizes])


def test_under_the_null_the_randomisation_test_rejects_at_most_five_percent():
    """1,000 null data sets per design, ICC 0.2, unequal teams: the rate of p ≤ 0.05 is at most
    0.05 + 0.021 (three binomial standard errors at 1,000 draws), for complete randomisation
    (3 × 3 teams, exact over 1,680 assignments) and for the study's permuted blocks (two strata of
    5 and 4 teams, blocks of 3, exact over 648 assignments, a new seeded assignment each time)."""
    rng = np.random.default_rng(20261203)
    runs, tolerance = 1000, 3 * np.sqrt(0.05 * 0.95 / 1000)
    arms = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    complete = [randomisation_test(null_team_means(rng, 9), arms, ("a", "b", "c")).p for _ in range(runs)]
    units = [f"t{i}" for i in range(9)]
    strata = {"north": tuple(units[:5]), "south": tuple(units[5:])}
    blocks = []
    for run in range(runs):
        drawn = {u: arm for _, u, arm in permuted_blocks(strata, ("a", "b", "c"), np.random.default_rng(run))}
        plan = RandomisationPlan(strata=strata, block=("a", "b", "c"), seed=run, assignment=drawn)
        test = randomisation_test(null_team_means(rng, 9), [drawn[u] for u in units], ("a", "b", "c"), units, plan)
        assert test.method == "permuted blocks" and test.n_assignments == 648
        blocks.append(test.p)
    for pvalues in (complete, blocks):
        rate = float(np.mean(np.array(pvalues) <= 0.05))
        assert rate <= 0.05 + tolerance, rate
        assert rate >= 0.05 - 2 * tolerance, rate  # and it is not a test that never rejects
