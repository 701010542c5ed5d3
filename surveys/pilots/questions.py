"""A study's own questions, added to the built-in instrument, edited or removed until the study is launched
(or one of its waves has opened: ``studies.instrument_lock``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..instruments import SCALE_RANGES
from ..models import Question, QuestionKind, QuestionTranslation, Study
from ..refusals import INVISIBLE, Refused, has_invisible_characters, look_alike
from ..studies import instrument_lock

MAX_TEXT = 500
MAX_OPTIONS = 20
MAX_OPTION_LENGTH = 200
DIMENSION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QuestionError(Refused):
    """A question that cannot be added, changed or removed; the message says why."""


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
    _refuse_when_locked(study, today)
    text = _checked_text(new.text)
    low, high = SCALE_RANGES.get(new.kind.value, (None, None))
    options = _checked_options(new.options) if new.kind is QuestionKind.CHOICE else None
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


def _refuse_when_locked(study: Study, today: date) -> None:
    lock = instrument_lock(study, today)
    if lock:
        raise QuestionError(lock)


def _checked_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise QuestionError("the question needs a text")
    if len(text) > MAX_TEXT:
        raise QuestionError(f"the question text must have at most {MAX_TEXT} characters")
    return text


def _checked_options(options: tuple[str, ...]) -> str:
    """A single-choice question's options, one per line, checked."""
    choices = [o.strip() for o in options if o and o.strip()]
    if len(choices) < 2:
        raise QuestionError("a single-choice question needs at least two options, one per line")
    if len(choices) > MAX_OPTIONS:
        raise QuestionError(f"a single-choice question can have at most {MAX_OPTIONS} options")
    if any(len(o) > MAX_OPTION_LENGTH for o in choices):
        raise QuestionError(f"each option must have at most {MAX_OPTION_LENGTH} characters")
    if any(has_invisible_characters(o) for o in choices):
        raise QuestionError(f"an option {INVISIBLE}")
    if len({look_alike(o) for o in choices}) != len(choices):
        raise QuestionError("the options must all be different")
    return "\n".join(choices)


def _own_question(study: Study, question_id: int, doing: str) -> Question:
    """One of the study's own questions; ``LookupError`` for another study's, ``QuestionError`` for a built-in one."""
    question = db.session.get(Question, question_id)
    if question is None or question.study_id != study.id:
        raise LookupError(question_id)
    if question.instrument is not None:
        raise QuestionError(f"questions of the built-in instrument cannot be {doing}: every study asks them the "
                            "same way, so that studies can be compared")
    return question


@transactional
def edit_question(study: Study, question_id: int, text: str, options: tuple[str, ...], required: bool,
                  today: date) -> None:
    """Change the text, the options (single choice) and whether an answer is required, until launch.

    The answer format and the dimension stay: to change those, remove the question and add another.
    """
    question = _own_question(study, question_id, "edited")
    _refuse_when_locked(study, today)
    before = (question.text, question.options, question.required)
    question.text = _checked_text(text)
    if question.kind is QuestionKind.CHOICE:
        question.options = _checked_options(options)
    question.required = bool(required)
    _bump_version(study)
    if (question.text, question.options, question.required) != before:
        changed = [what for what, old, new in (("text", before[0], question.text), ("options", before[1],
                   question.options), ("required", before[2], question.required)) if old != new]
        dropped = ""
        if (question.text, question.options) != before[:2]:
            # Its translations translate the words it had: kept, they would show another question (or put a
            # translated label on another option). It is listed as untranslated again.
            removed = db.session.execute(delete(QuestionTranslation).where(
                QuestionTranslation.question_id == question.id)).rowcount
            dropped = f"; its {removed} translation(s) removed" if removed else ""
        audit.record("study.questions_changed", study=study,
                     detail=f"edited {question.key} ({', '.join(changed)}){dropped}: {question.text[:80]!r}")


@transactional
def remove_question(study: Study, question_id: int, today: date) -> None:
    """Remove one of the study's own questions before launch."""
    question = _own_question(study, question_id, "removed")
    _refuse_when_locked(study, today)
    db.session.delete(question)
    _bump_version(study)
    audit.record("study.questions_changed", study=study, detail=f"removed {question.key}: {question.text[:80]!r}")


def _bump_version(study: Study) -> None:
    """Tell every process that its cached copy of this survey is stale (in the caller's transaction)."""
    db.session.execute(update(Study).where(Study.id == study.id)
                       .values(questions_version=Study.questions_version + 1))
