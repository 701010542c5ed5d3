"""The one place that turns database rows into tidy DataFrames for ``analysis``.

Per-respondent scale scores are computed by the database (GROUP BY), not by Python loops.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Float, and_, case, cast, func, select

from .extensions import db
from .models import Answer, Question, Rep, Response, Team, Wave

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


def assigned_reps(study_id: int) -> pd.DataFrame:
    """Active reps of a study with their team, region and coaching model (team- or rep-level assignment)."""
    from .models import Assignment, RandomisationUnit, Study

    study = db.session.get(Study, study_id)
    join_on = (Assignment.team_id == Rep.team_id) if study.randomisation_unit is RandomisationUnit.TEAM \
        else (Assignment.rep_id == Rep.id)
    rows = db.session.execute(
        select(Rep.id, Rep.team_id, Team.name, Team.region, Assignment.coaching_model)
        .join(Team, Team.id == Rep.team_id).join(Assignment, join_on)
        .where(Assignment.study_id == study_id, Rep.active.is_(True))).all()
    frame = pd.DataFrame(rows, columns=["rep", "team", "team_name", "region", "coaching_model"])
    frame["coaching_model"] = frame["coaching_model"].map(lambda m: getattr(m, "value", m))
    return frame


def rep_sessions(study_id: int) -> pd.DataFrame:
    """Per assigned rep: coaching sessions and minutes received, counting team sessions for every team member.

    Adds ``months``: the number of calendar months from the first to the last logged session of
    the organisation (the same for every rep), so rates per month compare fairly.
    """
    from .models import CoachingSession, Study

    reps = assigned_reps(study_id)
    study = db.session.get(Study, study_id)
    rows = db.session.execute(select(CoachingSession.rep_id, CoachingSession.team_id, CoachingSession.session_date,
                                     CoachingSession.minutes)
                              .where(CoachingSession.organisation_id == study.organisation_id)).all()
    sessions = pd.DataFrame(rows, columns=["rep", "team", "date", "minutes"])
    result = reps.assign(sessions=0, minutes=0, months=0)
    if sessions.empty or reps.empty:
        return result
    dates = pd.to_datetime(sessions["date"])
    months = (dates.max().year - dates.min().year) * 12 + dates.max().month - dates.min().month + 1
    direct = sessions.dropna(subset=["rep"]).astype({"rep": int})[["rep", "minutes"]]
    team_level = sessions[sessions["rep"].isna()].dropna(subset=["team"]).astype({"team": int})
    expanded = team_level[["team", "minutes"]].merge(reps[["rep", "team"]], on="team")[["rep", "minutes"]]
    received = pd.concat([direct, expanded]).groupby("rep")["minutes"].agg(["size", "sum"])
    result["sessions"] = result["rep"].map(received["size"]).fillna(0).astype(int)
    result["minutes"] = result["rep"].map(received["sum"]).fillna(0).astype(int)
    result["months"] = months
    return result


def item_answers(study_id: int, wave_id: int) -> pd.DataFrame:
    """One row per response of a wave: ``response`` and one column per scale item (NaN = not answered)."""
    rows = db.session.execute(
        select(Answer.response_id, Question.key, Answer.value_num)
        .join(Question, Question.id == Answer.question_id).join(Response, Response.id == Answer.response_id)
        .where(Response.study_id == study_id, Response.wave_id == wave_id, Question.scale_min.is_not(None),
               Answer.value_num.is_not(None))).all()
    long = pd.DataFrame(rows, columns=["response", "item", "value"])
    if long.empty:
        return pd.DataFrame(columns=["response"])
    wide = long.pivot(index="response", columns="item", values="value")
    wide.columns.name = None
    return wide.reset_index()


def comments(study_id: int, wave_id: int) -> pd.DataFrame:
    """Free-text answers of a wave with the respondent's model and team (never a date)."""
    from .models import QuestionKind

    rows = db.session.execute(
        select(Response.coaching_model, Response.team_id, Answer.value_text)
        .join(Answer, Answer.response_id == Response.id).join(Question, Question.id == Answer.question_id)
        .where(Response.study_id == study_id, Response.wave_id == wave_id, Question.kind == QuestionKind.TEXT,
               Answer.value_text.is_not(None), Answer.value_text != "")).all()
    frame = pd.DataFrame(rows, columns=["coaching_model", "team", "text"])
    frame["coaching_model"] = frame["coaching_model"].map(lambda m: getattr(m, "value", m))
    return frame


def team_sizes(organisation_id: int) -> dict[int, int]:
    """Active reps per team."""
    return dict(db.session.execute(select(Rep.team_id, func.count()).where(
        Rep.organisation_id == organisation_id, Rep.active.is_(True)).group_by(Rep.team_id)).all())


PERFORMANCE_METRICS = ("quota_attainment", "win_rate", "revenue")


def rep_performance(study_id: int, before: str, after: str) -> pd.DataFrame:
    """Per assigned rep: ``<metric>_before`` and ``<metric>_after`` for the two periods (NaN when missing)."""
    from .models import PerformanceRecord, Study

    reps = assigned_reps(study_id)
    rows = db.session.execute(
        select(PerformanceRecord.rep_id, PerformanceRecord.period, PerformanceRecord.quota_attainment,
               PerformanceRecord.win_rate, PerformanceRecord.revenue)
        .join(Rep, Rep.id == PerformanceRecord.rep_id)
        .where(Rep.organisation_id == select(Study.organisation_id).where(Study.id == study_id).scalar_subquery(),
               PerformanceRecord.period.in_([before, after]))).all() if not reps.empty else []
    records = pd.DataFrame(rows, columns=["rep", "period", *PERFORMANCE_METRICS])
    result = reps.copy()
    for label, period in (("before", before), ("after", after)):
        part = records[records["period"] == period].set_index("rep")
        for metric in PERFORMANCE_METRICS:
            result[f"{metric}_{label}"] = result["rep"].map(part[metric]) if not part.empty else float("nan")
    return result
