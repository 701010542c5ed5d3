"""The verdict: "who should coach?" in plain language, overall and for each camp's claim.

Rules the text keeps:

- a model is named better or worse only where the omnibus test survives the multiplicity
  correction *and* the matched pairwise comparison does (adjusted p < 0.05);
- every named difference carries its size in the outcome's units and in words (Cohen: |g| < 0.2
  negligible, < 0.5 small, < 0.8 medium, else large) with the number; the g next to a
  baseline-adjusted difference is the adjusted one (that difference over the SD the adjusting
  model leaves, ``analysis.effects.AdjustedEffect``), the raw Hedges' g goes with raw differences;
- a null result states the smallest difference the data could have detected: the one the headline
  test and this rule name with 80 % power (``analysis.detectable``: Welch/Games–Howell, the rank
  test by simulation, the team level with the ICC — a range of ICCs when it is estimated at zero —,
  the ANCOVA), or, when that exceeds what the outcome's scale can hold or 80 % is out of reach,
  that the view is too small to detect any difference within the scale;
- a claim is "supported", "contradicted", "mixed" or "not supported" (never "not shown", which
  the report keeps for numbers hidden for anonymity);
- caveats name small groups (each model once), low reliability, an unbalanced allocation, few
  teams (and, with the randomisation test on team means, outcomes so few teams cannot decide
  whatever the data), very unequal team sizes, unconverged fits and singular fits (teams that did
  not differ beyond chance, so the p-value rests on the degrees of freedom chosen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._result import Result
from ._validate import dropped_in_words
from .clustered import UNEQUAL_SIZES_CV
from .detectable import Detectable
from .detectable import detectable_difference as _detectable
from .effects import delta_magnitude, magnitude
from .planning import SampleRatioCheck
from .scales import Reliability

ALPHA = 0.05
SMALL_GROUP = 20
FEW_TEAMS_PER_ARM = 6
MISSING_SHARE = 0.10
KNOWN_MODELS = {"manager": "manager coaching", "peer": "peer coaching", "external": "external coaching"}


def model_name(level: str) -> str:
    """How a coaching model is named in sentences."""
    return KNOWN_MODELS.get(level, str(level))


def opening(text: str) -> str:
    """Capitalise the first letter only ("CoachAI" stays "CoachAI")."""
    return text[:1].upper() + text[1:]


def format_p(p: float, corrected: bool = False) -> str:
    """p-values as people read them: "p < 0.001", "p = 0.245", "p > 0.99".

    A p-value above 0.99 is not printed as "p = 1.000", which reads as "certainly no difference";
    when a correction for several outcomes (Holm) capped it, ``corrected`` says so.
    """
    if p is None or not np.isfinite(p):
        return "p not available"
    if p > 0.99:
        return "p > 0.99 after correction" if corrected else "p > 0.99"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _listing(items: Sequence[str], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} {items[-1]}"


@dataclass(frozen=True)
class Claim:
    """A camp of the debate and what its claim predicts on which outcomes."""

    camp: str
    claim: str
    outcomes: tuple[str, ...]
    high: str | None = None
    low: str | None = None


CLAIMS: tuple[Claim, ...] = (
    Claim("manager", "The integrated manager: accountability and team-building are where the front-line "
                     "manager leads", ("accountability", "onboarding"), high="manager"),
    Claim("peer", "Peers: reps are more candid with a peer than with their boss", ("candour",), high="peer"),
    Claim("external", "Outsource: the skills don't exist inside; outside coaches bring expertise",
          ("expertise",), high="external"),
    Claim("busy", "Managers are too busy to coach", ("availability", "sessions_per_rep_month"), low="manager"),
    Claim("performance", "It's performance that counts", ("quota_attainment", "win_rate", "revenue")),
)


@dataclass(frozen=True)
class DesignFacts:
    """What the verdict should know about the study beyond the outcome data."""

    allocation: SampleRatioCheck | None = None
    reliability: tuple[Reliability, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    """A difference that survived correction: ``higher`` beat ``lower``.

    ``diff`` is in outcome units (None after a rank test), ``g`` the standardised difference and
    ``delta`` Cliff's δ, both oriented so that positive means ``higher`` is higher.

    ``g`` is the standardised size of ``diff`` itself: when ``diff`` is adjusted for a baseline
    (``g_adjusted``) it is the adjusted g, ``diff`` over the SD the adjusting model leaves; otherwise
    the raw Hedges' g. ``g_raw`` is always the raw Hedges' g of the two groups' values, and
    ``g_ci_low``/``g_ci_high`` the 95 % CI of ``g``.
    """

    higher: str
    lower: str
    diff: float | None
    g: float | None
    delta: float | None
    p_adj: float
    g_raw: float | None = None
    g_ci_low: float | None = None
    g_ci_high: float | None = None
    g_adjusted: bool = False

    @property
    def rank_based(self) -> bool:
        return self.diff is None

    def to_dict(self) -> dict:
        size = (delta_magnitude(self.delta) if self.delta is not None else None) if self.rank_based else (
            magnitude(self.g) if self.g is not None else None)
        return {"higher": self.higher, "lower": self.lower, "diff": self.diff, "g": self.g, "cliffs_delta": self.delta,
                "p_adj": self.p_adj, "magnitude": size, "g_adjusted": self.g_adjusted, "g_ci_low": self.g_ci_low,
                "g_ci_high": self.g_ci_high, "g_raw": self.g_raw}


@dataclass(frozen=True)
class Finding:
    """What one outcome says.

    ``detectable`` is the smallest difference the study could have detected (outcome units; the upper
    end when it is a range), ``detectable_detail`` how it was computed (``analysis.detectable``).
    ``beyond_scale``: the detectable difference exceeds what the outcome's bounds can hold (or 80 %
    power is out of reach), so the text says the view is too small instead of giving it.
    ``adjusted``: the differences are adjusted for a baseline. ``ahead_by``: the best model's
    differences as a phrase without sizes ("8.16 percentage points above peer coaching, 9.81 above
    external coaching"), None without a best.
    """

    outcome: str
    label: str
    significant: bool
    differences: tuple[Difference, ...]
    best: str | None
    worst: str | None
    detectable: float | None
    text: str
    beyond_scale: bool = False
    adjusted: bool = False
    ahead_by: str | None = None
    detectable_detail: Detectable | None = None

    @property
    def name(self) -> str:
        """The outcome's plain name, from its key ("quota attainment"), without the label's qualifiers."""
        return self.outcome.replace("_", " ")

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "label": self.label, "significant": self.significant,
                "differences": [d.to_dict() for d in self.differences], "best": self.best, "worst": self.worst,
                "detectable": self.detectable, "text": self.text, "beyond_scale": self.beyond_scale,
                "adjusted": self.adjusted, "ahead_by": self.ahead_by,
                "detectable_detail": self.detectable_detail.to_dict() if self.detectable_detail else None}


#: Every status a claim can have. "not supported": the data do not show what the claim predicts
#: (no clear difference); the words "not shown" belong to numbers hidden for anonymity.
CLAIM_STATUSES = ("supported", "contradicted", "mixed", "not supported", "not tested", "not measured")


@dataclass(frozen=True)
class ClaimVerdict(Result):
    """A camp's claim and whether the data support it."""

    camp: str
    claim: str
    status: str  # supported, contradicted, mixed, not supported, not tested, not measured (CLAIM_STATUSES)
    text: str


@dataclass(frozen=True)
class Verdict:
    """The plain-language answer, its supporting findings and its caveats."""

    headline: str
    findings: tuple[Finding, ...]
    claims: tuple[ClaimVerdict, ...]
    caveats: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """Headline, then one line per finding, then claims and caveats."""
        lines = [self.headline, ""]
        lines += [f"- {f.text}" for f in self.findings]
        if self.claims:
            lines += ["", "The debate, tested:"]
            lines += [f"- {c.claim}: {c.status}. {c.text}" for c in self.claims]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"text": self.text, "headline": self.headline, "findings": [f.to_dict() for f in self.findings],
                "claims": [c.to_dict() for c in self.claims], "caveats": list(self.caveats)}


def detectable_difference(comparison) -> Detectable | None:
    """Smallest pairwise difference (outcome units) the headline test names with 80 % power at the
    outcome's alpha, and how it was computed: see ``analysis.detectable``."""
    return _detectable(comparison)


def _detectable_words(comparison, detail: Detectable) -> str:
    """"; this study could have detected a difference of about 0.42 points." and the like."""
    if detail.beyond_scale:
        if comparison.scale_range is None:
            return "; this view is too small to detect a difference with 80 % power."
        return "; this view is too small to detect any difference within the scale."
    if detail.icc_range is not None and detail.low is not None:
        why = "estimated here at zero" if "zero" in detail.method else "not estimated here"
        low, high = detail.icc_range
        return (f"; this study could have detected a difference of about "
                f"{comparison.amount_range(detail.low, detail.value)} (the teams' ICC, {why}, "
                f"taken as {low:.2f}–{high:.2f}).")
    return f"; this study could have detected a difference of about {comparison.amount(detail.value)}."


def summarise_outcome(comparison) -> Finding:
    """The finding of one outcome, following the module's rules."""
    corrected = np.isfinite(comparison.p_adjusted) and not comparison.primary
    p = comparison.p_adjusted if np.isfinite(comparison.p_adjusted) else comparison.p
    p_words = format_p(p, corrected)
    label = comparison.label
    method = {"welch": "Welch ANOVA", "anova": "ANOVA", "kruskal": "Kruskal–Wallis", "ancova": "ANCOVA",
              "mixed_model": "mixed model", "team_means": "team means",
              "randomisation": "randomisation test on team means"}[comparison.chosen]
    differences = []
    if p < ALPHA and comparison.trustworthy:
        for pair in comparison.headline_pairs():
            if pair["p_adj"] < comparison.alpha and pair["direction"] != 0:
                higher, lower = (pair["b"], pair["a"]) if pair["direction"] > 0 else (pair["a"], pair["b"])
                differences.append(_difference(comparison, higher, lower, pair))
    adjusted = comparison.adjusted_effects is not None
    levels = comparison.levels
    beats = {level: {d.lower for d in differences if d.higher == level} for level in levels}
    loses = {level: {d.higher for d in differences if d.lower == level} for level in levels}
    best = next((lv for lv in levels if beats[lv] == set(levels) - {lv}), None)
    worst = next((lv for lv in levels if loses[lv] == set(levels) - {lv}), None)
    if not differences:
        if p < ALPHA and not comparison.trustworthy:
            text = (f"The coaching models seem to differ on {label}, but teams could not be accounted for, "
                    "so no model is named.")
            return Finding(comparison.outcome, label, False, (), None, None, None, text, False, adjusted)
        unreachable = _unreachable(comparison)
        detail = None if unreachable else detectable_difference(comparison)
        detectable = detail.value if detail is not None else None
        beyond = detail is not None and detail.beyond_scale
        if p < ALPHA:
            text = (f"The coaching models differ on {label} ({p_words}, {method}), but no pair of them "
                    "can be told apart with confidence.")
            return Finding(comparison.outcome, label, True, (), None, None, detectable, text, beyond, adjusted,
                           detectable_detail=detail)
        text = f"No clear difference between the coaching models on {label} ({p_words}, {method})"
        if unreachable:
            text += "; with so few teams no difference could have shown, whatever its size."
        else:
            text += _detectable_words(comparison, detail) if detail is not None else "."
        return Finding(comparison.outcome, label, False, (), None, None, detectable, text, beyond, adjusted,
                       detectable_detail=detail)
    parts = []
    ahead_by = None
    if best is not None:
        against = [d for d in differences if d.higher == best]
        detail = " and ".join(_difference_phrase(d, comparison, with_higher=False) for d in against)
        parts.append(f"{opening(model_name(best))} scored highest on {label}: {detail}")
        others = [d for d in differences if d.higher != best]
        ahead_by = ", ".join(_amount_versus(d, comparison, d.lower, True, unit=i == 0)
                             for i, d in enumerate(against))
    elif worst is not None:
        against = [d for d in differences if d.lower == worst]
        detail = " and ".join(_below_phrase(d, comparison) for d in against)
        parts.append(f"{opening(model_name(worst))} scored lowest on {label}: {detail}")
        others = [d for d in differences if d.lower != worst]
    else:
        others = differences
    for d in others:  # "Peer coaching scored 0.42 points above …", "Peer coaching ranked above …"
        verb = "" if d.rank_based else "scored "
        parts.append(f"{opening(model_name(d.higher))} {verb}{_amount_versus(d, comparison, d.lower, True)} "
                     f"on {label} ({_size(d)})")
    text = "; ".join(parts) + f" ({p_words}, {method})."
    return Finding(comparison.outcome, label, True, tuple(differences), best, worst, None, text, False, adjusted,
                   ahead_by)


def _difference(comparison, higher: str, lower: str, pair: dict) -> Difference:
    """The named difference ``higher`` − ``lower``, with the g that goes with the difference quoted."""
    effect = comparison.pair_effect(higher, lower)
    sign = 1 if effect is not None and effect.b == higher else -1
    raw = sign * effect.hedges_g if effect is not None and np.isfinite(effect.hedges_g) else None
    delta = sign * effect.cliffs_delta if effect is not None else None
    diff = None if pair["diff"] is None else abs(pair["diff"])
    adjusted = comparison.adjusted_effect(higher, lower) if diff is not None else None
    if adjusted is not None and np.isfinite(adjusted.g):
        turn = 1 if adjusted.b == higher else -1
        bounds = sorted((turn * adjusted.ci_low, turn * adjusted.ci_high))
        return Difference(higher, lower, diff, turn * adjusted.g, delta, pair["p_adj"], raw, bounds[0], bounds[1],
                          True)
    bounds = sorted((sign * effect.g_ci_low, sign * effect.g_ci_high)) if raw is not None else (None, None)
    return Difference(higher, lower, diff, raw, delta, pair["p_adj"], raw, bounds[0], bounds[1], False)


def _size(d: Difference) -> str:
    if d.rank_based:
        if d.delta is None:
            return "size not available"
        return f"a {delta_magnitude(d.delta)} effect, Cliff's δ = {d.delta:.2f}"
    if d.g is None:
        return "size not available"
    return f"a {magnitude(d.g)} effect, {'adjusted g' if d.g_adjusted else 'g'} = {d.g:.2f}"


def _amount_versus(d: Difference, comparison, other: str, higher: bool, unit: bool = True) -> str:
    if d.rank_based:
        return f"ranked {'above' if higher else 'below'} {model_name(other)}"
    return comparison.versus(d.diff, model_name(other), higher, unit)


def _difference_phrase(d: Difference, comparison, with_higher: bool = True) -> str:
    lead = f"{model_name(d.higher)} " if with_higher else ""
    return f"{lead}{_amount_versus(d, comparison, d.lower, True)} ({_size(d)})"


def _below_phrase(d: Difference, comparison) -> str:
    return f"{_amount_versus(d, comparison, d.higher, False)} ({_size(d)})"


def judge_claim(claim: Claim, findings: dict[str, Finding], levels: Sequence[str],
                compared: dict[str, Sequence[str]] | None = None) -> ClaimVerdict:
    """Whether the data support, contradict or do not show a camp's claim.

    ``compared`` gives the models each outcome's comparison included (all of ``levels`` by default):
    a claim about a model that the anonymity rules hide on what the claim predicts is not tested.
    """
    compared = compared or {}
    subject = claim.high or claim.low
    present = [findings[o] for o in claim.outcomes if o in findings]
    measured = [f for f in present if subject is None or subject in compared.get(f.outcome, levels)]
    if subject is not None and subject in levels and present and not measured:
        return ClaimVerdict(claim.camp, claim.claim, "not tested",
                            f"{opening(model_name(subject))} is not shown in this view on what the claim predicts, "
                            "so the claim is not tested here.")
    if not measured or (subject is not None and subject not in levels):
        return ClaimVerdict(claim.camp, claim.claim, "not measured",
                            "This study did not measure what the claim predicts.")
    if subject is None:  # performance: say who did best, if anyone
        return _performance_verdict(claim, measured)
    results = []
    for finding in measured:
        others = [lv for lv in compared.get(finding.outcome, levels) if lv != subject]
        pairs = {(d.higher, d.lower) for d in finding.differences}
        if claim.high:
            support = all((subject, o) in pairs for o in others)
            against = any((o, subject) in pairs for o in others)
        else:
            support = all((o, subject) in pairs for o in others)
            against = any((subject, o) in pairs for o in others)
        results.append(("supported" if support and not against else "contradicted" if against else "not supported",
                        finding))
    statuses = {status for status, _ in results}
    if statuses == {"supported"} or (statuses == {"supported", "not supported"}):
        status = "supported"
    elif "contradicted" in statuses and "supported" not in statuses:
        status = "contradicted"
    elif "contradicted" in statuses:
        status = "mixed"
    else:
        status = "not supported"
    text = " ".join(finding.text for _, finding in results)
    return ClaimVerdict(claim.camp, claim.claim, status, text)


def _performance_verdict(claim: Claim, measured: Sequence[Finding]) -> ClaimVerdict:
    """Who came out ahead on which performance outcome, by how much, in one sentence per model.

    "Manager coaching came out ahead on quota attainment (8.16 percentage points above peer
    coaching, 9.81 above external coaching) and on revenue (19,470 more revenue than peer
    coaching, 22,424 more than external coaching). No clear difference on win rate."
    """
    ahead: dict[str, list[str]] = {}
    for finding in measured:
        if finding.best:
            ahead.setdefault(finding.best, []).append(f"on {finding.name} ({finding.ahead_by})")
    significant = [f for f in measured if f.significant]
    if not ahead:
        if significant:
            return ClaimVerdict(claim.camp, claim.claim, "mixed", " ".join(f.text for f in significant))
        return ClaimVerdict(claim.camp, claim.claim, "not supported",
                            "No model led on sales performance beyond chance.")
    sentences = [f"{opening(model_name(model))} came out ahead {_listing(parts)}." for model, parts in ahead.items()]
    sentences += [f.text for f in significant if not f.best]
    unclear = [f.name for f in measured if not f.significant]
    if unclear:
        sentences.append(f"No clear difference on {_listing(unclear, 'or')}.")
    if all(f.adjusted for f in measured if f.best):
        sentences.append("These differences allow for where the reps started (their baseline).")
    return ClaimVerdict(claim.camp, claim.claim, "supported", " ".join(sentences))


def write_verdict(comparisons, levels: Sequence[str], primary: str, design: DesignFacts | None = None) -> Verdict:
    """Write the verdict from the outcome comparisons (see the module docstring for the rules)."""
    design = design or DesignFacts()
    findings = [summarise_outcome(c) for c in comparisons]
    by_outcome = {f.outcome: f for f in findings}
    compared = {c.outcome: tuple(c.levels) for c in comparisons}
    claims = [judge_claim(claim, by_outcome, levels, compared) for claim in CLAIMS]
    claims = [c for c in claims if c.status != "not measured"]
    main = by_outcome.get(primary)
    if main is None:  # not comparable in this view: every outcome shown is then a corrected secondary one
        headline = "Who should coach? The primary outcome cannot be compared in this view."
    else:
        if main.best:
            opening = f"On {main.label}, the primary outcome, {model_name(main.best)} came out ahead."
        elif main.significant:
            opening = f"The models differ on {main.label}, the primary outcome, without one clear winner."
        else:
            opening = f"No coaching model is clearly better on {main.label}, the primary outcome."
        headline = f"Who should coach? {opening} {main.text}"
    strengths = [c for c in claims if c.status == "supported"]
    if strengths:
        headline += " Claims the data support: " + "; ".join(
            f"“{c.claim.split(':')[0].lower()}”" for c in strengths) + "."
    return Verdict(headline, tuple(findings), tuple(claims), tuple(_caveats(comparisons, design)))


def _span(sizes: Sequence[int]) -> str:
    low, high = min(sizes), max(sizes)
    return f"{low}" if low == high else f"{low}–{high}"


def _rows_left_out(comparisons) -> list[str]:
    """A caveat per outcome whose headline model left out more than 10 % of an arm's reps (audit F2)."""
    notes = []
    for c in comparisons:
        # The randomisation test on team means uses the rows the mixed model uses (a team, an outcome, the baseline).
        model = {"mixed_model": getattr(c, "mixed_model", None), "randomisation": getattr(c, "mixed_model", None),
                 "ancova": getattr(c, "ancova", None)}.get(c.chosen)
        n_dropped = getattr(model, "n_dropped", None) or {}
        parts = []
        for arm, reasons in n_dropped.items():
            lost = sum(reasons.values())
            total = lost + model.n_used.get(arm, 0)
            if total and lost > MISSING_SHARE * total:
                why = dropped_in_words(reasons)
                parts.append(f"{model_name(arm)} {lost} of {total} ({100 * lost / total:.0f} %: {why})")
        if parts:
            name = {"mixed_model": "mixed model", "randomisation": "randomisation test on team means"}.get(c.chosen,
                                                                                                     "ANCOVA")
            notes.append(f"The {name} for {c.label} left out more than 10 % of an arm's reps: " + "; ".join(parts)
                         + f". Its result rests on {model.n} reps, not all {c.n}.")
    return notes


def _singular_fits(comparisons) -> list[str]:
    """A caveat for the outcomes whose headline mixed model has no team variance (γ = 0, a singular fit)."""
    singular = [c for c in comparisons if c.chosen == "mixed_model" and c.mixed_model is not None
                and c.mixed_model.converged and c.mixed_model.var_cluster == 0 and c.mixed_model.arm_test is not None]
    if not singular:
        return []
    fits = [c.mixed_model for c in singular]
    dfs = sorted({f"{f.arm_test.df2:g}" for f in fits}, key=float)
    reps = sorted({f"{f.n - len(c.levels) - (f.baseline is not None):g}" for f, c in zip(fits, singular, strict=True)},
                  key=float)  # N − p, the df of reps treated as independent
    several = len(singular) > 1
    return [f"The teams did not differ beyond chance in this sample on {_listing([c.label for c in singular])} "
            "(the team variance was estimated as zero: a singular fit), so the mixed model treats reps as "
            f"independent within each coaching model. {'Their p-values rely' if several else 'Its p-value relies'} "
            f"on the degrees of freedom chosen: {_listing(dfs, 'or')}, from the "
            f"{max(f.n_clusters for f in fits)} teams, not the {_listing(reps, 'or')} of independent reps, "
            "which would make it smaller."]


def _unreachable(comparison) -> tuple[float, bool] | None:
    """When the randomisation test of so few teams cannot name a model whatever the data: the smallest
    p-value it can give (overall: True; else the smallest Holm-adjusted one of a pair: False), else None.

    Holm's smallest adjusted p is the number of pairs times the smallest raw p, so no pair can pass
    the outcome's pair level when even the pairs' most extreme assignments give no less.
    """
    test = getattr(comparison, "randomisation", None) if comparison.chosen == "randomisation" else None
    if test is None:
        return None
    if test.p_min is not None and test.p_min >= ALPHA:
        return test.p_min, True
    pairs = [pair.p_min * len(test.pairs) for pair in test.pairs if pair.p_min is not None]
    if pairs and len(pairs) == len(test.pairs) and min(pairs) >= comparison.alpha:
        return min(min(pairs), 1.0), False
    return None


def _out_of_reach(comparisons) -> list[str]:
    """A caveat per outcome whose randomisation test cannot name a model whatever the data."""
    notes = []
    for c in comparisons:
        reach = _unreachable(c)
        if reach is not None:
            smallest, overall = reach
            teams = sum(c.randomisation.teams.values())
            notes.append(f"With {teams} teams, {c.label} cannot show a model ahead whatever the data: re-running the "
                         f"randomisation over so few teams gives no p-value below {smallest:.3f}"
                         f"{'' if overall else ' for a pair of models (after Holm)'}. More teams are needed.")
    return notes


def _caveats(comparisons, design: DesignFacts) -> list[str]:
    notes: list[str] = []
    order = list(dict.fromkeys(level for c in comparisons for level in c.levels))
    small: dict[str, list[int]] = {}
    for c in comparisons:
        for d in c.descriptives:
            if d.n < SMALL_GROUP:
                small.setdefault(d.group, []).append(d.n)
    if small:  # each model once, with the range of its sizes over the outcomes
        groups = ", ".join(f"{model_name(g)} ({_span(small[g])})" for g in sorted(small, key=order.index))
        notes.append(f"Small groups: {groups} — only large differences can show.")
    for reliability in design.reliability:
        if reliability.low:
            notes.append(f"Low reliability (Cronbach's α below 0.7, pairwise) of {reliability.scale}: "
                         + ", ".join(reliability.low) + "; its scores are noisy.")
    if design.allocation is not None and design.allocation.mismatch:
        notes.append(f"Unbalanced allocation: the teams per model differ from the plan more than chance allows "
                     f"({format_p(design.allocation.p)}); check the randomisation.")
    fits = [c.mixed_model for c in comparisons if c.mixed_model is not None]
    if fits:
        clusters = max(f.n_clusters for f in fits)
        if clusters / max(len(comparisons[0].levels), 1) < FEW_TEAMS_PER_ARM:
            text = f"Few teams ({clusters}): team-level differences are estimated imprecisely."
            if any(c.chosen == "randomisation" for c in comparisons):
                text += (f" With fewer than {FEW_TEAMS_PER_ARM} teams in a model, the models are compared by a "
                         "randomisation test on team means (re-running the randomisation), not by the mixed model.")
            notes.append(text)
        failed = [c for c in comparisons if c.mixed_model is not None and not c.mixed_model.converged]
        for means, words in ((True, "the teams' means were compared instead, one value per team"),
                             (False, "those outcomes are compared without accounting for teams")):
            labels = [c.label for c in failed if (c.chosen == "team_means") == means]
            if labels:
                notes.append("The mixed model did not converge for " + ", ".join(labels) + f"; {words}.")
        uneven = [f for f in fits if f.converged and getattr(f, "cluster_size_cv", 0.0) > UNEQUAL_SIZES_CV]
        if uneven:
            notes.append(f"Team sizes vary a lot ({min(f.min_cluster_size for f in uneven)} to "
                         f"{max(f.max_cluster_size for f in uneven)} reps); the design effect allows for it.")
        notes.extend(_singular_fits(comparisons))
    unfitted = [c.label for c in comparisons if c.mixed_model is None and c.chosen == "team_means"]
    if unfitted:  # teams given, but the model could not be set up (every team one rep, …): the warnings say why
        notes.append("No mixed model could be fitted for " + ", ".join(unfitted) + " (the warnings say why); "
                     "the teams' means were compared instead, one value per team.")
    notes.extend(_out_of_reach(comparisons))
    notes.extend(_rows_left_out(comparisons))
    missing = [c.label for c in comparisons if c.n_missing > MISSING_SHARE * (c.n + c.n_missing)]
    if missing:
        notes.append("More than 10 % of values are missing for " + ", ".join(missing) + ".")
    notes.extend(design.notes)
    return notes
