"""The suppression engine: its exact audit agrees with brute force, and what it leaves shown passes the audit.

The brute-force audit enumerates every subset of atoms and tests each by an exact rank check;
it is slow and plainly right. The fast audit (class merging, singleton elimination, blocks,
enumeration of the reduced row-echelon form or a MILP) must agree with it on every random case.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.suppression import (
    SuppressionError,
    System,
    audit,
    audit_pattern,
    brute_force_audit,
    in_row_space,
    rank,
    suppress,
)


@st.composite
def problems(draw, max_atoms=9, max_cells=9):
    """Random weights (many of them 1..4) over a few atoms, random cells, and a range to look for."""
    n_atoms = draw(st.integers(1, max_atoms))
    atoms = list(range(n_atoms))
    weights = {a: draw(st.sampled_from([0, 1, 1, 2, 3, 4, 5, 6, 9])) for a in atoms
               if draw(st.booleans()) or a == 0}
    cells = [frozenset(draw(st.sets(st.sampled_from(atoms), max_size=n_atoms)))
             for _ in range(draw(st.integers(0, max_cells)))]
    kind = draw(st.sampled_from(["count", "count", "homogeneous"]))
    if kind == "count":
        k = draw(st.integers(2, 6))
        return weights, cells, 1, k - 1, None
    free = frozenset(draw(st.sets(st.sampled_from(atoms))))
    return weights, cells, draw(st.integers(1, 8)), None, free


def check(found, weights, cells, low, high, free):
    """An isolation the fast audit reports is real: in range, allowed, in the span, and its combination adds up."""
    assert found.weight == sum(weights[a] for a in found.atoms)
    assert found.weight >= low and (high is None or found.weight <= high)
    assert free is None or found.atoms <= free
    rows = [frozenset(a for a in c if a in weights) for c in cells]
    rows = [r for r in rows if r]
    universe = sorted(set().union(*rows))
    assert in_row_space([[int(a in r) for a in universe] for r in rows], [int(a in found.atoms) for a in universe])
    total = {a: 0.0 for a in universe}
    for keys, coefficient in found.combination:
        for a in cells[keys[0]]:
            if a in weights:
                total[a] += coefficient
    assert all(abs(total[a] - (a in found.atoms)) < 1e-6 for a in universe), (found, total)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_the_milp_audit_agrees_with_brute_force_on_small_random_matrices(problem):
    weights, cells, low, high, free = problem
    expected = brute_force_audit(weights, cells, low, high, free)
    found = audit(weights, cells, low, high, free, method="milp")
    assert (found is None) == (expected is None), (expected, found)
    if found is not None:
        check(found, weights, cells, low, high, free)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_the_enumerating_audit_agrees_with_brute_force_on_small_random_matrices(problem):
    weights, cells, low, high, free = problem
    expected = brute_force_audit(weights, cells, low, high, free)
    found = audit(weights, cells, low, high, free, method="enumerate")
    assert (found is None) == (expected is None), (expected, found)
    if found is not None:
        check(found, weights, cells, low, high, free)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_atoms=10, max_cells=12))
def test_what_suppression_leaves_shown_passes_the_exact_audit(problem):
    weights, cell_list, low, high, free = problem
    cells = {f"c{i}": atoms for i, atoms in enumerate(cell_list)}
    system = System("counts", weights, tuple(cells), low, high, free)
    pattern = suppress(cells, [system])
    assert audit_pattern(cells, [system], pattern.hidden) is None
    shown = [atoms for key, atoms in cells.items() if pattern.shown(key)]
    assert brute_force_audit(weights, shown, low, high, free) is None
    for key in pattern.hidden:
        assert pattern.reasons[key]


def test_the_statistics_review_combination_is_found():
    """(all, B1) − (R0, B1) − (R1, all) + (R1, B0) is the hidden R2 × B1 cell of 4 responses."""
    counts = {("R0", "B0"): 9, ("R0", "B1"): 14, ("R1", "B0"): 10, ("R1", "B1"): 9, ("R2", "B0"): 14,
              ("R2", "B1"): 4}
    cells = {"all B1": {a for a in counts if a[1] == "B1"}, "R0 B1": {("R0", "B1")},
             "R1": {a for a in counts if a[0] == "R1"}, "R1 B0": {("R1", "B0")}}
    found = audit(counts, cells, 1, 4)
    assert found is not None and found.atoms == {("R2", "B1")} and found.weight == 4
    assert dict((keys[0], round(c)) for keys, c in found.combination) == {
        "all B1": 1, "R0 B1": -1, "R1": -1, "R1 B0": 1}


def test_a_class_of_k_or_more_never_takes_part_and_a_singleton_cell_removes_it():
    # The export names team A (8 responses): the North cell minus A is the 3 of the pooled teams.
    weights = {"A": 8, "tiny1": 1, "tiny2": 2, "south": 9}
    cells = {"North": {"A", "tiny1", "tiny2"}, "team A": {"A"}, "all": {"A", "tiny1", "tiny2", "south"}}
    found = audit(weights, cells, 1, 4)
    assert found.atoms == {"tiny1", "tiny2"} and {"North", "team A"} <= set(found.cells)
    assert audit(weights, {"North": cells["North"], "all": cells["all"]}, 1, 4) is None


def test_a_homogeneous_group_is_found_across_blocks():
    weights = {"a": 3, "b": 3, "c": 4}
    cells = [{"a"}, {"b"}, {"a", "b", "c"}]
    assert audit(weights, cells, 5, None, free={"a", "b"}).atoms == {"a", "b"}
    assert audit(weights, cells, 7, None, free={"a", "b"}) is None


def test_forced_cells_stay_and_a_forced_disclosure_is_refused():
    weights = {"x": 3, "y": 10}
    cells = {"total": frozenset({"x", "y"}), "y": frozenset({"y"})}
    pattern = suppress(cells, [System("s", weights, tuple(cells), 1, 4)], forced={"total"})
    assert pattern.shown("total") and not pattern.shown("y")
    with pytest.raises(SuppressionError):
        suppress({"x": frozenset({"x"})}, [System("s", weights, ("x",), 1, 4)], forced={"x"})


def test_pairwise_differences_of_a_few_are_hidden_too():
    weights = {"a": 10, "b": 2, "c": 30}
    cells = {"big": frozenset({"a", "b"}), "other": frozenset({"a", "c"})}
    plain = suppress(cells, [System("s", weights, tuple(cells), 1, 4)])
    assert not plain.hidden  # b − c is no isolation …
    pairwise = suppress(cells, [System("s", weights, tuple(cells), 1, 4, pairwise=True)])
    assert pairwise.hidden == {"big"}  # … but the two differ by the 2 of b


def test_exact_rank_on_rationals():
    assert rank([[1, 1, 0], [0, 1, 1], [1, 0, -1]]) == 2
    assert in_row_space([[1, 1, 0], [0, 1, 1]], [1, 0, -1]) and not in_row_space([[1, 1, 0]], [1, 0, 0])
    assert rank([[2, 0], [0, 3]]) == 2
