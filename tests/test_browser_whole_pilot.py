"""Issue 14's "done when": a consultant runs a whole pilot in a real browser, without the command line.

Create an organisation, invite a leader (the set-password mail read from a real SMTP server), import a roster,
correct a rep, design and launch a study through the confirmation page, extend the wave, issue links, let the
reps answer through their links over real HTTP, close the wave early through its confirmation page; then the
invited leader sets a password from the mail, signs in and reads the report. Every step is a click or a form in
Chromium; the only thing the test reads from the application directly is the survey's question list, to post
answers as a rep's browser would.
"""

import csv
import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from surveys.models import Study
from surveys.respond import survey as responding
from tests import builders
from tests.conftest import mail_text
from tests.http import Browser

pytestmark = pytest.mark.browser

TEAMS = 18
REPS_PER_TEAM = 6
ROSTER = "team,region,name,email,crm_id\n" + "".join(
    f"Team {t},{'North' if t < 9 else 'South'},Rep {t}-{i},rep{t}{i}@initech.example.com,C-{t}-{i}\n"
    for t in range(TEAMS) for i in range(REPS_PER_TEAM))
LEADER = "dana.leader@initech.example.com"
LEADER_PASSWORD = "tangerine orbit lantern 42"


def answer_over_http(base_url: str, link: str, pages: list[list], rng: random.Random, lift: int) -> None:
    """One rep follows their link and answers every page through real form posts, as their browser would."""
    rep = Browser(base_url)
    landing = rep.get(link.replace("http://localhost", ""))
    assert landing.status == 302, landing.text[:300]
    for number, questions in enumerate(pages, start=1):
        form = rep.get(f"/survey/{number}")
        assert form.status == 200, form.text[:300]
        data = {"csrf_token": form.csrf_token(), "action": "next"}
        for question in questions:
            data[f"q_{question.key}"] = _answer(question, rng, lift)
        sent = rep.post(f"/survey/{number}", data)
        assert sent.status == 302, sent.text[:500]
    assert sent.headers["Location"].endswith("/survey/thanks")


def _answer(question, rng: random.Random, lift: int) -> str:
    kind = question.kind.value
    if kind in ("agree5", "agree7"):
        top = 5 if kind == "agree5" else 7
        return str(min(top, max(1, rng.randint(2, top - 1) + lift)))
    if kind == "scale0_10":
        return str(min(10, max(0, rng.randint(4, 8) + lift)))
    if kind == "number":
        return str(rng.randint(1, 4))
    if kind == "choice":
        return rng.choice(question.options.splitlines())
    return ""


def test_a_consultant_runs_a_whole_pilot_in_the_browser_and_the_invited_leader_reads_the_report(
        chromium, live_app, live_server, smtp, tmp_path):
    controller, inbox = smtp
    # 36 reps answer from this one address in a few seconds: the per-address link limit is for the public.
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, LINK_RATE_LIMIT="1000 per minute")
    with live_app.app_context():
        builders.user("c@initech.example.com", orgs=[])
    today = date.today()
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 500 else None)

    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill("c@initech.example.com")
    page.get_by_label("Password").fill(builders.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # An organisation.
    page.get_by_role("link", name="Organisations").click()
    page.get_by_label("Organisation name").fill("Initech Sales")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("heading", name="Initech Sales").wait_for()

    # A leader invited by e-mail; the mail arrives at the real SMTP server.
    page.get_by_role("heading", name="People with access").wait_for()
    page.locator("#people").get_by_label("E-mail").fill(LEADER)
    page.locator("#people").get_by_label("Role", exact=True).select_option("leader")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("body")).to_contain_text(f"Invitation sent to {LEADER}")
    [(recipients, raw)] = inbox.wait_for(1)
    assert recipients == [LEADER]
    password_link = re.search(r"http://localhost/password/\S+", mail_text(raw)).group(0)

    # The roster.
    page.get_by_role("link", name="Teams and reps, import a roster").click()
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    page.get_by_label("CSV or XLSX file").set_input_files(str(roster))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("body")).to_contain_text(f"{TEAMS * REPS_PER_TEAM} rows read, {TEAMS * REPS_PER_TEAM} added")

    # A rep whose name and address were wrong in the file is corrected.
    page.get_by_role("link", name="Initech Sales").first.click()
    page.get_by_role("link", name=re.compile("roster", re.I)).first.click()
    page.get_by_label("Name or e-mail contains").fill("rep23@")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Rep 2-3", exact=True).click()
    page.get_by_label("Name").fill("Rosa Marquez")
    page.get_by_label("E-mail").fill("rosa.marquez@initech.example.com")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Marquez")
    page.get_by_role("link", name="← Roster").click()
    page.get_by_label("Name or e-mail contains").fill("rosa")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("rosa.marquez@initech.example.com")

    # A study designed, randomised and given a wave, then launched through the confirmation page.
    page.get_by_role("link", name="Initech Sales").first.click()
    page.get_by_role("link", name="Design a new study").click()
    page.get_by_label("Study name").fill("Coaching pilot 2027")
    page.get_by_label("Stratify by").select_option("region")
    page.get_by_label("Random seed").fill("2027")
    page.get_by_role("button", name="Create study").click()
    page.get_by_text("Study created").wait_for()
    page.get_by_role("link", name="Assignment").click()
    page.get_by_role("button", name="Randomise").click()
    expect(page.locator("body")).to_contain_text(f"Randomised {TEAMS} teams with seed 2027")
    page.get_by_role("link", name="Coaching pilot 2027").click()
    page.get_by_label("Label").fill("month 3")
    page.get_by_label("Opens on").fill(today.isoformat())
    page.get_by_label("Closes on").fill((today + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Add wave").click()
    expect(page.locator("body")).to_contain_text("Wave 'month 3' added.")
    page.get_by_role("link", name="Launch the study").click()
    confirm = page.locator("main")
    expect(confirm).to_contain_text(f"Launching locks the assignment of {TEAMS} teams")
    assert "/launch" in page.url  # a page of its own: nothing has changed yet
    page.get_by_role("button", name="Launch the study").click()
    expect(page.locator("body")).to_contain_text("The study is running.")

    # The wave is extended by a week.
    page.get_by_role("link", name="month 3").click()
    page.get_by_role("link", name="Extend or change the closing date").click()
    page.get_by_label("Closes on").fill((today + timedelta(days=21)).isoformat())
    page.get_by_role("button", name="Save").click()
    extended = (today + timedelta(days=21)).isoformat()
    expect(page.locator("body")).to_contain_text(f"Open {today.isoformat()} to {extended}")

    # Links issued: the mail-merge file has one row per rep, the corrected address among them.
    with page.expect_download() as download:
        page.get_by_role("button", name="Issue links and download the mail-merge CSV").click()
    with open(download.value.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == TEAMS * REPS_PER_TEAM
    assert "rosa.marquez@initech.example.com" in {row["email"] for row in rows}
    assert "rep23@initech.example.com" not in {row["email"] for row in rows}

    # The reps answer through their own links, as their browsers would (one of them in a phone's browser).
    with live_app.app_context():
        study = Study.query.filter_by(name="Coaching pilot 2027").one()
        pages = [list(p.questions) for p in responding.paginate(list(study.questions))]
        model_of_team = {a.team.name: a.coaching_model.value for a in study.assignments}
        team_of_email = {rep.email: rep.team.name for team in study.organisation.teams for rep in team.reps}
    rng = random.Random(2027)
    phone = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    survey = phone.new_page()
    survey.goto(rows[0]["link"].replace("http://localhost", live_server))
    survey.get_by_role("heading", name="Coaching and development").wait_for()
    phone.close()
    for row in rows:
        lift = {"manager": 1, "peer": 0, "external": -1}[model_of_team[team_of_email[row["email"]]]]
        answer_over_http(live_server, row["link"], pages, rng, lift)

    # The wave is closed early, through the confirmation page that says what happens before anything does.
    page.reload()
    page.get_by_role("link", name="Close this wave early…").click()
    expect(page.locator("main")).to_contain_text("Close the wave “month 3” today, ")
    assert "close-early" in page.url
    page.get_by_role("button", name="Close the wave now").click()
    expect(page.locator("body")).to_contain_text("Wave “month 3” closed today.")
    expect(page.locator("body")).to_contain_text("closed early")

    # The study's activity log tells who did each of these acts, and nothing of what reps answered.
    page.get_by_role("link", name="← Coaching pilot 2027").click()
    page.get_by_role("link", name="The whole activity log").click()
    log = page.locator("main").inner_text()
    for act in ("created the study", "randomised the assignment", "added a wave", "launched the study",
                "changed a wave", "issued links and downloaded the mail-merge file", "closed a wave early"):
        assert act in log, act
    assert "c@initech.example.com" in log
    context.close()

    # The invited leader sets a password from the mail, signs in and reads the report.
    leader = chromium.new_context(viewport={"width": 1200, "height": 900}).new_page()
    leader.on("pageerror", lambda error: problems.append(str(error)))
    leader.goto(password_link.replace("http://localhost", live_server))
    leader.get_by_role("heading", name="Set your password").wait_for()
    leader.get_by_label("New password").fill(LEADER_PASSWORD)
    leader.get_by_label("Repeat the password").fill(LEADER_PASSWORD)
    leader.get_by_role("button", name="Set the password and sign in").click()
    leader.get_by_role("heading", name="Studies").wait_for()
    leader.get_by_role("link", name="Coaching pilot 2027").click()
    leader.get_by_role("link", name="Report").click()
    decision = leader.locator("section.decision")
    decision.wait_for()
    report = leader.locator("main").inner_text()
    assert "month 3" in report
    assert f"({TEAMS * REPS_PER_TEAM // 3})" in report  # each model's responses, all of them counted
    # The answers favoured the teams on manager coaching, and the report says so first.
    assert decision.locator(".recommendation").inner_text().startswith("Choose manager coaching")
    leader.get_by_role("heading", name="The verdict").wait_for()
    leader.context.close()
    assert problems == []
