"""Per-response dimension scores, computed by the database when responses are stored."""

from __future__ import annotations

from sqlalchemy import Float, bindparam, case, cast, delete, func, insert, select

from .extensions import db
from .models import Answer, Question, Response, ResponseScore


def _scores_query(*conditions):
    value = cast(Answer.value_num, Float)
    scored = case((Question.reverse_scored, Question.scale_min + Question.scale_max - value), else_=value)
    return (select(Answer.response_id, Question.dimension, func.avg(scored), func.count())
            .join(Question, Question.id == Answer.question_id)
            .where(Question.dimension.is_not(None), Question.scale_min.is_not(None), Answer.value_num.is_not(None),
                   *conditions)
            .group_by(Answer.response_id, Question.dimension))


# Built once: every submit runs it, and building the statement cost more than running it.
_STORE_SCORES = insert(ResponseScore.__table__).from_select(
    ["response_id", "dimension", "score", "answered"], _scores_query(Answer.response_id == bindparam("response_id")))


def store_scores(response_id: str) -> None:
    """Write the scores of one response (inside the caller's transaction)."""
    db.session.connection().execute(_STORE_SCORES, {"response_id": response_id})


def rebuild_scores(study_id: int) -> None:
    """Recompute the scores of every response of a study (bulk loads, repairs); not committed."""
    responses = select(Response.id).where(Response.study_id == study_id)
    db.session.execute(delete(ResponseScore).where(ResponseScore.response_id.in_(responses)))
    db.session.execute(insert(ResponseScore).from_select(
        ["response_id", "dimension", "score", "answered"], _scores_query(Answer.response_id.in_(responses))))
