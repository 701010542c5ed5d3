"""The report's "Is it worth it?" section: costs, "no worse", chance of being best, and fidelity.

Built from the same frames and comparisons as the outcome tables, for the models those tables show
(so nothing here rests on fewer reps or responses than they do): the primary outcome's and quota
attainment's margins and chances (``analysis.worth``), what each model costs and buys on quota
attainment (``analysis.costs``), and whether each model was delivered (``analysis.fidelity``), with the
per-protocol estimate beside the randomised one. Teams are named in the fidelity table; reps never.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.costs import CostEffectiveness, ModelCost, cost_effectiveness, cost_per_rep, parse_costs
from analysis.decision import WorthFacts
from analysis.fidelity import Fidelity, PerProtocol, fidelity, per_protocol
from analysis.worth import OutcomeWorth, outcome_worth, worth_json

from .. import frames

QUOTA = "quota_attainment"


@dataclass(frozen=True)
class TeamRow:
    """One team of the fidelity table, by name; figures only for teams of at least k reps."""

    team: str
    model: str
    reps: int
    assigned_share: float | None
    sessions_per_rep_month: float | None
    main_kind: str | None
    drifted: bool
    below_minimum: bool
    shown: bool


@dataclass(frozen=True)
class WorthSection:
    """Everything the section shows; ``to_json`` gives the report's JSON keys of issue 16."""

    outcomes: tuple[OutcomeWorth, ...]
    costs: tuple[ModelCost, ...] = ()
    cost_effectiveness: CostEffectiveness | None = None
    fidelity: Fidelity | None = None
    teams: tuple[TeamRow, ...] = ()
    per_protocol: PerProtocol | None = None
    revenue_per_point: float | None = None
    notes: tuple[str, ...] = field(default=())
    currency: str = "$"  # what goes before an amount ("$", "CHF ")

    def money(self, value) -> str:
        return "unknown" if value is None or value != value else f"{self.currency}{value:,.0f}"

    @property
    def every_cost_known(self) -> bool:
        """Whether every compared model has a known cost (then the page says margins of cheaper against dearer)."""
        known = {c.level for c in self.costs if c.per_rep_month is not None}
        return bool(self.outcomes) and bool(known) and all(level in known for level in self.outcomes[0].levels)

    def shown_tests(self, worth: OutcomeWorth):
        """The margin tests the page says in words: is each cheaper model no worse than each dearer one
        (all ordered pairs without costs for every model, each pair once). The JSON has every pair."""
        cost = {c.level: c.per_rep_month for c in self.costs if c.per_rep_month is not None}
        if all(level in cost for level in worth.levels):
            return [t for t in worth.margin_tests if cost[t.level] < cost[t.vs]]
        return list(worth.margin_tests)

    @staticmethod
    def equivalence_line(worth: OutcomeWorth) -> str:
        """One sentence: which pairs of models are within ±margin of each other (two one-sided tests)."""
        seen, equivalent = set(), []
        for t in worth.margin_tests:
            pair = frozenset((t.level, t.vs))
            if pair in seen:
                continue
            seen.add(pair)
            if t.equivalent:
                equivalent.append(f"{t.level} and {t.vs} coaching")
        digits = 2 if worth.margin < 1 else 1
        within = f"within ±{worth.margin:.{digits}f} {worth.unit} of each other"
        if not equivalent:
            return f"Equivalence: no two models can be shown to be {within} (two one-sided tests, 90 % intervals)."
        return f"Equivalence: {'; '.join(equivalent)} are {within} (two one-sided tests, 90 % intervals)."

    def outcome(self, key: str) -> OutcomeWorth | None:
        return next((w for w in self.outcomes if w.outcome == key), None)

    def cost_of(self, level: str) -> ModelCost | None:
        return next((c for c in self.costs if c.level == level), None)

    def facts(self) -> WorthFacts:
        """What the decision reads from this section (``analysis.decision.WorthFacts``)."""
        def margin_words(w):
            digits = 2 if w.margin < 1 else 1
            return f"{w.margin:.{digits}f} {w.unit}".replace(".0 ", " ")
        return WorthFacts(
            chances={w.outcome: {c.level: c.probability_best for c in w.bayes.chances} for w in self.outcomes
                     if w.bayes is not None},
            flat={w.outcome: {c.level: c.probability_best for c in w.bayes.flat} for w in self.outcomes
                  if w.bayes is not None},
            no_worse={w.outcome: {(t.level, t.vs): t.words() for t in w.margin_tests if t.noninferior}
                      for w in self.outcomes if w.margin_tests},
            margins={w.outcome: margin_words(w) for w in self.outcomes if w.margin_tests},
            costs={c.level: c.per_rep_month for c in self.costs if c.per_rep_month is not None},
            cost_words={c.level: c.basis for c in self.costs if c.per_rep_month is not None},
            currency=self.currency)

    def to_json(self) -> dict:
        result = worth_json(self.outcomes)
        result["cost_effectiveness"] = None if self.cost_effectiveness is None else {
            **self.cost_effectiveness.to_dict(), "cost_per_rep_month": [c.to_dict() for c in self.costs]}
        if self.fidelity is None:
            result["fidelity"] = None
        else:
            result["fidelity"] = {
                "minimum_per_rep_month": self.fidelity.minimum_per_rep_month, "low_share": self.fidelity.low_share,
                "arms": [a.to_dict() for a in self.fidelity.arms], "warnings": list(self.fidelity.warnings),
                "teams": [{"team": t.team, "model": t.model,
                           **({"drifted": t.drifted, "below_minimum": t.below_minimum, "n": t.reps,
                               "assigned_share": t.assigned_share, "sessions_per_rep_month": t.sessions_per_rep_month,
                               "main_kind": t.main_kind} if t.shown else {})} for t in self.teams],
                "per_protocol": None if self.per_protocol is None else self.per_protocol.to_dict()}
        return result


def _shown_teams(teams, k: int, places: dict | None = None) -> set:
    """The teams whose own fidelity figures may be shown: teams of at least k reps, and in each model — and
    in each model within a region and within a team-size band, the views a reader can filter to — enough
    of them held back that the teams held back there together have k reps or none (else that view's
    sessions figure minus the shown teams' would give a few reps' sessions). The smallest shown team of a
    cell joins the held back until they reach k, cell by cell, until nothing changes."""
    places = places or {}
    shown = {t.team for t in teams if t.reps >= k}
    cells: dict = {}
    for t in teams:
        region, band = places.get(t.team, (None, None))
        for key in ((t.coaching_model,), (t.coaching_model, "region", region), (t.coaching_model, "band", band)):
            cells.setdefault(key, []).append(t)
    changed = True
    while changed:
        changed = False
        for members in cells.values():
            held = sum(t.reps for t in members if t.team not in shown)
            visible = sorted((t for t in members if t.team in shown), key=lambda t: (t.reps, str(t.team)))
            if 0 < held < k and visible:
                shown.discard(visible[0].team)
                changed = True
    return shown


def _dropped_reps(result: Fidelity, levels, k: int, frame: pd.DataFrame | None = None) -> str | None:
    """The models whose reps the per-protocol estimate would leave out number between 1 and k − 1, in words:
    the reps of ``frame`` (the reps its estimate rests on; default the teams' rosters)."""
    kept = set(result.kept_teams)
    small = []
    for level in levels:
        if frame is not None:
            mine = frame[frame["coaching_model"].astype(str) == level]
            dropped = int((~mine["team"].isin(kept)).sum())
        else:
            dropped = sum(int(t.reps) for t in result.teams if t.coaching_model == level and t.team not in kept)
        if 0 < dropped < k:
            small.append(f"{dropped} rep{'s' if dropped != 1 else ''} of {level}")
    return ", ".join(small) or None


def revenue_per_point(frame: pd.DataFrame, months: float) -> float | None:
    """The revenue one quota point brings a rep in a month: Σ revenue / Σ quota attainment over the reps
    of the period after, divided by its months (a point of attainment is a hundredth of the quota)."""
    if "revenue" not in frame or QUOTA not in frame or not months:
        return None
    both = frame.dropna(subset=["revenue", QUOTA])
    points = float(both[QUOTA].sum())
    if both.empty or points <= 0:
        return None
    return float(both["revenue"].sum()) / points / months


def build(study, levels_shown, primary_comparison, primary_frame, quota_comparison, quota_frame, reps, period,
          months_of_crm: float, k: int, currency: str = "$", whole_view: bool = True) -> WorthSection:
    """The section for one view. ``reps``: the study's assigned reps; ``period``: the wave's session period
    (``sections.session_period``); ``months_of_crm``: months in a CRM period (3 for quarters)."""
    notes: list[str] = []
    outcomes = []
    if primary_comparison is not None:
        outcomes.append(outcome_worth(primary_comparison, primary_frame, "coaching_model", "team",
                                      margin=study.margin_primary, prior_scale=study.prior_scale))
    if quota_comparison is not None and quota_comparison.outcome != getattr(primary_comparison, "outcome", None):
        outcomes.append(outcome_worth(quota_comparison, quota_frame, "coaching_model", "team",
                                      f"{QUOTA}_before", margin=study.margin_quota, prior_scale=study.prior_scale))
    notes += [n for w in outcomes for n in w.notes]
    after, until = period
    # Fidelity: every team of the study, whatever the view (teams are the unit randomised).
    fid, team_rows, protocol = None, (), None
    sessions, teams = frames.session_log(study.id, reps, after, until)
    rates = frames.rep_sessions(study.id, reps, after, until)
    months = float(rates["months"].max()) if not rates.empty else 0.0
    levels = tuple(m.value for m in study.coaching_models)
    if months > 0 and not teams.empty:
        # Teams by name, as the leader knows them (names are unique within an organisation).
        names = dict(zip(teams["team"], teams["team_name"].astype(str), strict=True))
        fid = fidelity(sessions.assign(team=sessions["team"].map(names)),
                       teams.assign(team=teams["team_name"].astype(str))[["team", "coaching_model", "reps"]], levels,
                       months, minimum_per_rep_month=study.fidelity_minimum if study.fidelity_minimum is not None
                       else 1.0)
        first = reps.drop_duplicates("team")
        places = {names[t]: (r, b) for t, r, b in zip(first["team"], first["region"], first["band"], strict=True)
                  if t in names}
        shown = _shown_teams(fid.teams, k, places)
        team_rows = tuple(TeamRow(str(t.team), t.coaching_model, int(t.reps), t.assigned_share,
                                  t.sessions_per_rep_month, t.main_kind, bool(t.drifted), bool(t.below_minimum),
                                  t.team in shown)
                          for t in sorted(fid.teams, key=lambda t: (levels.index(t.coaching_model), str(t.team))))
        levels_compared = tuple(quota_comparison.levels) if quota_comparison is not None else ()
        dropped = _dropped_reps(fid, levels_compared, k, quota_frame.assign(team=quota_frame["team"].map(names))
                                if quota_frame is not None else None)
        if not whole_view:
            pass  # a per-protocol estimate of a region or band, beside the whole study's, would describe a few reps
        elif dropped:
            notes.append(f"No per-protocol estimate: it would leave out {dropped}, fewer than k = {k} reps, so "
                         "comparing it with the randomised estimate would tell their quota attainment.")
        elif quota_comparison is not None and quota_frame is not None:
            try:
                protocol = per_protocol(quota_frame.assign(team=quota_frame["team"].map(names)), QUOTA,
                                        "coaching_model", "team", tuple(quota_comparison.levels), fid,
                                        baseline=f"{QUOTA}_before")
            except ValueError as error:
                notes.append(f"No per-protocol estimate of quota attainment: {error}")
    if fid is not None:
        fid = fid.redacted({t.team for t in team_rows if t.shown})  # what a reader may see of it
    # Costs: what each model costs a rep a month, and what it buys on quota attainment.
    costs, effectiveness, per_point = (), None, None
    if study.costs:
        inputs = parse_costs(study.costs)
        minutes = {}
        if months > 0:
            by_rep = rates.assign(per_month=rates["minutes"] / months)
            minutes = {m: float(v) for m, v in by_rep.groupby("coaching_model")["per_month"].mean().items()}
        shown = set(levels_shown)
        costs = tuple(c for c in cost_per_rep(inputs, minutes or None, currency) if c.level in shown)
        if quota_comparison is not None and quota_frame is not None and len(quota_comparison.levels) >= 2:
            per_point = revenue_per_point(quota_frame.rename(columns={"revenue_after": "revenue"}), months_of_crm)
            try:
                # The hours are the models' logged hours over all their reps, as the costs table and the sessions
                # table give them: never re-averaged over the reps with CRM figures, which would differ from
                # those tables by a few reps' minutes.
                effectiveness = cost_effectiveness(
                    quota_frame, QUOTA, "coaching_model", "team", tuple(quota_comparison.levels), inputs,
                    minutes=minutes, revenue_per_point=per_point,
                    baseline=f"{QUOTA}_before", currency=currency)
            except ValueError as error:
                notes.append(f"No cost-effectiveness: {error}")
    return WorthSection(tuple(outcomes), costs, effectiveness, fid, team_rows, protocol, per_point, tuple(notes),
                        currency)


__all__ = ["WorthSection", "TeamRow", "build", "revenue_per_point"]
