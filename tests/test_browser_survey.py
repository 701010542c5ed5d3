"""A rep completes the survey in a real browser on a phone-sized screen (Playwright + Debian's chromium)."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Answer, Response
from tests import builders

pytestmark = pytest.mark.browser


@pytest.fixture
def link(live_app, live_server):
    with live_app.app_context():
        study, team = builders.running_survey(model="manager")
        token = builders.invite(study.waves[0], team.reps[0])
    return f"{live_server}/s/{token}"


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def answer_visible_questions(page):
    """Choose "Agree" on agreement questions and 9 on the 0-10 scale; comment in the text box."""
    for fieldset in page.locator("fieldset.question").all():
        radios = fieldset.get_by_role("radio")
        if fieldset.get_by_role("radio", name="Agree", exact=True).count():
            fieldset.get_by_role("radio", name="Agree", exact=True).check()
        elif fieldset.get_by_role("radio", name="9", exact=True).count():
            fieldset.get_by_role("radio", name="9", exact=True).check()
        else:
            radios.first.check()
    for box in page.locator("textarea").all():
        box.fill("My coach listens. <script>alert('x')</script>")


def test_rep_completes_the_survey_on_a_phone(phone, link, live_app):
    dialogs = []
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    phone.goto(link)
    assert "/s/" not in phone.url and phone.url.endswith("/survey/1")
    pages = 0
    while True:
        pages += 1
        expect(phone.locator("progress")).to_be_visible()  # waits for the new page to render
        assert no_sideways_scrolling(phone)
        answer_visible_questions(phone)
        button = phone.get_by_role("button", name="Send my answers")
        if button.count():
            button.click()
            break
        phone.get_by_role("button", name="Next").click()
        phone.wait_for_url(f"**/survey/{pages + 1}")
        phone.wait_for_load_state()
    phone.get_by_role("heading", name="Thank you").wait_for()
    assert dialogs == []
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        stored = db.session.scalar(select(Answer.value_text).where(Answer.value_text.is_not(None)))
        assert stored == "My coach listens. <script>alert('x')</script>"


def test_keyboard_alone_answers_a_question_and_errors_sit_next_to_the_question(phone, link):
    phone.goto(link)
    first = phone.locator("fieldset.question").first
    first.get_by_role("radio").first.focus()
    phone.keyboard.press("ArrowRight")  # moves to and selects the next answer of the group
    assert first.get_by_role("radio").nth(1).is_checked()
    phone.get_by_role("button", name="Next").click()
    second = phone.locator("fieldset.question").nth(1)
    assert "Please answer this question" in second.locator(".error").inner_text()
    assert first.get_by_role("radio").nth(1).is_checked()  # kept after the failed page
    assert no_sideways_scrolling(phone)
