"""Checking a design by simulation: how often would a pilot like this one name the right coaching model?

The analytic planning (``analysis.planning``) gives the power of one pairwise test. What a consultant needs
to know before launch is whether the *report* would name the right model: the planted model must beat every
other model on the primary outcome, each difference surviving the multiplicity correction, and the decision
rule (``analysis.decision.decide``) must then recommend it. :func:`simulate_design` runs that whole pipeline
on simulated pilots (``analysis.simulate``) with a known difference planted on one model:

1. ``pilots`` pilots of the design as given (its teams, team sizes, response rate and ICC) with the effect
   ``d`` (in SD units of the primary outcome) planted on ``planted``: how many recommend it ("right"), how
   many recommend another model ("wrong"), how many recommend nothing ("none");
2. a few candidate team counts chosen around the analytic estimate (:func:`analysis.planning.teams_needed`),
   ``pilots`` pilots at each: the smallest count per model where at least ``target`` of them name the right
   model is ``teams_for_80``; when none reaches it, ``more_than`` is the largest count tried.

Only the primary outcome is simulated and compared (the follow-up wave of a survey outcome; the quarter after,
adjusted for the quarter before, of a CRM metric), and it is the only deciding outcome, as in the report. Every
pilot's seed is drawn from ``seed``, the team count and the pilot's number, so the result is reproducible.

For a CRM metric the simulator's own variance components apply (the ICC of quota attainment is
``QUOTA_SD_TEAM² / QUOTA_SD²``, about 0.13, whatever ``icc`` says) and the response rate does not (CRM
figures exist for every rep). An effect on revenue is planted as the same ``d`` on quota attainment, which
revenue follows; revenue's own ``d`` is then a little smaller (quotas differ between reps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._result import Result
from .comparison import assemble, compare_outcome
from .decision import MAX_TEAMS_SAID, decide
from .planning import size_variation, teams_needed
from .simulate import (
    ARMS,
    BASE_MEANS,
    OUTCOME_SCALE,
    QUOTA_SD_ABILITY,
    QUOTA_SD_NOISE,
    QUOTA_SD_TEAM,
    WIN_RATE_PER_POINT,
    WIN_RATE_SD_NOISE,
    simulate_pilot,
)

SD_TOTAL = 0.8  # SD of a latent 1-5 survey score, as ``simulate_pilot``'s default
QUOTA_SD = math.sqrt(QUOTA_SD_TEAM ** 2 + QUOTA_SD_ABILITY ** 2 + QUOTA_SD_NOISE ** 2)
WIN_RATE_SD = math.sqrt((WIN_RATE_PER_POINT * QUOTA_SD) ** 2 + WIN_RATE_SD_NOISE ** 2)
QUOTA_ICC = QUOTA_SD_TEAM ** 2 / QUOTA_SD ** 2
PERFORMANCE = ("quota_attainment", "win_rate", "revenue")
CANDIDATE_FACTORS = (0.75, 1.0, 1.25, 1.5, 2.0)  # multiples of the analytic teams per model tried
TARGET = 0.8

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TeamCount(Result):
    """``pilots`` simulated pilots with ``teams_per_arm`` teams per model: how many named the right model, a
    wrong one, or none."""

    teams_per_arm: int
    right: int
    wrong: int
    none: int


@dataclass(frozen=True)
class DesignSimulation(Result):
    """What :func:`simulate_design` found: the design's own counts, the candidates tried, and the teams needed.

    ``teams_for_80`` is the smallest candidate count per model where at least ``target`` × ``pilots`` pilots
    named the right model; None when none did, and then ``more_than`` is the largest count tried (None too
    when there was nothing to try: no planted effect).
    """

    outcome: str
    planted: str
    effect: float
    icc: float
    response_rate: float
    team_size: tuple[int, int]
    n_teams: int
    teams_per_arm: float
    pilots: int
    seed: int
    right: int
    wrong: int
    none: int
    analytic_teams: int | None  # teams per model for 80 % power of one pairwise test (analysis.planning)
    candidates: tuple[TeamCount, ...]
    teams_for_80: int | None
    more_than: int | None
    target: float = TARGET

    @property
    def share_right(self) -> float:
        return self.right / self.pilots


def planted_effects(outcome: str, planted: str, effect: float, sd_total: float = SD_TOTAL) -> tuple[dict, dict]:
    """The simulator's ``survey_effects`` and ``performance_effects`` that plant ``effect`` SD on ``planted``."""
    if outcome in BASE_MEANS:
        return {outcome: {planted: effect * sd_total * OUTCOME_SCALE.get(outcome, 1.0)}}, {}
    if outcome == "win_rate":
        return {}, {"win_rate": {planted: effect * WIN_RATE_SD}}
    if outcome in PERFORMANCE:  # quota attainment, and revenue through it
        return {}, {"quota_attainment": {planted: effect * QUOTA_SD}}
    raise ValueError(f"outcome: {outcome!r} cannot be simulated (survey dimensions, overall items and CRM "
                     "metrics can)")


def pilot_seed(seed: int, n_teams: int, number: int) -> int:
    """The seed of pilot ``number`` of ``n_teams`` teams: independent streams, the same for the same inputs."""
    return int(np.random.SeedSequence([seed, n_teams, number]).generate_state(1)[0])


def one_pilot(n_teams: int, team_size: tuple[int, int], arms: Sequence[str], outcome: str, planted: str,
              effect: float, icc: float, response_rate: float, seed: int) -> str | None:
    """Simulate one pilot, compare its primary outcome as the report does, decide: the model recommended."""
    survey, performance = planted_effects(outcome, planted, effect)
    pilot = simulate_pilot(n_teams=n_teams, team_size=team_size, arms=arms, survey_effects=survey,
                           performance_effects=performance, icc=icc, sd_total=SD_TOTAL,
                           response_rate=response_rate, waves=("baseline", "follow-up"), seed=seed)
    if outcome in PERFORMANCE:
        perf = pilot.performance
        data = perf[perf["period"] == "after"].merge(perf[perf["period"] == "before"][["rep", outcome]],
                                                     on="rep", suffixes=("", "_before"))
        comparison = compare_outcome(data, outcome, "coaching_model", arms, cluster="team",
                                     baseline=f"{outcome}_before")
    else:
        data = pilot.responses[pilot.responses["wave"] == "follow-up"]
        comparison = compare_outcome(data, outcome, "coaching_model", arms, cluster="team")
    analysis = assemble([comparison], "coaching_model", arms, outcome, cluster="team")
    return decide(analysis.outcomes, analysis.verdict.findings, arms, outcome).recommendation


def candidate_counts(analytic: int | None, max_teams: int) -> tuple[int, ...]:
    """Team counts per model to simulate: multiples of the analytic estimate, at least 2, at most ``max_teams``
    (only ``max_teams`` when the estimate is beyond it, or there is none)."""
    if analytic is None:
        return (max_teams,)
    counts = {min(max(2, math.ceil(factor * analytic)), max_teams) for factor in CANDIDATE_FACTORS}
    return tuple(sorted(counts))


def analytic_teams(effect: float, k: int, team_size: tuple[int, int], response_rate: float, icc: float,
                   outcome: str, max_teams: int = 10_000) -> int | None:
    """Teams per model for 80 % power of one pairwise test (``analysis.planning``); None beyond ``max_teams``."""
    sizes = np.arange(team_size[0], team_size[1] + 1, dtype=float)
    if outcome in PERFORMANCE:
        per_team, design_icc = sizes.mean(), QUOTA_ICC
    else:
        per_team, design_icc = max(sizes.mean() * response_rate, 1.0), icc
    try:
        needed = teams_needed(effect, k, per_team, design_icc, max_teams=max_teams, cv=size_variation(sizes))
    except ValueError:
        return None
    return needed.teams_per_arm


def simulate_design(*, effect: float, planted: str, team_size: tuple[int, int], response_rate: float, icc: float,
                    teams_per_arm: int | None = None, n_teams: int | None = None, arms: Sequence[str] = ARMS,
                    outcome: str = "satisfaction", pilots: int = 100, seed: int = 2026,
                    progress: Progress | None = None, target: float = TARGET,
                    max_teams: int = MAX_TEAMS_SAID, candidates: Sequence[int] | None = None) -> DesignSimulation:
    """Simulate ``pilots`` pilots of the design and of a few candidate team counts; see the module docstring.

    Give the design's size as ``teams_per_arm`` or as ``n_teams`` (all models together). ``effect`` is the
    planted difference in SD units of ``outcome`` (0 plants none: then nothing is searched). ``candidates``
    (teams per model) replaces the counts chosen from the analytic estimate. ``progress``, if given, is called
    as ``progress(done, total)`` after every pilot.
    """
    arms = tuple(arms)
    k = len(arms)
    if planted not in arms:
        raise ValueError(f"planted: {planted!r} is not one of the models compared {arms}")
    if (teams_per_arm is None) == (n_teams is None):
        raise ValueError("give teams_per_arm or n_teams, not both")
    n_teams = teams_per_arm * k if n_teams is None else n_teams
    if n_teams < 2 * k:
        raise ValueError(f"n_teams: {n_teams} teams leave fewer than two per model")
    if not effect >= 0:
        raise ValueError("effect: must be 0 or more")
    if pilots < 1:
        raise ValueError("pilots: at least one")
    planted_effects(outcome, planted, effect)  # refuses an outcome that cannot be simulated, before any work
    design_per_arm = n_teams / k
    analytic = None
    counts: tuple[int, ...] = ()
    if effect > 0:
        analytic = analytic_teams(effect, k, team_size, response_rate, icc, outcome)
        counts = candidate_counts(analytic, max_teams)
    if candidates is not None:
        counts = tuple(sorted({int(c) for c in candidates}))
        if any(c < 2 for c in counts):
            raise ValueError("candidates: at least two teams per model")
    runs = [n_teams] + [c * k for c in counts if c * k != n_teams]
    total, done = pilots * len(runs), 0
    tallies: dict[int, TeamCount] = {}
    for teams in runs:
        found = {"right": 0, "wrong": 0, "none": 0}
        for number in range(pilots):
            chosen = one_pilot(teams, team_size, arms, outcome, planted, effect, icc, response_rate,
                               pilot_seed(seed, teams, number))
            found["none" if chosen is None else "right" if chosen == planted else "wrong"] += 1
            done += 1
            if progress is not None:
                progress(done, total)
        tallies[teams] = TeamCount(teams // k if teams % k == 0 else teams / k, **found)
    design = tallies[n_teams]
    tried = tuple(tallies[c * k] for c in counts)
    enough = [c.teams_per_arm for c in tried if c.right >= target * pilots]
    teams_for_80 = min(enough) if enough else None
    more_than = max(counts) if counts and teams_for_80 is None else None
    return DesignSimulation(outcome, planted, float(effect), float(icc), float(response_rate),
                            (int(team_size[0]), int(team_size[1])), n_teams, design_per_arm, pilots, seed,
                            design.right, design.wrong, design.none, analytic, tried, teams_for_80, more_than,
                            target)
