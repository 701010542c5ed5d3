"""Adversary (issue 18, reps answer in their own language): attacks on translations, the language switch, the
roster language and the report's table by roster language. Each test performs one attack; a failing test is a
finding (A1, A2, …). Tests marked "# held" are attacks the code withstands, kept because they are meaningful.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from surveys.extensions import db
from surveys.models import Question, QuestionKind, QuestionTranslation, StudyStatus
from surveys.pilots.questions import NewQuestion, add_question, edit_question
from surveys.respond import survey as responding
from tests import builders
from tests.test_languages import said
from tests.test_question_translations import fill, sheet, upload

pytestmark = pytest.mark.usefixtures("app_context")
SOON = date.today() + timedelta(days=5)


def unescaped(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def study(client):
    """A draft study whose wave opens in a few days, with three questions of its own; a logged-in consultant."""
    org = builders.organisation()
    teams = [builders.team_with_reps(org, name=f"Team {n}", reps=6) for n in range(3)]
    result = builders.study(org, models=("peer", "manager", "external"), teams=teams, today=SOON)
    for new in (NewQuestion("How often do you meet your coach?", QuestionKind.CHOICE, required=True,
                            options=("Weekly", "Monthly", "Rarely")),
                NewQuestion("My coach knows our products well.", QuestionKind.AGREE5, required=True),
                NewQuestion("What should your coach do more of?", QuestionKind.TEXT)):
        add_question(result, new, date.today())
    builders.user("c@acme.example.com", orgs=[org.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return result


SPANISH = {("custom_1", "question"): {"es": "¿Con qué frecuencia se reúne con su coach?"},
           ("custom_1", "option 1"): {"es": "Cada semana"}, ("custom_1", "option 2"): {"es": "Cada mes"},
           ("custom_1", "option 3"): {"es": "Casi nunca"},
           ("custom_2", "question"): {"es": "Mi coach conoce bien nuestros productos."},
           ("custom_3", "question"): {"es": "¿Qué debería hacer más su coach?"}}


def _question(study, key) -> Question:
    return next(q for q in study.questions if q.key == key)


def _open(study) -> None:
    study.waves[0].opens_on = date.today() - timedelta(days=1)
    study.status = StudyStatus.RUNNING
    db.session.commit()


def _page_of(study, key) -> int:
    pages = responding.paginate(list(study.questions))
    return next(i for i, p in enumerate(pages, start=1) if any(q.key == key for q in p.questions))


def _spanish_rep_browser(app, study, rep_index=0):
    rep = study.assignments[0].team.reps[rep_index]
    rep.language = "es"
    db.session.commit()
    browser = app.test_client()
    assert browser.get(f"/s/{builders.invite(study.waves[0], rep)}").status_code == 302
    return browser


def _labels(body: str, name: str) -> dict[str, str]:
    """value -> label of the radio buttons named ``name`` on a rendered survey page."""
    found = re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"[^>]*>\s*<span[^>]*>([^<]*)</span>', body)
    return dict(found)


# --- A1: an edit of the English options after the upload leaves the translated labels on other values ---------

def test_a1_reordered_options_after_an_upload_make_a_spanish_choice_store_another_english_value(client, app, study):
    """A1 (numbers that agree; also a consultant's lever). The sheet maps labels to options by position, and
    ``edit_question`` keeps the translations when the options change. Reorder the English options after the
    upload and the Spanish rep who clicks "Cada semana" (weekly) stores "Rarely": Spanish readers' answers are
    silently wrong in the report and export, and a consultant can skew (or tag) one language's answers.
    Fix: drop (or mark stale) a question's translations whenever its text or options change — or store the
    English each translation was made from and use it only while it matches, as the built-in instrument does."""
    assert upload(client, study, fill(sheet(client, study), SPANISH)).status_code == 302
    edit_question(study, _question(study, "custom_1").id, "How often do you meet your coach?",
                  ("Rarely", "Monthly", "Weekly"), True, date.today())
    _open(study)
    browser = _spanish_rep_browser(app, study)
    body = unescaped(browser.get(f"/survey/{_page_of(study, 'custom_1')}"))
    labels = _labels(body, "q_custom_1")
    assert labels, body[-3000:]
    assert labels.get("Weekly") != "Casi nunca" and labels.get("Rarely") != "Cada semana", labels


def test_a2_an_edited_question_text_keeps_showing_the_old_translation_and_is_not_listed_missing(client, app, study):
    """A2 (quality / integrity). After an upload, the consultant edits the English of custom_2 so it asks the
    opposite. Spanish reps still read the old translation (no "shown in English" note), and the questions page
    and launch confirmation do not list it as untranslated: two language groups answer different questions
    that are scored as one. Fix: as A1 — a translation is tied to the English it was made from."""
    assert upload(client, study, fill(sheet(client, study), SPANISH)).status_code == 302
    edit_question(study, _question(study, "custom_2").id, "My coach does not know our products.", (), True,
                  date.today())
    from surveys.pilots.translations import missing_translations

    listed = {(m.language, m.key) for m in missing_translations(study)}
    _open(study)
    browser = _spanish_rep_browser(app, study)
    body = unescaped(browser.get(f"/survey/{_page_of(study, 'custom_2')}"))
    assert "Mi coach conoce bien nuestros productos." not in body or ("es", "custom_2") in listed


# --- A3: rep-facing error pages the blueprint's language choice never reaches ------------------------------------

def test_a3_the_rate_limit_page_is_english_for_an_arabic_rep(app):
    # held: the link's limit is checked in the view's decorator, after the blueprint chose the language.
    """A3 (the README: "every rep-facing page, message, error … is translated"). The language is chosen in the
    survey blueprint's before_request, which runs after Flask-Limiter's app-level check: a rep whose browser asks
    for Arabic and who opens their link once too often (an office shares one address) gets "Too many requests"
    in English, left to right. Fix: pick the rep's language in an app-level before_request registered before the
    limiter (or in ``render_error`` from the survey cookie / Accept-Language for rep-facing paths)."""
    study, team = builders.running_survey(reps=3)
    tokens = [builders.invite(study.waves[0], rep) for rep in team.reps]
    browser = app.test_client()
    arabic = {"Accept-Language": "ar"}
    statuses = [browser.get(f"/s/{tokens[i % 3]}", headers=arabic).status_code for i in range(21)]
    assert statuses[-1] == 429
    body = unescaped(browser.get(f"/s/{tokens[0]}", headers=arabic))
    assert said("ar", "Too many requests") in body and 'dir="rtl"' in body, body[:600]


def test_a3b_a_mistyped_survey_address_is_english_for_a_rep_who_chose_arabic(app):
    """A3b (same cause as A3). A rep who chose Arabic and follows a truncated or mistyped survey address
    (``/survey/2x``, which no route matches) gets the 404 page in English: the blueprint never ran."""
    study, team = builders.running_survey(reps=3)
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    assert browser.post("/survey/1", data={"language": "ar"}).status_code == 302
    assert 'dir="rtl"' in unescaped(browser.get("/survey/1"))
    body = unescaped(browser.get("/survey/2x"))
    assert said("ar", "There is no page at this address. Check the link, or start from the home page.") in body, \
        body[:800]


# --- A4: the preview in a language stops at page 1 ------------------------------------------------------------

def test_a4_the_preview_in_spanish_goes_back_to_english_at_page_2(client, app, study):
    """A4 (quality). The preview's switch is a ``?language=`` parameter, but its Next redirect drops it: a
    consultant checking the Spanish survey (their own translated questions are past page 1) sees page 2 in
    English, and never the Spanish survey beyond its first page unless they edit the URL. Fix: carry
    ``language`` in the preview's redirects (Next and Back)."""
    assert upload(client, study, fill(sheet(client, study), SPANISH)).status_code == 302
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in pages[0].questions}
    posted = client.post(f"/studies/{study.id}/preview/1?language=es", data={**data, "action": "next"})
    assert posted.status_code == 302
    body = unescaped(client.get(posted.headers["Location"]))
    assert '<html lang="es"' in body, posted.headers["Location"]


# --- A5: the language cookie outlives the rep ---------------------------------------------------------------

def test_a5_the_next_rep_on_a_shared_browser_is_shown_the_previous_reps_language(app):
    """A5 (privacy between reps, low). ``survey_language`` stays in the cookie after the submit (for the thank-you
    page) and is not reset when another rep's link opens in that browser, unless that rep has a roster language:
    on a shared office tablet or a colleague's phone the next rep's survey opens in the Arabic the previous rep
    chose — the one thing the README keeps out of every stored record. Fix: reset the language to the new rep's
    roster language or the browser's whenever a link opens with a fresh pass (or drop it at ``release``, keeping
    it only for the redirect to the thank-you page)."""
    study, team = builders.running_survey(reps=3)
    first, second = team.reps[0], team.reps[1]
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], first)}")
    assert browser.post("/survey/1", data={"language": "ar"}).status_code == 302
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    for number, each in enumerate(pages, start=1):
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in each.questions}
        action = "submit" if number == len(pages) else "next"
        assert browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    assert browser.get(f"/s/{builders.invite(study.waves[0], second)}",
                       headers={"Accept-Language": "en"}).status_code == 302
    body = unescaped(browser.get("/survey/1", headers={"Accept-Language": "en"}))
    assert '<html lang="en"' in body, body[:200]


# --- A6: the table by roster language tells a leader whether a named rep answered ---------------------------

def test_a6_the_language_table_shows_that_the_one_arabic_speaker_did_not_answer(client, app):
    """A6 (participation disclosed to leaders). Leaders hold no links and do not see the roster, but they know
    their reps (the one Arabic speaker, the Spanish-speaking desk). The pool of small languages is shown when it
    holds 0 answers, whatever its invited count: "other languages: العربية (ar) — invited 1, answered 0" tells
    the leader that this one named rep did not answer; a line whose answers equal its invited count tells that
    every one of them answered. Team counts show only from k invited and are rounded down to a multiple of k
    (F-F) for exactly this reason. Fix: show a line or the pool only where at least k are invited, and round its
    answers down to a multiple of k (or hide it when invited − answered is 1 to k−1 or answered = invited)."""
    from surveys.models import CoachingModel
    from surveys.reports.languages import language_counts

    today = date.today()
    org = builders.organisation()
    teams = [builders.team_with_reps(org, name=f"T{n}", reps=6) for n in range(3)]
    study = builders.pilot(org, list(zip(teams, [m.value for m in CoachingModel], strict=True)), today)
    reps = [rep for team in teams for rep in team.reps]
    reps[0].language = "ar"
    for rep in reps[1:7]:
        rep.language = "es"
    db.session.commit()
    wave = study.waves[0]
    builders.answer(study, wave, reps[1:], today)  # everyone but the Arabic speaker
    builders.invite(wave, reps[0], today)
    builders.close_wave(wave, today)
    assert language_counts(study, wave, today) is not None
    builders.user("leader@acme.example.com", role="leader", orgs=[org.name])
    browser = app.test_client()
    with app.app_context():  # the leader's own context
        browser.post("/login", data={"email": "leader@acme.example.com", "password": builders.PASSWORD})
        report = browser.get(f"/studies/{study.id}/report.json").get_json()
    lines = [(line["language"], line["invited"], line["n"]) for line in report["languages"]["by_roster_language"]]
    k = study.k_threshold
    assert not [line for line in lines if line[2] is not None and (line[1] < k or line[2] == line[1])], lines


# --- A7/A8: hostile translation sheets ------------------------------------------------------------------

def test_a7_invisible_and_bidi_characters_make_two_spanish_options_look_the_same(client, app, study):
    """A7 (hostile uploader, low–medium). The duplicate check compares lower-cased text and the cell check
    refuses only C0/C1 controls and line separators: a zero-width space or a right-to-left override (U+202E,
    "Trojan Source") passes. "Cada semana" and "Cada semana\u200b" are "different", yet a rep sees two
    identical options, one storing "Weekly" and the other "Monthly"; "\u202eanames adaC" renders as "Cada semana"
    too. Fix: refuse format characters (Unicode category Cf) other than ZWJ/ZWNJ/LRM/RLM in translations (and in
    question texts and options), and compare options after NFKC and removing them."""
    cells = dict(SPANISH)
    cells[("custom_1", "option 2")] = {"es": "Cada semana\u200b"}
    cells[("custom_1", "option 3")] = {"es": "\u202eanames adaC"}
    response = upload(client, study, fill(sheet(client, study), cells))
    assert response.status_code == 400, "accepted: " + str(
        db.session.scalars(select(QuestionTranslation.options)).all())


def test_a8_formulas_wrong_types_and_case_duplicates_in_the_sheet_are_refused_cleanly(client, study):
    # held: duplicate columns differing in case, an 'option 1' row for a question without options and a
    # non-string cell are all refused with a message and a 400, and nothing is written.
    """A8 (hostile uploader). Columns "es" and "ES", an "option 1" row for an agreement question, a numeric
    English cell: each a clear 4xx, nothing written."""
    workbook = builders.xlsx
    for data in (workbook([["key", "what", "en", "es", "ES"], ["custom_2", "question",
                                                                "My coach knows our products well.", "a", "b"]]),
                 workbook([["key", "what", "en", "es"], ["custom_2", "option 1", "x", "y"]]),
                 workbook([["key", "what", "en", "es"], ["custom_1", "option 1", 12.5, "y"]])):
        response = upload(client, study, data)
        assert 400 <= response.status_code < 500, response.status_code
        assert db.session.scalars(select(QuestionTranslation)).all() == []


def test_a8b_a_formula_in_a_translation_goes_back_out_as_text(client, study):
    """A8b (hostile translator → consultant's spreadsheet). A cell "=HYPERLINK(…)" typed into the sheet comes back
    in the next download as text, never a live formula."""
    # held: a translator's formula is stored as typed and written back into the next download as a string cell.
    book = sheet(client, study)
    rows = book["translations"]
    for row in rows.iter_rows(min_row=2):
        if (row[0].value, row[1].value) == ("custom_3", "question"):
            row[3].value = '=HYPERLINK("http://evil.example/","x")'  # openpyxl writes it as a formula
    for key_what, texts in SPANISH.items():
        if key_what != ("custom_3", "question"):
            for row in rows.iter_rows(min_row=2):
                if (row[0].value, row[1].value) == key_what:
                    row[3].value = texts["es"]
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, study, buffer.getvalue())
    assert response.status_code in (302, 400)
    again = client.get(f"/studies/{study.id}/questions/translations.xlsx")
    cell = next(r for r in load_workbook(io.BytesIO(again.data))["translations"].iter_rows(min_row=2)
                if r[0].value == "custom_3")[3]
    assert cell.data_type != "f"


# --- A9: a translation only one rep reads tags that rep's response --------------------------------------

def test_a9_a_spanish_only_wording_read_by_one_rep_tags_their_row_in_the_export(client, app, study):
    """A9 (insider de-anonymisation, medium). The consultant sets one rep's roster language to Spanish (the only
    one in the team; their survey starts in it) and uploads a Spanish text for an agreement question of the
    study's own that asks for an answer nobody else gives ("Control de calidad: elija «Totalmente en
    desacuerdo»"). Nobody reviews translations (leaders do not see them; the audit says only "es: 3 of 3"), the
    English survey and its preview look harmless, and agreement answers are not among the export's withheld
    facts (F-E covers choice and number only): the one row of the team with 1 is that rep's, with every other
    answer of theirs. Unlike an English "if you are Alice…", only the target ever reads it.
    Fix: treat answers to a study's own question as facts (F-E) once it has a translation, or show each
    translation's text where the leaders and the methods section read the questionnaire and in the audit entry;
    and warn (or refuse) when a roster language leaves fewer than k reps of a language in a team of a study."""
    from surveys.pilots.exports import anonymous_responses

    cells = dict(SPANISH)
    cells[("custom_2", "question")] = {"es": "Control de calidad: elija «Totalmente en desacuerdo»."}
    assert upload(client, study, fill(sheet(client, study), cells)).status_code == 302
    _open(study)
    team = study.assignments[0].team
    target, others = team.reps[0], team.reps[1:]
    browser = _spanish_rep_browser(app, study)
    pages = responding.paginate(list(study.questions))
    answers = builders.valid_answers(study.questions)
    answers["q_custom_2"] = "4"
    for number, each in enumerate(pages, start=1):
        body = unescaped(browser.get(f"/survey/{number}"))
        data = {f"q_{q.key}": answers[f"q_{q.key}"] for q in each.questions}
        if "Control de calidad" in body:
            data["q_custom_2"] = "1"  # as the only wording the rep read asks
        action = "submit" if number == len(pages) else "next"
        assert browser.post(f"/survey/{number}", data={**data, "action": action}).status_code == 302
    everyone_else = list(others) + [r for a in study.assignments[1:] for r in a.team.reps]
    builders.answer(study, study.waves[0], everyone_else, date.today(), answers=lambda rep, p: {"custom_2": "4"})
    builders.close_wave(study.waves[0], date.today())
    assert target.language == "es"
    rows = anonymous_responses(study, date.today())
    values = rows["custom_2"].astype(str).value_counts()
    rare = {value: n for value, n in values.items() if 0 < n < study.k_threshold}
    assert not rare, f"export column custom_2: {values.to_dict()}"
