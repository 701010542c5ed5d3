"""Answers by the language on the reps' roster rows, for the whole study: did reps of every language answer?

No response records a language (``surveys.languages``), so this counts *links used* by the roster
language of the rep they were issued to — what the platform knows anyway, since it knows who was
invited and who answered — never the language a rep chose on the survey, and never below the
study level: no model, team, region or band. Only once the wave has closed, and only where both the
reps who answered and those who did not number at least k — else the count would say that a few
reps of a language, or all of them, did or did not answer. Other languages are pooled under "other
languages", whose count is held to the same rule, with the larger languages added to it until it
meets it, so that nothing of the kind follows by subtraction from the wave's totals either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..languages import DEFAULT, LANGUAGES
from ..models import Invitation, Rep, Study, Wave

NOT_SET = "not set"


@dataclass(frozen=True)
class LanguageLine:
    """Reps of one roster language (or a pool of them): invited to the wave, and answers (None: hidden)."""

    language: str
    invited: int
    n: int | None


@dataclass(frozen=True)
class LanguageCounts:
    wave: str
    lines: tuple[LanguageLine, ...]

    def to_dict(self) -> dict:
        return {"wave": self.wave, "by_roster_language": [asdict(line) for line in self.lines]}


def _label(code: str | None) -> str:
    if code is None:
        return f"{NOT_SET} ({LANGUAGES[DEFAULT]} or the browser's)"
    return f"{LANGUAGES[code]} ({code})"


def language_counts(study: Study, wave: Wave, today: date) -> LanguageCounts | None:
    """The wave's answers by roster language; None while it is open or when no invited rep has a language."""
    if not wave.is_closed(today):
        return None
    rows = db.session.execute(
        select(Rep.language, func.count(func.distinct(Invitation.rep_id)),
               func.count(func.distinct(Invitation.rep_id)).filter(Invitation.used.is_(True)))
        .join(Rep, Rep.id == Invitation.rep_id).where(Invitation.wave_id == wave.id).group_by(Rep.language)).all()
    counts: dict[str | None, tuple[int, int]] = {}
    for language, invited, used in rows:
        code = language if language in LANGUAGES else None
        before = counts.get(code, (0, 0))
        counts[code] = (before[0] + invited, before[1] + used)
    if not any(code is not None for code in counts):
        return None
    k = study.k_threshold

    def safe(invited: int, answered: int) -> bool:  # who answered and who did not: k or more of each
        return answered >= k and invited - answered >= k

    shown = {code for code, (invited, used) in counts.items() if safe(invited, used)}
    while True:  # what the shown lines leave of the wave's totals must be safe too, or hold nobody
        rest = [code for code in counts if code not in shown]
        pooled = (sum(counts[c][0] for c in rest), sum(counts[c][1] for c in rest))
        if not rest or safe(*pooled) or not shown:
            break
        shown.discard(min(shown, key=lambda code: (counts[code][1], code or "")))
    order = [None, *LANGUAGES]
    lines = [LanguageLine(_label(code), counts[code][0], counts[code][1]) for code in order if code in shown]
    if rest:
        lines.append(LanguageLine("other languages: " + ", ".join(_label(c) for c in order if c in rest),
                                  pooled[0], pooled[1] if safe(*pooled) else None))
    return LanguageCounts(wave.label, tuple(lines))
