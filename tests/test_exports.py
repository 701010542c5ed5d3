"""Consultants' exports: anonymous responses with a codebook, performance by rep; formulas never survive."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from surveys import frames
from surveys.extensions import db
from surveys.models import Answer, PerformanceRecord, Question, Response
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

HOSTILE = ['=HYPERLINK("http://evil.example.com","click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


@pytest.fixture
def study(client):
    study, team = builders.running_survey(model="external", reps=6)
    comment = db.session.scalar(select(Question).where(Question.study_id == study.id, Question.key == "comment"))
    satisfaction = db.session.scalar(select(Question).where(Question.study_id == study.id,
                                                            Question.key == "satisfaction"))
    for text in HOSTILE:
        response = Response(study_id=study.id, wave_id=study.waves[0].id, team_id=team.id,
                            coaching_model=study.assignments[0].coaching_model, submitted_on=date(2026, 11, 2))
        db.session.add(response)
        db.session.flush()
        db.session.add(Answer(response_id=response.id, question_id=comment.id, value_text=text))
        db.session.add(Answer(response_id=response.id, question_id=satisfaction.id, value_num=4.0))
    rep = team.reps[0]
    rep.name = "=cmd|' /C calc'!A0"
    db.session.add(PerformanceRecord(rep_id=rep.id, period="2026-Q3", period_start=date(2026, 7, 1),
                                     quota_attainment=91.5, win_rate=0.3, revenue=1000.0, deals_won=3))
    db.session.commit()
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


def test_responses_csv_has_one_row_per_response_no_date_and_escaped_text(client, study):
    response = client.get(f"/studies/{study.id}/exports/responses.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == len(HOSTILE)
    assert "submitted_on" not in rows[0] and "date" not in " ".join(rows[0])
    assert {row["coaching_model"] for row in rows} == {"external"}
    comments = {row["comment"] for row in rows}
    assert comments == {"'" + text for text in HOSTILE}
    assert {row["satisfaction"] for row in rows} == {"4.0"}


def test_responses_xlsx_holds_text_not_formulas_and_a_codebook(client, study):
    response = client.get(f"/studies/{study.id}/exports/responses.xlsx")
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["responses", "codebook"]
    sheet = workbook["responses"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("comment") + 1
    values = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert all(cell.data_type == "s" and cell.value.startswith("'") for cell in values)
    codebook = {row[0].value: row[1].value for row in workbook["codebook"].iter_rows(min_row=2) if row[0].value}
    assert codebook["satisfaction"].startswith("Overall, I am satisfied")


def test_codebook_csv_describes_every_column(client, study):
    rows = list(csv.DictReader(io.StringIO(client.get(f"/studies/{study.id}/exports/codebook.csv")
                                           .get_data(as_text=True))))
    keys = [row["column"] for row in rows]
    assert keys[:4] == ["response_id", "wave", "coaching_model", "team"]
    assert len(keys) == 4 + len(study.questions)
    reverse = {row["column"] for row in rows if row["reverse_scored"] == "yes"}
    assert "candour_3" in reverse


def test_performance_by_rep_with_its_coaching_model_and_escaped_names(client, study):
    rows = list(csv.DictReader(io.StringIO(client.get(f"/studies/{study.id}/exports/performance.csv")
                                           .get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0"
    row = rows[0]
    assert (row["coaching_model"], row["period"], row["quota_attainment"]) == ("external", "2026-Q3", "91.5")


def test_leaders_cannot_export_row_level_data(client, study):
    builders.user("lead@acme.example.com", role="leader", orgs=[study.organisation.name])
    client.post("/logout")
    client.post("/login", data={"email": "lead@acme.example.com", "password": builders.PASSWORD})
    assert client.get(f"/studies/{study.id}/exports/responses.csv").status_code == 403


def test_unknown_export_names_are_not_found(client, study):
    assert client.get(f"/studies/{study.id}/exports/passwords.csv").status_code == 404
    assert client.get(f"/studies/{study.id}/exports/responses.pdf").status_code == 404


def test_teams_with_fewer_than_k_responses_are_pooled_in_the_export(client, study):
    rows = list(csv.DictReader(io.StringIO(client.get(f"/studies/{study.id}/exports/responses.csv")
                                           .get_data(as_text=True))))
    assert {row["team"] for row in rows} == {"North 1"}  # 6 responses >= k
    satisfaction = db.session.scalar(select(Question).where(Question.study_id == study.id,
                                                            Question.key == "satisfaction"))
    from surveys.models import Team

    small = builders.team_with_reps(study.organisation, name="Tiny", reps=2)
    response = Response(study_id=study.id, wave_id=study.waves[0].id, team_id=small.id,
                        coaching_model=study.assignments[0].coaching_model, submitted_on=date(2026, 11, 3))
    db.session.add(response)
    db.session.flush()
    db.session.add(Answer(response_id=response.id, question_id=satisfaction.id, value_num=2.0))
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get(f"/studies/{study.id}/exports/responses.csv")
                                           .get_data(as_text=True))))
    assert {row["team"] for row in rows} == {"North 1", "(teams with fewer than 5 responses)"}
    assert db.session.scalar(select(Team.name).where(Team.id == small.id)) == "Tiny"


def test_every_frame_holds_coaching_models_as_text_not_enum_members(study):
    frames_ = [frames.responses_frame(study), frames.performance_frame(study), frames.assigned_reps(study.id),
               frames.response_scores(study.id), frames.comments(study.id, study.waves[0].id)]
    for frame in frames_:
        assert not frame.empty
        assert {type(value) for value in frame["coaching_model"].dropna()} == {str}
        assert set(frame["coaching_model"].dropna()) == {"external"}
