"""Insider attacks on issue 15 (send jobs, reminders, outbox), from a fresh-eyed adversary: each performs an attack
that worked before its fix (the outbox naming the reps a reminder went to is accepted for the demo: README).

The anonymity promise: while a wave is open nothing may give the exact number of its responses (or of its
non-responses: with the roster known, one is the other), nor who answered.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select, update

from surveys.extensions import db
from surveys.models import AuditEvent, Invitation
from tests import builders
from tests.conftest import Inbox
from tests.gunicorn_kit import free_port


def log_in(client, study, email="c@acme.example.com"):
    builders.user(email, orgs=[study.organisation.name])
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def sending_section(page: str) -> str:
    found = re.search(r'<section class="sending".*?</section>', page, re.S)
    return found.group(0) if found else ""


class Switchable(Inbox):
    """An SMTP handler that accepts everything until ``answer`` is set, then answers it to every recipient."""

    def __init__(self):
        super().__init__()
        self.answer = None
        self.tries = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries[address] += 1
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def switchable_smtp():
    from aiosmtpd.controller import Controller

    handler = Switchable()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _invited_and_four_answered(app, client, controller, handler, reps=13):
    """13 reps e-mailed their invitation through the page; 4 of them answered (k = 5: the wave page shows 0)."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    study, team = builders.running_survey(reps=reps)
    log_in(client, study)
    wave = study.waves[0]
    assert client.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"confirm": "1"}).status_code == 302
    assert len(handler.messages) == reps
    answered = [rep.id for rep in team.reps[:4]]
    db.session.execute(update(Invitation).where(Invitation.rep_id.in_(answered)).values(used=True))
    db.session.commit()
    return study, wave


def _no_exact_non_response(text: str) -> None:
    # 9 of 13 have not answered, 4 have: neither number may be readable.
    assert not re.search(r"\b9\b", text), text
    assert not re.search(r"\b4\b", text), text


# --- (1) a reminder run the mail server refuses: "N could not be delivered" is the non-response count ------------

def test_reminder_run_refused_by_the_mail_server_shows_the_exact_non_response_count(app_context, app, client,
                                                                                      switchable_smtp):
    controller, handler = switchable_smtp
    study, wave = _invited_and_four_answered(app, client, controller, handler)
    handler.answer = "550 5.1.1 mailbox unavailable"  # or: the consultant's own relay, told to refuse
    response = client.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"reminder": "1", "confirm": "1"})
    assert response.status_code == 302
    section = sending_section(client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True))
    assert "Reminders sent: 0 %" in section
    # The page says "9 could not be delivered": all 9 reps who have not answered, i.e. 13 - 9 = 4 answered.
    _no_exact_non_response(re.sub(r"<[^>]+>", " ", section))


def test_reminder_run_refused_by_the_mail_server_audit_log_gives_the_exact_count(app_context, app, client,
                                                                                 switchable_smtp):
    controller, handler = switchable_smtp
    study, wave = _invited_and_four_answered(app, client, controller, handler)
    handler.answer = "550 5.1.1 mailbox unavailable"
    client.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"reminder": "1", "confirm": "1"})
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "reminders.sent"))
    assert detail is not None
    # "wave 'baseline': reminders e-mailed, 9 failed"
    _no_exact_non_response(detail)


def test_reminder_run_while_the_mail_server_is_busy_shows_the_exact_retrying_count(app_context, app, client,
                                                                                    switchable_smtp):
    controller, handler = switchable_smtp
    study, wave = _invited_and_four_answered(app, client, controller, handler)
    handler.answer = "451 4.3.0 try again later"
    client.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"reminder": "1", "confirm": "1"})
    section = sending_section(client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True))
    assert "Sending reminders: 0 % sent" in section
    # "...; 9 failed — retrying."
    _no_exact_non_response(re.sub(r"<[^>]+>", " ", section))


# --- (1) links handed out by mail merge, then e-mailed: the invitation run's exact count is the non-response ---

def test_invitations_emailed_after_a_mail_merge_show_the_exact_non_response_count(app_context, app, client, smtp):
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    study, team = builders.running_survey(reps=13)
    log_in(client, study)
    wave = study.waves[0]
    # The consultant hands out links by mail merge first (nobody is "sent" one by e-mail)...
    assert client.post(f"/studies/{study.id}/waves/{wave.id}/links.csv", data={"confirm": "1"}).status_code == 200
    builders.answer(study, wave, team.reps[:4], __import__("datetime").date.today())  # 4 answer
    # ...then e-mails the invitations: the run goes to the 9 who have not answered, and says so exactly.
    assert client.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"confirm": "1"}).status_code == 302
    assert len(inbox.messages) == 9
    page = client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True)
    section = re.sub(r"<[^>]+>", " ", sending_section(page))
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "links.sent"))
    _no_exact_non_response(section)  # "Invitations sent: 9." — 13 reps with an address on the roster: 4 answered
    _no_exact_non_response(detail)  # "wave 'baseline': 9 sent, 0 failed"


# --- (1)/(2) the demo outbox: every consultant reads who was reminded, and every org's live links ------------

def test_demo_outbox_shows_a_consultant_of_another_organisation_the_live_survey_links(make_app, catcher):
    folder, port = catcher
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DEMO_OUTBOX=str(folder))
    from tests.queue_kit import wait_until

    with app.app_context():
        study, team = builders.running_survey(reps=6)
        owner = app.test_client()
        log_in(owner, study)
        wave = study.waves[0]
        assert owner.post(f"/studies/{study.id}/waves/{wave.id}/send", data={"confirm": "1"}).status_code == 302
        wait_until(lambda: len(list(folder.glob("*.eml"))) >= 6, timeout=10)
        builders.organisation("Other Org")
        builders.user("other@other.example.com", orgs=["Other Org"])
        emails = [rep.email for rep in team.reps]
    # Outside the test's app context: each request then has its own, as in a server (Flask-Login keeps the
    # signed-in user on the app context's ``g``).
    other = app.test_client()
    assert other.post("/login", data={"email": "other@other.example.com",
                                      "password": builders.PASSWORD}).status_code == 302
    page = other.get("/demo/outbox")
    body = page.get_data(as_text=True)
    # A consultant of Other Org reads Acme's reps' addresses and their working survey links (they could
    # answer in a rep's name).
    leaked = [email for email in emails if email in body]
    assert page.status_code == 404 or (not leaked and "/s/" not in body), leaked
