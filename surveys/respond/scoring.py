"""Per-response dimension scores, computed by the database when responses are stored."""

from __future__ import annotations

from sqlalchemy import Float, bindparam, case, cast, delete, func, insert, select

from ..extensions import db
from ..models import Answer, Question, Response, ResponseScore


def _scores_query(answers, *conditions):
    """Each response's mean per dimension (reverse-scored items flipped) over ``answers``: the
    answer table, or the rows an INSERT ... RETURNING gives back (see ``scores_insert``)."""
    value = cast(answers.c.value_num, Float)
    scored = case((Question.reverse_scored, Question.scale_min + Question.scale_max - value), else_=value)
    return (select(answers.c.response_id, Question.dimension, func.avg(scored), func.count())
            .join_from(answers, Question, Question.id == answers.c.question_id)
            .where(Question.dimension.is_not(None), Question.scale_min.is_not(None), answers.c.value_num.is_not(None),
                   *conditions)
            .group_by(answers.c.response_id, Question.dimension))


_SCORE_COLUMNS = ["response_id", "dimension", "score", "answered"]
_answers = Answer.__table__


def scores_insert(answers):
    """INSERT of the scores of the responses in ``answers`` (a table or CTE with the answer columns)."""
    return insert(ResponseScore.__table__).from_select(_SCORE_COLUMNS, _scores_query(answers))


# Built once: every submit runs it, and building the statement cost more than running it.
_STORE_SCORES = insert(ResponseScore.__table__).from_select(
    _SCORE_COLUMNS, _scores_query(_answers, _answers.c.response_id == bindparam("response_id")))


def store_scores(response_id: str) -> None:
    """Write the scores of one response (inside the caller's transaction)."""
    db.session.connection().execute(_STORE_SCORES, {"response_id": response_id})


def rebuild_scores(study_id: int) -> None:
    """Recompute the scores of every response of a study (bulk loads, repairs); not committed."""
    responses = select(Response.id).where(Response.study_id == study_id)
    db.session.execute(delete(ResponseScore).where(ResponseScore.response_id.in_(responses)))
    db.session.execute(insert(ResponseScore).from_select(
        _SCORE_COLUMNS, _scores_query(_answers, _answers.c.response_id.in_(responses))))
