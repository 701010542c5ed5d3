"""The submit: one transaction that marks the link used, stores the response, its answers and scores,
and deletes the draft. The response row carries no reference to the invitation or the rep.
"""

from __future__ import annotations

import math
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Float, Integer, String, Text, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql

from ..database import transactional
from ..extensions import db
from ..instruments import PREFER_NOT_TO_SAY
from ..models import Answer, Invitation, Question, QuestionKind, Response, Study, SurveyDraft, Wave, random_id
from .scoring import scores_insert, store_scores
from .survey import (
    ALREADY_ANSWERED,
    LINK_REPLACED,
    AlreadyAnswered,
    Incomplete,
    Link,
    LinkReplaced,
    NotAssigned,
    SurveyPage,
    check_open,
    open_draft,
    survey_plan,
)


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


# The submit's statements, built once (building them per request cost more than running them).
_invitation, _response, _answer, _draft = (Invitation.__table__, Response.__table__, Answer.__table__,
                                           SurveyDraft.__table__)
_MARK_USED = (update(_invitation).where(_invitation.c.id == bindparam("invitation_id"), _invitation.c.used.is_(False),
                                        _invitation.c.revoked_at.is_(None)).values(used=True))
_INSERT_RESPONSE = insert(_response)
_INSERT_ANSWERS = insert(_answer)
_TAKE_DRAFT = (delete(_draft).where(_draft.c.invitation_id == bindparam("invitation_id"))
               .returning(_draft.c.answers_json))

# On PostgreSQL each statement is a round trip, and the trips, not the work, dominated a submit.
# Data-modifying CTEs do the same steps in two statements: (1) mark the link used and take its
# draft, (2) insert the response, its answers (from three arrays) and, from the answers' RETURNING
# rows, its scores. SQLite has no data-modifying CTEs and no round trips; it runs the steps one by one.
# The draft is deleted by the statement that locks the link, which sees rows as they were when it
# began: a draft row another tab created while the statement waited for the link's lock is taken
# by a second statement (the rare case of no draft seen), one it updated is followed by PostgreSQL.
_marked = _MARK_USED.returning(_invitation.c.id).cte("marked")
_taken = (delete(_draft).where(_draft.c.invitation_id.in_(select(_marked.c.id)))
          .returning(_draft.c.answers_json).cte("taken"))
_PG_MARK_AND_TAKE = select(exists(select(_marked.c.id)), select(_taken.c.answers_json).scalar_subquery())
_new_response = insert(_response).values(
    {name: bindparam(name) for name in ("id", "study_id", "wave_id", "coaching_model", "team_id", "submitted_on",
                                        "region", "band")}
).cte("new_response")
_answer_rows = func.unnest(bindparam("question_ids", type_=postgresql.ARRAY(Integer)),
                           bindparam("value_nums", type_=postgresql.ARRAY(Float)),
                           bindparam("value_texts", type_=postgresql.ARRAY(Text))
                           ).table_valued("question_id", "value_num", "value_text").render_derived("rows")
_new_answers = (insert(_answer).from_select(
    ["response_id", "question_id", "value_num", "value_text"],
    select(bindparam("id", type_=String), _answer_rows.c.question_id, _answer_rows.c.value_num,
           _answer_rows.c.value_text))
    .returning(_answer.c.response_id, _answer.c.question_id, _answer.c.value_num).cte("new_answers"))
_PG_STORE = scores_insert(_new_answers).add_cte(_new_response, _new_answers)
# The wave and study as they are now, their rows locked for the rest of the submit (FOR SHARE; nothing on
# SQLite, whose one writer already excludes a close): see ``submit``.
_STILL_OPEN = (select(Study.status, Study.name, Wave.opens_on, Wave.closes_on, Wave.planned_closes_on)
               .join(Study, Study.id == Wave.study_id).where(Wave.id == bindparam("wave_id"))
               .with_for_update(read=True))


@transactional
def submit(link: Link, key: bytes, last_page_answers: dict[str, str], today: date) -> str:
    """Store the response in one transaction and return its id.

    ``link`` comes from :func:`open_link`; ``key`` is the submitting browser's draft key. The draft
    is taken (deleted) whoever saved it, but only a draft sealed under ``key`` adds answers: one
    saved by another browser, or forged, counts as no draft. Raises ``AlreadyAnswered`` when another submit used the
    link first, ``Incomplete`` when a required answer is missing, and ``NotAssigned`` when the rep's
    team has no coaching model yet. Nothing is written unless everything is: the submit owns its
    transaction, committed when it returns and rolled back when it raises.

    The reads before the first write need no transaction of their own: on PostgreSQL they see
    committed data, and SQLite's driver begins the transaction at the first write, so the write
    lock is taken by a statement that can wait for it.
    """
    if link.coaching_model is None:
        raise NotAssigned(_("Your team is not assigned to a coaching model in this study yet. "
                            "Please contact the person running the study."))
    plan = survey_plan(link.study_id, link.questions_version)
    questions, pages = plan.questions, list(plan.pages)
    invitation_id = link.invitation_id
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        marked, draft = connection.execute(_PG_MARK_AND_TAKE, {"invitation_id": invitation_id}).one()
    else:
        marked = connection.execute(_MARK_USED, {"invitation_id": invitation_id}).rowcount == 1
    if not marked:
        revoked = connection.execute(select(Invitation.revoked_at).where(Invitation.id == invitation_id)).scalar()
        if revoked is not None:  # replaced by a newer link since the page was opened
            raise LinkReplaced(LINK_REPLACED)
        raise AlreadyAnswered(ALREADY_ANSWERED)
    # The link was read open, but a consultant may have closed the wave or the study since. Its results can be
    # read from that moment, so a response stored after it would change them by one: check again, under the
    # lock, which a later close must wait for (WaveClosed or StudyClosed rolls the whole submit back).
    status, name, opens_on, closes_on, planned_closes_on = connection.execute(
        _STILL_OPEN, {"wave_id": link.wave_id}).one()
    check_open(status, name, opens_on, closes_on, today, closed_early=planned_closes_on is not None)
    if not postgres or draft is None:
        # Take the draft inside the transaction that holds the invitation, so it is the final one.
        draft = connection.execute(_TAKE_DRAFT, {"invitation_id": invitation_id}).scalar()
    answers = dict(open_draft(key, link.wave_id, link.rep_id, draft).answers)
    answers.update(last_page_answers)
    incomplete = missing_required(pages, answers)
    if incomplete is not None:
        raise incomplete
    response_id = random_id()
    values = [(question.id, answer_values(question, answers.get(question.key))) for question in questions]
    values = [(question_id, value) for question_id, value in values if value is not None]
    # The team's region and size band as the link was read: frozen, so no roster edit moves the response.
    response = {"id": response_id, "study_id": link.study_id, "wave_id": link.wave_id,
                "coaching_model": link.coaching_model, "team_id": link.team_id, "submitted_on": today,
                "region": link.region, "band": link.band}
    if postgres:
        connection.execute(_PG_STORE, {**response, "question_ids": [q for q, _ in values],
                                       "value_nums": [v[0] for _, v in values],
                                       "value_texts": [v[1] for _, v in values]})
    else:
        connection.execute(_INSERT_RESPONSE, response)
        if values:
            connection.execute(_INSERT_ANSWERS, [{"response_id": response_id, "question_id": question_id,
                                                  "value_num": value[0], "value_text": value[1]}
                                                 for question_id, value in values])
        store_scores(response_id)
    return response_id
