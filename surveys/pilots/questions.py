"""A study's own questions, added to the built-in instrument before the study's first wave opens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..instruments import SCALE_RANGES
from ..models import Question, QuestionKind, Study
from ..refusals import Refused
from ..studies import instrument_locked

MAX_TEXT = 500
MAX_OPTIONS = 20
MAX_OPTION_LENGTH = 200
DIMENSION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QuestionError(Refused):
    """A question that cannot be added; the message says why."""


@dataclass(frozen=True)
class NewQuestion:
    """What a consultant asks for."""

    text: str
    kind: QuestionKind
    required: bool = False
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    dimension: str | None = None
    reverse_scored: bool = False


@transactional
def add_question(study: Study, new: NewQuestion, today: date) -> Question:
    """Check ``new`` completely, then append it to the study's questions (committed)."""
    if instrument_locked(study, today):
        raise QuestionError("the questions are fixed because a wave of this study has already opened")
    text = (new.text or "").strip()
    if not text:
        raise QuestionError("the question needs a text")
    if len(text) > MAX_TEXT:
        raise QuestionError(f"the question text must have at most {MAX_TEXT} characters")
    low, high = SCALE_RANGES.get(new.kind.value, (None, None))
    options = None
    if new.kind is QuestionKind.CHOICE:
        choices = [o.strip() for o in new.options if o and o.strip()]
        if len(choices) < 2:
            raise QuestionError("a single-choice question needs at least two options, one per line")
        if len(choices) > MAX_OPTIONS:
            raise QuestionError(f"a single-choice question can have at most {MAX_OPTIONS} options")
        if any(len(o) > MAX_OPTION_LENGTH for o in choices):
            raise QuestionError(f"each option must have at most {MAX_OPTION_LENGTH} characters")
        if len({o.lower() for o in choices}) != len(choices):
            raise QuestionError("the options must all be different")
        options = "\n".join(choices)
    if new.kind is QuestionKind.NUMBER:
        low, high = new.minimum, new.maximum
        if low is not None and high is not None and low >= high:
            raise QuestionError("the smallest allowed number must be below the largest")
    dimension = (new.dimension or "").strip().lower() or None
    if dimension is not None:
        if new.kind in (QuestionKind.TEXT, QuestionKind.CHOICE):
            raise QuestionError("only agreement, 0-10 and number questions can be scored in a dimension")
        if not DIMENSION_PATTERN.match(dimension):
            raise QuestionError("a dimension name uses lowercase letters, digits and underscores, "
                                "starting with a letter (at most 40)")
        builtin_dimensions = {q.dimension for q in study.questions if q.instrument}
        if dimension in builtin_dimensions:
            raise QuestionError(f"{dimension!r} is a dimension of the built-in instrument; choose another name")
    if new.reverse_scored and new.kind not in (QuestionKind.AGREE5, QuestionKind.AGREE7):
        raise QuestionError("only agreement questions can be reverse-scored")
    position = (db.session.scalar(select(func.max(Question.position)).where(Question.study_id == study.id)) or 0) + 1
    number = 1 + db.session.scalar(select(func.count()).select_from(Question).where(
        Question.study_id == study.id, Question.instrument.is_(None)))
    existing = {q.key for q in study.questions}
    while f"custom_{number}" in existing:
        number += 1
    question = Question(study_id=study.id, key=f"custom_{number}", text=text, kind=new.kind, dimension=dimension,
                        reverse_scored=new.reverse_scored, position=position, required=new.required,
                        scale_min=low, scale_max=high, options=options,
                        max_length=2000 if new.kind is QuestionKind.TEXT else None, instrument=None)
    db.session.add(question)
    _bump_version(study)
    audit.record("study.questions_changed", study=study, detail=f"added {question.key}: {text[:80]!r}")
    return question


@transactional
def remove_question(study: Study, question_id: int, today: date) -> None:
    """Remove one of the study's own questions before the first wave opens."""
    question = db.session.get(Question, question_id)
    if question is None or question.study_id != study.id:
        raise LookupError(question_id)
    if question.instrument is not None:
        raise QuestionError("questions of the built-in instrument cannot be removed")
    if instrument_locked(study, today):
        raise QuestionError("the questions are fixed because a wave of this study has already opened")
    db.session.delete(question)
    _bump_version(study)
    audit.record("study.questions_changed", study=study, detail=f"removed {question.key}: {question.text[:80]!r}")


def _bump_version(study: Study) -> None:
    """Tell every process that its cached copy of this survey is stale (in the caller's transaction)."""
    db.session.execute(update(Study).where(Study.id == study.id)
                       .values(questions_version=Study.questions_version + 1))
