"""The outcome catalogue: every outcome a study can compare, with how it is named, grouped and worded.

One row per outcome key: its label (as a choice or heading), its label in sentences, the report
section it belongs to, how a difference is worded (unit and unit scale), the answer scale of a
single-item outcome, and where its data comes from. The instrument's dimensions are read from the
built-in instrument; a study's own questions get a plain default (section ``custom``).

``analysis/`` keeps its own list of the performance outcomes (``analysis.verdict``): it may not
import ``surveys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .instruments import builtin

SURVEY, CRM, SESSIONS = "survey", "crm", "sessions"

# The report's sections in reading order, with their headings.
SECTIONS = {
    "responsibilities": "The five responsibilities of a front-line manager",
    "claims": "The counter-claims: candour, expertise, time",
    "overall": "Overall satisfaction and recommendation",
    "performance": "Sales performance (CRM), adjusted for the quarter before",
    "custom": "This study's own questions",
}

@dataclass(frozen=True)
class Outcome:
    """One outcome: names, report section, wording of differences, answer scale and data source."""

    key: str
    label: str  # as a choice or a heading: "Coach expertise", "Quota attainment (CRM)"
    sentence: str  # inside a sentence: "coach expertise", "quota attainment (%)"
    section: str  # a key of SECTIONS
    source: str  # SURVEY, CRM or SESSIONS
    unit: str = "points"  # a difference of d reads "d × unit_scale unit" (OutcomeComparison.amount/versus)
    unit_scale: float = 1.0
    scale: tuple[float, ...] | None = None  # the answers of a single-item outcome, for its distribution


OVERALL = (
    Outcome("satisfaction", "Overall satisfaction", "overall satisfaction", "overall", SURVEY,
            scale=(1.0, 2.0, 3.0, 4.0, 5.0)),
    Outcome("recommend", "Would recommend (0–10)", "would recommend (0–10)", "overall", SURVEY,
            scale=tuple(float(i) for i in range(11))),
)
PERFORMANCE_OUTCOMES = (
    Outcome("quota_attainment", "Quota attainment (CRM)", "quota attainment (%)", "performance", CRM,
            "percentage points", 1.0),
    Outcome("win_rate", "Win rate (CRM)", "win rate", "performance", CRM, "percentage points", 100.0),
    # A unit "in X" reads as a quantity: "19,470 more revenue than peer coaching", "a difference of
    # about 59,913 in revenue" (the CRM import has no currency to name).
    Outcome("revenue", "Revenue (CRM)", "revenue", "performance", CRM, "in revenue", 1.0),
)
SESSIONS_PER_MONTH = Outcome("sessions_per_rep_month", "Coaching sessions per rep per month",
                             "coaching sessions per rep per month", "claims", SESSIONS, "sessions a month", 1.0)

PERFORMANCE = tuple(o.key for o in PERFORMANCE_OUTCOMES)  # the CRM metrics the report compares
CRM_FIELDS = (*PERFORMANCE, "deals_won")  # what a performance record holds; deals won are stored, not compared


def _dimension_outcomes() -> tuple[Outcome, ...]:
    # The manager camp's dimensions are the five responsibilities; the other camps' are the counter-claims.
    return tuple(Outcome(d.key, d.label, d.label.lower(), "responsibilities" if d.camp == "manager" else "claims",
                         SURVEY) for d in builtin().dimensions)


@cache
def catalogue() -> dict[str, Outcome]:
    """Every known outcome by key, in the report's order: the scales, the overall items, CRM, sessions."""
    outcomes = (*_dimension_outcomes(), *OVERALL, *PERFORMANCE_OUTCOMES, SESSIONS_PER_MONTH)
    return {o.key: o for o in outcomes}


def outcome(key: str) -> Outcome:
    """The catalogue's outcome ``key``, or a study's own question (section ``custom``, plain wording)."""
    known = catalogue().get(key)
    if known is not None:
        return known
    words = key.replace("_", " ")
    return Outcome(key, words, words, "custom", SURVEY)


def survey_order() -> list[str]:
    """The built-in survey outcomes in the order the report lists them."""
    return [o.key for o in catalogue().values() if o.source == SURVEY]


def outcome_choices() -> list[tuple[str, str]]:
    """(key, label) of everything a study can name as its primary outcome."""
    return [(o.key, o.label) for o in (*OVERALL, *_dimension_outcomes(), *PERFORMANCE_OUTCOMES)]
