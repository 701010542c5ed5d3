"""Exports for consultants: anonymous row-level responses with a codebook, and performance by rep.

Every text cell that a spreadsheet would take for a formula is escaped. Responses leave
without their submit date and in random order (their ids are random), so the file does not
betray when — or in which order — anybody answered; teams with fewer than k responses in a
wave are pooled under one label.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import select

from .extensions import db
from .frames import assigned_reps
from .models import Answer, PerformanceRecord, Rep, Response, Study, Team, Wave
from .tabular import escape_cell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SMALL_TEAMS = "(teams with fewer than {k} responses)"


def responses_frame(study: Study) -> pd.DataFrame:
    """One row per response: wave, coaching model, team, then one column per question (by key)."""
    questions = list(study.questions)
    meta = pd.DataFrame(db.session.execute(
        select(Response.id, Wave.label, Response.coaching_model, Team.name)
        .join(Wave, Wave.id == Response.wave_id).join(Team, Team.id == Response.team_id)
        .where(Response.study_id == study.id).order_by(Response.id)).all(),
        columns=["response_id", "wave", "coaching_model", "team"])
    meta["coaching_model"] = meta["coaching_model"].map(lambda m: getattr(m, "value", m))
    # A team with fewer than k responses in a wave would let its members' answers be read as theirs.
    sizes = meta.groupby(["wave", "team"])["response_id"].transform("size")
    meta["team"] = meta["team"].where(sizes >= study.k_threshold, SMALL_TEAMS.format(k=study.k_threshold))
    answers = pd.DataFrame(db.session.execute(
        select(Answer.response_id, Answer.question_id, Answer.value_num, Answer.value_text)
        .join(Response, Response.id == Answer.response_id).where(Response.study_id == study.id)).all(),
        columns=["response_id", "question_id", "value_num", "value_text"])
    keys = {q.id: q.key for q in questions}
    if not answers.empty:
        answers["value"] = answers["value_text"].where(answers["value_text"].notna(), answers["value_num"])
        wide = answers.pivot(index="response_id", columns="question_id", values="value").rename(columns=keys)
        meta = meta.merge(wide, left_on="response_id", right_index=True, how="left")
    for key in keys.values():
        if key not in meta:
            meta[key] = None
    return meta[["response_id", "wave", "coaching_model", "team", *[q.key for q in questions]]]


def codebook_frame(study: Study) -> pd.DataFrame:
    """What every column of the responses export means."""
    rows = [("response_id", "Random id of the response (not linked to any person)", "text", "", "", "", "", ""),
            ("wave", "Survey wave", "text", "", "", "", "", ""),
            ("coaching_model", "Coaching model of the respondent's team (or the respondent)", "text", "", "", "",
             "", ""),
            ("team", f"Team of the respondent; teams with fewer than {study.k_threshold} responses in a wave are "
                     "pooled", "text", "", "", "", "", "")]
    for q in study.questions:
        low = "" if q.scale_min is None else f"{q.scale_min:g}"
        high = "" if q.scale_max is None else f"{q.scale_max:g}"
        rows.append((q.key, q.text, q.kind.value, q.dimension or "", "yes" if q.reverse_scored else "", low, high,
                     (q.options or "").replace("\n", " | ")))
    frame = pd.DataFrame(rows, columns=["column", "question", "type", "dimension", "reverse_scored", "min", "max",
                                        "options"])
    frame.attrs["note"] = ("Empty answers to agreement items mean 'prefer not to say' or not answered. Reverse-"
                           "scored items are stored as answered; score them as min + max - value.")
    return frame


def performance_frame(study: Study) -> pd.DataFrame:
    """CRM performance per rep and period, with the rep's team and coaching model in this study."""
    reps = assigned_reps(study.id)
    rows = db.session.execute(
        select(Rep.id, Rep.name, Rep.email, Rep.crm_id, PerformanceRecord.period, PerformanceRecord.quota_attainment,
               PerformanceRecord.win_rate, PerformanceRecord.revenue, PerformanceRecord.deals_won)
        .join(PerformanceRecord, PerformanceRecord.rep_id == Rep.id)
        .where(Rep.organisation_id == study.organisation_id)
        .order_by(Rep.name, PerformanceRecord.period_start)).all()
    frame = pd.DataFrame(rows, columns=["rep", "name", "email", "crm_id", "period", "quota_attainment", "win_rate",
                                        "revenue", "deals_won"])
    frame = frame.merge(reps[["rep", "team_name", "region", "coaching_model"]], on="rep", how="left")
    return frame.rename(columns={"team_name": "team"})[
        ["name", "email", "crm_id", "team", "region", "coaching_model", "period", "quota_attainment", "win_rate",
         "revenue", "deals_won"]]


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(escape_cell) for c in text})


def to_csv(frame: pd.DataFrame) -> str:
    """CSV text with formula-like cells escaped."""
    buffer = io.StringIO()
    # CRLF line ends (RFC 4180): the writer then quotes any cell holding a CR or LF.
    _escaped(frame).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue()


def to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per frame; text cells escaped and stored as text, never formulas."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title[:31])
        sheet.append(list(frame.columns))
        for row in _escaped(frame).itertuples(index=False):
            cells = []
            for value in row:
                if value is None or (isinstance(value, float) and pd.isna(value)):
                    cells.append(None)
                elif isinstance(value, str):
                    cells.append(value)
                else:
                    cells.append(value.item() if hasattr(value, "item") else value)
            sheet.append(cells)
        for cell in sheet[1]:
            cell.data_type = "s"
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # openpyxl would otherwise treat a leading "=" as a formula
        if "note" in frame.attrs:
            sheet.append([])
            sheet.append([escape_cell(frame.attrs["note"])])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
