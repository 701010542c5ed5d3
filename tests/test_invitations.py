"""Invitations: mail-merge links (page and command), e-mail through a real SMTP server on loopback,
reminders to non-responders without showing who they are, and response counts that respect k."""

import csv
import io
import re
from datetime import date, timedelta
from email import message_from_string, policy

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Invitation, Response, SurveyDraft
from tests import builders
from tests.gunicorn_kit import free_port

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def pilot(client):
    """A running study: two teams (6 and 3 reps) assigned to two models, an open wave; a logged-in consultant."""
    study, team = builders.running_survey(model="peer", reps=6)
    small = builders.team_with_reps(study.organisation, name="Small", reps=3)
    from surveys.models import Assignment, CoachingModel

    study.assignments.append(Assignment(team=small, coaching_model=CoachingModel.MANAGER))
    db.session.commit()
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


def answer_all(browser, study):
    """Answer every page of the survey in ``browser`` (which has redeemed a link)."""
    from surveys.respond import survey as responding

    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    for number, page in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions}
        action = "submit" if number == len(pages) else "next"
        assert browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302


def links_from_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def token_of(link):
    return link.rsplit("/", 1)[1]


def test_issuing_links_downloads_one_row_per_rep_and_the_links_work(client, app, pilot):
    wave = pilot.waves[0]
    response = client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = links_from_csv(response.get_data(as_text=True))
    assert len(rows) == 9 and {"name", "email", "team", "link"} == set(rows[0])
    assert app.test_client().get("/s/" + token_of(rows[0]["link"])).status_code == 302


def test_issuing_again_replaces_unused_links_and_moves_saved_answers(client, app, pilot):
    wave = pilot.waves[0]
    first = links_from_csv(client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv").get_data(as_text=True))
    rep_browser = app.test_client()
    old_token = token_of(first[0]["link"])
    rep_browser.get(f"/s/{old_token}")
    from surveys.respond import survey as responding

    page_one = responding.paginate(list(pilot.questions))[0]
    answers = {f"q_{q.key}": "4" for q in page_one.questions}
    assert rep_browser.post("/survey/1", data={**answers, "action": "next"}).status_code == 302
    second = links_from_csv(client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv",
                                        data={"confirm": "1"}).get_data(as_text=True))
    assert app.test_client().get(f"/s/{old_token}").status_code == 410
    assert rep_browser.get("/survey/2").status_code == 410  # the rep's open page says a newer link was sent
    new_link = next(r["link"] for r in second if r["email"] == first[0]["email"])
    assert rep_browser.get("/s/" + token_of(new_link)).status_code == 302
    assert rep_browser.get("/survey").headers["Location"] == "/survey/2"  # the saved page came along
    assert client.get("/s/" + token_of(new_link)).status_code == 302  # the consultant, who has the new link too,
    assert client.get("/survey").headers["Location"] == "/survey/1"  # opens an empty survey
    assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 1


def test_reps_who_answered_get_no_new_link(client, app, pilot):
    wave = pilot.waves[0]
    token = builders.invite(wave, pilot.assignments[0].team.reps[0])
    rep_browser = app.test_client()
    rep_browser.get(f"/s/{token}")
    answer_all(rep_browser, pilot)
    rows = links_from_csv(client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv").get_data(as_text=True))
    assert len(rows) == 8
    assert app.test_client().get(f"/s/{token}").status_code == 410


def test_invitations_command_writes_the_mail_merge_file(runner, pilot, tmp_path):
    target = tmp_path / "links.csv"
    result = runner.invoke(args=["invitations", "--study", str(pilot.id), "--wave", "baseline", "-o", str(target)])
    assert result.exit_code == 0, result.output
    rows = links_from_csv(target.read_text())
    assert len(rows) == 9 and all(r["link"].startswith("http://localhost/s/") for r in rows)


@pytest.mark.parametrize("args, words", [
    (["--study", "999", "--wave", "baseline"], "no study with id 999"),
    (["--wave", "follow-up"], "has no wave 'follow-up' (waves: baseline)"),
])
def test_invitations_command_bad_input_exits_2(runner, pilot, tmp_path, args, words):
    args = ["--study", str(pilot.id), *args] if args[0] != "--study" else args
    result = runner.invoke(args=["invitations", *args, "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and words in result.output
    assert not (tmp_path / "x.csv").exists()


def test_no_links_for_a_closed_wave(client, pilot):
    wave = pilot.waves[0]
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=9), date.today() - timedelta(days=1)
    db.session.commit()
    assert client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv").status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_invitations_and_reminders_by_email_through_a_real_smtp_server(client, app, pilot, smtp):
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="CoachLab <pilot@acme.example.com>")
    wave = pilot.waves[0]
    response = client.post(f"/studies/{pilot.id}/waves/{wave.id}/send")
    assert response.status_code == 302
    assert len(inbox.messages) == 9
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitations sent: 9." in page
    recipients = {rcpt for rcpts, _ in inbox.messages for rcpt in rcpts}
    assert len(recipients) == 9
    # One rep answers through the link from their e-mail.
    link = re.search(r"http://localhost/s/\S+", inbox.messages[0][1]).group(0)
    answered_by = inbox.messages[0][0][0]
    rep_browser = app.test_client()
    assert rep_browser.get("/s/" + token_of(link)).status_code == 302
    answer_all(rep_browser, pilot)
    # Invitations again: nobody new to invite.
    client.post(f"/studies/{pilot.id}/waves/{wave.id}/send")
    assert len(inbox.messages) == 9
    asked = client.post(f"/studies/{pilot.id}/waves/{wave.id}/send", data={"reminder": "1"})
    assert asked.status_code == 200 and "E-mailing reminders gives each rep it goes to a new link" in \
        asked.get_data(as_text=True)  # the links in the first e-mails stop: asked first
    assert len(inbox.messages) == 9
    reminder = client.post(f"/studies/{pilot.id}/waves/{wave.id}/send", data={"reminder": "1", "confirm": "1"})
    page = client.get(reminder.headers["Location"]).get_data(as_text=True)
    # The run's size is the exact count of reps who have not answered an open wave: never on the page
    # (it used to say "Reminders sent: 8."), only a percentage (tests/test_send_jobs.py).
    assert "Reminders sent: 100 %" in page
    assert "8" not in re.search(r'<section class="sending".*?</section>', page, re.S).group(0)
    reminders = inbox.messages[9:]
    assert len(reminders) == 8 and all("Subject: Reminder:" in body for _, body in reminders)
    assert answered_by not in {rcpt for rcpts, _ in reminders for rcpt in rcpts}
    for name in (r.name for r in pilot.assignments[0].team.reps):
        assert name not in page  # the wave page never says who has not answered
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.reminder_count == 1, Invitation.revoked_at.is_(None))) == 8


def test_an_unreachable_mail_server_sends_nothing_says_so_and_keeps_the_old_links(client, app, pilot):
    wave = pilot.waves[0]
    rows = links_from_csv(client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv").get_data(as_text=True))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    response = client.post(f"/studies/{pilot.id}/waves/{wave.id}/send", data={"confirm": "1"})
    assert response.status_code == 409
    assert "cannot use the mail server" in response.get_data(as_text=True)  # on the wave page, not after a redirect
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.sent_at.is_not(None))) == 0
    assert app.test_client().get("/s/" + token_of(rows[0]["link"])).status_code == 302  # still works


def test_a_name_stored_with_a_line_break_still_goes_out_on_one_subject_line(client, app, pilot, smtp):
    """A study name from before names were refused with line breaks (adversary issue 14, F3): the message's
    Subject is one line, and every invitation goes out."""
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    pilot.name = "Pilot\r\nBcc: everyone@example.com"
    db.session.commit()
    wave = pilot.waves[0]
    assert client.post(f"/studies/{pilot.id}/waves/{wave.id}/send").status_code == 302
    assert len(inbox.messages) == 9
    for _, raw in inbox.messages:
        message = message_from_string(raw, policy=policy.default)
        assert message["Subject"] == "Your coaching feedback survey — \u2068Pilot Bcc: everyone@example.com\u2069"
        assert message["Bcc"] is None


def test_a_message_that_cannot_be_written_replaces_no_link(client, app, pilot, smtp, monkeypatch):
    """Every message is written before the new links are kept: when one cannot be, the links handed out
    before (a mail-merge file) keep working and nothing is marked sent."""
    from surveys.pilots import sending

    controller, _ = smtp
    wave = pilot.waves[0]
    rows = links_from_csv(client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv").get_data(as_text=True))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)

    def broken(*args):
        raise ValueError("cannot write this message")

    monkeypatch.setattr(sending, "_message", broken)
    with pytest.raises(ValueError):
        sending.send_links(pilot, wave, "http://localhost", date.today())
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.revoked_at.is_not(None))) == 0
    assert app.test_client().get("/s/" + token_of(rows[0]["link"])).status_code == 302  # still works


def close(wave) -> None:
    """Move a wave into the past: it has closed."""
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=30), date.today() - timedelta(days=1)
    db.session.commit()


def test_response_counts_are_shown_only_where_k_reps_were_invited(client, pilot):
    wave = pilot.waves[0]
    client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv")
    big = next(a.team for a in pilot.assignments if len(a.team.reps) == 6)
    from tests.test_disclosure_attacks import varied

    builders.answer(pilot, wave, big.reps[:5], date.today(), varied)  # the real submit, answers that differ
    close(wave)  # while a wave is open its counts move in steps of k (tests/test_insider_views.py)
    page = client.get(f"/studies/{pilot.id}/waves/{wave.id}").get_data(as_text=True)
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]+)</td>", page)
    by_name = {name: (invited, shown) for name, invited, shown in rows}
    # A closed wave's team counts are rounded down to a multiple of k (tests/test_insider_attacks.py, F-F);
    # a model's count is the report's.
    assert by_name[big.name] == ("6", "at least 5")
    assert by_name["Small"] == ("3", "hidden")  # 3 invited < k = 5
    assert by_name["manager"] == ("3", "hidden") and by_name["peer"] == ("6", "5")


def test_a_hidden_team_cannot_be_recovered_from_the_model_total(client, pilot):
    """Team A (6 invited, 5 answered) and Small (3 invited, 2 answered) both on manager: 7 − 5 would reveal 2."""
    from surveys.models import CoachingModel

    wave = pilot.waves[0]
    for assignment in pilot.assignments:
        assignment.coaching_model = CoachingModel.MANAGER
    db.session.commit()
    client.post(f"/studies/{pilot.id}/waves/{wave.id}/links.csv")
    teams = {a.team.name: a.team for a in pilot.assignments}
    for name, answered in (("North 1", 5), ("Small", 2)):
        for _ in range(answered):
            db.session.add(Response(study_id=pilot.id, wave_id=wave.id, coaching_model=CoachingModel.MANAGER,
                                    team_id=teams[name].id, submitted_on=date.today()))
    close(wave)
    page = client.get(f"/studies/{pilot.id}/waves/{wave.id}").get_data(as_text=True)
    rows = dict((name, shown) for name, _, shown in re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>([^<]+)</td>",
                                                                page))
    # North 1 hides too: the report shows manager's n, which minus North 1's 5 would give Small's 2
    # (tests/test_insider_views.py::test_a_shown_team_never_gives_away_a_hidden_team_of_its_model).
    assert rows["North 1"] == "hidden" and rows["Small"] == "hidden"
    assert rows["manager"] == "hidden"
    assert re.search(r"<th scope=\"row\">All</th><td>9</td><td>hidden</td>", page)
    overview = client.get(f"/studies/{pilot.id}").get_data(as_text=True)
    assert "<td>9</td><td>hidden</td>" in overview
