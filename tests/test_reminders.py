"""Scheduled reminders of a wave and the consultant's note (issue 15 item 3).

The schedule runs with injected dates (``send_due_reminders(now)``), through a real SMTP server (aiosmtpd);
the messages are read back as a mail client would, both parts of them.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta
from email import message_from_string, policy

import pytest
from sqlalchemy import select

from surveys.extensions import db
from surveys.mail import compose
from surveys.models import AuditEvent, ReminderKind, StudyStatus, WaveReminder
from surveys.pilots import reminders
from surveys.pilots.sending import send_links
from surveys.respond.sealing import new_key
from surveys.respond.submit import submit
from surveys.respond.survey import redeem
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

TODAY = date.today()


@pytest.fixture
def pilot(client):
    """A running study of 6 reps, its wave open from 3 days ago to 10 days on; a logged-in consultant."""
    study, _ = builders.running_survey(reps=6)
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return study


@pytest.fixture
def mail(app, smtp):
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="CoachLab <p@acme.example.com>")
    return inbox


def parsed(raw: str):
    return message_from_string(raw, policy=policy.default)


def parts(raw: str) -> tuple[str, str]:
    """The plain-text and the HTML part of a message."""
    message = parsed(raw)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour))


def wave_url(study) -> str:
    return f"/studies/{study.id}/waves/{study.waves[0].id}"


def save(client, study, days="", before_closing=False, note=""):
    data = {"days": days, "note": note}
    if before_closing:
        data["day_before_closing"] = "y"
    return client.post(wave_url(study) + "/reminders", data=data)


def answer_from_mail(raw: str, study, today: date) -> None:
    """The rep of this e-mail answers the survey through its link."""
    token = re.search(r"http://localhost/s/(\S+)", parts(raw)[0]).group(1)
    submit(redeem(token, today), new_key(), builders.valid_answers_by_key(study.questions), today)


def test_the_schedule_fires_on_its_days_once_each_to_the_reps_who_have_not_answered(client, pilot, mail):
    wave = pilot.waves[0]
    opens, closes = wave.opens_on, wave.closes_on
    response = save(client, pilot, "3, 5", before_closing=True, note="Thank you for your time, from Maria.")
    assert response.status_code == 302
    run = send_links(pilot, wave, "http://localhost", TODAY)
    assert run.sent == 6 and len(mail.messages) == 6
    answered = set()
    for _, raw in mail.messages[:2]:
        answer_from_mail(raw, pilot, TODAY)
        answered.add(parsed(raw)["To"])

    fired = {}
    day = opens
    while day <= closes + timedelta(days=2):
        before = len(mail.messages)
        reminders.send_due_reminders(at(day, 7))
        reminders.send_due_reminders(at(day, 15))  # the hourly task again, the same day: nothing more
        if len(mail.messages) > before:
            fired[day] = mail.messages[before:]
        day += timedelta(days=1)

    assert sorted(fired) == [opens + timedelta(days=3), opens + timedelta(days=5), closes - timedelta(days=1)]
    for messages in fired.values():
        recipients = [rcpt for rcpts, _ in messages for rcpt in rcpts]
        assert len(recipients) == 4 and len(set(recipients)) == 4  # once each, to the 4 who have not answered
        assert not answered & set(recipients)
        for _, raw in messages:
            assert parsed(raw)["Subject"].startswith("Reminder: ")
            text, page = parts(raw)
            assert "A reminder:" in text and "Thank you for your time, from Maria." in text and "Maria" in page
    assert all(r.ran_at is not None for r in db.session.scalars(select(WaveReminder)))
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "wave.reminders_changed"))


def test_no_reminder_for_a_wave_closed_early_or_a_study_not_running(client, pilot, mail):
    wave = pilot.waves[0]
    assert save(client, pilot, "3, 4, 5").status_code == 302
    send_links(pilot, wave, "http://localhost", TODAY)
    sent = len(mail.messages)
    pilot.status = StudyStatus.DRAFT
    db.session.commit()
    reminders.send_due_reminders(at(wave.opens_on + timedelta(days=3)))
    pilot.status = StudyStatus.CLOSED
    db.session.commit()
    reminders.send_due_reminders(at(wave.opens_on + timedelta(days=4)))
    pilot.status = StudyStatus.RUNNING
    wave.planned_closes_on, wave.closes_on = wave.closes_on, wave.opens_on + timedelta(days=4)  # closed early
    db.session.commit()
    reminders.send_due_reminders(at(wave.opens_on + timedelta(days=5)))
    assert len(mail.messages) == sent
    assert all(r.ran_at is None for r in db.session.scalars(select(WaveReminder)))


def test_no_reminder_after_the_wave_has_closed(client, pilot, mail):
    wave = pilot.waves[0]
    assert save(client, pilot, "13").status_code == 302  # the closing day itself: still open
    send_links(pilot, wave, "http://localhost", TODAY)
    sent = len(mail.messages)
    wave.closes_on = wave.opens_on + timedelta(days=12)  # moved earlier afterwards: day 13 is after it closed
    db.session.commit()
    reminders.send_due_reminders(at(wave.opens_on + timedelta(days=13)))
    assert len(mail.messages) == sent


def test_two_reminders_due_the_same_day_send_one_message_per_rep(client, pilot, mail):
    wave = pilot.waves[0]
    assert save(client, pilot, "3", before_closing=True).status_code == 302
    send_links(pilot, wave, "http://localhost", TODAY)
    wave.closes_on = wave.opens_on + timedelta(days=4)  # the day before closing is day 3 now
    db.session.commit()
    reminders.send_due_reminders(at(wave.opens_on + timedelta(days=3)))
    assert len(mail.messages) == 12
    assert all(r.ran_at is not None for r in db.session.scalars(select(WaveReminder)))


def test_a_second_run_that_read_the_same_due_reminders_takes_none(client, pilot, mail):
    """Two consumers running the hourly task at once: each reads the reminder as due; only one takes it."""
    wave = pilot.waves[0]
    assert save(client, pilot, "3").status_code == 302
    due = reminders.due_reminders(wave.opens_on + timedelta(days=3))
    assert len(due) == 1
    assert reminders._claim(due, datetime(2026, 1, 1)) == due
    assert reminders._claim(due, datetime(2026, 1, 1)) == []


def test_without_a_mail_server_nothing_is_marked_run(client, pilot):
    assert save(client, pilot, "3").status_code == 302
    assert reminders.send_due_reminders(at(pilot.waves[0].opens_on + timedelta(days=3))) == {}
    assert db.session.scalar(select(WaveReminder.ran_at)) is None


def test_the_note_and_closing_date_are_in_both_parts_and_html_in_the_note_is_escaped(client, pilot, mail):
    wave = pilot.waves[0]
    note = "Thanks!\n<script>alert('x')</script> & <b>bold</b>"
    assert save(client, pilot, note=note).status_code == 302
    pilot.name = "Pilot <North> & co"
    db.session.commit()
    send_links(pilot, wave, "http://localhost", TODAY)
    raw = mail.messages[0][1]
    message = parsed(raw)
    assert message.get_content_type() == "multipart/alternative"
    text, page = parts(raw)
    closing = f"{wave.closes_on.day} {wave.closes_on:%B %Y}"  # day month year: "12 December 2026"
    for part in (text, page):
        assert closing in part and "Your answers are stored without your name, e-mail or link" in part
        assert re.search(r"http://localhost/s/\S+", part)
    assert "Pilot <North> & co" in text and "<script>alert('x')</script>" in text
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "Pilot &lt;North&gt; &amp; co" in page
    assert "Thanks!</span><br>" in page  # the note's line break, as HTML (each line keeps its own direction)
    assert html.unescape(re.search(r'<a href="([^"]+)"', page).group(1)) in text


def test_a_subject_never_carries_a_line_break(app):
    """A study's name goes into the subject: a line break there would end the header and start another."""
    message = compose("rep@acme.example.com", "Survey — Pilot\r\nBcc: spy@evil.example\u2028x", "body")
    assert message["Subject"] == "Survey — Pilot Bcc: spy@evil.example x"
    assert message["Bcc"] is None
    assert "\nBcc:" not in message.as_string()


def test_a_study_named_with_a_line_break_still_gets_its_invitations_out(client, pilot, mail):
    pilot.name = "Pilot\r\nBcc: spy@evil.example"
    db.session.commit()
    assert send_links(pilot, pilot.waves[0], "http://localhost", TODAY).sent == 6
    recipients = {rcpt for rcpts, _ in mail.messages for rcpt in rcpts}
    assert "spy@evil.example" not in recipients and len(recipients) == 6
    assert all(parsed(raw)["Bcc"] is None for _, raw in mail.messages)


# --- the form --------------------------------------------------------------------------------------------


def test_the_form_shows_the_schedule_and_saves_it(client, pilot):
    assert save(client, pilot, "5; 3", before_closing=True, note="Hello team").status_code == 302
    wave = pilot.waves[0]
    assert sorted((r.kind, r.days) for r in wave.reminders) == [
        (ReminderKind.AFTER_OPENING, 3), (ReminderKind.AFTER_OPENING, 5), (ReminderKind.BEFORE_CLOSING, 1)]
    assert wave.note == "Hello team"
    page = html.unescape(client.get(wave_url(pilot)).get_data(as_text=True))
    assert 'value="3, 5"' in page and "Hello team</textarea>" in page
    assert "3 days after opening: " + (wave.opens_on + timedelta(days=3)).isoformat() in page
    assert "The day before closing: " + (wave.closes_on - timedelta(days=1)).isoformat() in page
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "wave.reminders_changed"))
    assert "3 days after opening" in event.detail and "note set (10 characters)" in event.detail


@pytest.mark.parametrize("days, before_closing, note, field, words", [
    ("0", False, "", "days", "Not saved: day 0: a reminder goes out at least 1 day after the wave opens"),
    ("-2", False, "", "days", "Not saved: day -2: a reminder goes out at least 1 day after the wave opens"),
    ("14", False, "", "days", "Not saved: day 14 is after the wave closes"),
    ("3, 5, 3", False, "", "days", "Not saved: day 3 is in the list twice"),
    ("three", False, "", "days", "Write whole numbers of days, separated by commas, like 3, 5."),
    ("2.5", False, "", "days", "Write whole numbers of days, separated by commas, like 3, 5."),
    ("12", True, "", "day_before_closing", "Not saved: day 12 is the day before closing"),
    ("", False, "x" * 1001, "note", "Not saved: the note has 1,001 characters; it may have at most 1,000."),
    ("", False, "Hi\x1b[31m", "note", "Not saved: the note holds a control character (U+001B"),
    ("", False, "Hi \u202eevil", "note", "Not saved: the note holds a control character (U+202E"),
    ("", False, "Hi\tthere", "note", "Not saved: the note holds a control character (U+0009"),
])
def test_a_refused_schedule_re_renders_the_form_with_the_message_next_to_its_field(
        client, pilot, days, before_closing, note, field, words):
    response = save(client, pilot, days, before_closing, note)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert error and words in html.unescape(error.group(1)), html.unescape(page)[-3000:]
    assert "<h1>Wave “baseline”</h1>" in page
    if days:
        assert f'value="{html.escape(days)}"' in page  # as entered
    assert pilot.waves[0].reminders == [] and pilot.waves[0].note is None


def test_a_nul_in_the_note_is_refused_before_the_form(client, pilot):
    assert save(client, pilot, note="Hi\x00").status_code == 400  # the app's guard on every request
    assert pilot.waves[0].note is None


def test_a_note_keeps_its_line_breaks(client, pilot):
    assert save(client, pilot, note="  Line one\r\nLine two\r\n ").status_code == 302
    assert pilot.waves[0].note == "Line one\nLine two"


def test_a_reminder_whose_day_has_passed_cannot_be_removed_and_none_can_be_added_in_the_past(client, pilot):
    wave = pilot.waves[0]  # opened 3 days ago
    wave.reminders.append(WaveReminder(kind=ReminderKind.AFTER_OPENING, days=2))  # its day was yesterday
    db.session.commit()
    removed = save(client, pilot, "5")
    assert removed.status_code == 409
    assert "Not saved: the reminder 2 days after opening was due on" in html.unescape(removed.get_data(as_text=True))
    past = save(client, pilot, "1, 2")
    assert past.status_code == 409
    assert re.search(r'id="days-error">Not saved: a reminder 1 day after opening would have gone out on',
                     html.unescape(past.get_data(as_text=True)))
    kept = save(client, pilot, "2, 3, 6", note="Nearly there")  # today (day 3) and later: may change
    assert kept.status_code == 302
    assert sorted(r.days for r in wave.reminders) == [2, 3, 6]
    assert save(client, pilot, "2, 6").status_code == 302  # day 3 has not gone out: it may still go
    wave.reminders[0].ran_at = datetime(2026, 1, 1)  # sent
    db.session.commit()
    sent = save(client, pilot, "6")
    assert sent.status_code == 409 and "went out on" in sent.get_data(as_text=True)


def test_a_closed_wave_shows_the_schedule_without_a_form_and_refuses_a_change(client, pilot):
    builders.close_wave(pilot.waves[0], TODAY)
    page = client.get(wave_url(pilot)).get_data(as_text=True)
    assert "Reminders and note" in page and "Save the reminders and note" not in page
    response = save(client, pilot, "3")
    assert response.status_code == 409
    text = html.unescape(response.get_data(as_text=True))
    assert "Not saved: the wave has closed" in text and text.index("Not saved") < text.index("<h1>Wave")


def test_leaders_neither_see_nor_post_the_form(client):
    study, _ = builders.running_survey(reps=6)
    builders.user("lee@acme.example.com", role="leader", orgs=[study.organisation.name])
    client.post("/login", data={"email": "lee@acme.example.com", "password": builders.PASSWORD})
    response = client.get(wave_url(study))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<h1>Wave “baseline”</h1>" in page
    assert "Reminders and note" not in page and "/reminders" not in page
    assert save(client, study, "3", note="from a leader").status_code == 403
    assert study.waves[0].reminders == [] and study.waves[0].note is None


def test_the_hourly_task_is_registered(app):
    from surveys import tasks
    from surveys.queue import huey

    assert tasks.send_due_reminders_task.task_class in set(huey._registry._periodic_tasks)


def test_the_hourly_task_sends_what_is_due_today_with_the_real_clock(client, pilot, mail):
    """The periodic wrapper passes the real now (the tests' queue runs a task where it is called)."""
    from surveys import tasks

    assert save(client, pilot, "3").status_code == 302  # the wave opened 3 days ago: due today
    send_links(pilot, pilot.waves[0], "http://localhost", TODAY)
    tasks.send_due_reminders_task()
    tasks.send_due_reminders_task()
    assert len(mail.messages) == 12
    assert all(parsed(raw)["Subject"].startswith("Reminder: ") for _, raw in mail.messages[6:])


def test_a_reminder_that_went_out_does_not_block_the_form_once_the_wave_closes_earlier(client, pilot):
    """Day 9 went out; the closing date moved to day 8 afterwards: the schedule, day 9 kept, still saves."""
    wave = pilot.waves[0]
    wave.reminders.append(WaveReminder(kind=ReminderKind.AFTER_OPENING, days=9, ran_at=datetime(2026, 1, 1)))
    wave.closes_on = wave.opens_on + timedelta(days=8)
    db.session.commit()
    assert save(client, pilot, "9, 5", note="Last days").status_code == 302
    assert sorted(r.days for r in wave.reminders) == [5, 9] and wave.note == "Last days"
    assert save(client, pilot, "9, 10").status_code == 400  # a new day still has to be in the wave
