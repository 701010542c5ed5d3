"""The one place that turns database rows into tidy DataFrames for ``analysis``.

Per-respondent scale scores are computed by the database (GROUP BY), not by Python loops.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Float, and_, case, cast, func, select

from .extensions import db
from .models import Answer, Question, Response, Team, Wave

# A scale score needs answers to at least half of its items ("prefer not to say" is missing).
MIN_SHARE_OF_ITEMS = 0.5


def response_scores(study_id: int, wave_id: int | None = None) -> pd.DataFrame:
    """One row per response: ``response, wave, coaching_model, team, region`` and one column per dimension.

    A dimension's score is the mean of its answered items after reverse scoring
    (``min + max - value``); it is missing when fewer than half of its items were answered.
    Single-item outcomes (satisfaction, recommend) are dimensions of one item.
    """
    value = cast(Answer.value_num, Float)
    scored = case((Question.reverse_scored, Question.scale_min + Question.scale_max - value), else_=value)
    conditions = [Response.study_id == study_id, Question.dimension.is_not(None), Answer.value_num.is_not(None)]
    if wave_id is not None:
        conditions.append(Response.wave_id == wave_id)
    query = (
        select(Response.id.label("response"), Wave.label.label("wave"), Response.coaching_model,
               Response.team_id.label("team"), Team.region, Question.dimension,
               func.avg(scored).label("score"), func.count().label("answered"))
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .join(Wave, Wave.id == Response.wave_id)
        .join(Team, Team.id == Response.team_id)
        .where(and_(*conditions))
        .group_by(Response.id, Wave.label, Response.coaching_model, Response.team_id, Team.region,
                  Question.dimension)
    )
    long = pd.DataFrame(db.session.execute(query).all(),
                        columns=["response", "wave", "coaching_model", "team", "region", "dimension", "score",
                                 "answered"])
    items = dict(db.session.execute(
        select(Question.dimension, func.count()).where(Question.study_id == study_id,
                                                       Question.dimension.is_not(None),
                                                       Question.scale_min.is_not(None))
        .group_by(Question.dimension)).all())
    keys = ["response", "wave", "coaching_model", "team", "region"]
    if long.empty:
        return pd.DataFrame(columns=keys + sorted(items))
    long["coaching_model"] = long["coaching_model"].map(lambda m: getattr(m, "value", m))
    enough = long["answered"] >= long["dimension"].map(items) * MIN_SHARE_OF_ITEMS
    long.loc[~enough, "score"] = float("nan")
    scores = long.pivot(index="response", columns="dimension", values="score").reindex(columns=sorted(items))
    scores.columns.name = None
    meta = long[keys].drop_duplicates("response")
    return meta.merge(scores, left_on="response", right_index=True).reset_index(drop=True)
