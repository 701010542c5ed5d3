"""Was each coaching model really delivered? Fidelity from the session log, and a per-protocol estimate.

An effect estimated on teams that never received their model misleads. From the coaching-session log
(who coached, how often) this module gives, per model and per team: the share of sessions given by the
assigned kind of coach, the sessions each rep received a month, the teams below a stated minimum and the
teams that drifted to another kind of coach (named by team, never by rep). ``per_protocol`` sets the
randomised (intention-to-treat) estimate beside one on the teams that got their model as planned.

Counting. A session logged for one rep counts once for its team. A team session (no rep) is one
session, given by one coach, that reaches every rep of the team: it counts once in the shares
(``assigned_share``: the share of *sessions* given by the assigned kind), and once for each rep in
``sessions_per_rep_month`` (what each rep received: (rep sessions + team sessions × reps) / reps /
months). So the shares say who did the coaching; the rates say how much each rep got.

The per-protocol estimate is not randomised: teams that kept to their model may differ from those that
did not (busier managers drift to peers), so it may be biased either way; the randomised estimate stays
the answer. A complier-average causal effect (the Wald ratio of Angrist, Imbens & Rubin) is left out:
with three models a team can drift to either other one, and the exclusion restriction it needs — that
being assigned a model matters only through receiving it — cannot hold for a team that received a third.

References
----------
Carroll, C. et al. (2007). A conceptual framework for implementation fidelity. Implementation Science 2, 40.
Hernán, M. A. & Robins, J. M. (2017). Per-protocol analyses of pragmatic trials. NEJM 377, 1391–1398.
Angrist, J. D., Imbens, G. W. & Rubin, D. B. (1996). Identification of causal effects using instrumental
    variables. JASA 91, 444–455.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._distributions import t_ppf, t_sf
from ._result import Result
from ._validate import require_columns
from .clustered import mixed_model
from .randomisation import FEW_TEAMS, team_values

NAMES = {"manager": "manager", "peer": "peer", "external": "outside-coach"}
COACHES = {"manager": "its manager", "peer": "peers", "external": "an outside coach"}
KINDS = {"manager": "managers", "peer": "peers", "external": "outside coaches"}


@dataclass(frozen=True)
class TeamFidelity(Result):
    """One team: its model, reps, sessions logged, share by the assigned kind (None: no sessions), sessions
    each rep received a month, the kind that gave most, and whether it is below the minimum or drifted."""

    team: str
    coaching_model: str
    reps: int
    sessions: int
    assigned_share: float | None
    sessions_per_rep_month: float
    main_kind: str | None
    below_minimum: bool
    drifted: bool


@dataclass(frozen=True)
class ArmFidelity(Result):
    """One model over its teams: sessions, the share given by its own kind of coach and by each kind,
    sessions per rep per month, teams below the minimum and the teams that drifted (names)."""

    level: str
    teams: int
    reps: int
    sessions: int
    assigned_share: float | None
    sessions_per_rep_month: float
    teams_below_minimum: int
    share_teams_below_minimum: float
    by_kind: dict
    drifting: tuple[str, ...]


@dataclass(frozen=True)
class Fidelity(Result):
    """Fidelity of every model and team; ``kept_teams`` the teams delivered as assigned (at least
    ``low_share`` of their sessions by the assigned kind and at least ``minimum_per_rep_month``)."""

    arms: tuple[ArmFidelity, ...]
    teams: tuple[TeamFidelity, ...]
    minimum_per_rep_month: float
    low_share: float
    months: float
    warnings: tuple[str, ...] = field(default=())

    def arm(self, level: str) -> ArmFidelity:
        return next(a for a in self.arms if a.level == level)

    def team(self, team) -> TeamFidelity:
        return next(t for t in self.teams if t.team == str(team))

    @property
    def kept_teams(self) -> tuple[str, ...]:
        return tuple(t.team for t in self.teams if t.assigned_share is not None
                     and t.assigned_share >= self.low_share and not t.below_minimum)

    def redacted(self, shown) -> Fidelity:
        """The table as a reader may see it when only the teams ``shown`` may have figures of their own: the
        counts of teams below the minimum over those teams, and warnings that quote no hidden team's figure
        (``shown`` teams: see the report's rule, ``surveys.reports.worth``)."""
        from dataclasses import replace
        shown = set(shown)
        arms = []
        for arm in self.arms:
            mine = [t for t in self.teams if t.coaching_model == arm.level and t.team in shown]
            below = sum(t.below_minimum for t in mine)
            arms.append(replace(arm, teams_below_minimum=below,
                                share_teams_below_minimum=below / len(mine) if mine else float("nan")))
        return replace(self, arms=tuple(arms),
                       warnings=tuple(_warnings(arms, self.teams, self.minimum_per_rep_month, self.low_share, shown)))

    @property
    def low(self) -> tuple[str, ...]:
        return tuple(a.level for a in self.arms if a.assigned_share is not None and a.assigned_share < self.low_share)


def _share(x: float, below: float | None = None) -> str:
    """A share in percent, never rounded up to a threshold it is under (69.9 % stays 69.9 %, not 70 %)."""
    text = f"{100 * x:.0f}"
    if below is not None and x < below and float(text) >= 100 * below:
        text = f"{100 * x:.1f}"
    return f"{text} %"


def _warnings(arms, rows, minimum, low_share, shown) -> list[str]:
    """The warnings of a fidelity table. ``shown`` (None: every team) are the teams whose own figures may be
    given: a drifting team is always named, with its share only when shown; a team below the minimum or
    with a low share only when shown (its flag narrows its figure when the minimum moves)."""
    def visible(team):
        return shown is None or team.team in shown
    warnings = []
    for arm in arms:
        mine = [t for t in rows if t.coaching_model == arm.level]
        if arm.assigned_share is None:
            warnings.append(f"No coaching sessions are logged for the {NAMES[arm.level]} teams in this period, so "
                            "whether they got their model cannot be told.")
            continue
        if arm.assigned_share < low_share:
            warnings.append(f"Only {_share(arm.assigned_share, low_share)} of the {NAMES[arm.level]} teams' sessions "
                            f"were given by {KINDS[arm.level]} (fewer than {_share(low_share)}): the comparison "
                            "measures less of that model than planned.")
        for team in (t for t in mine if t.drifted):
            share = f" ({_share(1 - team.assigned_share)} of its sessions by others)" if visible(team) else ""
            warnings.append(f"Team {team.team} ({arm.level} coaching) got most of its coaching from "
                            f"{COACHES[team.main_kind]}{share}.")
        thin = [t for t in mine if not t.drifted and visible(t) and t.assigned_share is not None
                and t.assigned_share < low_share]
        for team in thin:
            warnings.append(f"Team {team.team} ({arm.level} coaching) got only {_share(team.assigned_share, low_share)}"
                            f" of its sessions from {KINDS[arm.level]}.")
        names = [t.team for t in mine if t.below_minimum and visible(t)]
        if names:
            warnings.append(f"{len(names)} {NAMES[arm.level]} team{'s' if len(names) != 1 else ''} got fewer than "
                            f"{minimum:g} session{'s' if minimum != 1 else ''} a rep a month: {', '.join(names)}.")
    return warnings


def fidelity(sessions: pd.DataFrame, teams: pd.DataFrame, levels: Sequence[str], months: float,
             minimum_per_rep_month: float = 1.0, low_share: float = 0.70) -> Fidelity:
    """Fidelity of each model from the session log.

    Parameters
    ----------
    sessions : DataFrame
        One row per session: ``team`` (a rep's session carries the rep's team), ``rep`` (NaN for a
        team session), ``coach_model`` (the kind of coach who gave it).
    teams : DataFrame
        One row per team of the study: ``team``, ``coaching_model`` (assigned), ``reps``.
    levels : sequence of str
        The models compared.
    months : float
        Months of the period the log covers (> 0).
    minimum_per_rep_month, low_share : float
        A team below ``minimum_per_rep_month`` sessions a rep a month is named; a model whose share of
        sessions by its own kind is below ``low_share`` is warned of.
    """
    require_columns(sessions, "team", "rep", "coach_model")
    require_columns(teams, "team", "coaching_model", "reps")
    levels = tuple(levels)
    if not (isinstance(months, int | float) and math.isfinite(months) and months > 0):
        raise ValueError(f"months: the period must last more than 0 months, not {months!r}")
    if not (math.isfinite(minimum_per_rep_month) and minimum_per_rep_month >= 0):
        raise ValueError(f"minimum_per_rep_month: zero or more, not {minimum_per_rep_month!r}")
    if not 0 < low_share <= 1:
        raise ValueError(f"low_share: between 0 and 1, not {low_share!r}")
    teams = teams.assign(team=teams["team"].astype(str), coaching_model=teams["coaching_model"].astype(str))
    if teams["team"].duplicated().any():
        raise ValueError(f"teams: team {teams.loc[teams['team'].duplicated(), 'team'].iloc[0]!r} is listed twice")
    unknown_arm = set(teams["coaching_model"]) - set(levels)
    if unknown_arm:
        raise ValueError(f"teams: column 'coaching_model' has {sorted(unknown_arm)[0]!r}, not one of "
                         f"{', '.join(levels)}")
    reps = pd.to_numeric(teams["reps"], errors="coerce")
    if reps.isna().any() or (reps < 1).any() or (reps != reps.round()).any():
        raise ValueError("teams: column 'reps' must be a whole number of at least 1 for every team")
    log = sessions.assign(team=sessions["team"].astype(str), coach_model=sessions["coach_model"].astype(str))
    kinds = set(log["coach_model"])
    odd = kinds - set(levels) - {"manager", "peer", "external"}
    if odd:
        raise ValueError(f"sessions: column 'coach_model' has {sorted(odd)[0]!r}, not a kind of coach "
                         f"({', '.join(levels)})")
    stray = set(log["team"]) - set(teams["team"])
    if stray:
        raise ValueError(f"sessions: team {sorted(stray)[0]!r} is not a team of the study")
    warnings: list[str] = []
    rows = []
    for team, model, size in zip(teams["team"], teams["coaching_model"], reps.astype(int), strict=True):
        own = log[log["team"] == team]
        count = len(own)
        shared = int(own["rep"].isna().sum())
        received = (count - shared) + shared * size
        rate = received / size / months
        if count:
            by_kind = own["coach_model"].value_counts()
            main = str(max(by_kind.index, key=lambda k: (by_kind[k], k == model)))
            share = float(by_kind.get(model, 0)) / count
        else:
            main, share = None, None
        rows.append(TeamFidelity(team, model, int(size), count, share, float(rate), main,
                                 rate < minimum_per_rep_month, main is not None and main != model))
    arms = []
    for level in levels:
        mine = [t for t in rows if t.coaching_model == level]
        own = log[log["team"].isin({t.team for t in mine})]
        total_reps = sum(t.reps for t in mine)
        count = len(own)
        by_kind = {k: float(v) / count for k, v in own["coach_model"].value_counts().sort_index().items()} \
            if count else {}
        received = sum(t.sessions_per_rep_month * t.reps for t in mine)
        below = sum(t.below_minimum for t in mine)
        arms.append(ArmFidelity(level, len(mine), total_reps, count, by_kind.get(level, 0.0) if count else None,
                                received / total_reps if total_reps else float("nan"), below,
                                below / len(mine) if mine else float("nan"), by_kind,
                                tuple(t.team for t in mine if t.drifted)))
    warnings += _warnings(arms, rows, minimum_per_rep_month, low_share, None)
    return Fidelity(tuple(arms), tuple(rows), float(minimum_per_rep_month), float(low_share), float(months),
                    tuple(warnings))


@dataclass(frozen=True)
class ProtocolEffect(Result):
    """``level − vs`` on the outcome with its SE, df, 95 % CI and two-sided p, by ``method``."""

    level: str
    vs: str
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p: float
    method: str


@dataclass(frozen=True)
class ArmKept(Result):
    """A model's teams and reps, all and kept by the per-protocol estimate."""

    level: str
    teams: int
    kept: int
    reps: int
    kept_reps: int


@dataclass(frozen=True)
class PerProtocol(Result):
    """The randomised estimate (every team, as assigned) beside the per-protocol one (kept teams only)."""

    intention_to_treat: tuple[ProtocolEffect, ...]
    per_protocol: tuple[ProtocolEffect, ...]
    arms: tuple[ArmKept, ...]
    caveat: str
    warnings: tuple[str, ...] = field(default=())


def _effects(data, dv, between, cluster, levels, baseline) -> tuple[tuple[ProtocolEffect, ...], list[str]]:
    """Each model against the first: the mixed model's contrasts (Satterthwaite df) with six teams a model
    or more, else Welch's t on team means (adjusted for the baseline's pooled slope, as ``team_values``)."""
    notes: list[str] = []
    teams = team_values(data, dv, between, cluster, levels, baseline)
    if teams is None:
        raise ValueError(f"column {dv!r}: no rep has a value, a model and a team")
    if min(teams.per_arm.get(level, 0) for level in levels) >= FEW_TEAMS:
        fit = mixed_model(data, dv, between, cluster, baseline, levels, df_method="satterthwaite")
        if fit.converged and fit.contrasts:
            by_pair = {(c.a, c.b): c for c in fit.contrasts}
            result = []
            for level in levels[1:]:
                c, sign = ((by_pair[(levels[0], level)], 1.0) if (levels[0], level) in by_pair
                           else (by_pair[(level, levels[0])], -1.0))  # Contrast.diff is b − a
                diff, half = sign * c.diff, t_ppf(0.975, c.df) * c.se
                result.append(ProtocolEffect(level, levels[0], diff, c.se, c.df, diff - half, diff + half,
                                             2 * t_sf(abs(diff) / c.se, c.df), "mixed_model"))
            return tuple(result), notes
        notes.append(f"{dv}: the mixed model did not converge; team means are compared instead")
    if teams.mixed:
        raise ValueError(f"column {cluster!r}: some teams hold reps of several models")
    arms = np.asarray(teams.arms, dtype=object)
    values = {level: teams.values[arms == level] for level in levels}
    result = []
    for level in levels[1:]:
        x, y = values[level], values[levels[0]]
        if len(x) < 2 or len(y) < 2:
            raise ValueError(f"fewer than two teams of {level!r} or {levels[0]!r} are left to compare")
        vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
        se = math.sqrt(vx + vy)
        df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)) if se > 0 else float("nan")
        diff = float(x.mean() - y.mean())
        half = t_ppf(0.975, df) * se
        result.append(ProtocolEffect(level, levels[0], diff, se, df, diff - half, diff + half,
                                     2 * t_sf(abs(diff) / se, df), "team_means"))
    return tuple(result), notes


def per_protocol(data: pd.DataFrame, dv: str, between: str, cluster: str, levels: Sequence[str],
                 fidelity_result: Fidelity, baseline: str | None = None) -> PerProtocol:
    """The effect of each model against the first, on every team as randomised and on the kept teams only.

    ``data``: one row per rep, its ``cluster`` matching the team names of ``fidelity_result``.
    """
    require_columns(data, dv, between, cluster, baseline)
    levels = tuple(levels)
    kept = set(fidelity_result.kept_teams)
    frame = data[data[between].astype(str).isin(levels)]
    team = frame[cluster].astype(str)
    unknown = set(team) - {t.team for t in fidelity_result.teams}
    if unknown:
        raise ValueError(f"column {cluster!r}: team {sorted(unknown)[0]!r} is not in the fidelity table")
    itt, notes = _effects(frame, dv, between, cluster, levels, baseline)
    kept_frame = frame[team.isin(kept).to_numpy()]
    arms = []
    for level in levels:
        mine = [t for t in fidelity_result.teams if t.coaching_model == level]
        arms.append(ArmKept(level, len(mine), sum(t.team in kept for t in mine),
                            int((frame[between].astype(str) == level).sum()),
                            int((kept_frame[between].astype(str) == level).sum())))
    if any(a.kept < 2 for a in arms):
        raise ValueError("fewer than two teams of a model got their model as planned: "
                         + ", ".join(f"{a.level} {a.kept} of {a.teams}" for a in arms))
    pp, more = _effects(kept_frame, dv, between, cluster, levels, baseline)
    caveat = ("The teams that got their model as planned were not chosen at random: teams that kept to it may "
              "differ from those that drifted (busier managers, say), so the per-protocol estimate may be biased "
              "either way. The randomised estimate, on every team as assigned, stays the answer; the per-protocol one "
              "says whether full delivery would likely change it.")
    return PerProtocol(itt, pp, tuple(arms), caveat, tuple(notes + more))
