"""A study's own questions in the reps' languages: a spreadsheet out, filled by translators, and back in.

The sheet has one row per text a rep reads — a question, and each option of a single choice — and one
column per language. The English column is the question as it stands: a sheet whose English no longer
matches (the question was edited since it was downloaded) is refused, so no translation lands on
another question. The upload is all or nothing, and possible until the instrument locks (launch, or
the first wave opening), as the questions themselves. The built-in instrument's wording is CoachLab's
(``surveys/instruments``) and is not in the sheet.

A question without a translation in a language is shown in English there, with a note saying so;
``missing_translations`` lists them on the questions page and on the launch confirmation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import delete, select, update

from .. import audit
from ..database import transactional
from ..extensions import db
from ..languages import DEFAULT, LANGUAGES
from ..models import Question, QuestionKind, QuestionTranslation, Study
from ..refusals import Refused, has_control_characters, has_invisible_characters, look_alike
from ..studies import instrument_lock
from ..tabular import FORMULA_PREFIXES, TableError, read_table, to_xlsx
from .questions import MAX_OPTION_LENGTH, MAX_TEXT

TRANSLATED = [code for code in LANGUAGES if code != DEFAULT]
SHEET = "translations"
OPTION = re.compile(r"^option (\d{1,2})$")


class TranslationError(Refused):
    """A translation sheet that cannot be taken; ``problems`` lists every cell that is wrong."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Missing:
    """A study's own question that has no translation in ``language``."""

    language: str
    key: str
    text: str


def own_questions(study: Study) -> list[Question]:
    return [q for q in sorted(study.questions, key=lambda q: q.position) if q.instrument is None]


def _options(question: Question) -> list[str]:
    return [o for o in (question.options or "").splitlines() if o.strip()]


def _existing(study: Study) -> dict[tuple[int, str], QuestionTranslation]:
    ids = [q.id for q in own_questions(study)]
    if not ids:
        return {}
    rows = db.session.scalars(select(QuestionTranslation).where(QuestionTranslation.question_id.in_(ids)))
    return {(row.question_id, row.language): row for row in rows}


def translation_sheet(study: Study) -> bytes:
    """The XLSX to fill: one row per question text and option, English and each language's current wording."""
    existing = _existing(study)
    rows = []
    for question in own_questions(study):
        options = _options(question)
        texts = [("question", question.text)] + [(f"option {i}", o) for i, o in enumerate(options, start=1)]
        for position, (what, english) in enumerate(texts):
            row = {"key": question.key, "what": what, DEFAULT: english}
            for language in TRANSLATED:
                found = existing.get((question.id, language))
                if found is None:
                    row[language] = ""
                elif position == 0:
                    row[language] = found.text
                else:
                    labels = (found.options or "").splitlines()
                    row[language] = labels[position - 1] if position - 1 < len(labels) else ""
            rows.append(row)
    sheet = pd.DataFrame(rows, columns=["key", "what", DEFAULT, *TRANSLATED], dtype=object)
    about = pd.DataFrame({"about": [
        f"Translations of the questions of “{study.name}” that the study added to the built-in instrument "
        "(CoachLab translates the built-in ones).",
        "Fill the columns " + ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items() if code != DEFAULT)
        + "; leave a language empty where you have no translation: reps then read that question in English, with a "
          "note saying so.",
        "Do not change the columns key, what and en: they tell which text each row translates. A sheet whose English "
        "differs from the questions as they stand (edited since you downloaded it) is refused: download it again.",
        "A single-choice question needs its text and every option in a language, or none of them. Answers are stored "
        "as the English option, so the report does not depend on the language a rep read.",
    ]})
    return to_xlsx({SHEET: sheet, "about": about})


def _cell(value) -> str:
    text = str(value or "").strip()
    # A cell the download marked as text (an apostrophe before what looks like a formula) reads back without it.
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        text = text[1:]
    return text


@transactional
def import_translations(study: Study, data: bytes, filename: str, today: date) -> dict[str, int]:
    """Replace the translations of the study's own questions with the sheet's; return questions translated
    per language. Every problem of the sheet is listed at once (``TranslationError.problems``); nothing is
    written unless the whole sheet is right."""
    lock = instrument_lock(study, today)
    if lock:
        raise TranslationError(lock)
    try:
        frame = read_table(data, filename)
    except TableError as error:
        raise TranslationError(str(error)) from None
    columns = [str(c).strip().lower() for c in frame.columns]
    frame.columns = columns
    missing_columns = [c for c in ("key", "what", DEFAULT) if c not in columns]
    if missing_columns:
        raise TranslationError("the sheet needs the columns key, what and en, as downloaded; missing: "
                               + ", ".join(missing_columns))
    unknown = [c for c in columns if c not in ("key", "what", *LANGUAGES)]
    if unknown:
        raise TranslationError(f"column(s) {', '.join(repr(c[:40]) for c in unknown)} are not languages reps can "
                               f"answer in ({', '.join(TRANSLATED)})")
    if len(set(columns)) != len(columns):
        raise TranslationError("a column appears twice")
    languages = [c for c in columns if c in TRANSLATED]
    questions = {q.key: q for q in own_questions(study)}
    problems: list[str] = []
    cells: dict[tuple[str, str], dict[str, str]] = {}  # (key, what) -> language -> text
    for number, row in enumerate(frame.to_dict("records"), start=2):
        key, what, english = _cell(row["key"]), _cell(row["what"]).lower(), _cell(row[DEFAULT])
        if not key and not what and not english and not any(_cell(row[lang]) for lang in languages):
            continue
        question = questions.get(key)
        if question is None:
            problems.append(f"row {number}: {key[:40]!r} is not one of this study's own questions")
            continue
        options = _options(question)
        match = OPTION.match(what)
        if what == "question":
            current = question.text
        elif match and 1 <= int(match.group(1)) <= len(options):
            current = options[int(match.group(1)) - 1]
        else:
            problems.append(f"row {number}: {what[:40]!r} is not a text of {key} (question"
                            + (f", option 1 to option {len(options)}" if options else "") + ")")
            continue
        if english != current:
            problems.append(f"row {number}: the English of {key} ({what}) is not the question as it stands now; "
                            "it was edited since this sheet was downloaded: download it again")
            continue
        if (key, what) in cells:
            problems.append(f"row {number}: {key} ({what}) appears twice")
            continue
        limit = MAX_TEXT if what == "question" else MAX_OPTION_LENGTH
        texts = {}
        for language in languages:
            text = _cell(row[language])
            if len(text) > limit:
                problems.append(f"row {number}, {language}: at most {limit} characters")
            elif has_control_characters(text):
                problems.append(f"row {number}, {language}: a translation is one line, without control characters")
            elif has_invisible_characters(text):
                problems.append(f"row {number}, {language}: a translation must not hold invisible formatting "
                                "characters (zero-width spaces, direction overrides)")
            elif text:
                texts[language] = text
        cells[(key, what)] = texts
    translations: dict[tuple[str, str], tuple[str, str | None]] = {}
    for key, question in questions.items():
        options = _options(question)
        whats = ["question"] + [f"option {i}" for i in range(1, len(options) + 1)]
        for language in languages:
            given = [cells.get((key, what), {}).get(language, "") for what in whats]
            if not any(given):
                continue
            if not all(given):
                lacking = ", ".join(what for what, text in zip(whats, given, strict=True) if not text)
                problems.append(f"{key}, {language}: a translation needs the question and every option; missing: "
                                f"{lacking}")
                continue
            labels = given[1:]
            if len({look_alike(label) for label in labels}) != len(labels):
                problems.append(f"{key}, {language}: the options must all be different")
                continue
            if question.kind is not QuestionKind.CHOICE:
                labels = []
            translations[(key, language)] = (given[0], "\n".join(labels) or None)
    if problems:
        raise TranslationError(f"the sheet has {len(problems)} problem(s); nothing was saved", problems)
    ids = [q.id for q in questions.values()]
    if ids:
        db.session.execute(delete(QuestionTranslation).where(QuestionTranslation.question_id.in_(ids),
                                                             QuestionTranslation.language.in_(languages)))
    for (key, language), (text, options) in translations.items():
        db.session.add(QuestionTranslation(question_id=questions[key].id, language=language, text=text,
                                           options=options))
    db.session.execute(update(Study).where(Study.id == study.id)
                       .values(questions_version=Study.questions_version + 1))
    counts = {language: sum(1 for (_, lang) in translations if lang == language) for language in languages}
    audit.record("study.translations_imported", study=study,
                 detail=", ".join(f"{lang}: {n} of {len(questions)}" for lang, n in counts.items()) or "no language")
    return counts


def missing_translations(study: Study) -> list[Missing]:
    """The study's own questions that reps would read in English, by language (empty: all translated)."""
    existing = _existing(study)
    return [Missing(language, q.key, q.text) for language in TRANSLATED for q in own_questions(study)
            if (q.id, language) not in existing]
