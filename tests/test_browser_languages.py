"""A rep answers the whole survey in Spanish and in Arabic on a 375-px phone screen (issue 18), in Chromium.

Layout is checked twice: from the page's geometry (nothing wider than the screen; in Arabic every radio
button right of its label, in Spanish left of it), and from screenshots: the dark pixels of the answer
options lie in the left part of the Spanish screenshot and in the right part of the Arabic one, whose
layout is the Spanish one mirrored. The screenshots are kept in the test's temporary folder.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Response, SurveyDraft
from tests import builders

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent


def wording(language: str) -> dict:
    path = ROOT / "surveys" / "instruments" / f"coaching_feedback.{language}.json"
    return json.loads(path.read_text(encoding="utf-8"))["strings"]


@pytest.fixture
def links(live_app, live_server):
    """Three reps of one team: one with Spanish on the roster, one with Arabic, one with none."""
    with live_app.app_context():
        study, team = builders.running_survey(model="external")
        for rep, language in zip(team.reps, ("es", "ar", None), strict=False):
            rep.language = language
        db.session.commit()
        return {language: f"{live_server}/s/{builders.invite(study.waves[0], rep)}"
                for rep, language in zip(team.reps, ("es", "ar", "none"), strict=False)}


GEOMETRY = """() => {
  const wide = document.documentElement.scrollWidth;
  const overflowing = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > window.innerWidth + 1 || r.left < -1)
      && !e.closest('.skip'); }).map(e => e.tagName + '.' + e.className);
  const options = [...document.querySelectorAll('label.option')].map(label => {
    const input = label.querySelector('input').getBoundingClientRect();
    const text = label.querySelector('span').getBoundingClientRect();
    return {input: input.left + input.width / 2, text: text.left + text.width / 2,
            row: Math.abs((input.top + input.bottom) - (text.top + text.bottom)) < 4};
  });
  return {wide, inner: window.innerWidth, overflowing, options, dir: document.documentElement.dir};
}"""


def check_layout(page, rtl: bool) -> None:
    seen = page.evaluate(GEOMETRY)
    assert seen["wide"] <= seen["inner"] == 375 and seen["overflowing"] == []
    assert seen["dir"] == ("rtl" if rtl else "ltr")
    beside = [o for o in seen["options"] if o["row"]]  # label text beside its radio (not the 0-10 scale's columns)
    assert beside, "no answer option with its label beside the radio"
    for option in beside:
        assert (option["input"] > option["text"]) if rtl else (option["input"] < option["text"]), option


def options_centre(page, tmp_path: Path, name: str) -> float:
    """The horizontal centre (0 left … 1 right) of the dark pixels in a screenshot of the first question's options."""
    shot = tmp_path / f"{name}.png"
    page.locator("fieldset.question").first.locator(".options").screenshot(path=str(shot))
    image = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("L"), dtype=float)
    dark = np.argwhere(image < 128)
    assert len(dark) > 100, "the screenshot shows no answer options"
    return float(dark[:, 1].mean() / image.shape[1])


def answer_every_page(page, language: str, tmp_path: Path) -> None:
    strings = wording(language)
    number = 0
    while True:
        number += 1
        expect(page.locator("progress")).to_be_visible()
        check_layout(page, rtl=language == "ar")
        page.screenshot(path=str(tmp_path / f"{language}-page-{number}.png"), full_page=True)
        for fieldset in page.locator("fieldset.question").all():
            agree = fieldset.get_by_role("radio", name=strings["scale.4"], exact=True)
            if agree.count():
                agree.check()
            else:
                fieldset.get_by_role("radio").nth(8).check()  # 8 on the 0-10 scale
        for box in page.locator("textarea").all():
            box.fill("Mi coach escucha." if language == "es" else "مدربي يستمع.")
        send = page.locator('button[value="submit"]')
        if send.count():
            send.click()
            break
        page.locator('button[value="next"]').click()
        page.wait_for_url(f"**/survey/{number + 1}")


def test_a_rep_answers_the_whole_survey_in_spanish_then_one_in_arabic_on_a_phone(phone, links, live_app, tmp_path):
    # Spanish, from the roster: page 1 in Spanish; two answers, a switch to English keeps them, and back.
    phone.goto(links["es"])
    phone.wait_for_url("**/survey/1")
    assert phone.locator("html").get_attribute("lang") == "es"
    expect(phone.get_by_text(wording("es")["item.coaching_1"])).to_be_visible()
    left = options_centre(phone, tmp_path, "es-options")
    first = phone.locator("fieldset.question").first
    first.get_by_role("radio", name=wording("es")["scale.2"], exact=True).check()
    phone.get_by_role("button", name="English").click()
    phone.wait_for_load_state()
    assert phone.locator("html").get_attribute("lang") == "en"
    expect(phone.locator("fieldset.question").first.get_by_role("radio", name="Disagree", exact=True)).to_be_checked()
    phone.get_by_role("button", name="Español").click()
    phone.wait_for_load_state()
    expect(phone.locator("fieldset.question").first.get_by_role(
        "radio", name=wording("es")["scale.2"], exact=True)).to_be_checked()
    answer_every_page(phone, "es", tmp_path)
    expect(phone.locator("h1")).to_have_text(wording_thanks("es"))

    # Arabic, from the roster, in a second phone: right to left, fitting the screen, mirrored.
    context = phone.context.browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                                has_touch=True, device_scale_factor=2)
    arabic = context.new_page()
    try:
        arabic.goto(links["ar"])
        arabic.wait_for_url("**/survey/1")
        assert arabic.locator("html").get_attribute("lang") == "ar"
        right = options_centre(arabic, tmp_path, "ar-options")
        assert left < 0.45 and right > 0.55, (left, right)  # the Arabic layout is the Spanish one mirrored
        answer_every_page(arabic, "ar", tmp_path)
        expect(arabic.locator("h1")).to_have_text(wording_thanks("ar"))
    finally:
        context.close()
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 2
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def wording_thanks(language: str) -> str:
    from babel.messages.pofile import read_po

    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source)["Thank you"].string
