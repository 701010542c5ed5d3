"""The rep's survey, as services: redeem a link, page the questions, keep a draft, submit anonymously.

The submit is one transaction: a conditional update marks the invitation used (exactly one row,
or the link was already used), then the response and its answers are inserted and the draft is
deleted. The response row carries no reference to the invitation or the rep.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, select, update

from .database import insert_or_ignore
from .extensions import db
from .instruments import builtin
from .models import (
    Answer,
    Assignment,
    Invitation,
    Question,
    QuestionKind,
    RandomisationUnit,
    Rep,
    Response,
    Study,
    StudyStatus,
    SurveyDraft,
    Wave,
    new_response_id,
    utcnow,
)
from .scoring import store_scores
from .tokens import hash_token

PREFER_NOT_TO_SAY = "na"
EXTRA_PAGE_TITLE = "A few more questions"


class SurveyUnavailable(Exception):
    """The survey cannot be taken through this link now; carries the page to show."""

    status = 400
    title = "Survey unavailable"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownLink(SurveyUnavailable):
    status, title = 404, "Unknown link"


class AlreadyAnswered(SurveyUnavailable):
    status, title = 410, "Already answered"


class LinkReplaced(SurveyUnavailable):
    status, title = 410, "This link was replaced"


class NotOpenYet(SurveyUnavailable):
    status, title = 403, "Not open yet"


class WaveClosed(SurveyUnavailable):
    status, title = 410, "Survey closed"


class StudyClosed(SurveyUnavailable):
    status, title = 410, "Study closed"


class NotAssigned(SurveyUnavailable):
    status, title = 409, "Not part of the study"


class Incomplete(Exception):
    """Required answers are missing; ``page`` is the first page that lacks one."""

    def __init__(self, page: int, keys: list[str]):
        super().__init__(f"missing answers on page {page + 1}: {', '.join(keys)}")
        self.page = page
        self.keys = keys


@dataclass(frozen=True)
class SurveyPage:
    """A page of the survey: a title and its questions."""

    title: str
    questions: tuple[Question, ...]


def paginate(questions: list[Question]) -> list[SurveyPage]:
    """Group questions into pages by the instrument's page plan; a study's own questions go before the last page."""
    plan = builtin().pages
    placed: dict[int, list[Question]] = {i: [] for i in range(len(plan))}
    extra: list[Question] = []
    where = {name: i for i, (_, names) in enumerate(plan) for name in names}
    for question in sorted(questions, key=lambda q: q.position):
        page = where.get(question.dimension) if question.instrument else None
        if page is None and question.instrument:
            page = where.get(question.key)
        (placed[page] if page is not None else extra).append(question)
    pages = [SurveyPage(title, tuple(placed[i])) for i, (title, _) in enumerate(plan) if placed[i]]
    if extra:
        pages.insert(max(len(pages) - 1, 0), SurveyPage(EXTRA_PAGE_TITLE, tuple(extra)))
    return pages


def check_open(study: Study, wave: Wave, today: date) -> None:
    """Raise unless reps may answer ``wave`` on ``today``."""
    if study.status is StudyStatus.CLOSED:
        raise StudyClosed(f"The study “{study.name}” has ended. Thank you for your interest.")
    if today < wave.opens_on or study.status is StudyStatus.DRAFT:
        raise NotOpenYet(f"This survey opens on {wave.opens_on:%d %B %Y} and closes on {wave.closes_on:%d %B %Y}. "
                         "Please come back then.")
    if today > wave.closes_on:
        raise WaveClosed(f"This survey closed on {wave.closes_on:%d %B %Y}. Thank you all the same.")


def redeem(token: str, today: date) -> Invitation:
    """Find the invitation of ``token`` and check that it can still be used."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise UnknownLink("This survey link is not known. Check that you copied the whole link.")
    return usable_invitation(invitation.id, today)


def usable_invitation(invitation_id: int, today: date) -> Invitation:
    """The invitation, if it can still be answered; raise the reason otherwise."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise UnknownLink("This survey link is not known.")
    if invitation.used:
        raise AlreadyAnswered("This survey has already been answered with this link. Each link can be used once.")
    if invitation.revoked_at is not None:
        raise LinkReplaced("A newer link was sent to you for this survey; please use the most recent one.")
    wave = invitation.wave
    try:
        check_open(wave.study, wave, today)
    except (WaveClosed, StudyClosed):
        discard_draft(invitation.id)  # drafts expire with the wave
        raise
    return invitation


def load_draft(invitation_id: int) -> tuple[int, dict[str, str]]:
    """The saved page number and answers (question key -> raw value) of an invitation."""
    draft = db.session.get(SurveyDraft, invitation_id)
    if draft is None:
        return 0, {}
    return draft.page, json.loads(draft.answers_json)


def save_draft(invitation_id: int, page: int, answers: dict[str, str]) -> None:
    """Merge ``answers`` into the invitation's draft and remember ``page``.

    Safe when the same rep posts twice at once (a double click, two tabs): the row is created
    with ``ON CONFLICT DO NOTHING`` and then read under a lock, so no save is lost or fails.
    """
    db.session.rollback()
    db.session.execute(insert_or_ignore(SurveyDraft)
                       .values(invitation_id=invitation_id, page=page, answers_json="{}", updated_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["invitation_id"]))
    draft = db.session.execute(select(SurveyDraft).where(SurveyDraft.invitation_id == invitation_id)
                               .with_for_update().execution_options(populate_existing=True)).scalar_one()
    merged = json.loads(draft.answers_json)
    merged.update(answers)
    draft.answers_json = json.dumps(merged)
    draft.page = page
    db.session.commit()


def discard_draft(invitation_id: int) -> None:
    """Delete an invitation's draft, if any."""
    db.session.execute(delete(SurveyDraft).where(SurveyDraft.invitation_id == invitation_id))
    db.session.commit()


def purge_expired_drafts(today: date) -> int:
    """Delete drafts of waves that have closed and of links already used or replaced; return how many."""
    expired = (select(Invitation.id).join(Wave, Wave.id == Invitation.wave_id)
               .where((Wave.closes_on < today) | Invitation.used.is_(True) | Invitation.revoked_at.is_not(None)))
    result = db.session.execute(delete(SurveyDraft).where(SurveyDraft.invitation_id.in_(expired)))
    db.session.commit()
    return result.rowcount


def answer_values(question: Question, raw: str | None) -> tuple[float | None, str | None] | None:
    """Convert a raw form value to the stored ``(value_num, value_text)``; None when unanswered.

    "Prefer not to say" is stored as an answer with both values missing. The form has already
    checked the value, so a conversion error here is a bug, not bad input.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if raw == PREFER_NOT_TO_SAY and question.kind in (QuestionKind.AGREE5, QuestionKind.AGREE7):
        return (None, None)
    if question.kind in (QuestionKind.CHOICE, QuestionKind.TEXT):
        return (None, raw.strip())
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"{question.key}: not a finite number")
    return (value, None)


def missing_required(pages: list[SurveyPage], answers: dict[str, str]) -> Incomplete | None:
    """The first page with a required question left unanswered, or None."""
    for number, page in enumerate(pages):
        keys = [q.key for q in page.questions if q.required and answer_values(q, answers.get(q.key)) is None]
        if keys:
            return Incomplete(number, keys)
    return None


def coaching_assignment(study: Study, rep: Rep) -> Assignment | None:
    """The assignment that decides the rep's coaching model in ``study``."""
    if study.randomisation_unit is RandomisationUnit.REP:
        condition = Assignment.rep_id == rep.id
    else:
        condition = Assignment.team_id == rep.team_id
    return db.session.scalar(select(Assignment).where(Assignment.study_id == study.id, condition))


def submit(invitation_id: int, last_page_answers: dict[str, str], today: date) -> str:
    """Store the response in one transaction and return its id.

    Raises ``AlreadyAnswered`` when another submit used the link first, ``Incomplete`` when a
    required answer is missing, and the ``SurveyUnavailable`` reasons of :func:`usable_invitation`.
    Nothing is written unless everything is.
    """
    invitation = usable_invitation(invitation_id, today)
    wave, rep = invitation.wave, invitation.rep
    study = wave.study
    assignment = coaching_assignment(study, rep)
    if assignment is None:
        raise NotAssigned("Your team is not assigned to a coaching model in this study yet. "
                          "Please contact the person running the study.")
    questions = list(study.questions)
    pages = paginate(questions)
    coaching_model, team_id, study_id, wave_id = assignment.coaching_model, rep.team_id, study.id, wave.id
    db.session.rollback()  # start the write transaction afresh, with nothing read inside it

    try:
        marked = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.used.is_(False), Invitation.revoked_at.is_(None))
            .values(used=True))
        if marked.rowcount != 1:
            raise AlreadyAnswered("This survey has already been answered with this link. Each link can be used once.")
        # Read the draft inside the transaction that holds the invitation, so it is the final one.
        _, answers = load_draft(invitation_id)
        answers.update(last_page_answers)
        incomplete = missing_required(pages, answers)
        if incomplete is not None:
            raise incomplete
        response_id = new_response_id()
        rows = []
        for question in questions:
            values = answer_values(question, answers.get(question.key))
            if values is not None:
                rows.append({"response_id": response_id, "question_id": question.id,
                             "value_num": values[0], "value_text": values[1]})
        db.session.execute(insert(Response).values(
            id=response_id, study_id=study_id, wave_id=wave_id, coaching_model=coaching_model,
            team_id=team_id, submitted_on=today))
        if rows:
            db.session.execute(insert(Answer), rows)
        store_scores(response_id)
        db.session.execute(delete(SurveyDraft).where(SurveyDraft.invitation_id == invitation_id))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return response_id
