"""Consultants' exports: anonymous responses with a codebook, performance by rep; formulas never survive."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from surveys import frames
from surveys.extensions import db
from surveys.models import Answer, PerformanceRecord, Question, Response
from surveys.pilots.exports import POOLED
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
    study.waves[0].closes_on = date.today() - timedelta(days=1)  # response-level exports hold closed waves only
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
    """A team of 2 is pooled; and then so is the team of 6 beside it, since the model's rows minus the
    named team would be the 2 pooled rows (they would be as good as named)."""
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
    assert len(rows) == len(HOSTILE) + 1
    assert {row["team"] for row in rows} == {POOLED}
    assert db.session.scalar(select(Team.name).where(Team.id == small.id)) == "Tiny"


def test_every_frame_holds_coaching_models_as_text_not_enum_members(study):
    frames_ = [frames.responses_frame(study), frames.performance_frame(study), frames.assigned_reps(study.id),
               frames.response_scores(study.id), frames.comments(study.id, study.waves[0].id)]
    for frame in frames_:
        assert not frame.empty
        assert {type(value) for value in frame["coaching_model"].dropna()} == {str}
        assert set(frame["coaching_model"].dropna()) == {"external"}


def test_every_download_has_new_ids_in_a_new_order(client, study):
    """Security review F2: stable ids let two downloads be diffed, and the new row tied to the link that
    flipped in between. Ids are drawn afresh and rows shuffled for every download."""
    downloads = [list(csv.DictReader(io.StringIO(client.get(f"/studies/{study.id}/exports/responses.csv")
                                                 .get_data(as_text=True)))) for _ in range(6)]
    ids = [[row["response_id"] for row in rows] for rows in downloads]
    assert all(len(set(i)) == len(i) == len(HOSTILE) for i in ids)
    assert all(not set(a) & set(b) for n, a in enumerate(ids) for b in ids[n + 1:])  # no id comes back
    orders = {tuple(row["comment"] for row in rows) for rows in downloads}
    assert len(orders) > 1  # 6 shuffles of 6 rows all alike: chance 1 in 720**5
    stored = set(db.session.scalars(select(Response.id)))
    assert not stored & {i for download in ids for i in download}  # never the stored id


def test_open_waves_are_not_exported_and_the_page_says_why(client, study):
    wave = study.waves[0]
    wave.closes_on = date.today() + timedelta(days=3)
    db.session.commit()
    for path in ("responses.csv", "responses.xlsx", "responses.csv?wave=baseline"):
        response = client.get(f"/studies/{study.id}/exports/{path}")
        assert response.status_code == 409, path
        assert response.mimetype == "text/html" and "Location" not in response.headers
        page = response.get_data(as_text=True)
        assert "cannot be exported yet" in page and "closes on" in page
    wave.closes_on = date.today() - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/studies/{study.id}/exports/responses.csv?wave=baseline").status_code == 200
    assert client.get(f"/studies/{study.id}/exports/responses.csv?wave=nope").status_code == 409
