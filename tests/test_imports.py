"""Roster, performance and coaching-session imports: happy paths, re-imports and every bad input.

Each import is all or nothing: a refused file leaves the database exactly as it was.
"""

import html
import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import CoachingSession, PendingUpload, PerformanceRecord, Rep, Team
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

ROSTER = """team,region,name,email,crm_id
North 1,North,Ada Berg,ada@acme.example.com,CRM-1
North 1,North,Ben Costa,ben@acme.example.com,CRM-2
South 1,South,Cy Dubois,cy@acme.example.com,CRM-3
South 1,South,Di Eriksen,,CRM-4
"""


@pytest.fixture
def org(client):
    organisation = builders.organisation()
    builders.user("c@acme.example.com", orgs=[organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return organisation


def upload(client, org, kind, content, filename="file.csv", **extra):
    data = {"file": (io.BytesIO(content if isinstance(content, bytes) else content.encode()), filename), **extra}
    return client.post(f"/organisations/{org.id}/import/{kind}", data=data, content_type="multipart/form-data")


def problems(response) -> str:
    """The refused import's problems as "row N, column: message" lines."""
    found = re.findall(r"<tr><td>(\d+)</td><td>([\w ]+)</td><td>(.*?)</td></tr>", response.get_data(as_text=True))
    return "\n".join(f"row {row}, {column}: {html.unescape(message)}" for row, column, message in found)


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


xlsx = builders.xlsx


# --- roster -----------------------------------------------------------------------------------------------

def test_roster_import_creates_teams_and_reps(client, org):
    response = upload(client, org, "roster", ROSTER)
    assert response.status_code == 302
    assert count(Team) == 2 and count(Rep) == 4
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "4 rows read, 4 added" in page and "2 new teams" in page


def test_importing_the_same_roster_again_changes_nothing(client, org):
    upload(client, org, "roster", ROSTER)
    response = upload(client, org, "roster", ROSTER)
    assert count(Rep) == 4 and count(Team) == 2
    assert "0 added, 0 updated, 4 unchanged" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_reimport_updates_by_crm_id_and_deactivates_leavers_only_when_asked(client, org):
    upload(client, org, "roster", ROSTER)
    moved = ROSTER.replace("North 1,North,Ben Costa", "South 1,South,Ben Costa-Silva").rsplit("\n", 2)[0] + "\n"
    upload(client, org, "roster", moved)
    ben = db.session.scalar(select(Rep).where(Rep.crm_id == "CRM-2"))
    assert ben.team.name == "South 1" and ben.name == "Ben Costa-Silva"
    assert db.session.scalar(select(Rep.active).where(Rep.crm_id == "CRM-4")) is True
    upload(client, org, "roster", moved, deactivate_missing="y")
    assert db.session.scalar(select(Rep.active).where(Rep.crm_id == "CRM-4")) is False
    assert count(Rep) == 4


def test_roster_from_xlsx(client, org):
    content = xlsx([["team", "region", "name", "email", "crm_id"], ["West 2", "West", "Eve Fischer", None, 1001]])
    assert upload(client, org, "roster", content, "roster.xlsx").status_code == 302
    assert db.session.scalar(select(Rep.crm_id)) == "1001"


def test_other_headers_are_mapped_on_screen(client, org):
    content = "Squad,Zone,Person,Contact,Ident\nEast 1,East,Gil Garcia,gil@acme.example.com,X-9\n"
    response = upload(client, org, "roster", content)
    assert response.status_code == 302 and "/import/roster/" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Which column is which?" in page.get_data(as_text=True)
    assert count(Rep) == 0
    done = client.post(response.headers["Location"], data={
        "map_team": "Squad", "map_region": "Zone", "map_name": "Person", "map_email": "Contact", "map_crm_id": "Ident"})
    assert done.status_code == 302
    assert db.session.scalar(select(Rep.name)) == "Gil Garcia" and count(PendingUpload) == 0


def test_a_mapping_that_leaves_out_a_required_column_is_refused(client, org):
    response = upload(client, org, "roster", "Squad,Person\nEast 1,Gil\n")
    refused = client.post(response.headers["Location"], data={"map_team": "Squad", "map_name": ""})
    assert refused.status_code == 400
    assert "Choose the column that holds Rep name: it is required." in refused.get_data(as_text=True)
    assert count(Rep) == 0


@pytest.mark.parametrize("content, words", [
    (ROSTER + "North 1,North,Ada Twin,ada2@acme.example.com,CRM-1\n", "duplicate of row 2"),
    (ROSTER + ",North,No Team,nt@acme.example.com,CRM-9\n", "row 6, team: missing"),
    (ROSTER + "North 1,North,Bad Mail,not-an-email,CRM-9\n", "is not an e-mail address"),
    (ROSTER + "North 1,North,Nobody,,\n", "needs a CRM id or an e-mail"),
])
def test_a_bad_row_rejects_the_whole_roster_and_lists_the_problem(client, org, content, words):
    response = upload(client, org, "roster", content)
    assert response.status_code == 400
    assert words in problems(response)
    assert count(Rep) == 0 and count(Team) == 0


def test_every_problem_is_listed_by_row_and_column(client, org):
    content = "team,region,name,email,crm_id\n,North,,bad,\nNorth 1,North,Ok,ok@acme.example.com,CRM-1\n"
    listed = problems(upload(client, org, "roster", content))
    for column in ("team", "name", "email"):
        assert f"row 2, {column}:" in listed


@pytest.mark.parametrize("content, filename, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "neither a CSV"),
    ("team,name\nNörth,Åsa\n".encode("latin-1"), "roster.csv", "not UTF-8"),
    (b"", "empty.csv", "empty"),
    (b"team,region,name,email,crm_id\n", "header.csv", "no rows"),
    (b"PK\x03\x04garbage", "broken.xlsx", "damaged"),
    (b"team,name\n1,2\n", "roster.exe", "Only CSV or XLSX files"),
])
def test_files_that_are_not_tables_get_a_clear_message(client, org, content, filename, words):
    response = upload(client, org, "roster", content, filename)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert count(Rep) == 0 and count(PendingUpload) == 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked(client, org):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (120 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    response = upload(client, org, "roster", buffer.getvalue(), "bomb.xlsx")
    assert response.status_code == 400
    assert "refused as unsafe" in response.get_data(as_text=True)


def test_an_upload_over_10_mb_gets_413(client, org):
    # The multipart body is built by hand: Werkzeug's test builder would spool it to a temporary file.
    boundary = "coachlab-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    body += b"a" * (10 * 1024 * 1024 + 10) + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(f"/organisations/{org.id}/import/roster", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "larger than CoachLab accepts" in response.get_data(as_text=True)
    assert count(Rep) == 0


# --- performance ------------------------------------------------------------------------------------------

PERFORMANCE = """crm_id,period,quota_attainment,win_rate,revenue,deals_won
CRM-1,2026-Q2,95.5,0.31,240000,9
CRM-2,2026-Q2,88%,35%,"210,500.00",8
CRM-3,2026-q2,101,0.4,250000,10
"""


@pytest.fixture
def roster(client, org):
    upload(client, org, "roster", ROSTER)
    return org


def test_performance_import_parses_numbers_as_people_write_them(client, roster):
    assert upload(client, roster, "performance", PERFORMANCE).status_code == 302
    records = {r.rep.crm_id: r for r in db.session.scalars(select(PerformanceRecord))}
    assert records["CRM-2"].quota_attainment == 88 and records["CRM-2"].win_rate == pytest.approx(0.35)
    assert records["CRM-2"].revenue == 210500 and records["CRM-3"].period == "2026-Q2"
    assert records["CRM-1"].period_start == date(2026, 4, 1)


def test_performance_reimport_is_idempotent_and_updates_by_rep_and_period(client, roster):
    upload(client, roster, "performance", PERFORMANCE)
    again = upload(client, roster, "performance", PERFORMANCE)
    assert "0 added, 0 updated, 3 unchanged" in client.get(again.headers["Location"]).get_data(as_text=True)
    upload(client, roster, "performance", PERFORMANCE.replace("95.5", "97"))
    assert count(PerformanceRecord) == 3
    assert db.session.scalar(select(PerformanceRecord.quota_attainment).join(Rep).where(Rep.crm_id == "CRM-1")) == 97


def test_performance_by_email_and_by_month(client, roster):
    content = "email,period,quota_attainment\nADA@acme.example.com,2026-09,77\n"
    assert upload(client, roster, "performance", content).status_code == 302
    assert db.session.scalar(select(PerformanceRecord.period)) == "2026-09"


@pytest.mark.parametrize("row, words", [
    ("CRM-1,2026-Q2,1200,0.3,1,1", "1200 must be at most 1,000"),
    ("CRM-1,2026-Q2,90,1.5,1,1", "1.5 must be at most 1 (a share"),
    ("CRM-1,2026-Q2,90,135%,1,1", "135% must be at most 100%"),
    ("CRM-1,2026-Q2,-5,0.3,1,1", "-5 must be 0 or more"),
    ("CRM-1,2026-Q2,90,0.3,-100,1", "-100 must be 0 or more"),
    ("CRM-1,2026-Q2,90,0.3,100,2.5", "not a whole number"),
    ("CRM-1,Q2 2026,90,0.3,100,2", "not a period like 2026-Q3"),
    ("CRM-99,2026-Q2,90,0.3,100,2", "no rep with crm id 'CRM-99'"),
    ("CRM-1,2026-Q2,ninety,0.3,100,2", "is not a number"),
    ("CRM-1,2026-Q1,90,0.3,1,1\nCRM-1,2026-Q1,91,0.3,1,1", "duplicate of row"),
])
def test_bad_performance_rows_reject_the_file(client, roster, row, words):
    content = "crm_id,period,quota_attainment,win_rate,revenue,deals_won\nCRM-2,2026-Q2,90,0.3,1,1\n" + row + "\n"
    response = upload(client, roster, "performance", content)
    assert response.status_code == 400
    assert words in problems(response)
    assert count(PerformanceRecord) == 0


def test_a_performance_file_without_any_metric_is_refused(client, roster):
    response = upload(client, roster, "performance", "crm_id,period,notes\nCRM-1,2026-Q2,hello\n")
    assert response.status_code == 400
    assert "none of the metrics" in response.get_data(as_text=True)


# --- coaching sessions ------------------------------------------------------------------------------------

def test_session_log_import_with_rep_and_team_sessions_and_reimport_skips(client, roster):
    day = (date.today() - timedelta(days=10)).isoformat()
    content = f"crm_id,team,coach_model,date,minutes\nCRM-1,,manager,{day},30\n,South 1,peer,{day},45\n"
    assert upload(client, roster, "sessions", content).status_code == 302
    assert count(CoachingSession) == 2
    upload(client, roster, "sessions", content)
    assert count(CoachingSession) == 2


@pytest.mark.parametrize("row, words", [
    (",Atlantis,peer,{day},30", "no team called 'Atlantis'"),
    ("CRM-1,,astrologer,{day},30", "is not manager, peer or external"),
    ("CRM-1,,peer,{future},30", "is in the future"),
    ("CRM-1,,peer,31/12/2025,30", "not a date like"),
    ("CRM-1,,peer,{day},0", "whole number of minutes"),
    ("CRM-1,,peer,{day},600", "whole number of minutes"),
    (",,peer,{day},30", "needs a rep"),
])
def test_bad_session_rows_reject_the_file(client, roster, row, words):
    day, future = (date.today() - timedelta(days=3)).isoformat(), (date.today() + timedelta(days=3)).isoformat()
    content = f"crm_id,team,coach_model,date,minutes\nCRM-2,,peer,{day},20\n" + row.format(day=day, future=future)
    response = upload(client, roster, "sessions", content + "\n")
    assert response.status_code == 400
    assert words in problems(response)
    assert count(CoachingSession) == 0


def test_one_session_entered_by_hand(client, roster):
    team_id = db.session.scalar(select(Team.id).where(Team.name == "North 1"))
    response = client.post(f"/organisations/{roster.id}/sessions", data={
        "who": f"team:{team_id}", "coach_model": "manager", "session_date": date.today().isoformat(), "minutes": "40"})
    assert response.status_code == 302
    assert db.session.scalar(select(CoachingSession.team_id)) == team_id


# --- commands ---------------------------------------------------------------------------------------------

def test_import_roster_command_with_a_header_map(runner, tmp_path):
    builders.organisation("Globex")
    path = tmp_path / "roster.csv"
    path.write_text("Squad,region,Person,email,crm_id\nA,North,Ann,ann@globex.example.com,G-1\n")
    result = runner.invoke(args=["import-roster", "--org", "Globex", "--map", "Squad=team", "--map", "Person=name",
                                 str(path)])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and count(Rep) == 1


def test_import_command_refuses_a_bad_file_with_every_problem_and_exit_2(runner, tmp_path):
    builders.organisation("Globex")
    path = tmp_path / "roster.csv"
    path.write_text("team,region,name,email,crm_id\n,North,,bad,\nB,South,Bo,,G-2\n")
    result = runner.invoke(args=["import-roster", "--org", "Globex", str(path)])
    assert result.exit_code == 2
    assert "row 2, team: missing" in result.output and "row 2, name: missing" in result.output
    assert "nothing was imported" in result.output and count(Rep) == 0


@pytest.mark.parametrize("args, words", [
    (["--org", "Nobody"], "no organisation called 'Nobody'"),
    (["--org", "Globex", "--map", "oops"], "write it as"),
    (["--org", "Globex", "--map", "Squad=teamz"], "is not one of"),
])
def test_import_command_bad_options(runner, tmp_path, args, words):
    builders.organisation("Globex")
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    result = runner.invoke(args=["import-roster", *args, str(path)])
    assert result.exit_code == 2 and words in result.output


def test_large_imports_show_a_progress_bar_and_a_count(runner, tmp_path):
    builders.organisation("Globex")
    lines = ["team,region,name,email,crm_id"] + [f"T{i % 300},R{i % 4},Rep {i},,C-{i}" for i in range(2500)]
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(args=["import-roster", "--org", "Globex", str(path)])
    assert result.exit_code == 0, result.output
    assert "Importing roster" in result.output and "2,500 rows read, 2,500 added" in result.output
    assert count(Rep) == 2500


def test_a_crm_id_moving_to_another_rep_never_merges_two_reps(client, org):
    upload(client, org, "roster", "team,region,name,email,crm_id\nA,North,Ada,ada@acme.example.com,CRM-1\n")
    content = ("team,region,name,email,crm_id\nA,North,Ada,ada@acme.example.com,CRM-9\n"
               "A,North,Zed,zed@acme.example.com,CRM-1\n")
    assert upload(client, org, "roster", content).status_code == 302
    reps = {r.name: r.crm_id for r in db.session.scalars(select(Rep))}
    assert reps == {"Ada": "CRM-9", "Zed": "CRM-1"}
    again = upload(client, org, "roster", content)
    assert "0 added, 0 updated, 2 unchanged" in client.get(again.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("content, words", [
    ("team ,team,name\nX,Y,Z\n", "two columns called"),
    ("a," * 250 + "team\n" + "1," * 250 + "x\n", "more than 200 columns"),
    ("team,name\nA,Ann\x00\n", "neither a CSV"),
])
def test_odd_headers_and_bytes_are_refused(client, org, content, words):
    response = upload(client, org, "roster", content)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)


def test_a_workbook_claiming_a_huge_grid_is_read_quickly(client, org):
    workbook = Workbook()
    sheet = workbook.active
    for row in ([["team", "region", "name", "email", "crm_id"], ["East", "East", "Ivy", "", "I-1"]]):
        sheet.append(row)
    sheet["XFD1048576"] = "far away"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(client, org, "roster", buffer.getvalue(), "grid.xlsx").status_code == 302
    assert count(Rep) == 1


# --- hostile shapes (F10) ---------------------------------------------------------------------------------

HEADER = "team,region,name,email,crm_id\n"
HOSTILE_SHAPES = {
    # One data row of 3,000,000 fields (6 MB) under a valid header: refused once 100,000 characters are read.
    "wide_row.csv": (HEADER + "a," * 3_000_000 + "a\n", "line 2: a row is longer than 100,000 characters"),
    # 5,000,000 semicolons after a semicolon header.
    "semicolon_wide.csv": (HEADER.replace(",", ";") + ";" * 5_000_000 + "\n", "longer than 100,000 characters"),
    # A short row of far too many fields.
    "many_fields.csv": (HEADER + "North,North,Ann,,C-1\n" + "a," * 5000 + "a\n", "line 3: a row has more than 200"),
    # One line of 8 MB: a single field.
    "long_line.csv": (HEADER + "North," + "x" * 8_000_000 + ",Ann,,C-1\n", "longer than 100,000 characters"),
    # Millions of fields in one record made of short lines (quoted line breaks): no line is long.
    "quoted_lines.csv": (HEADER + '"\n",' * 2_000_000 + "x\n", "longer than 100,000 characters"),
    # Far more rows than are ever accepted: refused without reading them all.
    "many_rows.csv": ("team\n" + "ab\n" * 3_000_000, "more than 200,000 rows"),
}


@pytest.mark.parametrize("filename", sorted(HOSTILE_SHAPES))
def test_a_csv_of_hostile_shape_is_refused_before_the_parser_builds_it(client, org, monkeypatch, filename):
    """F10: pandas took over 30 s and 1.6 GB on one row of millions of fields; the worker was killed."""
    import pandas

    from surveys import tabular

    content, words = HOSTILE_SHAPES[filename]
    data = content.encode()
    assert len(data) < 10 * 1024 * 1024
    built = []
    real_read_csv = pandas.read_csv
    monkeypatch.setattr(tabular.pd, "read_csv", lambda *a, **k: built.append(1) or real_read_csv(*a, **k))
    # The multipart body is built by hand: Werkzeug's test builder would spool it to a temporary file.
    boundary = "coachlab-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(f"/organisations/{org.id}/import/roster", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert words in text and "Traceback" not in text, text[-2000:]
    assert built == []  # refused by the bounded scan: the table was never built
    assert count(Rep) == 0 and count(Team) == 0 and count(PendingUpload) == 0


@pytest.mark.parametrize("filename", sorted(HOSTILE_SHAPES))
def test_refusing_a_hostile_csv_allocates_little_more_than_the_file(filename):
    """The refusal reads at most one bounded record at a time: Python's allocations stay near the file's size
    (tracemalloc sees Python objects and numpy arrays; pandas' C tokenizer, which is never reached, it would not)."""
    import tracemalloc

    from surveys.tabular import TableError, read_table

    data = HOSTILE_SHAPES[filename][0].encode()
    tracemalloc.start()
    try:
        with pytest.raises(TableError):
            read_table(data, filename)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(data) + 5_000_000, peak  # the decoded text and a bounded record, not the table
