"""Secondary cell suppression over linked tables, with an exact audit of what stays shown.

Vocabulary
----------
atom
    The finest group of people any view can tell apart (in the report: one wave × coaching
    model × team × region × team-size band). A hashable key; a *system* gives it a weight.
cell
    A number a user can request — a count, mean, sd or share over some group — written as the
    set of atoms it adds up (a ``frozenset``), under a key.
system
    One additive quantity and the cells that reveal it: the weight of an atom is how many people
    of that atom the quantity counts (responses that answered an outcome, responses at all, reps
    with CRM figures, answers in one answer category), plus the range of weights that would be
    a disclosure (``low``..``high``) and which atoms may take part in one (``free``).

What is disclosed
-----------------
A shown cell reveals its count, its sum and its sum of squares (n, mean and sd), and therefore so
does any linear combination of shown cells: a total minus its parts, a region minus a band plus a
region × band cell, a report view minus the export's named teams. A set ``S`` of atoms is
*isolated* when its 0/1 indicator vector lies in the row space (over the rationals) of the shown
cells' indicator vectors: then S's count and sums are known. The rule is that no isolated set
has a weight in ``low..high`` — for counts, 1..k−1 people.

The exact audit
---------------
:func:`audit` decides whether such a set exists, exactly:

1. atoms outside the system (weight not given: nobody there) are dropped — as if the attacker
   knew where nobody is, which can only find more, never fewer, isolated sets;
2. atoms that lie in exactly the same shown cells form one *class*: any vector of the row space is
   constant on a class, so a set is isolated only as a union of whole classes; a class may take
   part only when all its atoms may, and not when its weight alone exceeds ``high`` (a class with
   k or more people is never part of a set of 1..k−1);
3. a shown cell that is a single class reveals that class: a class that may not take part is then
   removed from every cell (the cell's coefficient absorbs it), one that may is a disclosure when
   its weight is in range; repeated until no such cell is left (this removes, for example, every
   team the export names);
4. what remains splits into independent blocks (cells of different waves or models never share
   an atom); each block is solved on its own, either by enumerating the binary combinations of
   the free pivot columns of its exact reduced row-echelon form (fractions, then integers over a
   common denominator: nothing is rounded; up to 2^16 combinations), or, for
   larger blocks, as a mixed-integer feasibility problem for ``scipy.optimize.milp``: binary x per
   class, real λ per cell, ``Σ λ_c·cell_c = x``, ``low ≤ weight·x ≤ high``. A set the MILP finds
   is checked by an exact rank test before it is believed.

:func:`brute_force_audit` enumerates every subset of atoms with exact rank tests: slow, obviously
right, and what the tests compare the fast audit with.

Suppression
-----------
:func:`suppress` hides cells until every system passes the audit: first every cell that is itself
a disclosure (primary suppression), then, greedily, one cell of the linear combination that the
audit found, the one with the smallest weight (the least informative), until the audit finds
nothing (secondary suppression). Hiding cells only shrinks the row space, so a system that passed
keeps passing while later systems hide more; one pass over the systems suffices. The pattern is
not minimal — τ-ARGUS and sdcTable solve that harder problem — but every shown cell is audited.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Atom = Hashable
Key = Hashable

ENUMERATION_LIMIT = 16  # free pivot columns up to which a block is enumerated instead of solved as a MILP
MILP_TIME_LIMIT = 60.0  # seconds per block


@dataclass(frozen=True)
class Isolation:
    """A set of atoms that shown cells isolate: its atoms, its weight, and one combination yielding it.

    ``combination`` lists ``(keys, coefficient)``: the cells with the same atoms (in this system)
    share a row, and the isolated vector is the sum of coefficient × row.
    """

    atoms: frozenset
    weight: int
    combination: tuple[tuple[tuple[Key, ...], float], ...] = ()

    @property
    def cells(self) -> list[Key]:
        return [key for keys, _ in self.combination for key in keys]


@dataclass(frozen=True)
class System:
    """One quantity to audit: atom weights (the atoms present), the cells that reveal it, the range of a disclosure.

    ``free`` limits which atoms may belong to a disclosed set (None: every atom). ``high`` None
    means no upper bound (used for homogeneity: a set whose members all gave one answer).
    """

    name: Hashable
    weights: Mapping[Atom, int]
    cells: tuple[Key, ...]
    low: int = 1
    high: int | None = None
    free: frozenset | None = None
    pairwise: bool = False  # also: no two shown cells differ, on either side, by a weight in low..high


@dataclass(frozen=True)
class Pattern:
    """Which cells are hidden, and why (``"primary"`` or the name of the system that needed it)."""

    cells: Mapping[Key, frozenset]
    hidden: frozenset
    reasons: Mapping[Key, str] = field(default_factory=dict)

    def shown(self, key: Key) -> bool:
        return key in self.cells and key not in self.hidden

    @property
    def shown_cells(self) -> dict[Key, frozenset]:
        return {key: atoms for key, atoms in self.cells.items() if key not in self.hidden}


class SuppressionError(RuntimeError):
    """Cells that must stay shown (forced) disclose something by themselves."""


# --------------------------------------------------------------------------------------------- exact algebra

def _rref(matrix: list[list[int]]) -> tuple[list[list[Fraction]], list[int]]:
    """Reduced row-echelon form over the rationals (exact) and the pivot column of each row."""
    rows = [[Fraction(v) for v in row] for row in matrix]
    pivots: list[int] = []
    if not rows:
        return [], pivots
    width = len(rows[0])
    top = 0
    for column in range(width):
        pivot = next((r for r in range(top, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[top], rows[pivot] = rows[pivot], rows[top]
        lead = rows[top][column]
        if lead != 1:
            rows[top] = [v / lead for v in rows[top]]
        for r in range(len(rows)):
            if r != top and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[top], strict=True)]
        pivots.append(column)
        top += 1
        if top == len(rows):
            break
    return rows[:top], pivots


def rank(matrix: Sequence[Sequence[int]]) -> int:
    """The exact rank of an integer matrix."""
    return len(_rref([list(row) for row in matrix])[1]) if len(matrix) else 0


def in_row_space(matrix: Sequence[Sequence[int]], vector: Sequence[int]) -> bool:
    """Whether ``vector`` is a rational combination of the rows of ``matrix`` (exact)."""
    if not any(vector):
        return True
    if not len(matrix):
        return False
    return rank(list(matrix) + [list(vector)]) == rank(matrix)


# --------------------------------------------------------------------------------------------- the audit

@dataclass
class _Block:
    """A connected part of the reduced problem: classes (columns) and cells (rows) over them."""

    columns: list[int]
    rows: list[int]


class _Problem:
    """The audit problem after dropping empty atoms, merging classes and removing singleton cells."""

    def __init__(self, weights: Mapping[Atom, int], cells: Mapping[Key, Iterable[Atom]], low: int,
                 high: int | None, free: frozenset | None):
        self.low, self.high = low, high
        grouped: dict[frozenset, list[Key]] = {}
        for key, atoms in cells.items():
            row = frozenset(a for a in atoms if a in weights)
            if row:
                grouped.setdefault(row, []).append(key)
        self.row_atoms = list(grouped)
        self.row_keys = [tuple(keys) for keys in grouped.values()]
        membership: dict[Atom, list[int]] = defaultdict(list)
        for index, row in enumerate(self.row_atoms):
            for atom in row:
                membership[atom].append(index)
        by_signature: dict[tuple[int, ...], list[Atom]] = defaultdict(list)
        for atom, signature in membership.items():
            by_signature[tuple(signature)].append(atom)
        self.class_atoms: list[list[Atom]] = list(by_signature.values())
        self.class_rows: list[tuple[int, ...]] = list(by_signature)  # the cells each class lies in
        self.class_weight = [int(sum(weights[a] for a in members)) for members in self.class_atoms]
        self.class_free = [
            (free is None or all(a in free for a in members)) and (high is None or w <= high)
            for members, w in zip(self.class_atoms, self.class_weight, strict=True)]
        self.row_classes: list[set[int]] = [set() for _ in self.row_atoms]
        for c, signature in enumerate(by_signature):
            for r in signature:
                self.row_classes[r].add(c)
        self.eliminated: list[tuple[int, int]] = []  # (row, class) in the order removed
        self.removed: set[int] = set()

    def in_range(self, weight: int) -> bool:
        return weight >= self.low and (self.high is None or weight <= self.high)

    def eliminate(self) -> tuple[int, int] | None:
        """Remove cells that are a single class; return (cell, class) where that class is a disclosure."""
        class_rows: dict[int, set[int]] = defaultdict(set)
        for r, classes in enumerate(self.row_classes):
            for c in classes:
                class_rows[c].add(r)
        queue = [r for r, classes in enumerate(self.row_classes) if len(classes) == 1]
        done_rows: set[int] = set()
        while queue:
            r = queue.pop()
            if r in done_rows or len(self.row_classes[r]) != 1:
                continue
            (c,) = self.row_classes[r]
            if self.class_free[c]:
                if self.in_range(self.class_weight[c]):
                    return r, c
                if self.class_weight[c] != 0:
                    continue  # 0 < weight < low: it may still complete a set; leave it to the solver
            done_rows.add(r)
            self.eliminated.append((r, c))
            self.removed.add(c)
            for other in class_rows.pop(c, set()):
                self.row_classes[other].discard(c)
                if len(self.row_classes[other]) == 1:
                    queue.append(other)
        return None

    def blocks(self) -> list[_Block]:
        """Connected components of the remaining cells and classes (union-find)."""
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        eliminated_rows = {r for r, _ in self.eliminated}
        live = [r for r, classes in enumerate(self.row_classes) if classes and r not in eliminated_rows]
        for r in live:
            first, *rest = sorted(self.row_classes[r])
            for c in rest:
                parent[find(first)] = find(c)
        columns: dict[int, list[int]] = defaultdict(list)
        rows: dict[int, list[int]] = defaultdict(list)
        seen: set[int] = set()
        for r in live:
            root = find(min(self.row_classes[r]))
            rows[root].append(r)
            for c in self.row_classes[r]:
                if c not in seen:
                    seen.add(c)
                    columns[root].append(c)
        return [_Block(sorted(columns[root]), rows[root]) for root in sorted(rows)]


def _solve_enumerate(problem: _Problem, block: _Block, heaviest: bool = False) -> dict[int, int] | None:
    """Enumerate the free pivots of the block's exact RREF: the first 0/1 vector in range (or, with
    ``heaviest``, the heaviest nonzero one), or None."""
    fixed = [c for c in block.columns if not problem.class_free[c]]
    free = [c for c in block.columns if problem.class_free[c]]
    order = fixed + free  # fixed columns first: they take the pivots they can, which must then be 0
    position = {c: i for i, c in enumerate(order)}
    matrix = [[0] * len(order) for _ in block.rows]
    for i, r in enumerate(block.rows):
        for c in problem.row_classes[r]:
            matrix[i][position[c]] = 1
    reduced, pivots = _rref(matrix)
    n_fixed = len(fixed)
    free_rows = [i for i, p in enumerate(pivots) if p >= n_fixed]
    if not free_rows:
        return None
    if len(free_rows) > ENUMERATION_LIMIT:
        raise OverflowError
    # Exact integer arithmetic: scale the rows to a common denominator D, so that a combination is a
    # 0/1 vector exactly when every entry of D × it is 0 or D.
    denominator = math.lcm(*(v.denominator for i in free_rows for v in reduced[i]))
    scaled = [[int(v * denominator) for v in reduced[i]] for i in free_rows]
    if max((abs(v) for row in scaled for v in row), default=0) * len(free_rows) >= 2**62:
        raise OverflowError
    basis = np.array(scaled, dtype=np.int64)
    combos = np.array(list(itertools.product((0, 1), repeat=len(free_rows)))[1:], dtype=np.int64)
    values = combos @ basis
    binary = np.all((values == 0) | (values == denominator), axis=1)
    if n_fixed:
        binary &= np.all(values[:, :n_fixed] == 0, axis=1)
    weights = np.array([0] * n_fixed + [problem.class_weight[c] for c in free], dtype=np.int64)
    totals = (values // denominator) @ weights
    if heaviest:
        candidates = np.flatnonzero(binary & np.any(values != 0, axis=1))
        candidates = candidates[np.argsort(-totals[candidates], kind="stable")]
    else:
        ok = binary & (totals >= problem.low)
        if problem.high is not None:
            ok &= totals <= problem.high
        candidates = np.flatnonzero(ok)
    if not len(candidates):
        return None
    chosen = values[candidates[0]] // denominator
    return {c: int(chosen[position[c]]) for c in free}


def _solve_milp(problem: _Problem, block: _Block, heaviest: bool = False) -> dict[int, int] | None:
    """The block as a mixed-integer feasibility problem: binary x per free class, real λ per cell
    (with ``heaviest``: the nonzero x of largest weight)."""
    free = [c for c in block.columns if problem.class_free[c]]
    if not free:
        return None
    rows = block.rows
    index_x = {c: i for i, c in enumerate(free)}
    n_x, n_l = len(free), len(rows)
    equality = np.zeros((len(block.columns), n_x + n_l))
    for i, c in enumerate(block.columns):
        if c in index_x:
            equality[i, index_x[c]] = -1.0
        for j, r in enumerate(rows):
            if c in problem.row_classes[r]:
                equality[i, n_x + j] = 1.0
    weight = np.zeros((1, n_x + n_l))
    weight[0, :n_x] = [problem.class_weight[c] for c in free]
    high = np.inf if problem.high is None else problem.high
    low = 1 if heaviest else problem.low
    constraints = [LinearConstraint(equality, 0.0, 0.0), LinearConstraint(weight, low, high)]
    objective = -weight[0] if heaviest else np.zeros(n_x + n_l)
    if heaviest:  # a nonzero vector may weigh nothing (atoms with weight 0): ask for at least one atom
        count = np.zeros((1, n_x + n_l))
        count[0, :n_x] = 1.0
        constraints = [constraints[0], LinearConstraint(count, 1, np.inf)]
    bounds = Bounds(np.r_[np.zeros(n_x), np.full(n_l, -np.inf)], np.r_[np.ones(n_x), np.full(n_l, np.inf)])
    integrality = np.r_[np.ones(n_x), np.zeros(n_l)]
    matrix = [[1 if c in problem.row_classes[r] else 0 for c in block.columns] for r in rows]
    for _ in range(50):
        result = milp(objective, constraints=constraints, bounds=bounds, integrality=integrality,
                      options={"time_limit": MILP_TIME_LIMIT})
        if result.status == 2:  # infeasible: nothing is isolated
            return None
        if result.x is None:
            raise RuntimeError(f"the disclosure audit could not be decided: {result.message}")
        x = {c: int(round(result.x[index_x[c]])) for c in free}
        vector = [x.get(c, 0) for c in block.columns]
        total = sum(problem.class_weight[c] * v for c, v in x.items())
        if (heaviest or problem.in_range(total)) and any(vector) and in_row_space(matrix, vector):
            return x
        # A numerical false positive: exclude this vector and ask again.
        cut = np.zeros((1, n_x + n_l))
        ones = [index_x[c] for c, v in x.items() if v]
        cut[0, :n_x] = -1.0
        cut[0, ones] = 1.0
        constraints.append(LinearConstraint(cut, -np.inf, len(ones) - 1))
    raise RuntimeError("the disclosure audit kept finding numerically false sets")


def _coefficients(problem: _Problem, block: _Block, x: dict[int, int]) -> dict[int, float]:
    """One combination of cells (row -> coefficient) that yields ``x``, the removed singleton cells included."""
    if block.rows:
        matrix = np.array([[1.0 if c in problem.row_classes[r] else 0.0 for r in block.rows]
                           for c in block.columns])
        target = np.array([float(x.get(c, 0)) for c in block.columns])
        solution = np.linalg.lstsq(matrix, target, rcond=None)[0]
        coefficient = {r: float(v) for r, v in zip(block.rows, solution, strict=True)}
    else:
        coefficient = {}
    return _back_substitute(problem, coefficient, x)


def _back_substitute(problem: _Problem, coefficient: dict[int, float], x: dict[int, int]) -> dict[int, float]:
    """Add the removed singleton cells, last removed first: each sets the total on its class."""
    coefficient = dict(coefficient)
    for r, c in reversed(problem.eliminated):
        others = sum(coefficient.get(o, 0.0) for o in problem.class_rows[c] if o != r)
        coefficient[r] = float(x.get(c, 0)) - others
    return {r: v for r, v in coefficient.items() if abs(v) > 1e-9}


def audit(weights: Mapping[Atom, int], cells: Mapping[Key, Iterable[Atom]] | Sequence[Iterable[Atom]],
          low: int = 1, high: int | None = None, free: Iterable[Atom] | None = None,
          method: str = "auto") -> Isolation | None:
    """A set of atoms that ``cells`` isolate with a weight in ``low..high``, or None (exact).

    Parameters
    ----------
    weights : mapping
        The atoms present, each with its weight (count); atoms not listed hold nobody.
    cells : mapping key -> atoms, or a sequence of atom sets
        The shown cells.
    low, high : int
        The weights that are a disclosure (``high`` None: no upper bound). For counts under the
        threshold k: ``low=1, high=k-1``.
    free : atoms, optional
        Only these atoms may belong to a disclosed set (default: all).
    method : "auto", "enumerate" or "milp"
        How blocks are solved; "auto" enumerates small blocks and solves larger ones as a MILP.

    Returns
    -------
    Isolation or None
    """
    if not isinstance(cells, Mapping):
        cells = dict(enumerate(cells))
    free_set = None if free is None else frozenset(free)
    # Quick exit: a disclosed set is made of free atoms that could belong to it, weighing at least ``low``.
    if sum(w for a, w in weights.items() if (free_set is None or a in free_set)
           and (high is None or w <= high)) < max(low, 1):
        return None
    problem = _Problem(weights, cells, low, high, free_set)
    single = problem.eliminate()
    if single is not None:
        row, c = single
        return _isolation(problem, _Block([c], []), {c: 1}, {row: 1.0})
    # Blocks share no atom, so the row space is the direct sum of theirs. With low <= 1 a disclosed
    # set has a part in some block that is one by itself; with no upper bound (a homogeneous group
    # of at least ``low``), the heaviest set of each block is added up until it weighs enough.
    if low > 1 and high is not None:
        raise ValueError("audit: a range with both low > 1 and an upper bound is not supported")
    heaviest = low > 1
    union: dict[int, int] = {}
    parts: list[tuple[_Block, dict[int, int]]] = []
    for block in problem.blocks():
        if not any(problem.class_free[c] for c in block.columns):
            continue
        if not heaviest and sum(problem.class_weight[c] for c in block.columns if problem.class_free[c]) < low:
            continue
        if method in ("auto", "enumerate"):
            try:
                x = _solve_enumerate(problem, block, heaviest)
            except OverflowError:
                if method == "enumerate":
                    raise
                x = _solve_milp(problem, block, heaviest)
        else:
            x = _solve_milp(problem, block, heaviest)
        if x is None or not any(x.values()):
            continue
        if not heaviest:
            return _isolation(problem, block, x)
        parts.append((block, x))
        union.update(x)
        if sum(problem.class_weight[c] for c, v in union.items() if v) >= low:
            return _union_isolation(problem, parts)
    return None


def _union_isolation(problem: _Problem, parts: list[tuple[_Block, dict[int, int]]]) -> Isolation:
    """One isolated set made of the sets found in several blocks."""
    atoms: set = set()
    weight = 0
    coefficients: dict[tuple[Key, ...], float] = defaultdict(float)
    for block, x in parts:
        found = _isolation(problem, block, x)
        atoms |= found.atoms
        weight += found.weight
        for keys, value in found.combination:
            coefficients[keys] += value
    return Isolation(frozenset(atoms), weight, tuple((k, v) for k, v in coefficients.items() if abs(v) > 1e-9))


def _isolation(problem: _Problem, block: _Block, x: dict[int, int],
               base: dict[int, float] | None = None) -> Isolation:
    atoms = frozenset(a for c, v in x.items() if v for a in problem.class_atoms[c])
    weight = sum(problem.class_weight[c] for c, v in x.items() if v)
    coefficients = _coefficients(problem, block, x) if base is None else _back_substitute(problem, base, x)
    combination = tuple((problem.row_keys[r], v) for r, v in sorted(coefficients.items()))
    return Isolation(atoms, weight, combination)


def brute_force_audit(weights: Mapping[Atom, int], cells: Mapping[Key, Iterable[Atom]] | Sequence[Iterable[Atom]],
                      low: int = 1, high: int | None = None, free: Iterable[Atom] | None = None,
                      limit: int = 16) -> frozenset | None:
    """The reference audit: every subset of the atoms, each tested by an exact rank check (small cases only)."""
    if not isinstance(cells, Mapping):
        cells = dict(enumerate(cells))
    rows = [frozenset(a for a in atoms if a in weights) for atoms in cells.values()]
    rows = [row for row in rows if row]
    universe = sorted(set().union(*rows), key=repr) if rows else []
    allowed = [a for a in universe if free is None or a in set(free)]
    if len(allowed) > limit:
        raise ValueError(f"{len(allowed)} atoms: too many to enumerate")
    matrix = [[1 if a in row else 0 for a in universe] for row in rows]
    base = rank(matrix)
    for size in range(1, len(allowed) + 1):
        for subset in itertools.combinations(allowed, size):
            total = sum(weights[a] for a in subset)
            if total < low or (high is not None and total > high):
                continue
            chosen = set(subset)
            vector = [1 if a in chosen else 0 for a in universe]
            if rank(matrix + [vector]) == base:
                return frozenset(subset)
    return None


# --------------------------------------------------------------------------------------------- suppression

def suppress(cells: Mapping[Key, frozenset], systems: Sequence[System], forced: Iterable[Key] = (),
             hidden: Iterable[Key] = (), cost: Callable[[Key], object] | None = None) -> Pattern:
    """Hide cells until no system's audit finds a disclosure; ``forced`` cells are never hidden.

    ``hidden`` are cells already hidden (say, by an earlier call). Among the cells of a combination
    the audit found, the one hidden is the one with the smallest weight in that system, then the
    smallest ``cost(key)`` (default: its ``repr``), so that equal data give equal patterns.
    """
    forced = frozenset(forced)
    hidden_now: set[Key] = set(hidden)
    reasons: dict[Key, str] = {}
    order = cost or repr
    for system in systems:
        free = system.free
        shown = [key for key in system.cells if key not in hidden_now]
        for key in shown:  # primary: a cell that is itself a disclosure
            row = [a for a in cells[key] if a in system.weights]
            weight = sum(system.weights[a] for a in row)
            if row and (free is None or all(a in free for a in row)) and weight >= system.low and (
                    system.high is None or weight <= system.high):
                if key in forced:
                    raise SuppressionError(f"cell {key!r} must be shown but discloses {weight} ({system.name!r})")
                hidden_now.add(key)
                reasons[key] = "primary"
        while True:
            visible = {key: cells[key] for key in system.cells if key not in hidden_now}
            found = audit(system.weights, visible, system.low, system.high, free)
            if found is None:
                break
            options = []
            for keys, _ in found.combination:
                if any(key in forced for key in keys):
                    continue
                weight = sum(system.weights.get(a, 0) for a in cells[keys[0]])
                options.append((weight, min(order(key) for key in keys), keys))
            if not options:
                raise SuppressionError(f"forced cells isolate {found.weight} ({system.name!r})")
            _, _, keys = min(options, key=lambda option: (option[0], option[1]))
            for key in keys:
                hidden_now.add(key)
                reasons[key] = str(system.name)
        if system.pairwise:
            for key in _pairwise(cells, system, forced, hidden_now, order):
                hidden_now.add(key)
                reasons[key] = f"{system.name} (pairwise)"
    return Pattern(dict(cells), frozenset(hidden_now), reasons)


def _pairwise(cells, system: System, forced: frozenset, hidden: set, order) -> list[Key]:
    """Cells to hide so that no two shown cells differ, on either side, by a weight in the system's range.

    Two overlapping cells that nearly coincide tell the few people one has and the other lacks
    apart, up to the few the other has and the one lacks: not an isolation, but a difference
    resting on a handful of people. The smaller of such a pair is hidden (never a forced one).
    """
    weights = system.weights

    def weight(atoms) -> int:
        return sum(weights.get(a, 0) for a in atoms)

    def in_range(value: int) -> bool:
        return value >= system.low and (system.high is None or value <= system.high)

    shown = sorted((key for key in system.cells if key not in hidden),
                   key=lambda key: (-weight(cells[key]), order(key)))
    rows = {key: frozenset(a for a in cells[key] if a in weights) for key in shown}
    accepted: list[Key] = []
    dropped: list[Key] = []
    for key in shown:  # the largest first, as coarse views come before fine ones
        clash = any(rows[key] != rows[other] and (in_range(weight(rows[key] - rows[other]))
                                                   or in_range(weight(rows[other] - rows[key])))
                    for other in accepted)
        if clash and key not in forced:
            dropped.append(key)
        else:
            accepted.append(key)
    return dropped


def audit_pattern(cells: Mapping[Key, frozenset], systems: Sequence[System], hidden: Iterable[Key],
                  method: str = "auto") -> tuple[Hashable, Isolation] | None:
    """The first system (and its isolated set) that the shown cells fail, or None: the check of a pattern."""
    hidden = frozenset(hidden)
    for system in systems:
        visible = {key: cells[key] for key in system.cells if key not in hidden}
        found = audit(system.weights, visible, system.low, system.high, system.free, method=method)
        if found is not None:
            return system.name, found
    return None
