"""Randomisation tests on team means: the study's own randomisation, re-run.

With few teams per coaching model (fewer than :data:`FEW_TEAMS` in the smallest arm) the mixed
model's p-values rest on a variance between teams that a handful of teams cannot estimate (it is
often estimated at zero, a boundary fit). A randomisation test needs no model: under the null
hypothesis that the coaching model makes no difference to any team, each team's mean would have
been the same under any assignment the randomisation could have made, so the observed statistic
is compared with its values over those assignments (Fisher 1935; Edgington & Onghena 2007).

**The procedure** (:func:`permuted_blocks`) is the one ``surveys.pilots.randomisation.randomise``
calls to assign a study's units: permuted blocks within strata. In sorted stratum order, the
units of each stratum (in a fixed order) receive the arms of shuffled blocks, a block holding each
arm as often as its ratio says, drawn from one numpy generator seeded with the study's seed; the
last block of a stratum is cut off where the units run out.

**The statistic** is the arm F statistic of a one-way ANOVA on the team means: one value per team,
teams weighted equally, whatever their size (the unit randomised is the team). Every
re-randomisation keeps the same teams, so the total sum of squares is fixed and F orders the
assignments exactly as the between-arm sum of squares does; the reference distribution is
computed on that sum of squares, which is defined even for an assignment that leaves an arm
without a team. Pairs: the absolute difference of the two arms' means of team means, two-sided,
re-randomising only the pair's teams (the other arms' teams keep theirs: the conditional
distribution of the procedure), Holm-adjusted over the pairs. With a baseline, each rep's value
is first adjusted by a regression on the baseline that ignores the arms (Rosenbaum 2002): under
the null it does not depend on the assignment, so the test stays exact.

**The reference distribution.** When the procedure can produce at most :data:`LIMIT` distinct
assignments of the teams compared, all of them are enumerated with their probabilities (the last,
cut-off block of a stratum makes them unequal), and p is the probability of an assignment whose
statistic is at least the observed one. Otherwise :data:`DRAWS` assignments are drawn (numpy
generator seeded with :data:`SEED`, fixed, so the p-value is reproducible) and
``p = (1 + #{draws ≥ observed}) / (1 + draws)`` (Phipson & Smyth 2010). Ties count as "at least"
within 100 machine epsilons of the observed value, as ``scipy.stats.permutation_test`` does. The
draws are runs of :func:`permuted_blocks` itself when every unit of the study is compared (up to
:data:`SHUFFLES` block shuffles, about half a second; beyond that, and when some units keep their
arm, each block is drawn from its distribution directly, vectorised: the same distribution, which
the tests check against the procedure).

Without a study (a consultant's file: ``python -m analysis``) the teams are taken to have been
randomised completely, keeping each arm's number of teams: one stratum holding one block of all
the teams' arms. That case is what ``scipy.stats.permutation_test`` (``permutation_type=
"independent"``) does, and the tests check that the two give the same p-values; it is not called
here because it enumerates the assignments anew for every outcome (0.16 s for 9,240 assignments
of 11 teams, times four tests per outcome), while a view's outcomes all compare the same teams:
the assignments are enumerated (or drawn) once per set of teams (:func:`_reference`, cached) and
only the statistic is computed per outcome. The study's constrained procedure (strata, blocks,
the cut-off last block) is hand-written because no library in the stack re-randomises under it.

**Interval of a pair's difference**: a 95 % t interval on the team means (the pooled SD of team
means within arms, df = J − k, J teams and k arms), not adjusted for the number of pairs, and an
approximation (it assumes normal team means; the p-value does not).

References
----------
Fisher, R. A. (1935). The design of experiments. Oliver & Boyd.
Edgington, E. S. & Onghena, P. (2007). Randomization tests, 4th ed. Chapman & Hall/CRC.
Rosenbaum, P. R. (2002). Covariance adjustment in randomized experiments and observational
    studies. Statistical Science 17, 286–327.
Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero. Statistical
    Applications in Genetics and Molecular Biology 9, 39.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._distributions import t_ppf
from ._result import Result
from ._validate import group_labels
from .multiplicity import holm

FEW_TEAMS = 6  # fewer teams than this in the smallest arm: the headline is the randomisation test
LIMIT = 20_000  # at most this many distinct assignments: enumerate them all (exact p)
DRAWS = 5_000  # otherwise this many Monte Carlo draws
SEED = 20_261_201  # the Monte Carlo draws' seed (fixed: the same data give the same p)
TIES = 100 * np.finfo(float).eps  # relative tolerance for "at least as large" (scipy's)
SHUFFLES = 60_000  # Monte Carlo re-runs the procedure itself up to this many block shuffles (about 0.5 s)


def permuted_blocks(strata: Mapping[str, Sequence], block: Sequence, rng) -> list[tuple[str, object, object]]:
    """The assignment procedure: permuted blocks within strata.

    Parameters
    ----------
    strata : mapping
        Stratum name → its units, in the order the procedure walks them.
    block : sequence
        One block: each arm as often as its ratio says, in a fixed order (the study's arms).
    rng : numpy Generator
        Seeded with the study's seed; only ``rng.permutation(len(block))`` is called.

    Returns
    -------
    list of (stratum, unit, arm)
        In sorted stratum order, each stratum's units in their order; the last block of a stratum
        is cut off where its units run out.
    """
    result = []
    for stratum, members in sorted(strata.items(), key=lambda item: item[0]):
        sequence: list = []
        while len(sequence) < len(members):
            sequence.extend(block[i] for i in rng.permutation(len(block)))
        result.extend((stratum, unit, arm) for unit, arm in zip(members, sequence, strict=False))
    return result


@dataclass(frozen=True)
class RandomisationPlan:
    """How a study's units were randomised, so that the test can re-run it.

    ``unit`` is "team" (teams were randomised: the test on team means applies) or "rep" (reps
    were: a team's reps can have different models, so it does not). ``strata`` maps each stratum
    to its units in the procedure's order, ``block`` is one block (arms repeated by ratio, in the
    study's order), ``seed`` the study's seed and ``assignment`` every unit's arm as stored.
    """

    unit: str = "team"
    strata: Mapping[str, tuple] = field(default_factory=dict)
    block: tuple[str, ...] = ()
    seed: int | None = None
    assignment: Mapping[Hashable, str] = field(default_factory=dict)

    def reproduced(self) -> bool:
        """Whether the procedure with the seed gives the stored assignment."""
        if self.seed is None or not self.block:
            return False
        drawn = permuted_blocks(self.strata, self.block, np.random.default_rng(self.seed))
        return all(self.assignment.get(unit) == arm for _, unit, arm in drawn) and len(drawn) == len(self.assignment)

    def describe(self) -> str:
        """The procedure in words: "permuted blocks of 3 (1 manager, 1 peer, 1 external) in 2 strata, seed 42"."""
        counts = Counter(self.block)
        ratio = ", ".join(f"{counts[arm]} {arm}" for arm in dict.fromkeys(self.block))
        strata = len(self.strata)
        where = "one stratum" if strata == 1 else f"{strata} strata"
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return f"the study's permuted blocks of {len(self.block)} ({ratio}) in {where}{seed}"


@dataclass(frozen=True)
class RandomisationPair(Result):
    """One pair of arms: ``diff`` = b − a, the difference of their means of team means.

    ``p`` is the two-sided randomisation p-value (|difference| at least the observed one over the
    re-randomisations of the pair's teams), ``p_adj`` Holm's over the pairs; ``se`` and
    ``ci_low``/``ci_high`` the SE and 95 % t interval on team means (pooled SD of team means within
    arms, df = J − k; the interval is not adjusted for the pairs). ``p_min`` is
    the smallest p-value the pair's re-randomisations can give (None after Monte Carlo draws).
    """

    a: str
    b: str
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    p_adj: float
    n_assignments: int
    exact: bool
    p_min: float | None = None


@dataclass(frozen=True)
class RandomisationTest(Result):
    """The randomisation test of the arms on team means.

    ``statistic`` is the arm F on team means (None when no arm has two teams), ``p`` its
    randomisation p-value, ``teams`` the teams per arm, ``n_assignments`` the number of distinct
    assignments the procedure could have produced, ``exact`` whether all of them were enumerated
    (else ``draws`` Monte Carlo draws with ``seed``), ``procedure`` the procedure in words,
    ``method`` the procedure re-run ("permuted blocks": the study's; "complete randomisation"), ``p_min``
    the smallest p-value the design can give (exact only), ``pairs`` the pairwise tests and
    ``adjusted_for`` the baseline column the values were adjusted for, if any.
    """

    statistic: float | None
    p: float
    teams: dict[str, int]
    n_assignments: int
    exact: bool
    draws: int | None
    seed: int | None
    procedure: str
    method: str
    p_min: float | None
    pairs: tuple[RandomisationPair, ...]
    adjusted_for: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def smallest_teams(self) -> int:
        return min(self.teams.values())

    def words(self) -> str:
        """How the reference distribution was made: "all 90 assignments" or "5,000 drawn of 756,756"."""
        if self.exact:
            return f"{self.procedure}; all {self.n_assignments:,} assignments it can make"
        return (f"{self.procedure}; {self.draws:,} of its {self.n_assignments:,} possible assignments drawn "
                f"at random (seed {self.seed})")


@dataclass(frozen=True)
class TeamValues:
    """One value per team: the mean of its reps' (baseline-adjusted) values, its arm and its size.

    ``mixed`` is True when a team's reps have different arms (reps, not teams, were randomised):
    ``arms`` is then each team's first arm and the values must not be compared by this test.
    ``per_arm`` counts the teams with reps in each arm (a mixed team counts in each of its arms).
    """

    teams: tuple
    arms: tuple[str, ...]
    values: np.ndarray
    sizes: np.ndarray
    per_arm: dict[str, int]
    mixed: bool = False
    adjusted_for: str | None = None


def team_values(data: pd.DataFrame, dv: str, between: str, cluster: str, levels: Sequence[str],
                baseline: str | None = None) -> TeamValues | None:
    """The teams' means of ``dv`` over their reps of ``levels`` with a value (and a baseline, when
    given); None when no rep has one.

    With ``baseline`` each rep's value is first ``y − β (x − x̄)``, β the slope of the regression of
    the outcome on the baseline over all reps, ignoring the arms (Rosenbaum 2002): a function of
    the outcomes and baselines alone, so the same under every re-randomisation.
    """
    levels = tuple(levels)
    arm = group_labels(data[between])
    y = pd.to_numeric(data[dv], errors="coerce").to_numpy(float)
    team = data[cluster]
    keep = arm.isin(levels).to_numpy() & np.isfinite(y) & team.notna().to_numpy()
    x = None
    if baseline:
        x = pd.to_numeric(data[baseline], errors="coerce").to_numpy(float)
        keep &= np.isfinite(x)
    if not keep.any():
        return None
    y = y[keep]
    if x is not None:
        dx = x[keep] - x[keep].mean()
        sxx = float(dx @ dx)
        if sxx > 0:
            y = y - float(dx @ (y - y.mean())) / sxx * dx
    team_code, teams = pd.factorize(team[keep], sort=True)
    arm_code = pd.Index(levels).get_indexer(np.asarray(arm[keep], dtype=object)).astype(np.int64)
    pairs = np.unique(team_code * len(levels) + arm_code)
    per_arm = np.bincount(pairs % len(levels), minlength=len(levels))
    sizes = np.bincount(team_code, minlength=len(teams))
    first = np.full(len(teams), -1)
    first[team_code[::-1]] = arm_code[::-1]
    return TeamValues(tuple(teams), tuple(levels[c] for c in first),
                      np.bincount(team_code, weights=y, minlength=len(teams)) / sizes, sizes,
                      dict(zip(levels, (int(c) for c in per_arm), strict=True)), len(pairs) > len(teams), baseline)


# ----------------------------------------------------------------------------------------------
# Statistics on a matrix of assignments (one row per assignment, arm codes 0..k-1 per team)

def _between_ss(codes: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Between-arm sum of squares of ``y`` (centred) for each row of arm codes; an empty arm adds 0."""
    codes = np.atleast_2d(codes)
    total = np.zeros(codes.shape[0])
    for arm in range(k):
        mask = codes == arm
        sums = mask @ y
        counts = mask.sum(axis=1)
        total += np.divide(sums ** 2, counts, out=np.zeros_like(sums), where=counts > 0)
    return total


def _abs_difference(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|mean of arm 1 − mean of arm 0| for each row of 0/1 codes; NaN where an arm is empty."""
    codes = np.atleast_2d(codes)
    ones = codes == 1
    n1 = ones.sum(axis=1)
    n0 = codes.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(ones @ y / n1 - (~ones) @ y / n0)


def _f_from_ss(ssb: float, sst: float, n: int, k: int) -> float | None:
    if n <= k or k < 2:
        return None
    within = sst - ssb
    if within <= TIES * sst:
        return float("inf")
    return float((ssb / (k - 1)) / (within / (n - k)))


def _p_value(null: np.ndarray, observed: float, weights: np.ndarray | None) -> float:
    """P(statistic ≥ observed): weighted share when exact, else (1 + #≥) / (1 + draws). NaN counts as ≥.

    Exact weights are whole numbers (proportional to the probabilities), so the sums are exact.
    """
    extreme = ~(null < observed - TIES * abs(observed))
    if weights is not None:
        return float(weights[extreme].sum() / weights.sum())
    return float((1 + extreme.sum()) / (1 + len(null)))


def _p_min(null: np.ndarray, weights: np.ndarray) -> float:
    """The smallest p-value the assignments can give: that of the largest statistic (NaN counts as ≥)."""
    finite = null[np.isfinite(null)]
    return _p_value(null, float(finite.max()), weights) if len(finite) else 1.0


# ----------------------------------------------------------------------------------------------
# The procedure's distribution, block by block

@dataclass
class _Block:
    """One block of the procedure, seen from the teams compared: where they sit, and which arm
    count vectors they can take with what weight."""

    free: list[int]  # positions (into the compared teams) of this block's teams that move
    options: list[tuple[tuple[int, ...], int]]  # (counts per arm code, whole-number weight of one arrangement)

    @property
    def count(self) -> int:
        return sum(_multinomial(c) for c, _ in self.options)

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """Every arrangement of arm codes over ``free``, and its weight (proportional to its probability)."""
        rows, weights = [], []
        for counts, weight in self.options:
            arrangements = _arrangements(counts)
            rows.append(arrangements)
            weights.append(np.full(len(arrangements), float(weight)))
        return np.vstack(rows), np.concatenate(weights)

    def sample(self, rng, draws: int) -> np.ndarray:
        """``draws`` arrangements from the block's distribution (draws × len(free) arm codes)."""
        weights = np.array([_multinomial(c) * w for c, w in self.options], float)
        chosen = rng.choice(len(self.options), size=draws, p=weights / weights.sum())
        base = np.array([np.repeat(np.arange(len(c)), c) for c, _ in self.options])
        return rng.permuted(base[chosen], axis=1)


def _multinomial(counts: Sequence[int]) -> int:
    result = math.factorial(sum(counts))
    for c in counts:
        result //= math.factorial(c)
    return result


def _arrangements(counts: Sequence[int]) -> np.ndarray:
    """Every distinct sequence with ``counts[j]`` copies of code j, one per row."""
    length = sum(counts)
    rows: list[list[int]] = []
    left = list(counts)
    prefix: list[int] = []

    def extend():
        if len(prefix) == length:
            rows.append(prefix.copy())
            return
        for code, remaining in enumerate(left):
            if remaining:
                left[code] -= 1
                prefix.append(code)
                extend()
                prefix.pop()
                left[code] += 1

    extend()
    return np.array(rows, dtype=np.int64).reshape(len(rows), length)


def _blocks(plan: RandomisationPlan, position: Mapping, arms: Sequence[str]) -> list[_Block] | None:
    """The plan's blocks, the teams at ``position`` moving among ``arms`` and every other unit kept
    where it was; None when the stored assignment is not one the procedure can make.

    Given the units that stay, one arrangement of the moving teams over a block's first L places
    (all b but in a stratum's cut-off last block) has probability proportional to the number of
    ways to complete the block's permutation, (b − L)! / ∏ (r_a − c_a)!, with r_a the block's
    count of arm a and c_a the arm's count in those places.
    """
    size = len(plan.block)
    ratio = Counter(plan.block)
    blocks = []
    for _, members in sorted(plan.strata.items(), key=lambda item: item[0]):
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            stored = Counter(plan.assignment[u] for u in chunk)
            if any(stored[arm] > ratio.get(arm, 0) for arm in stored):
                return None
            free = [position[u] for u in chunk if u in position]
            if not free:
                continue
            kept = Counter(plan.assignment[u] for u in chunk if u not in position)
            room = [ratio.get(arm, 0) - kept[arm] for arm in arms]
            options = []
            for counts in _compositions(len(free), room):
                weight = 1  # ∝ 1 / ∏ (room − c)!, times ∏ room! to keep it whole
                for r, c in zip(room, counts, strict=True):
                    weight *= math.perm(r, c)
                options.append((counts, weight))
            blocks.append(_Block(free, options))
    return blocks


def _compositions(total: int, caps: Sequence[int]):
    """Count vectors (c_1, …) with 0 ≤ c_j ≤ caps[j] summing to ``total``."""
    ranges = [range(min(cap, total) + 1) for cap in caps]
    for counts in itertools.product(*ranges):
        if sum(counts) == total:
            yield tuple(counts)


def _enumerate(blocks: list[_Block], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every assignment of the moving teams (rows of arm codes) and its weight (∝ its probability;
    whole numbers, exact in floating point below 2⁵³)."""
    codes = np.zeros((1, n), dtype=np.int64)
    probs = np.ones(1)
    for block in blocks:
        rows, p = block.support()
        m = len(rows)
        codes = np.repeat(codes, m, axis=0)
        codes[:, block.free] = np.tile(rows, (len(probs), 1))
        probs = np.outer(probs, p).ravel()
    return codes, probs


def _sample(blocks: list[_Block], n: int, rng, draws: int) -> np.ndarray:
    codes = np.zeros((draws, n), dtype=np.int64)
    for block in blocks:
        codes[:, block.free] = block.sample(rng, draws)
    return codes


def _procedure_draws(plan: RandomisationPlan, position: Mapping, code: Mapping[str, int], rng,
                     draws: int) -> np.ndarray:
    """``draws`` runs of the procedure itself (:func:`permuted_blocks`), as arm codes of the teams compared."""
    codes = np.zeros((draws, len(position)), dtype=np.int64)
    for row in range(draws):
        for _, unit, arm in permuted_blocks(plan.strata, plan.block, rng):
            codes[row, position[unit]] = code[arm]
    return codes


# ----------------------------------------------------------------------------------------------
# The test

def randomisation_test(values: Sequence[float], arms: Sequence[str], levels: Sequence[str],
                       units: Sequence | None = None, plan: RandomisationPlan | None = None, *,
                       limit: int = LIMIT, draws: int = DRAWS, seed: int = SEED,
                       adjusted_for: str | None = None) -> RandomisationTest:
    """The randomisation test of the arms ``levels`` on one value per team (see the module docstring).

    Parameters
    ----------
    values, arms : sequences
        Each team's value (its reps' mean) and its arm.
    levels : sequence of str
        The arms compared, in order (pairs are b − a with a before b).
    units : sequence, optional
        The teams' ids as the plan names them (needed with ``plan``).
    plan : RandomisationPlan, optional
        The study's procedure; without it (or when the stored assignment is not one it can make,
        or it does not know every team) the teams are taken as completely randomised, keeping
        each arm's number of teams.
    limit, draws, seed : int
        Enumerate when there are at most ``limit`` (or ``draws``) distinct assignments, else
        ``draws`` Monte Carlo draws from a generator seeded with ``seed``.

    Returns
    -------
    RandomisationTest
    """
    levels = tuple(levels)
    y = np.asarray(values, float)
    arms = tuple(str(a) for a in arms)
    if len(y) != len(arms) or (units is not None and len(units) != len(y)):
        raise ValueError("values, arms and units must have one entry per team")
    if set(arms) - set(levels) or any(arm not in arms for arm in levels):
        raise ValueError("every team's arm must be one of the levels, and every level needs a team")
    if not np.isfinite(y).all():
        raise ValueError("every team needs a finite value")
    y = y - y.mean()  # centred: sums of squares keep their digits whatever the level (audit F5)
    notes: list[str] = []
    usable = None
    if plan is not None:
        usable, why = _usable(plan, units, arms)
        if usable is None:
            notes.append(why)
    if usable is None:
        return _complete(y, arms, levels, units, limit, draws, seed, adjusted_for, notes)
    return _with_plan(y, arms, levels, list(units), usable, limit, draws, seed, adjusted_for, notes)


def _usable(plan: RandomisationPlan, units, arms) -> tuple[RandomisationPlan | None, str]:
    if plan.unit != "team":
        return None, "reps, not teams, were randomised"
    if units is None or any(u not in plan.assignment for u in units):
        return None, "the study's assignment does not list every team compared"
    if any(str(plan.assignment[u]) != arm for u, arm in zip(units, arms, strict=True)):
        return None, "a team's model in the data is not the one the study assigned"
    if not plan.block or _blocks(plan, {}, ()) is None:
        return None, (f"the stored assignment is not one {plan.describe()} can make (it was made or changed "
                      "outside it)")
    return plan, ""


def _t_intervals(y: np.ndarray, arms: tuple[str, ...], levels: tuple[str, ...]):
    """Pooled SD of team means within arms and its df (J − k), for the pairs' t intervals."""
    within = sum(float(((y[np.array(arms) == lv] - y[np.array(arms) == lv].mean()) ** 2).sum()) for lv in levels)
    df = len(y) - len(levels)
    return (float(np.sqrt(within / df)) if df > 0 else float("nan")), df


def _pair_words(y, arms, levels, pvalues, counts, exacts, pmins) -> tuple[RandomisationPair, ...]:
    sd, df = _t_intervals(y, arms, levels)
    half = float(t_ppf(0.975, df)) if df > 0 else float("nan")
    adjusted = holm(pvalues)
    pairs = []
    index = 0
    arms_array = np.array(arms)
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            ya, yb = y[arms_array == a], y[arms_array == b]
            diff = float(yb.mean() - ya.mean())
            se = float(sd * np.sqrt(1 / len(ya) + 1 / len(yb)))
            pairs.append(RandomisationPair(a, b, diff, se, diff - half * se, diff + half * se, pvalues[index],
                                           float(adjusted[index]), counts[index], exacts[index], pmins[index]))
            index += 1
    return tuple(pairs)


def _complete(y, arms, levels, units, limit, draws, seed, adjusted_for, notes) -> RandomisationTest:
    """Complete randomisation keeping the arms' sizes: one permuted block holding every team's arm
    (what ``scipy.stats.permutation_test(..., permutation_type="independent")`` does; the tests check
    that the two agree)."""
    units = list(range(len(y))) if units is None else list(units)
    plan = RandomisationPlan(strata={"all": tuple(units)}, block=arms, assignment=dict(zip(units, arms, strict=True)))
    sizes = ", ".join(str(arms.count(level)) for level in levels)
    procedure = (f"complete randomisation of the {len(y)} teams among the models, keeping each model's number of "
                 f"teams ({sizes})")
    if notes:
        procedure += f", because {notes[0]}"
    return _with_plan(y, arms, levels, units, plan, limit, draws, seed, adjusted_for, notes, procedure,
                      "complete randomisation")


def _plan_key(plan: RandomisationPlan) -> tuple:
    """The plan as a hashable key (for the cache of reference distributions)."""
    return (tuple((name, tuple(members)) for name, members in sorted(plan.strata.items(), key=lambda i: i[0])),
            tuple(plan.block), tuple(sorted(plan.assignment.items(), key=lambda item: repr(item[0]))), plan.seed)


@functools.lru_cache(maxsize=32)
def _reference(key: tuple, moving: tuple, arms: tuple, limit: int, draws: int, seed: int,
               literal: bool) -> tuple[np.ndarray, np.ndarray | None, int, bool]:
    """The assignments of the ``moving`` teams among ``arms`` (rows of arm codes, read-only) and their
    probabilities (None for Monte Carlo draws), their number and whether they are all of them.

    Cached: every outcome of a view compares the same teams, so the assignments are enumerated or
    drawn once and only the statistic is computed per outcome.
    """
    strata, block, assignment, plan_seed = key
    plan = RandomisationPlan(strata=dict(strata), block=block, seed=plan_seed, assignment=dict(assignment))
    position = {unit: i for i, unit in enumerate(moving)}
    blocks = _blocks(plan, position, arms)
    count = math.prod(b.count for b in blocks)
    exact = count <= max(limit, draws)  # never fewer assignments than draws drawn
    if exact:
        codes, weights = _enumerate(blocks, len(moving))
    elif literal and draws * len(blocks) <= SHUFFLES:  # every unit moves among every arm: the procedure, re-run
        code = {arm: i for i, arm in enumerate(arms)}
        codes, weights = _procedure_draws(plan, position, code, np.random.default_rng(seed), draws), None
    else:
        codes, weights = _sample(blocks, len(moving), np.random.default_rng(seed), draws), None
    codes = codes.astype(np.int8)
    codes.flags.writeable = False
    if weights is not None:
        weights.flags.writeable = False
    return codes, weights, count, exact


def _with_plan(y, arms, levels, units, plan, limit, draws, seed, adjusted_for, notes, procedure=None,
               method="permuted blocks") -> RandomisationTest:
    """The procedure of ``plan`` re-run: the compared teams move, every other unit keeps its arm."""
    key = _plan_key(plan)
    literal = method == "permuted blocks" and set(units) == set(plan.assignment) and set(plan.block) == set(levels)
    code = {level: i for i, level in enumerate(levels)}
    k = len(levels)
    codes, weights, count, exact = _reference(key, tuple(units), levels, limit, draws, seed, literal)
    ssb = float(_between_ss(np.array([code[a] for a in arms]), y, k)[0])
    null = _between_ss(codes, y, k)
    p = _p_value(null, ssb, weights)
    p_min = _p_min(null, weights) if exact else None
    pvalues, counts, exacts, pmins = [], [], [], []
    arms_array = np.array(arms)
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            inside = np.isin(arms_array, (a, b))
            pair_units = tuple(u for u, keep in zip(units, inside, strict=True) if keep)
            pair_y = y[inside]
            pair_codes, pair_weights, pair_count, pair_exact = _reference(key, pair_units, (a, b), limit, draws,
                                                                          seed, False)
            pair_null = _abs_difference(pair_codes, pair_y)
            observed = _abs_difference((arms_array[inside] == b).astype(np.int8), pair_y)[0]
            pvalues.append(_p_value(pair_null, float(observed), pair_weights))
            counts.append(pair_count)
            exacts.append(pair_exact)
            pmins.append(_p_min(pair_null, pair_weights) if pair_exact else None)
    if procedure is None:
        procedure = plan.describe() + (" (the seed reproduces the stored assignment)" if plan.reproduced() else
                                       " (the stored assignment is not the seed's draw, but one it can make)")
    sizes = [int((arms_array == level).sum()) for level in levels]
    return RandomisationTest(
        statistic=_f_from_ss(ssb, float(y @ y), len(y), k), p=p, teams=dict(zip(levels, sizes, strict=True)),
        n_assignments=count, exact=exact, draws=None if exact else draws, seed=None if exact else seed,
        procedure=procedure, method=method, p_min=p_min,
        pairs=_pair_words(y, arms, levels, pvalues, counts, exacts, pmins), adjusted_for=adjusted_for,
        notes=tuple(notes))
