"""The rep side is wholly translated (issue 18): every rep-facing string is in the catalogue, the catalogue is
current with the code, every language's catalogue is complete, and no rendered rep page or e-mail shows an
English sentence in another language.

Four checks, from the source to what the rep reads:
1. the rep-facing templates hold no text outside ``_()`` (a new sentence written bare fails here);
2. ``translations/messages.pot`` is what ``pybabel extract`` finds now (``make messages`` after a change);
3. each catalogue translates every message, none fuzzy, with the same placeholders;
4. each rep page, error and e-mail, rendered in each language, contains no English message of the catalogue.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from surveys.languages import LANGUAGES
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]
# What a rep can see: the survey's pages, the pages every error shows, the layout, the two e-mails.
REP_TEMPLATES = ["respond/base.html", "respond/page.html", "respond/thanks.html", "respond/unavailable.html",
                 "errors/error.html", "base.html", "email/invitation.txt", "email/invitation.html",
                 "email/reminder.txt", "email/reminder.html"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(language: str):
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source)


def _pot():
    with (ROOT / "translations" / "messages.pot").open("rb") as source:
        return read_po(source)


def _ids(catalogue) -> set[str]:
    return {message.id for message in catalogue if message.id}


def bare_text(source: str) -> list[str]:
    """Human text of a template that is not inside ``_()``: what would stay English in every language."""
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)  # Jinja comments
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)  # expressions, _() included
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)  # statements
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", text, flags=re.S)
    attributes = re.findall(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"', text)
    text = re.sub(r"<[^>]*>", " ", text)  # tags and their attributes
    text = html.unescape(text)
    pieces = [piece.strip() for piece in re.split(r"\s{2,}|\n", text)] + attributes
    return [p for p in pieces if re.search(r"[A-Za-z]{2}", p.replace("CoachLab", ""))]


def test_the_check_for_bare_text_finds_it():
    assert bare_text('<p>Hello {{ name }}</p>') == ["Hello"]
    assert bare_text('<p>{{ _("Hello") }}</p><button aria-label="Close">{{ _("x") }}</button>') == ["Close"]
    assert bare_text('{% if a %}<a href="{{ url }}">{{ _("Back") }}</a>{% endif %} · CoachLab') == []


@pytest.mark.parametrize("name", REP_TEMPLATES)
def test_a_rep_facing_template_has_no_text_outside_the_catalogue(name):
    assert bare_text((ROOT / "templates" / name).read_text(encoding="utf-8")) == []


def test_the_catalogue_template_is_what_the_code_says_now(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "--no-location", "--sort-output", "-o", str(fresh), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with fresh.open("rb") as source:
        now = _ids(read_po(source))
    committed = _ids(_pot())
    assert now - committed == set(), "new rep-facing messages: run `make messages` and translate them"
    assert committed - now == set(), "messages no longer in the code: run `make messages`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_translates_every_message_with_its_placeholders(language):
    catalogue, wanted = _po(language), _ids(_pot())
    assert _ids(catalogue) >= wanted
    for message in catalogue:
        if not message.id:
            continue
        assert message.id in wanted, f"{language}: {message.id!r} is obsolete"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        assert message.string and message.string.strip(), f"{language}: {message.id!r} is not translated"
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), message.id


# --- what the rep reads, rendered ----------------------------------------------------------------------------

def _english_sentences() -> list[str]:
    """The catalogue's messages long enough to be unmistakable, their placeholders cut out."""
    pieces = []
    for message in _pot():
        if message.id and len(message.id) > 12:
            pieces += [p.strip(" ,.:—") for p in PLACEHOLDER.split(message.id)[::2] if len(p.strip(" ,.:—")) > 12]
    return pieces


def _visible(body: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture
def rep_pages(app, app_context):
    """A survey with one own question untranslated (its English text is expected), and a link per language."""
    from surveys.extensions import db
    from surveys.models import QuestionKind
    from surveys.pilots.questions import NewQuestion

    study, team = builders.running_survey(model="peer", reps=6, today=date.today() + timedelta(days=5), questions=[
        NewQuestion("How many calls did you make this week?", QuestionKind.NUMBER, minimum=0, maximum=500)])
    study.waves[0].opens_on = date.today() - timedelta(days=1)  # added before the wave opened, answered now
    db.session.commit()
    return study, team


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_rep_page_shows_an_english_message_of_the_catalogue(app, rep_pages, language):
    from surveys.respond import survey as responding

    study, team = rep_pages
    english = _english_sentences()
    token = builders.invite(study.waves[0], team.reps[0])
    browser = app.test_client()
    browser.get(f"/s/{token}")
    assert browser.post("/survey/1", data={"language": language}).status_code == 302
    pages = responding.paginate(list(study.questions))
    bodies = {}
    for number in range(1, len(pages) + 1):
        bodies[f"page {number}"] = browser.get(f"/survey/{number}").get_data(as_text=True)
        # The same page refused (nothing answered), where it has a required question: its messages too.
        refused = browser.post(f"/survey/{number}", data={"action": "next"})
        if refused.status_code == 400:
            bodies[f"page {number} refused"] = refused.get_data(as_text=True)
    assert sum(name.endswith("refused") for name in bodies) == len(pages) - 1  # all but the study's own page
    bodies["number out of range"] = browser.post(
        f"/survey/{len(pages) - 1}", data={"q_custom_1": "9999", "action": "next"}).get_data(as_text=True)
    bodies["missing page"] = browser.get("/survey/99").get_data(as_text=True)
    bodies["unknown link"] = app.test_client().get("/s/nope", headers={"Accept-Language": language}).get_data(
        as_text=True)
    bodies["no link"] = app.test_client().get("/survey/1", headers={"Accept-Language": language}).get_data(
        as_text=True)
    for name, body in bodies.items():
        assert f'lang="{language}"' in body, name
        shown = _visible(body)
        assert [s for s in english if s in shown] == [], f"{language}, {name}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_invitation_and_the_reminder_have_no_english_message(app, app_context, language):
    from surveys.pilots.invitations import IssuedLink, _message

    study, _ = builders.running_survey(model="peer")
    wave = study.waves[0]
    wave.note = ""
    wave.closes_on = date.today() + timedelta(days=9)
    english = _english_sentences()
    for reminder in (False, True):
        with app.test_request_context("/"):
            message = _message(study, wave, IssuedLink(1, "Rep", "r@example.com", "", "http://x/s/t", language),
                               reminder)
        for part in ("plain", "html"):
            shown = _visible(message.get_body((part,)).get_content())
            assert [s for s in english if s in shown] == [], (language, reminder, part)
        assert not any(s in message["Subject"] for s in english)
