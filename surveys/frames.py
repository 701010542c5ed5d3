"""The one place that turns database rows into tidy DataFrames: for ``analysis`` and for the exports.

The response export leaves without submit dates and in random order (ids are random), so a file does
not betray when — or in which order — anybody answered; teams with fewer than k responses in a wave
are pooled under one label.

Per-respondent scale scores are computed by the database (GROUP BY), not by Python loops.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
from sqlalchemy import and_, case, func, select

from .extensions import db
from .models import (
    Answer,
    CoachingSession,
    PerformanceRecord,
    Question,
    QuestionKind,
    Rep,
    Response,
    ResponseScore,
    Study,
    StudyMember,
    Team,
    Wave,
)
from .outcomes import CRM_FIELDS, PERFORMANCE
from .studies import freeze_members, study_members, team_sizes
from .teams import band_of

# A scale score needs answers to at least half of its items ("prefer not to say" is missing).
MIN_SHARE_OF_ITEMS = 0.5


def fetch_frame(statement, columns: list[str]) -> pd.DataFrame:
    """Run a query and build a DataFrame from the driver's raw tuples.

    Row objects cost about five times the query itself at 400,000 rows; the raw tuples hold the
    stored values, which is all the frames need. Enum columns come as their stored text
    (``"peer"``, never ``CoachingModel.PEER``): every frame here is built through this function
    so that no caller has to turn enum members into text.
    """
    result = db.session.connection().execute(statement)  # Core result: the DB-API cursor is reachable
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    return pd.DataFrame.from_records(rows, columns=columns)


COMPLETE = "{}__complete"  # the column flagging responses that answered every item of a scale


def response_scores(study_id: int, wave_id: int | None = None, complete: bool = False) -> pd.DataFrame:
    """One row per response: ``response, wave, coaching_model, team, region, band`` and one column per dimension.

    ``region`` and ``band`` are the team's when the response was submitted (frozen on the
    response), never today's roster. A dimension's score is the mean of its answered items after
    reverse scoring (``min + max - value``), written by the database when the response was stored
    (``surveys.respond.scoring``); it is missing when fewer than half of its items were answered.
    Single-item outcomes (satisfaction, recommend) are dimensions of one item. With ``complete``,
    each scale of several items also gets ``<scale>__complete``: 1 where every item was answered
    (the responses Cronbach's α rests on).
    """
    conditions = [Response.study_id == study_id]
    if wave_id is not None:
        conditions.append(Response.wave_id == wave_id)
    meta = fetch_frame(
        select(Response.id, Wave.label, Response.coaching_model, Response.team_id, Response.region, Response.band)
        .join(Wave, Wave.id == Response.wave_id)
        .where(*conditions), ["response", "wave", "coaching_model", "team", "region", "band"])
    items = dict(db.session.execute(
        select(Question.dimension, func.count()).where(Question.study_id == study_id,
                                                       Question.dimension.is_not(None),
                                                       Question.scale_min.is_not(None))
        .group_by(Question.dimension)).all())
    keys = ["response", "wave", "coaching_model", "team", "region", "band"]
    dimensions = sorted(items)
    if meta.empty:
        return pd.DataFrame(columns=keys + dimensions)
    if not dimensions:
        return meta
    # The database pivots: one row per response, one column per dimension, a score only where at
    # least half of the dimension's items were answered.
    pivot = [func.max(case((and_(ResponseScore.dimension == dimension,
                                 ResponseScore.answered >= math.ceil(items[dimension] * MIN_SHARE_OF_ITEMS)),
                            ResponseScore.score))).label(f"d{position}")
             for position, dimension in enumerate(dimensions)]
    scales = [d for d in dimensions if items[d] >= 2] if complete else []
    if scales:
        # One bit per scale answered completely, summed in one aggregate (a column per scale cost a
        # third more than the whole pivot).
        pivot.append(func.sum(case(*((and_(ResponseScore.dimension == scale, ResponseScore.answered >= items[scale]),
                                      1 << position) for position, scale in enumerate(scales)), else_=0)))
    responses = select(Response.id).where(*conditions)
    scores = fetch_frame(select(ResponseScore.response_id, *pivot)
                         .where(ResponseScore.response_id.in_(responses)).group_by(ResponseScore.response_id),
                         ["response", *dimensions, *(["complete"] if scales else [])])
    scores[dimensions] = scores[dimensions].astype(float)
    if scales:
        bits = scores.pop("complete").fillna(0).astype(int).to_numpy()
        for position, scale in enumerate(scales):
            scores[COMPLETE.format(scale)] = ((bits >> position) & 1).astype(float)
    return meta.merge(scores, on="response", how="left")


def assigned_reps(study_id: int, today: date | None = None) -> pd.DataFrame:
    """The reps a study counts, with team, region, team-size band and coaching model.

    Before any wave has closed: its active reps as the roster has them now. From the first closed
    wave on: the members frozen then (``studies.freeze_members``), for the study's whole life, so
    that no roster change moves a rep into or out of its CRM and session figures (review F-C).
    """
    study = db.session.get(Study, study_id)
    columns = ["rep", "team", "team_name", "region", "coaching_model", "band"]
    if any(w.is_closed(today or date.today()) for w in study.waves):
        freeze_members(study)
        return fetch_frame(select(StudyMember.rep_id, StudyMember.team_id, Team.name, StudyMember.region,
                                  StudyMember.coaching_model, StudyMember.band)
                           .join(Team, Team.id == StudyMember.team_id).where(StudyMember.study_id == study_id)
                           .order_by(StudyMember.rep_id), columns)
    live = fetch_frame(study_members(study), columns[:-1])
    sizes = team_sizes(study.organisation_id)
    return live.assign(band=[band_of(sizes.get(int(team), 0)) for team in live["team"]])


def _session_conditions(study_id: int, after: date | None, until: date | None) -> list:
    """The coaching sessions of a study's organisation dated after ``after`` (exclusive) up to ``until``."""
    study = db.session.get(Study, study_id)
    conditions = [CoachingSession.organisation_id == study.organisation_id]
    if after is not None:
        conditions.append(CoachingSession.session_date > after)
    if until is not None:
        conditions.append(CoachingSession.session_date <= until)
    return conditions


def rep_sessions(study_id: int, reps: pd.DataFrame | None = None, after: date | None = None,
                 until: date | None = None) -> pd.DataFrame:
    """Per assigned rep: coaching sessions and minutes received, counting team sessions for every team member.

    Only sessions dated after ``after`` (exclusive) and up to ``until`` (inclusive) count, when given:
    a wave's period. Adds ``months``: the number of calendar months from the first to the last
    logged session of the organisation in that period (the same for every rep), so rates per month
    compare fairly.
    """
    reps = assigned_reps(study_id) if reps is None else reps
    conditions = _session_conditions(study_id, after, until)
    sessions = fetch_frame(select(CoachingSession.rep_id, CoachingSession.team_id, CoachingSession.session_date,
                                  CoachingSession.minutes).where(*conditions),
                           ["rep", "team", "date", "minutes"])
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


def session_log(study_id: int, reps: pd.DataFrame, after: date | None = None,
                until: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The coaching-session log of a study's teams in a period, for ``analysis.fidelity``.

    Returns ``(sessions, teams)``: one row per session given to a study team or to one of its reps —
    ``team`` (the team's id; a rep's session carries the rep's study team), ``rep`` (NaN for a team
    session), ``coach_model`` (who gave it), ``minutes`` — and one row per study team with its
    ``team_name``, ``coaching_model`` and ``reps``. Teams are named, never reps: ``rep`` only counts.
    """
    conditions = _session_conditions(study_id, after, until)
    log = fetch_frame(select(CoachingSession.rep_id, CoachingSession.team_id, CoachingSession.coach_model,
                             CoachingSession.minutes).where(*conditions), ["rep", "team_id", "coach_model", "minutes"])
    teams = (reps.groupby(["team", "team_name", "coaching_model"], as_index=False)["rep"].count()
             .rename(columns={"rep": "reps"}))
    name_of = set(teams["team"])
    team_of_rep = dict(zip(reps["rep"], reps["team"], strict=True))
    direct = log.dropna(subset=["rep"])
    direct = direct.assign(team=direct["rep"].astype(int).map(team_of_rep))
    shared = log[log["rep"].isna()].assign(team=lambda f: f["team_id"])
    sessions = pd.concat([direct, shared]).dropna(subset=["team"])
    sessions = sessions[sessions["team"].astype(int).isin(name_of)]
    sessions = sessions.assign(team=sessions["team"].astype(int),
                               coach_model=sessions["coach_model"].map(lambda m: getattr(m, "value", m)))
    return (sessions[["team", "rep", "coach_model", "minutes"]].reset_index(drop=True),
            teams[["team", "team_name", "coaching_model", "reps"]])


def item_answers(study_id: int, wave_id: int, responses: list[str] | None = None) -> pd.DataFrame:
    """One row per response of a wave (or of ``responses`` only): ``response`` and one column per scale item."""
    query = (select(Answer.response_id, Question.key, Answer.value_num)
             .join(Question, Question.id == Answer.question_id).join(Response, Response.id == Answer.response_id)
             .where(Response.study_id == study_id, Response.wave_id == wave_id, Question.scale_min.is_not(None),
                    Answer.value_num.is_not(None)))
    columns = ["response", "item", "value"]
    if responses is None:
        long = fetch_frame(query, columns)
    else:
        parts = [fetch_frame(query.where(Answer.response_id.in_(responses[start:start + 900])), columns)
                 for start in range(0, len(responses), 900)]
        long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    if long.empty:
        return pd.DataFrame(columns=["response"])
    wide = long.pivot(index="response", columns="item", values="value")
    wide.columns.name = None
    return wide.reset_index()


def comments(study_id: int, wave_id: int) -> pd.DataFrame:
    """Free-text answers of a wave with the respondent's model, team and response (never a date); the
    response is there to count people, not texts, and must never be shown."""
    return fetch_frame(
        select(Response.coaching_model, Response.team_id, Answer.value_text, Response.id)
        .join(Answer, Answer.response_id == Response.id).join(Question, Question.id == Answer.question_id)
        .where(Response.study_id == study_id, Response.wave_id == wave_id, Question.kind == QuestionKind.TEXT,
               Answer.value_text.is_not(None), Answer.value_text != ""),
        ["coaching_model", "team", "text", "response"])


def rep_performance(study_id: int, before: str, after: str, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per assigned rep: ``<metric>_before`` and ``<metric>_after`` for the two periods (NaN when missing)."""
    reps = assigned_reps(study_id) if reps is None else reps
    records = fetch_frame(
        select(PerformanceRecord.rep_id, PerformanceRecord.period,
               *(getattr(PerformanceRecord, metric) for metric in PERFORMANCE))
        .join(Rep, Rep.id == PerformanceRecord.rep_id)
        .where(Rep.organisation_id == select(Study.organisation_id).where(Study.id == study_id).scalar_subquery(),
               PerformanceRecord.period.in_([before, after])), ["rep", "period", *PERFORMANCE])
    result = reps.copy()
    for label, period in (("before", before), ("after", after)):
        part = records[records["period"] == period].set_index("rep")
        for metric in PERFORMANCE:
            result[f"{metric}_{label}"] = result["rep"].map(part[metric]) if not part.empty else float("nan")
    return result


def responses_frame(study: Study, wave_ids: list[int] | None = None) -> pd.DataFrame:
    """One row per response of ``wave_ids`` (default: every wave): ``response_id, wave_id, wave,
    coaching_model, team_id, team``, then one column per question (by key).

    The rows as stored, with every team named: the export (``surveys.pilots.exports``) decides which
    team labels, rows and ids may leave.
    """
    questions = list(study.questions)
    conditions = [Response.study_id == study.id]
    if wave_ids is not None:
        conditions.append(Response.wave_id.in_(wave_ids))
    meta = fetch_frame(
        select(Response.id, Response.wave_id, Wave.label, Response.coaching_model, Response.team_id, Team.name)
        .join(Wave, Wave.id == Response.wave_id).join(Team, Team.id == Response.team_id)
        .where(*conditions).order_by(Response.id),
        ["response_id", "wave_id", "wave", "coaching_model", "team_id", "team"])
    answers = fetch_frame(
        select(Answer.response_id, Answer.question_id, Answer.value_num, Answer.value_text)
        .join(Response, Response.id == Answer.response_id).where(*conditions),
        ["response_id", "question_id", "value_num", "value_text"])
    keys = {q.id: q.key for q in questions}
    if not answers.empty:
        answers["value"] = answers["value_text"].where(answers["value_text"].notna(), answers["value_num"])
        wide = answers.pivot(index="response_id", columns="question_id", values="value").rename(columns=keys)
        meta = meta.merge(wide, left_on="response_id", right_index=True, how="left")
    for key in keys.values():
        if key not in meta:
            meta[key] = None
    return meta[["response_id", "wave_id", "wave", "coaching_model", "team_id", "team", *[q.key for q in questions]]]


def codebook_frame(study: Study) -> pd.DataFrame:
    """What every column of the responses export means."""
    rows = [("response_id", "Random id of the row, drawn afresh for every download (not linked to any person, "
                            "nor to the same response in another download)", "text", "", "", "", "", ""),
            ("wave", "Survey wave (closed waves only)", "text", "", "", "", "", ""),
            ("coaching_model", "Coaching model of the respondent's team (or the respondent)", "text", "", "", "",
             "", ""),
            ("team", f"Team of the respondent, where that cannot single anybody out: a team's rows of a model are "
                     f"pooled when there are fewer than {study.k_threshold} of them in the wave, or when the "
                     "report's figures could tell the pooled rows apart; a model with fewer than "
                     f"{study.k_threshold} responses in a wave is left out", "text", "", "", "", "", "")]
    for q in study.questions:
        low = "" if q.scale_min is None else f"{q.scale_min:g}"
        high = "" if q.scale_max is None else f"{q.scale_max:g}"
        rows.append((q.key, q.text, q.kind.value, q.dimension or "", "yes" if q.reverse_scored else "", low, high,
                     (q.options or "").replace("\n", " | ")))
    frame = pd.DataFrame(rows, columns=["column", "question", "type", "dimension", "reverse_scored", "min", "max",
                                        "options"])
    frame.attrs["note"] = ("Empty answers to agreement items mean 'prefer not to say' or not answered. Reverse-"
                           "scored items are stored as answered; score them as min + max - value. The study's own "
                           "choice and number answers are withheld for a team's rows of a wave wherever their "
                           f"combination is shared by fewer than {study.k_threshold} of those rows.")
    return frame


def performance_frame(study: Study) -> pd.DataFrame:
    """CRM performance per rep and period, with the rep's team and coaching model in this study."""
    reps = assigned_reps(study.id)
    frame = fetch_frame(
        select(Rep.id, Rep.name, Rep.email, Rep.crm_id, PerformanceRecord.period,
               *(getattr(PerformanceRecord, field) for field in CRM_FIELDS))
        .join(PerformanceRecord, PerformanceRecord.rep_id == Rep.id)
        .where(Rep.organisation_id == study.organisation_id)
        .order_by(Rep.name, PerformanceRecord.period_start), ["rep", "name", "email", "crm_id", "period", *CRM_FIELDS])
    frame = frame.merge(reps[["rep", "team_name", "region", "coaching_model"]], on="rep", how="left")
    return frame.rename(columns={"team_name": "team"})[
        ["name", "email", "crm_id", "team", "region", "coaching_model", "period", *CRM_FIELDS]]
