"""A consultant goes from an empty organisation to a running pilot with invitations, in a real browser."""

import csv
import io
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests import builders

pytestmark = pytest.mark.browser

ROSTER = "team,region,name,email,crm_id\n" + "".join(
    f"Team {t},{'North' if t < 3 else 'South'},Rep {t}-{i},rep{t}{i}@acme.example.com,C-{t}-{i}\n"
    for t in range(6) for i in range(6))


@pytest.fixture
def desktop(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def test_empty_organisation_to_running_pilot_with_invitations(desktop, live_app, live_server, tmp_path):
    with live_app.app_context():
        builders.user("c@acme.example.com")
    page = desktop
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("c@acme.example.com")
    page.get_by_label("Password").fill(builders.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Organisations").click()
    page.get_by_label("Organisation name").fill("Initech Sales")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Initech Sales").wait_for()

    page.get_by_role("link", name="Teams and reps, import a roster").click()
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    page.get_by_label("CSV or XLSX file").set_input_files(str(roster))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("body")).to_contain_text("36 rows read, 36 added")

    page.get_by_role("link", name="Initech Sales").click()
    page.get_by_role("link", name="Design a new study").click()
    page.get_by_label("Study name").fill("Coaching pilot 2027")
    page.get_by_label("Stratify by").select_option("region")
    page.get_by_label("Random seed").fill("2027")
    page.get_by_role("button", name="Create study").click()
    page.get_by_text("Study created").wait_for()

    page.get_by_role("link", name="Assignment").click()
    page.get_by_role("button", name="Randomise").click()
    expect(page.locator("body")).to_contain_text("Randomised 6 teams with seed 2027")
    expect(page.locator("body")).to_contain_text("consistent with the plan")

    page.get_by_role("link", name="Coaching pilot 2027").click()
    page.get_by_label("Label").fill("baseline")
    page.get_by_label("Opens on").fill(date.today().isoformat())
    page.get_by_label("Closes on").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Add wave").click()
    expect(page.locator("body")).to_contain_text("Wave 'baseline' added.")
    page.get_by_role("link", name="Launch the study").click()
    expect(page.locator("body")).to_contain_text("Launching locks the assignment of 6 teams")
    page.get_by_role("button", name="Launch the study").click()
    expect(page.locator("body")).to_contain_text("The study is running.")

    page.get_by_role("link", name="baseline").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Issue links and download the mail-merge CSV").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert len(rows) == 36

    rep = desktop.context.browser.new_context(viewport={"width": 375, "height": 740})
    survey = rep.new_page()
    survey.goto(rows[0]["link"].replace("http://localhost", live_server))
    survey.get_by_role("heading", name="Coaching and development").wait_for()
    rep.close()


def test_a_consultant_enters_costs_and_margins_on_the_design_page_and_a_bad_one_is_refused_at_its_field(
        desktop, live_app, live_server):
    """Issue 16: the costs, margins and prior scale are entered in the browser, shown again, and refused in place."""
    with live_app.app_context():
        org = builders.organisation()
        builders.user("c@acme.example.com", orgs=[org.name])
        teams = [builders.team_with_reps(org, name=f"Team {i}", reps=6) for i in range(3)]
        study = builders.study(org, models=("manager", "peer", "external"), teams=teams)
        from surveys.extensions import db
        from surveys.models import StudyStatus
        study.status = StudyStatus.DRAFT
        db.session.commit()
        study_id = study.id
    page = desktop
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("c@acme.example.com")
    page.get_by_label("Password").fill(builders.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/studies/{study_id}/design")
    page.get_by_label("Manager: cost per coaching hour").fill("120")
    page.get_by_label("Outside coach: fee per rep per month").fill("300")
    page.get_by_label("No-worse margin on quota attainment (percentage points)").fill("-3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#worth")).to_contain_text("The margin must be above 0.")
    # The form keeps what was typed.
    assert page.get_by_label("Manager: cost per coaching hour").input_value() == "120"
    page.get_by_label("No-worse margin on quota attainment (percentage points)").fill("3")
    page.get_by_role("button", name="Save").click()
    page.goto(f"{live_server}/studies/{study_id}/design")
    assert page.get_by_label("Outside coach: fee per rep per month").input_value() == "300"
    assert page.get_by_label("No-worse margin on quota attainment (percentage points)").input_value() == "3"
    with live_app.app_context():
        from surveys.extensions import db
        from surveys.models import Study
        assert db.session.get(Study, study_id).costs == "manager=hour:120,external=rep_month:300"
