"""The verdict: "who should coach?" in plain language, overall and for each camp's claim.

Rules the text keeps:

- a model is named better or worse only where the omnibus test survives the multiplicity
  correction *and* the matched pairwise comparison does (adjusted p < 0.05);
- every named difference carries its size in the outcome's units and in words (Cohen: |g| < 0.2
  negligible, < 0.5 small, < 0.8 medium, else large) with the number;
- a null result states the smallest difference the data could have detected (80 % power,
  two-sided, Bonferroni over the pairs, accounting for teams when the mixed model was fitted);
- caveats name small groups, low reliability, an unbalanced allocation, few teams and
  unconverged fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ._result import Result
from .effects import delta_magnitude, magnitude
from .planning import Design, SampleRatioCheck, minimum_detectable_effect
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


def format_p(p: float) -> str:
    """p-values as people read them."""
    if p is None or not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


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
    """

    higher: str
    lower: str
    diff: float | None
    g: float | None
    delta: float | None
    p_adj: float

    @property
    def rank_based(self) -> bool:
        return self.diff is None

    def to_dict(self) -> dict:
        size = (delta_magnitude(self.delta) if self.delta is not None else None) if self.rank_based else (
            magnitude(self.g) if self.g is not None else None)
        return {"higher": self.higher, "lower": self.lower, "diff": self.diff, "g": self.g, "cliffs_delta": self.delta,
                "p_adj": self.p_adj, "magnitude": size}


@dataclass(frozen=True)
class Finding:
    """What one outcome says."""

    outcome: str
    label: str
    significant: bool
    differences: tuple[Difference, ...]
    best: str | None
    worst: str | None
    detectable: float | None
    text: str

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "label": self.label, "significant": self.significant,
                "differences": [d.to_dict() for d in self.differences], "best": self.best, "worst": self.worst,
                "detectable": self.detectable, "text": self.text}


@dataclass(frozen=True)
class ClaimVerdict(Result):
    """A camp's claim and whether the data support it."""

    camp: str
    claim: str
    status: str  # supported, contradicted, mixed, not shown, not measured
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


def detectable_difference(comparison) -> float | None:
    """Smallest pairwise difference (outcome units) detectable with 80 % power at the outcome's pairwise alpha.

    The SD is the one the headline test works with: total (team + residual) for the mixed model,
    residual for the ANCOVA, pooled within groups otherwise; teams inflate it by the design effect.
    """
    k = len(comparison.levels)
    sizes = np.array([d.n for d in comparison.descriptives], dtype=float)
    mixed = comparison.mixed_model
    alpha = comparison.alpha  # Design splits it over the pairs (Bonferroni), as the pairwise tests do
    if comparison.chosen == "mixed_model" and mixed is not None and np.isfinite(mixed.icc):
        sd = float(np.sqrt(mixed.var_cluster + mixed.var_residual))
        design = Design(k, max(mixed.n_clusters / k, 2.0), mixed.mean_cluster_size,
                        min(max(mixed.icc, 0.0), 0.99), alpha=alpha)
    else:
        sd = float(comparison.ancova.residual_sd) if comparison.chosen == "ancova" and comparison.ancova \
            else float(np.sqrt(_pooled_variance(comparison)))
        harmonic = len(sizes) / float(np.sum(1 / sizes))
        design = Design(k, max(harmonic, 2.0), 1, 0.0, alpha=alpha)
    if not np.isfinite(sd) or sd == 0:
        return None
    return minimum_detectable_effect(design) * sd


def _pooled_variance(comparison) -> float:
    ss = sum((d.n - 1) * d.sd ** 2 for d in comparison.descriptives)
    return ss / sum(d.n - 1 for d in comparison.descriptives)


def summarise_outcome(comparison) -> Finding:
    """The finding of one outcome, following the module's rules."""
    p = comparison.p_adjusted if np.isfinite(comparison.p_adjusted) else comparison.p
    label = comparison.label
    method = {"welch": "Welch ANOVA", "anova": "ANOVA", "kruskal": "Kruskal–Wallis", "ancova": "ANCOVA",
              "mixed_model": "mixed model", "team_means": "team means"}[comparison.chosen]
    differences = []
    if p < ALPHA and comparison.trustworthy:
        for pair in comparison.headline_pairs():
            if pair["p_adj"] < comparison.alpha and pair["direction"] != 0:
                higher, lower = (pair["b"], pair["a"]) if pair["direction"] > 0 else (pair["a"], pair["b"])
                effect = comparison.pair_effect(higher, lower)
                sign = 1 if effect is not None and effect.b == higher else -1
                g = sign * effect.hedges_g if effect is not None and np.isfinite(effect.hedges_g) else None
                delta = sign * effect.cliffs_delta if effect is not None else None
                diff = None if pair["diff"] is None else abs(pair["diff"])
                differences.append(Difference(higher, lower, diff, g, delta, pair["p_adj"]))
    levels = comparison.levels
    beats = {level: {d.lower for d in differences if d.higher == level} for level in levels}
    loses = {level: {d.higher for d in differences if d.lower == level} for level in levels}
    best = next((lv for lv in levels if beats[lv] == set(levels) - {lv}), None)
    worst = next((lv for lv in levels if loses[lv] == set(levels) - {lv}), None)
    detectable = None
    if not differences:
        detectable = detectable_difference(comparison)
        if p < ALPHA and comparison.trustworthy:
            text = (f"The coaching models differ on {label} ({format_p(p)}, {method}), but no pair of them "
                    "can be told apart with confidence.")
            return Finding(comparison.outcome, label, True, (), None, None, detectable, text)
        if p < ALPHA:
            text = (f"The coaching models seem to differ on {label}, but teams could not be accounted for, "
                    "so no model is named.")
            return Finding(comparison.outcome, label, False, (), None, None, None, text)
        text = (f"No clear difference between the coaching models on {label} ({format_p(p)}, {method})")
        text += (f"; this study could have detected a difference of about {comparison.amount(detectable)}."
                 if detectable is not None else ".")
        return Finding(comparison.outcome, label, False, (), None, None, detectable, text)
    parts = []
    if best is not None:
        against = [d for d in differences if d.higher == best]
        detail = " and ".join(_difference_phrase(d, comparison, with_higher=False) for d in against)
        parts.append(f"{opening(model_name(best))} scored highest on {label}: {detail}")
        others = [d for d in differences if d.higher != best]
    elif worst is not None:
        against = [d for d in differences if d.lower == worst]
        detail = " and ".join(_below_phrase(d, comparison) for d in against)
        parts.append(f"{opening(model_name(worst))} scored lowest on {label}: {detail}")
        others = [d for d in differences if d.lower != worst]
    else:
        others = differences
    for d in others:
        amount = "higher" if d.rank_based else f"{comparison.amount(d.diff)} higher"
        parts.append(f"{opening(model_name(d.higher))} scored {amount} than {model_name(d.lower)} on {label} "
                     f"({_size(d)})")
    text = "; ".join(parts) + f" ({format_p(p)}, {method})."
    return Finding(comparison.outcome, label, True, tuple(differences), best, worst, None, text)


def _size(d: Difference) -> str:
    if d.rank_based:
        if d.delta is None:
            return "size not available"
        return f"a {delta_magnitude(d.delta)} effect, Cliff's δ = {d.delta:.2f}"
    if d.g is None:
        return "size not available"
    return f"a {magnitude(d.g)} effect, g = {d.g:.2f}"


def _difference_phrase(d: Difference, comparison, with_higher: bool = True) -> str:
    lead = f"{model_name(d.higher)} " if with_higher else ""
    amount = "ranked above" if d.rank_based else f"{comparison.amount(d.diff)} above"
    return f"{lead}{amount} {model_name(d.lower)} ({_size(d)})"


def _below_phrase(d: Difference, comparison) -> str:
    amount = "ranked below" if d.rank_based else f"{comparison.amount(d.diff)} below"
    return f"{amount} {model_name(d.higher)} ({_size(d)})"


def judge_claim(claim: Claim, findings: dict[str, Finding], levels: Sequence[str]) -> ClaimVerdict:
    """Whether the data support, contradict or do not show a camp's claim."""
    measured = [findings[o] for o in claim.outcomes if o in findings]
    subject = claim.high or claim.low
    if not measured or (subject is not None and subject not in levels):
        return ClaimVerdict(claim.camp, claim.claim, "not measured",
                            "This study did not measure what the claim predicts.")
    if subject is None:  # performance: say who did best, if anyone
        winners = [f"{model_name(f.best)} on {f.label}" for f in measured if f.best]
        significant = [f for f in measured if f.significant]
        if winners:
            return ClaimVerdict(claim.camp, claim.claim, "supported",
                                "Performance differed: " + "; ".join(winners) + " came out ahead.")
        if significant:
            return ClaimVerdict(claim.camp, claim.claim, "mixed",
                                " ".join(f.text for f in significant))
        return ClaimVerdict(claim.camp, claim.claim, "not shown",
                            "No model led on sales performance beyond chance.")
    others = [lv for lv in levels if lv != subject]
    results = []
    for finding in measured:
        pairs = {(d.higher, d.lower) for d in finding.differences}
        if claim.high:
            support = all((subject, o) in pairs for o in others)
            against = any((o, subject) in pairs for o in others)
        else:
            support = all((o, subject) in pairs for o in others)
            against = any((subject, o) in pairs for o in others)
        results.append(("supported" if support and not against else "contradicted" if against else "not shown",
                        finding))
    statuses = {status for status, _ in results}
    if statuses == {"supported"} or (statuses == {"supported", "not shown"}):
        status = "supported"
    elif "contradicted" in statuses and "supported" not in statuses:
        status = "contradicted"
    elif "contradicted" in statuses:
        status = "mixed"
    else:
        status = "not shown"
    text = " ".join(finding.text for _, finding in results)
    return ClaimVerdict(claim.camp, claim.claim, status, text)


def write_verdict(comparisons, levels: Sequence[str], primary: str, design: DesignFacts | None = None) -> Verdict:
    """Write the verdict from the outcome comparisons (see the module docstring for the rules)."""
    design = design or DesignFacts()
    findings = [summarise_outcome(c) for c in comparisons]
    by_outcome = {f.outcome: f for f in findings}
    claims = [judge_claim(claim, by_outcome, levels) for claim in CLAIMS]
    claims = [c for c in claims if c.status != "not measured"]
    main = by_outcome[primary]
    if main.best:
        opening = f"On {main.label}, the primary outcome, {model_name(main.best)} came out ahead."
    elif main.significant:
        opening = f"The models differ on {main.label}, the primary outcome, without one clear winner."
    else:
        opening = f"No coaching model is clearly better on {main.label}, the primary outcome."
    headline = f"Who should coach? {opening} {main.text}"
    strengths = [c for c in claims if c.status == "supported" and c.camp != "performance"]
    if strengths:
        headline += " Each camp's claim was tested: " + "; ".join(
            f"the data support “{c.claim.split(':')[0].lower()}”" for c in strengths) + "."
    return Verdict(headline, tuple(findings), tuple(claims), tuple(_caveats(comparisons, design)))


def _caveats(comparisons, design: DesignFacts) -> list[str]:
    notes: list[str] = []
    small = sorted({(d.group, d.n) for c in comparisons for d in c.descriptives if d.n < SMALL_GROUP})
    if small:
        groups = ", ".join(f"{model_name(g)} ({n})" for g, n in small[:3])
        notes.append(f"Small groups: {groups} — only large differences can show.")
    for reliability in design.reliability:
        if reliability.low:
            notes.append(f"Low reliability (Cronbach's α below 0.7) of {reliability.scale}: "
                         + ", ".join(reliability.low) + "; its scores are noisy.")
    if design.allocation is not None and design.allocation.mismatch:
        notes.append(f"Unbalanced allocation: the teams per model differ from the plan more than chance allows "
                     f"({format_p(design.allocation.p)}); check the randomisation.")
    fits = [c.mixed_model for c in comparisons if c.mixed_model is not None]
    if fits:
        clusters = max(f.n_clusters for f in fits)
        if clusters / max(len(comparisons[0].levels), 1) < FEW_TEAMS_PER_ARM:
            notes.append(f"Few teams ({clusters}): team-level differences are estimated imprecisely.")
        failed = [c.label for c in comparisons if c.mixed_model is not None and not c.mixed_model.converged]
        if failed:
            notes.append("The mixed model did not converge for " + ", ".join(failed)
                         + "; those outcomes are compared without accounting for teams.")
    missing = [c.label for c in comparisons if c.n_missing > MISSING_SHARE * (c.n + c.n_missing)]
    if missing:
        notes.append("More than 10 % of values are missing for " + ", ".join(missing) + ".")
    notes.extend(design.notes)
    return notes
