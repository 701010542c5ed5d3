"""The decision: which coaching model to choose, how sure, at what cost elsewhere, and what next.

The verdict (``analysis.verdict``) says what each outcome shows; this module turns those findings
into one recommendation a sales leader can act on. The rule, in the order it is applied:

1. **Not yet, before the models started.** A wave measured before the coaching models began
   describes the starting point; it never recommends a model.
2. **What decides: the primary outcome and sales performance.** The deciding outcomes are the
   study's primary outcome and, where CRM performance was measured, quota attainment, revenue and
   win rate. A model *leads* an outcome when it is above every other model there and each of those
   differences survives the multiplicity correction (the verdict's rule for naming a model best).
   A model *trails* when any model is above it there in the same sense. The recommendation is the
   model that leads at least one deciding outcome and trails on none. If the leader of one deciding
   outcome trails on another, the evidence pulls two ways and the answer is "not yet".
3. **Then what reps experience: the five responsibilities.** Only when no deciding outcome
   separates the models: a model that leads at least two of the five responsibilities and trails on
   none of them (nor on a deciding outcome) is recommended, never more than "likely".
4. **The camps' claims never decide.** Candour, expertise, availability and sessions logged are
   the trade-offs: what the chosen model is worse at and who does it better.
5. **Otherwise, "no change is justified yet"**, with what would settle it.

How sure, in words: "very likely" when every difference that carries the recommendation has an
adjusted p below 0.01, each model had at least ``FEW_TEAMS_PER_ARM`` teams and no fit failed;
"likely" otherwise (every such difference is significant by construction); "too close to call"
when nothing decides; "too early to tell" before the models started or without enough responses.
The numbers (differences, 95 % intervals, adjusted p) travel with the decision as ``evidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._result import Result
from .planning import teams_needed
from .verdict import Difference, Finding, model_name, opening

PERFORMANCE_ORDER = ("quota_attainment", "revenue", "win_rate")
RESPONSIBILITIES = ("coaching", "mentoring", "motivating", "accountability", "onboarding")
VERY_LIKELY_P = 0.01
FEW_TEAMS_PER_ARM = 6
MAX_TEAMS_SAID = 60  # teams per model beyond which no pilot of a realistic size would settle it

VERY_LIKELY, LIKELY, TOO_CLOSE, TOO_EARLY = "very likely", "likely", "too close to call", "too early to tell"

# What to do where the chosen model trails, by outcome: said to the leader as the trade-off's remedy.
REMEDIES = {
    "availability": "free managers' time for it: a protected coaching slot in every manager's week",
    "candour": "use {higher} for candid deal reviews",
    "expertise": "bring in {higher} for specialist skills",
    "accountability": "let {higher} hold reps to their commitments",
    "onboarding": "let {higher} onboard new reps",
    "mentoring": "pair reps with {higher} for career mentoring",
    "coaching": "use {higher} for skills practice",
    "motivating": "use {higher} to keep reps motivated",
}
# How a model is named as the subject of "use …" ("use peers", "bring in outside coaches").
PEOPLE = {"manager": "managers", "peer": "peers", "external": "outside coaches"}
# One remedy for outcomes that say the same thing (availability and sessions logged: time).
SAME_REMEDY = {"sessions_per_rep_month": "availability"}


@dataclass(frozen=True)
class Evidence(Result):
    """One difference the decision rests on, with its numbers: ``higher`` above ``lower`` by ``diff``
    (outcome units; None after a rank test), its 95 % CI and the adjusted p-value."""

    outcome: str
    label: str
    higher: str
    lower: str
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_adjusted: float
    amount: str | None  # the difference in the outcome's words, e.g. "8.16 percentage points"
    interval: str | None = None  # its 95 % CI in the same words, e.g. "4.35 to 11.98 percentage points"


@dataclass(frozen=True)
class Decision(Result):
    """Who should coach, in a VP's words. ``recommendation`` is a model or None ("not yet")."""

    recommendation: str | None
    certainty: str
    headline: str
    reasons: tuple[str, ...]
    trade_offs: tuple[str, ...]
    next_steps: tuple[str, ...]
    decided_by: str  # primary, performance, responsibilities, none, conflict, pre-intervention, no data
    evidence: tuple[Evidence, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"recommendation": self.recommendation, "certainty": self.certainty, "headline": self.headline,
                "reasons": list(self.reasons), "trade_offs": list(self.trade_offs),
                "next_steps": list(self.next_steps), "decided_by": self.decided_by,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True)
class WorthFacts:
    """What the decision reads beside the frequentist findings (issue 16), all optional.

    ``chances``: outcome → model → P(best) under the sceptical prior (``analysis.worth``), ``flat`` the
    same under a flat prior; ``no_worse``: outcome → (level, vs) → the non-inferiority sentence when
    ``level`` is no worse than ``vs`` by more than the declared margin (absent otherwise);
    ``margins``: outcome → the margin in words ("3 percentage points"); ``costs``: model → cost per
    rep per month, ``cost_words``: model → what it was computed from; ``currency``: "$".
    """

    chances: dict = field(default_factory=dict)
    flat: dict = field(default_factory=dict)
    no_worse: dict = field(default_factory=dict)
    margins: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)
    cost_words: dict = field(default_factory=dict)
    currency: str = ""

    def money(self, value: float) -> str:
        return f"{self.currency}{value:,.0f}"


SURE_CHANCE = 0.95  # "very likely" also needs a chance of being best of at least this on what carries it


def not_yet(headline: str, decided_by: str, next_steps: Sequence[str] = ()) -> Decision:
    """A decision that recommends nothing, for a reason said in ``headline``."""
    return Decision(None, TOO_EARLY, headline, (), (), tuple(next_steps), decided_by)


class _InMoney:
    """A comparison whose amounts are money, written with ``symbol`` ("$19,470") instead of its unit."""

    def __init__(self, comparison, symbol: str):
        self._comparison, self._symbol = comparison, symbol
        self.unit = ""

    def __getattr__(self, name):
        return getattr(self._comparison, name)

    def amount(self, value: float) -> str:
        return f"{self._symbol}{abs(value) * self._comparison.unit_scale:,.0f} per rep"


def decide(comparisons: Sequence, findings: Sequence[Finding], levels: Sequence[str], primary: str, *,
           pre_intervention: bool = False, next_wave: str | None = None, next_closes: str | None = None,
           money: Sequence[str] = (), currency: str = "", primary_label: str = "the primary outcome",
           worth: WorthFacts | None = None) -> Decision:
    """The decision for one view (see the module docstring for the rule).

    ``comparisons`` are the assembled ``OutcomeComparison`` objects (multiplicity-corrected) and
    ``findings`` the verdict's findings on them; ``next_wave`` names the wave after this one ("the
    “pulse” wave") and ``next_closes`` the day it closes when it is still open ("19 December 2026").
    Outcomes named in ``money`` are amounts of money, written with ``currency`` before them ("$",
    "CHF "). ``worth`` (optional): chances of being best, non-inferiority and costs — "very likely"
    then also needs a chance of being best of at least 95 % on every outcome that carries the choice;
    when no model did clearly better, the cheapest model that is no worse than every other by more
    than the declared margins on the deciding outcomes is recommended as "likely" ("no worse, and
    cheaper"); the chosen model's cost and any cheaper model no worse than it are said.
    """
    worth = worth or WorthFacts()
    later = None if not next_wave else (f"{next_wave} when it closes on {next_closes}" if next_closes else next_wave)
    comparisons = [_InMoney(c, currency) if c.outcome in money else c for c in comparisons]
    if pre_intervention:
        steps = [f"Read {later}: it shows the models at work."] if later else [
            "Read a wave measured after the coaching models started."]
        return not_yet("Not yet: this wave was measured before the coaching models started, so it describes "
                       "the starting point, not the models.", "pre-intervention", steps)
    by_key = {c.outcome: c for c in comparisons}
    found = {f.outcome: f for f in findings if f.outcome in by_key}
    if primary not in found:
        if not found:
            return not_yet("Too few responses in this view to recommend a coaching model.", "no data")
        return not_yet(f"No recommendation in this view: {primary_label}, the study's primary outcome, cannot be "
                       "compared here (too few responses, or a number that could be worked out from other views). "
                       "The report without filters makes the recommendation.", "no data")
    deciding = [primary] + [o for o in PERFORMANCE_ORDER if o in found and o != primary]
    leads = {m: [o for o in deciding if found[o].best == m] for m in levels}
    trails = {m: [o for o in deciding if any(d.lower == m for d in found[o].differences)] for m in levels}
    candidates = [m for m in levels if leads[m] and not trails[m]]
    decided_by = "primary" if any(primary in leads[m] for m in candidates) else "performance"
    conflicted = [m for m in levels if leads[m] and trails[m]]
    if not candidates and conflicted:
        return _conflict(found, comparisons, levels, deciding, leads, trails, later)
    capped = False
    if not candidates:
        responsibilities = [o for o in RESPONSIBILITIES if o in found]
        leads = {m: [o for o in responsibilities if found[o].best == m] for m in levels}
        candidates = [m for m in levels if len(leads[m]) >= 2 and not trails[m]
                      and not any(d.lower == m for o in responsibilities for d in found[o].differences)]
        decided_by, capped = "responsibilities", True
    if len(candidates) != 1:
        cheaper = _no_worse_and_cheaper(found, levels, deciding, worth)
        if cheaper is not None:
            return cheaper
        return _no_change(found, by_key, levels, deciding, later)
    chosen = candidates[0]
    carried = [o for o in deciding if found[o].best == chosen] if decided_by != "responsibilities" else leads[chosen]
    evidence = tuple(e for o in carried for e in _evidence(found[o], by_key[o]) if e.higher == chosen)
    certainty = _certainty(evidence, [by_key[o] for o in carried], capped)
    chance_line = _chance_line(chosen, carried, found, worth)
    if certainty == VERY_LIKELY and any(worth.chances.get(o, {}).get(chosen, 1.0) < SURE_CHANCE for o in carried):
        certainty = LIKELY  # the two readings agree on the words: a p below 0.01 alone is not "very likely"
    reasons = _reasons(chosen, found, by_key, deciding, carried, decided_by) + ([chance_line] if chance_line else [])
    headline = _headline(chosen, found, by_key, carried, decided_by)
    steps = []
    if certainty != VERY_LIKELY:
        steps.append(f"Confirm it with {later} before rolling it out everywhere." if later else
                     "Confirm it with another wave before rolling it out everywhere.")
    steps += _open_questions(found, by_key, [o for o in deciding if o not in carried])
    trade_offs = _cost_lines(chosen, levels, deciding, found, worth) + _trade_offs(chosen, found, by_key, levels)
    return Decision(chosen, certainty, headline, tuple(reasons), tuple(trade_offs), tuple(steps), decided_by, evidence)


def _chance_line(chosen, outcomes, found, worth: WorthFacts) -> str | None:
    """ "The chance that manager coaching is the best of the three: 99 % on quota attainment (…)"."""
    bits, flat = [], []
    for o in outcomes:
        p = worth.chances.get(o, {}).get(chosen)
        if p is not None:
            bits.append(f"{_percent(p)} on {_label(found[o])}")
            q = worth.flat.get(o, {}).get(chosen)
            if q is not None:
                flat.append(_percent(q))
    if not bits:
        return None
    flat_words = f" ({_and(flat)} with no prior)" if flat else ""
    return (f"The chance that {model_name(chosen)} is the best model here, taking the coaching literature's "
            f"sceptical view of large differences: {_and(bits)}{flat_words}.")


def _percent(p: float) -> str:
    """A probability as a leader reads it: never "100 %" or "0 %", which no data can show."""
    if p > 0.99:
        return "over 99 %"
    if p < 0.01:
        return "under 1 %"
    return f"{100 * p:.0f} %"


def _no_worse_than_all(level, levels, outcomes, worth: WorthFacts) -> bool:
    """Whether ``level`` is no worse than every other model by more than the margin on each of ``outcomes``."""
    return bool(outcomes) and all((level, vs) in worth.no_worse.get(o, {}) for o in outcomes
                                  for vs in levels if vs != level)


def _no_worse_and_cheaper(found, levels, deciding, worth: WorthFacts) -> Decision | None:
    """Nothing did clearly better: the cheapest model no worse than every other by more than the declared
    margins, on every deciding outcome that has a margin (the primary outcome must have one)."""
    outcomes = [o for o in deciding if o in worth.margins and o in found]
    if deciding[0] not in outcomes or any(m not in worth.costs for m in levels):
        return None
    # No worse by the margins, and behind on no deciding outcome (a margin on one outcome never excuses
    # clearly trailing on another, such as revenue).
    passing = [m for m in levels if _no_worse_than_all(m, levels, outcomes, worth)
               and not any(d.lower == m for o in deciding if o in found for d in found[o].differences)]
    if not passing:
        return None
    cheapest = min(passing, key=lambda m: worth.costs[m])
    dearer = [m for m in levels if m != cheapest and worth.costs[m] > worth.costs[cheapest]]
    if not dearer or any(worth.costs[m] <= worth.costs[cheapest] for m in levels if m != cheapest):
        return None
    saving = min(worth.costs[m] for m in dearer) - worth.costs[cheapest]
    margins = _and([f"{worth.margins[o]} of {_label(found[o])}" for o in outcomes])
    headline = (f"Choose {model_name(cheapest)}: no model did clearly better, {model_name(cheapest)} is no worse "
                f"than {_others(dearer)} by more than {margins}, and it costs {worth.money(saving)} less per rep a "
                "month.")
    reasons = tuple(opening(worth.no_worse[o][(cheapest, vs)]) + "." for o in outcomes for vs in levels
                    if vs != cheapest)
    costs = tuple(f"{opening(model_name(m))} costs {worth.money(worth.costs[m])} per rep a month"
                  + (f" ({worth.cost_words[m]})" if worth.cost_words.get(m) else "") + "." for m in levels)
    steps = ("Keep logging coaching sessions and CRM results: a later wave can show whether a dearer model "
             "adds more than its cost.",)
    return Decision(cheapest, LIKELY, headline, reasons + costs, (), steps, "non-inferiority")


def _cost_lines(chosen, levels, deciding, found, worth: WorthFacts) -> list[str]:
    """What the chosen model costs, and any cheaper model that is no worse than it by more than the margins."""
    lines = []
    if chosen in worth.costs:
        words = f" ({worth.cost_words[chosen]})" if worth.cost_words.get(chosen) else ""
        time = " in managers' selling time" if chosen == "manager" else (
            " in peers' selling time" if chosen == "peer" else "")
        lines.append(f"{opening(model_name(chosen))} costs about {worth.money(worth.costs[chosen])} per rep a month"
                     f"{time}{words}.")
    outcomes = [o for o in deciding if o in worth.margins and o in found]
    for other in levels:
        if other == chosen or other not in worth.costs or chosen not in worth.costs:
            continue
        saving = worth.costs[chosen] - worth.costs[other]
        behind = [o for o in outcomes if (other, chosen) not in worth.no_worse.get(o, {})]
        if saving > 0 and outcomes and behind:
            lines.append(f"{opening(model_name(other))} costs {worth.money(saving)} less per rep a month, but it may "
                         f"be worse than {model_name(chosen)} by more than "
                         f"{_and([f'{worth.margins[o]} of {_label(found[o])}' for o in behind])}: not a saving worth "
                         "making on this evidence.")
        elif saving > 0 and outcomes:
            lines.append(f"{opening(model_name(other))} is no worse than {model_name(chosen)} by more than "
                         f"{_and([f'{worth.margins[o]} of {_label(found[o])}' for o in outcomes])} and costs "
                         f"{worth.money(saving)} less per rep a month: the cheaper choice if that gain is not "
                         "worth the difference.")
    return lines


def _evidence(finding: Finding, comparison) -> list[Evidence]:
    intervals = _intervals(comparison)
    result = []
    for d in finding.differences:
        low, high = intervals.get((d.lower, d.higher), (None, None))
        interval = None
        if low is not None and low > 0:
            interval = f"{comparison.amount(low).split(' ', 1)[0]} to {comparison.amount(high)}"
        result.append(Evidence(finding.outcome, finding.label, d.higher, d.lower, d.diff, low, high, d.p_adj,
                               None if d.diff is None else comparison.amount(d.diff), interval))
    return result


def _intervals(comparison) -> dict[tuple[str, str], tuple[float, float]]:
    """95 % CI of (higher − lower) per ordered pair (lower, higher), from the headline test's pairs."""
    if comparison.chosen in ("mixed_model", "ancova") and comparison.model_contrasts is not None:
        source = comparison.model_contrasts
    elif comparison.chosen == "team_means" and comparison.team_means is not None:
        source = comparison.team_means
    elif comparison.chosen == "randomisation" and comparison.randomisation is not None:
        source = comparison.randomisation.pairs  # t intervals on team means (the p-values re-randomise)
    elif comparison.chosen == "welch" and comparison.games_howell:
        source = comparison.games_howell
    elif comparison.chosen == "anova":
        source = comparison.tukey
    else:
        return {}
    result = {}
    for pair in source:
        low, high = float(pair.ci_low), float(pair.ci_high)  # of b − a
        if np.isfinite(low) and np.isfinite(high):
            result[(pair.a, pair.b)] = (low, high)
            result[(pair.b, pair.a)] = (-high, -low)
    return result


def _certainty(evidence: Sequence[Evidence], comparisons: Sequence, capped: bool) -> str:
    if not evidence:
        return LIKELY
    teams = [c.mixed_model.n_clusters / len(c.levels) for c in comparisons if c.mixed_model is not None]
    failed = any(c.mixed_model is not None and not c.mixed_model.converged for c in comparisons)
    strong = max(e.p_adjusted for e in evidence) < VERY_LIKELY_P
    enough_teams = bool(teams) and min(teams) >= FEW_TEAMS_PER_ARM
    return VERY_LIKELY if strong and enough_teams and not failed and not capped else LIKELY


def _label(finding: Finding) -> str:
    """The outcome as a headline says it: "quota attainment", not "quota attainment (%), 2026-Q3 adjusted…"."""
    return finding.label.split(",")[0].replace(" (%)", "").strip()


def _gap(differences: Sequence[Difference], comparison, rounded: bool = False) -> str:
    """The size of a set of differences in the outcome's words: "0.64 points", "8.16–9.81 percentage points"
    (``rounded``: as a headline says it, "8–10 percentage points", "19,000–22,000")."""
    amounts = sorted(abs(d.diff) for d in differences if d.diff is not None)
    if not amounts:
        return ""
    if not rounded:
        low, high = comparison.amount(amounts[0]), comparison.amount(amounts[-1])
        return low if low == high else f"{low.split(' ', 1)[0]}–{high}"
    low, high = (_round(a * comparison.unit_scale) for a in (amounts[0], amounts[-1]))
    number = low if low == high else f"{low}–{high}"
    if isinstance(comparison, _InMoney):
        return f"{comparison._symbol}{number}"
    return f"{number} {comparison.unit}".strip()


def _round(value: float) -> str:
    """A number as a headline gives it: two significant figures from 1,000, whole from 5, else one decimal."""
    value = abs(value)
    if value >= 1000:
        return f"{float(f'{value:.2g}'):,.0f}"
    return f"{value:.0f}" if value >= 5 else f"{value:.1f}"


def _others(levels: Sequence[str]) -> str:
    """ "peer or external coaching", "peer coaching or CoachAI": the models compared against, as one phrase."""
    names = [model_name(level) for level in levels]
    if len(names) > 1 and all(n.endswith(" coaching") for n in names):
        return " or ".join(n.removesuffix(" coaching") for n in names) + " coaching"
    return " or ".join(names)


def _headline(chosen, found, by_key, carried, decided_by) -> str:
    name = model_name(chosen)
    parts, against = [], []
    for key in carried:
        finding = found[key]
        behind = [d for d in finding.differences if d.higher == chosen]
        gap = _gap(behind, by_key[key], rounded=True)
        per = " per rep" if isinstance(by_key[key], _InMoney) else ""
        parts.append(f"{gap} more {_label(finding)}{per}" if gap else f"higher {_label(finding)}")
        against.append(_others([d.lower for d in behind]))
    if len(set(against)) == 1:  # the same models beaten everywhere: name them once
        parts = [_and(parts) + f" than with {against[0]}"]
    else:
        parts = [f"{part} than with {others}" for part, others in zip(parts, against, strict=True)]
    experience = [_label(found[o]) for o in RESPONSIBILITIES if o in found and found[o].best == chosen
                  and o not in carried]
    if decided_by == "responsibilities":
        return f"Choose {name}: reps rate it higher on {_and([_label(found[o]) for o in carried], 'on ')}."
    sentence = f"Choose {name}: its reps reached {_and(parts)}"
    if experience:
        sentence += f", and reps rate it higher on {_and(experience, 'on ')}"
    return sentence + "."


def _and(items: Sequence[str], repeat: str = "") -> str:
    """ "a and b", "a, b and c"; ``repeat`` ("on ") goes before every item after the first, so that labels
    with an "and" of their own stay readable ("on accountability and on onboarding and team-building")."""
    items = list(items)
    if len(items) == 1:
        return items[0]
    rest = [repeat + item for item in items[1:]]
    return ", ".join([items[0], *rest[:-1]]) + " and " + rest[-1]


def _reasons(chosen, found, by_key, deciding, carried, decided_by) -> list[str]:
    reasons = []
    for key in carried:
        finding, comparison = found[key], by_key[key]
        intervals = _intervals(comparison)
        bits = []
        for d in finding.differences:
            if d.higher != chosen:
                continue
            if d.diff is None:
                bits.append(f"ranked above {model_name(d.lower)}")
                continue
            low, high = intervals.get((d.lower, d.higher), (None, None))
            interval = (f" (95 % interval {comparison.amount(low).split(' ')[0]} to "
                        f"{comparison.amount(high)})") if low is not None and low > 0 else ""
            bits.append(f"{comparison.amount(d.diff)} above {model_name(d.lower)}{interval}")
        reasons.append(f"{opening(_label(finding))}: {model_name(chosen)} {_and(bits)}.")
    for key in deciding:
        if key in carried:
            continue
        finding = found[key]
        primary = " (the study's primary outcome)" if key == deciding[0] else ""
        if not finding.differences:
            reasons.append(f"{opening(_label(finding))}{primary} did not differ clearly between the models.")
        elif not any(d.lower == chosen for d in finding.differences):
            reasons.append(f"{opening(_label(finding))}{primary}: no model did clearly better than "
                           f"{model_name(chosen)}.")
    if decided_by != "responsibilities":
        strengths = [o for o in RESPONSIBILITIES if o in found and found[o].best == chosen]
        if strengths:
            reasons.append(f"Reps rate {model_name(chosen)} highest on "
                           f"{_and([_label(found[o]) for o in strengths], 'on ')}.")
    return reasons


def _trade_offs(chosen, found, by_key, levels) -> list[str]:
    """Where ``chosen`` trails, who does it better, and what to do about it (one line per remedy)."""
    lines: dict[str, tuple[list[str], str]] = {}
    for key, finding in found.items():
        behind = [d for d in finding.differences if d.lower == chosen]
        if not behind:
            continue
        gap = _gap(behind, by_key[key])
        if finding.best and finding.best != chosen:
            text = f"{opening(model_name(finding.best))} leads on {_label(finding)}"
            text += f" ({gap} above {model_name(chosen)})" if gap else ""
            higher = finding.best
        else:
            others = _others([d.higher for d in behind])
            text = f"{opening(model_name(chosen))} trails on {_label(finding)}"
            text += f" ({gap} below {others})" if gap else f" (below {others})"
            higher = behind[0].higher
        remedy_key = SAME_REMEDY.get(key, key)
        remedy = REMEDIES.get(remedy_key, "consider {higher} for this").format(
            higher=PEOPLE.get(higher, model_name(higher)))
        texts, _ = lines.setdefault(remedy_key, ([], remedy))
        texts.append(text)
    result = []
    subject = f"{opening(model_name(chosen))} trails on "
    for texts, remedy in lines.values():
        if len(texts) > 1 and all(t.startswith(subject) for t in texts):
            head = subject + _and([t.removeprefix(subject) for t in texts], "on ")
        else:
            head = "; ".join([texts[0], *(t[:1].lower() + t[1:] for t in texts[1:])])
        result.append(f"{head}. {opening(remedy)}.")
    return result


def _open_questions(found, by_key, keys) -> list[str]:
    """For each deciding outcome that did not separate the models: how many teams would settle it."""
    steps = []
    for key in keys:
        finding, comparison = found[key], by_key[key]
        if finding.differences:
            continue
        needed = _teams_for_gap(comparison)
        if needed is None:
            continue
        gap, teams, have = needed
        label = _label(finding)
        if teams <= have:  # the power formula's approximation; a pilot of this size did not tell them apart
            steps.append(f"On {label} the gap seen ({gap}) is within what chance gives at this size: another wave "
                         "would show whether it holds.")
        elif teams > MAX_TEAMS_SAID:
            steps.append(f"On {label} the models are so close (largest gap {gap}) that no pilot of a realistic "
                         "size would tell them apart: treat them as equal on it.")
        else:
            steps.append(f"To tell whether a gap in {label} as large as the one seen ({gap}) is real, the pilot "
                         f"would need about {teams} teams per model (it has {have}).")
    return steps


def _teams_for_gap(comparison) -> tuple[str, int, int] | None:
    """The largest gap between two models as the headline test measured it (adjusted for the baseline
    where it was), and the teams per model that would tell it apart at the outcome's own pairwise level."""
    mixed = comparison.mixed_model
    if mixed is None or not mixed.converged or not np.isfinite(mixed.icc):
        return None
    pairs = [abs(p["diff"]) for p in comparison.headline_pairs() if p["diff"] is not None]
    gap = max(pairs) if pairs else max(d.mean for d in comparison.descriptives) - min(
        d.mean for d in comparison.descriptives)
    sd = float(np.sqrt(mixed.var_cluster + mixed.var_residual))
    if not gap > 0 or not sd > 0:
        return None
    k = len(comparison.levels)
    have = int(round(mixed.n_clusters / k))
    try:
        needed = teams_needed(gap / sd, k, max(mixed.mean_cluster_size, 1.0), min(max(mixed.icc, 0.0), 0.99),
                              alpha=comparison.alpha, max_teams=MAX_TEAMS_SAID + 1,
                              cv=getattr(mixed, "cluster_size_cv", 0.0)).teams_per_arm
    except ValueError:
        needed = MAX_TEAMS_SAID + 1
    return comparison.amount(gap), needed, have


def _conflict(found, comparisons, levels, deciding, leads, trails, next_wave) -> Decision:
    pulls = [f"{model_name(m)} leads on {_and([_label(found[o]) for o in leads[m]])} but trails on "
             f"{_and([_label(found[o]) for o in trails[m]])}" for m in levels if leads[m] and trails[m]]
    headline = ("No change is justified yet: the results pull two ways — " + "; ".join(pulls) + ".")
    steps = [f"Read {next_wave}: it may settle which way it goes." if next_wave else
             "Another wave would show which way it settles."]
    return Decision(None, TOO_CLOSE, headline, tuple(opening(p) + "." for p in pulls), (), tuple(steps), "conflict")


def _no_change(found, by_key, levels, deciding, next_wave) -> Decision:
    labels = _and([_label(found[o]) for o in deciding])
    headline = f"No change is justified yet: no coaching model did clearly better on {labels}."
    reasons = []
    for key in deciding:
        finding = found[key]
        if finding.beyond_scale:
            within = "within the scale" if by_key[key].scale_range is not None else "with 80 % power"
            reasons.append(f"{opening(_label(finding))}: no clear difference; this study is too small to find "
                           f"one {within}.")
        elif finding.detectable is not None:
            reasons.append(f"{opening(_label(finding))}: no clear difference; this study could have found one of "
                           f"about {by_key[key].amount(finding.detectable)}.")
        else:
            reasons.append(f"{opening(_label(finding))}: no clear difference.")
    others = [f"{model_name(f.best)} leads on {_label(f)}" for f in found.values()
              if f.best and f.outcome not in deciding]
    trade = tuple(opening(t) + "." for t in others)
    steps = _open_questions(found, by_key, deciding)
    if next_wave:
        steps.insert(0, f"Read {next_wave}.")
    return Decision(None, TOO_CLOSE, headline, tuple(reasons), trade, tuple(steps), "none")
