"""Answers by the language on the reps' roster rows, for the whole study: did reps of every language answer?

No response records a language (``surveys.languages``), so this counts *links used* by the roster
language of the rep they were issued to — what the platform knows anyway, since it knows who was
invited and who answered — never the language a rep chose on the survey, and never below the
study level: no model, team, region or band. Only once the wave has closed, and only counts of at
least k: a language with fewer answers is pooled with others under "other languages", and the pool is
hidden too when it holds 1 to k−1 answers (the larger languages join it until it holds none or k),
so that no count of 1 to k−1 follows by subtraction from the wave's total.
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
    counts = {language if language in LANGUAGES else None: (invited, used) for language, invited, used in rows}
    if not any(code is not None for code in counts):
        return None
    k = study.k_threshold
    shown = {code for code, (_, used) in counts.items() if used >= k}
    while True:  # the pool of hidden languages holds 0 or at least k answers, or everything is pooled
        pooled = sum(used for code, (_, used) in counts.items() if code not in shown)
        if pooled == 0 or pooled >= k or not shown:
            break
        shown.discard(min(shown, key=lambda code: (counts[code][1], code or "")))
    order = [None, *LANGUAGES]
    lines = [LanguageLine(_label(code), counts[code][0], counts[code][1]) for code in order
             if code in shown]
    hidden = [code for code in order if code in counts and code not in shown]
    if hidden:
        pooled = sum(counts[code][1] for code in hidden)
        shown_pool = pooled if pooled == 0 or pooled >= k else None
        lines.append(LanguageLine("other languages: " + ", ".join(_label(c) for c in hidden),
                                  sum(counts[code][0] for code in hidden), shown_pool))
    return LanguageCounts(wave.label, tuple(lines))
