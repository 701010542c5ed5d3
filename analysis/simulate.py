"""Simulated coaching pilots with known, planted differences between the coaching models.

The demo seeds its database from here, and the tests use the same simulator to check that the
analysis finds what was planted — and nothing else. Everything is pure numpy/pandas and
reproducible from ``seed``.

The generating model, per survey dimension ``d``, rep ``i`` in team ``j`` and wave ``w``::

    score = base[d] + effect[d][arm(j)] * (w is follow-up) + u[j, d] + r[i, d] + e[i, w, d]

with team effects ``u ~ N(0, sd_team)`` (the clustering), persistent rep effects
``r ~ N(0, sd_rep)`` (the baseline correlation) and occasion noise ``e ~ N(0, sd_occasion)``.
The intraclass correlation is ``sd_team² / (sd_team² + sd_rep² + sd_occasion²)``. Baseline is
measured before the coaching models start, so it carries no arm effect. Items are the latent
score plus item noise, rounded to the answer scale; reverse-keyed items are mirrored.

Performance follows the same pattern per rep (team and ability effects shared by the quarter
before and the quarter after, the arm effect only after), and logged coaching sessions per rep
and month are Poisson with a rate that depends on who coaches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ARMS: tuple[str, ...] = ("manager", "peer", "external")

#: Mean of each survey outcome at baseline, on its answer scale (1-5; recommend 0-10).
BASE_MEANS: dict[str, float] = {
    "coaching": 3.4, "mentoring": 3.2, "motivating": 3.5, "accountability": 3.3,
    "onboarding": 3.1, "candour": 3.3, "expertise": 3.2, "availability": 3.1,
    "satisfaction": 3.5, "recommend": 6.5,
}

#: Scale of each outcome relative to a 1-5 agreement item (recommend is on 0-10).
OUTCOME_SCALE: dict[str, float] = {"recommend": 2.5}

#: Planted follow-up shifts per outcome and arm, in answer-scale points. Outcomes not listed
#: (coaching, mentoring, motivating, satisfaction, recommend) have no difference at all.
SURVEY_EFFECTS: dict[str, dict[str, float]] = {
    "accountability": {"manager": 0.7},   # the integrated manager leads on accountability …
    "onboarding": {"manager": 0.7},       # … and on onboarding / team-building
    "candour": {"peer": 0.7},             # reps are more candid with a peer
    "expertise": {"external": 0.8},       # outside coaches bring skills the organisation lacks
    "availability": {"manager": -0.8},    # the manager is too busy
}

#: Planted shifts of performance in the quarter after (quota attainment in percentage points,
#: win rate as a proportion).
PERFORMANCE_EFFECTS: dict[str, dict[str, float]] = {
    "quota_attainment": {"manager": 10.0},
}

#: The "realistic" preset: differences between coach types as large as the coaching literature makes
#: plausible (``shared/reviews/market.md`` 5.3: survey d ≈ 0.2–0.3, quota attainment d ≈ 0.1–0.15), where the
#: defaults above are vivid (d ≈ 0.9 and 10 quota points) so that a demo shows every finding.
REALISTIC_SURVEY_EFFECTS: dict[str, dict[str, float]] = {
    "accountability": {"manager": 0.2},
    "onboarding": {"manager": 0.2},
    "candour": {"peer": 0.2},
    "expertise": {"external": 0.22},
    "availability": {"manager": -0.22},
}
REALISTIC_PERFORMANCE_EFFECTS: dict[str, dict[str, float]] = {
    "quota_attainment": {"manager": 1.5},
}
PRESETS = {"vivid": (None, None), "realistic": (REALISTIC_SURVEY_EFFECTS, REALISTIC_PERFORMANCE_EFFECTS)}

#: Mean coaching sessions per rep per month, and mean minutes per session, by coach's model
#: (peer and external coaches meet their reps equally often; managers less).
SESSION_RATES: dict[str, float] = {"manager": 1.0, "peer": 2.4, "external": 2.4}
SESSION_MINUTES: dict[str, float] = {"manager": 25.0, "peer": 35.0, "external": 50.0}

DRIFT_SHARE = 0.8  # share of a drifted team's sessions given by the other kind of coach

REGIONS: tuple[str, ...] = ("North", "South", "East", "West")
QUOTA_REVENUES = (200_000.0, 250_000.0, 300_000.0)  # quarterly quota per rep, drawn evenly
MEAN_QUOTA_REVENUE = sum(QUOTA_REVENUES) / len(QUOTA_REVENUES)
WIN_RATE_PER_POINT = 0.002  # win rate rises 0.2 points per point of quota attainment
#: Quota attainment (percentage points): SDs of the team effect, the rep's ability (both shared by the quarter
#: before and after) and the quarter's own noise; win rate's own noise around what quota attainment implies.
QUOTA_SD_TEAM, QUOTA_SD_ABILITY, QUOTA_SD_NOISE = 7.0, 15.0, 10.0
WIN_RATE_SD_NOISE = 0.04

_FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery", "Quinn",
          "Robin", "Charlie", "Dana", "Eli", "Frankie", "Harper", "Jesse", "Kai", "Lee", "Noa",
          "Parker", "Reese", "Sasha", "Toni", "Yuki", "Zoe", "Mina", "Omar", "Ines", "Lars")
_LAST = ("Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kowalski",
         "Larsen", "Moreau", "Nakamura", "Olsen", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Umar",
         "Varga", "Weber", "Xu", "Young", "Zimmer", "Novak", "Silva", "Ahmed", "Brown", "Clarke")


@dataclass(frozen=True)
class PlantedDifference:
    """A true difference the simulator built in: ``higher`` beats ``lower`` on ``outcome`` by ``size``.

    ``derived`` marks differences that follow from another one by construction (revenue and win
    rate move with quota attainment); they are true, but smaller and not always detectable.
    """

    outcome: str
    higher: str
    lower: str
    size: float
    derived: bool = False


@dataclass(frozen=True)
class SimulatedPilot:
    """A whole simulated pilot: roster, allocation, survey responses, performance and sessions.

    Attributes
    ----------
    teams : DataFrame
        ``team, region, coaching_model, n_reps``.
    reps : DataFrame
        ``rep, team, name, email, crm_id``.
    responses : DataFrame
        One row per submitted survey: ``response, rep, wave, team, coaching_model`` and one
        column per latent outcome score. ``rep`` is the simulator's truth; it must never be stored.
    answers : DataFrame
        Long form ``response, item, value`` (NaN = prefer not to say); empty without ``items``.
    performance : DataFrame
        ``rep, team, coaching_model, period ("before" / "after"), quota_attainment, win_rate,
        revenue, deals_won``.
    sessions : DataFrame
        ``rep, team, coach_model, month (0-based), day (1-28), minutes``.
    survey_effects, performance_effects : dict
        The planted shifts, per outcome and arm.
    icc : float
        Intraclass correlation of the survey outcomes built into the data.
    """

    teams: pd.DataFrame
    reps: pd.DataFrame
    responses: pd.DataFrame
    answers: pd.DataFrame
    performance: pd.DataFrame
    sessions: pd.DataFrame
    arms: tuple[str, ...]
    survey_effects: Mapping[str, Mapping[str, float]]
    performance_effects: Mapping[str, Mapping[str, float]]
    icc: float
    seed: int
    outcomes: tuple[str, ...] = field(default=tuple(BASE_MEANS))
    waves: tuple[str, ...] = ("baseline", "follow-up")

    def planted_differences(self) -> list[PlantedDifference]:
        """Every pair of arms whose true follow-up means differ, on every outcome (sessions included)."""
        found = []
        sessions = {"sessions_per_rep_month": {arm: SESSION_RATES.get(arm, 1.5) for arm in self.arms}}
        quota = self.performance_effects.get("quota_attainment", {})
        derived = {  # revenue and win rate are computed from quota attainment (see _performance)
            "revenue": {arm: shift * MEAN_QUOTA_REVENUE / 100 for arm, shift in quota.items()},
            "win_rate": {arm: quota.get(arm, 0.0) * WIN_RATE_PER_POINT
                         + self.performance_effects.get("win_rate", {}).get(arm, 0.0)
                         for arm in set(quota) | set(self.performance_effects.get("win_rate", {}))},
        }
        for effects, is_derived in ((self.survey_effects, False), (self.performance_effects, False),
                                    (sessions, False), (derived, True)):
            for outcome, by_arm in effects.items():
                if is_derived is False and outcome == "win_rate":
                    continue  # reported with the derived part included
                for a_pos, a in enumerate(self.arms):
                    for b in self.arms[a_pos + 1:]:
                        diff = by_arm.get(a, 0.0) - by_arm.get(b, 0.0)
                        if abs(diff) > 1e-12:
                            higher, lower = (a, b) if diff > 0 else (b, a)
                            found.append(PlantedDifference(outcome, higher, lower, abs(diff), is_derived))
        return found

    def true_mean(self, outcome: str, arm: str, wave: str = "follow-up") -> float:
        """Population mean of a survey outcome for an arm in a wave (before rounding to items)."""
        shift = self.survey_effects.get(outcome, {}).get(arm, 0.0) if wave != self.waves[0] else 0.0
        return BASE_MEANS[outcome] + shift


def simulate_pilot(
    n_teams: int = 27,
    team_size: tuple[int, int] = (5, 12),
    arms: Sequence[str] = ARMS,
    survey_effects: Mapping[str, Mapping[str, float]] | None = None,
    performance_effects: Mapping[str, Mapping[str, float]] | None = None,
    icc: float = 0.10,
    rep_correlation: float = 0.45,
    sd_total: float = 0.8,
    response_rate: float | Mapping[str, float] = 0.8,
    waves: Sequence[str] = ("baseline", "follow-up"),
    items: Iterable[Mapping] | None = None,
    item_noise: float = 0.55,
    prefer_not_to_say: float = 0.02,
    months: int = 3,
    seed: int = 2026,
    drifting: Mapping[str, str] | None = None,
) -> SimulatedPilot:
    """Simulate a cluster-randomised coaching pilot with planted differences.

    Parameters
    ----------
    n_teams : int
        Number of teams; they are allocated to the arms as evenly as possible, at random.
    team_size : (int, int)
        Inclusive range of reps per team.
    arms : sequence of str
        Coaching models compared.
    survey_effects, performance_effects : mapping, optional
        Follow-up shift per outcome and arm; default :data:`SURVEY_EFFECTS` and
        :data:`PERFORMANCE_EFFECTS`. Pass ``{}`` for a pilot with no true difference.
    icc : float
        Share of the variance of a survey score that lies between teams (0 <= icc < 1).
    rep_correlation : float
        Share of the within-team variance that is a persistent trait of the rep, i.e. the
        correlation of a rep's baseline and follow-up scores within a team.
    sd_total : float
        Total standard deviation of a latent 1-5 score at baseline.
    response_rate : float or mapping
        Probability that a rep answers a wave (independently per wave), or one per wave label.
    waves : sequence of str
        Wave labels in order; the first is the baseline (no arm effects), later ones carry them.
    items : iterable of mappings, optional
        Items to answer, each with ``key, dimension, reverse, scale_min, scale_max``; items
        whose dimension is not simulated (free text, say) are skipped.
    item_noise : float
        Standard deviation of an item around its latent dimension score.
    prefer_not_to_say : float
        Probability that an agreement item is answered "prefer not to say" (stored as NaN).
    months : int
        Months of coaching-session log to simulate.
    seed : int
        Seed of the random generator; the same seed gives the same pilot.
    drifting : mapping, optional
        Planted infidelity: arm → another kind of coach. The lowest-numbered team of each arm named
        got :data:`DRIFT_SHARE` of its sessions from that kind instead of its own (the log only: its
        outcomes stay those of its assigned arm, as in a real pilot analysed as randomised). Drawn
        after everything else, so the rest of the pilot is the same with or without it.

    Returns
    -------
    SimulatedPilot
    """
    arms = tuple(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise ValueError("arms: need at least two distinct coaching models")
    if n_teams < len(arms):
        raise ValueError(f"n_teams: {n_teams} teams cannot cover {len(arms)} arms")
    if not 0 <= icc < 1:
        raise ValueError("icc: must be in [0, 1)")
    waves = tuple(waves)
    rates = dict(response_rate) if isinstance(response_rate, Mapping) else {w: response_rate for w in waves}
    if len(waves) < 1 or set(rates) != set(waves):
        raise ValueError("response_rate: give one rate, or one per wave")
    if not all(0 < rate <= 1 for rate in rates.values()):
        raise ValueError("response_rate: must be in (0, 1]")
    survey_effects = dict(SURVEY_EFFECTS if survey_effects is None else survey_effects)
    performance_effects = dict(PERFORMANCE_EFFECTS if performance_effects is None else performance_effects)
    rng = np.random.default_rng(seed)

    teams = _teams(rng, n_teams, team_size, arms)
    reps = _reps(rng, teams)
    outcomes = tuple(BASE_MEANS)

    # Variance components of a latent score (scaled per outcome).
    sd_team = sd_total * np.sqrt(icc)
    within = sd_total ** 2 * (1 - icc)
    sd_rep = np.sqrt(within * rep_correlation)
    sd_occasion = np.sqrt(within * (1 - rep_correlation))

    team_index = reps["team"].to_numpy() - 1
    arm_of_rep = teams["coaching_model"].to_numpy()[team_index]
    n_reps = len(reps)
    team_u = {o: rng.normal(0, sd_team * OUTCOME_SCALE.get(o, 1.0), n_teams) for o in outcomes}
    rep_r = {o: rng.normal(0, sd_rep * OUTCOME_SCALE.get(o, 1.0), n_reps) for o in outcomes}

    frames = []
    for position, wave in enumerate(waves):
        answered = rng.random(n_reps) < rates[wave]
        scores = {}
        for o in outcomes:
            scale = OUTCOME_SCALE.get(o, 1.0)
            shift = np.zeros(n_reps)
            if position > 0:
                for arm, size in survey_effects.get(o, {}).items():
                    shift[arm_of_rep == arm] = size
            noise = rng.normal(0, sd_occasion * scale, n_reps)
            scores[o] = (BASE_MEANS[o] + shift + team_u[o][team_index] + rep_r[o] + noise)[answered]
        frame = pd.DataFrame({"rep": reps["rep"].to_numpy()[answered], "wave": wave,
                              "team": reps["team"].to_numpy()[answered],
                              "coaching_model": arm_of_rep[answered], **scores})
        frames.append(frame)
    responses = pd.concat(frames, ignore_index=True)
    # Response ids in a random order, as the real platform's are.
    responses.insert(0, "response", rng.permutation(len(responses)) + 1)

    answers = _answers(rng, responses, items, item_noise, prefer_not_to_say)
    performance = _performance(rng, reps, teams, arm_of_rep, performance_effects)
    sessions = _sessions(rng, reps, arm_of_rep, months)
    if drifting:
        sessions = _drift(rng, sessions, teams, drifting)
    return SimulatedPilot(teams=teams, reps=reps, responses=responses, answers=answers,
                          performance=performance, sessions=sessions, arms=arms,
                          survey_effects=survey_effects, performance_effects=performance_effects,
                          icc=icc, seed=seed, outcomes=outcomes, waves=waves)


def drifted_teams(teams: pd.DataFrame, drifting: Mapping[str, str]) -> dict[int, str]:
    """The teams ``drifting`` plants (team number → kind of coach it drifted to): each named arm's first."""
    result = {}
    for arm, kind in drifting.items():
        if kind == arm:
            raise ValueError(f"drifting: arm {arm!r} cannot drift to its own kind of coach")
        numbers = teams.loc[teams["coaching_model"] == arm, "team"]
        if numbers.empty:
            raise ValueError(f"drifting: no team is in arm {arm!r}")
        result[int(numbers.min())] = kind
    return result


def _drift(rng, sessions: pd.DataFrame, teams: pd.DataFrame, drifting: Mapping[str, str]) -> pd.DataFrame:
    """The drifted teams' sessions given by another kind of coach (a share ``DRIFT_SHARE`` of them)."""
    sessions = sessions.copy()
    for team, kind in drifted_teams(teams, drifting).items():
        rows = np.flatnonzero((sessions["team"] == team).to_numpy())
        moved = rows[rng.random(len(rows)) < DRIFT_SHARE]
        sessions.loc[sessions.index[moved], "coach_model"] = kind
        sessions.loc[sessions.index[moved], "minutes"] = np.clip(
            np.rint(rng.normal(SESSION_MINUTES.get(kind, 30.0), 10.0, len(moved))), 10, 120).astype(int)
    return sessions


def _teams(rng: np.random.Generator, n_teams: int, team_size: tuple[int, int], arms: tuple[str, ...]) -> pd.DataFrame:
    """Teams with a region and a size, allocated to arms as evenly as possible."""
    low, high = team_size
    if not 1 <= low <= high:
        raise ValueError("team_size: need 1 <= low <= high")
    allocation = np.resize(np.array(arms, dtype=object), n_teams)
    rng.shuffle(allocation)
    return pd.DataFrame({
        "team": np.arange(1, n_teams + 1),
        "region": np.resize(np.array(REGIONS, dtype=object), n_teams),
        "coaching_model": allocation,
        "n_reps": rng.integers(low, high + 1, n_teams),
    })


def _reps(rng: np.random.Generator, teams: pd.DataFrame) -> pd.DataFrame:
    """A roster with plausible, unique names, e-mail addresses and CRM ids."""
    team_of = np.repeat(teams["team"].to_numpy(), teams["n_reps"].to_numpy())
    n = len(team_of)
    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    names = [f"{f} {s}" for f, s in zip(first, last, strict=True)]
    ids = np.arange(1, n + 1)
    return pd.DataFrame({
        "rep": ids,
        "team": team_of,
        "name": names,
        "email": [f"{f.lower()}.{s.lower()}.{i}@example.com" for f, s, i in zip(first, last, ids, strict=True)],
        "crm_id": [f"CRM-{10000 + i}" for i in ids],
    })


def _answers(rng, responses, items, item_noise, prefer_not_to_say) -> pd.DataFrame:
    """Item answers consistent with each response's latent dimension scores."""
    columns = ["response", "item", "value"]
    if items is None:
        return pd.DataFrame(columns=columns)
    parts = []
    for item in items:
        dimension = item.get("dimension")
        if dimension not in responses.columns or item.get("scale_min") is None:
            continue
        low, high = float(item["scale_min"]), float(item["scale_max"])
        latent = responses[dimension].to_numpy()
        if dimension in OUTCOME_SCALE:
            # A single-item outcome on its own scale: the latent score is the item.
            value = np.rint(latent)
        else:
            value = np.rint(latent + rng.normal(0, item_noise, len(latent)))
        value = np.clip(value, low, high)
        if item.get("reverse"):
            value = low + high - value  # agreeing with a negatively worded statement
        if high - low == 4:  # agreement items offer "prefer not to say"
            value = np.where(rng.random(len(value)) < prefer_not_to_say, np.nan, value)
        parts.append(pd.DataFrame({"response": responses["response"].to_numpy(), "item": item["key"],
                                   "value": value}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _performance(rng, reps, teams, arm_of_rep, effects) -> pd.DataFrame:
    """Quarter-before and quarter-after CRM figures per rep."""
    n = len(reps)
    team_index = reps["team"].to_numpy() - 1
    team_effect = rng.normal(0, QUOTA_SD_TEAM, len(teams))[team_index]
    ability = rng.normal(0, QUOTA_SD_ABILITY, n)
    quota_revenue = rng.choice(QUOTA_REVENUES, n)
    rows = []
    for period in ("before", "after"):
        shift_quota = np.zeros(n)
        shift_win = np.zeros(n)
        if period == "after":
            for arm, size in effects.get("quota_attainment", {}).items():
                shift_quota[arm_of_rep == arm] = size
            for arm, size in effects.get("win_rate", {}).items():
                shift_win[arm_of_rep == arm] = size
        quota = np.clip(95 + team_effect + ability + shift_quota + rng.normal(0, QUOTA_SD_NOISE, n), 0, 400)
        win = np.clip(0.25 + WIN_RATE_PER_POINT * (quota - 95) + shift_win + rng.normal(0, WIN_RATE_SD_NOISE, n),
                      0.02, 0.95)
        revenue = np.round(quota_revenue * quota / 100, -2)
        deals = rng.poisson(np.maximum(revenue, 0) / 25_000.0)
        rows.append(pd.DataFrame({"rep": reps["rep"].to_numpy(), "team": reps["team"].to_numpy(),
                                  "coaching_model": arm_of_rep, "period": period,
                                  "quota_attainment": np.round(quota, 1), "win_rate": np.round(win, 3),
                                  "revenue": revenue, "deals_won": deals}))
    return pd.concat(rows, ignore_index=True)


def _sessions(rng, reps, arm_of_rep, months) -> pd.DataFrame:
    """Logged coaching sessions: count per rep and month by the coach's model, with minutes."""
    rates = np.array([SESSION_RATES.get(arm, 1.5) for arm in arm_of_rep])
    counts = rng.poisson(np.repeat(rates[:, None], months, axis=1))  # reps × months
    rep_idx, month = np.nonzero(counts)
    repeat = counts[rep_idx, month]
    rep_idx = np.repeat(rep_idx, repeat)
    month = np.repeat(month, repeat)
    arm = arm_of_rep[rep_idx]
    mean_minutes = np.array([SESSION_MINUTES.get(a, 30.0) for a in arm])
    minutes = np.clip(np.rint(rng.normal(mean_minutes, 10.0)), 10, 120).astype(int)
    return pd.DataFrame({"rep": reps["rep"].to_numpy()[rep_idx], "team": reps["team"].to_numpy()[rep_idx],
                         "coach_model": arm, "month": month, "day": rng.integers(1, 29, len(rep_idx)),
                         "minutes": minutes})
