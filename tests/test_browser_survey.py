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


def test_page_one_says_another_device_starts_over_and_the_same_browser_resumes(chromium, link, live_server):
    phone = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
    context = chromium.new_context(**phone)
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#resume-note")).to_contain_text("another device")
    expect(page.locator("#resume-note")).to_contain_text("starts over")
    answer_visible_questions(page)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/survey/2")

    # The browser is closed: what a restarted browser still has are its persistent cookies.
    kept = [cookie for cookie in context.storage_state()["cookies"] if cookie["expires"] > 0]
    context.close()
    assert kept, "the survey cookie must outlive the browser, or the rep could not resume"
    reopened = chromium.new_context(**phone, storage_state={"cookies": kept, "origins": []})
    page = reopened.new_page()
    page.goto(link)
    assert page.url.endswith("/survey/2")
    page.goto(f"{live_server}/survey/1")
    first = page.locator("fieldset.question").first
    assert first.get_by_role("radio", name="Agree", exact=True).is_checked()
    reopened.close()

    other_device = chromium.new_context(**phone)
    page = other_device.new_page()
    page.goto(link)
    assert page.url.endswith("/survey/1")
    assert page.locator("input[type=radio]:checked").count() == 0
    expect(page.locator("#resume-note")).to_be_visible()
    other_device.close()
