"""Adversary, second pass (issue 18, reps answer in their own language): what a rep reads in es/de/fr/ar in states
the first pass (tests/test_adversary_issue18.py, A1–A9) did not walk, right-to-left and mixed-direction text in
pages and e-mails, numbers typed the way the rep's language writes them, and the consultant's pages in a browser
that also answered a survey. Each test performs one attack; a failing test is a finding (B1, B2, …). Tests marked
"# held" are attacks the code withstands, kept because they are meaningful.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest

from surveys.extensions import db
from surveys.models import QuestionKind, StudyStatus
from surveys.pilots.questions import NewQuestion
from surveys.respond import survey as responding
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")
LATIN_STUDY = "Acme Q1 pilot (EMEA)!"
HEBREW_STUDY = "פיילוט אימון!"


def unescaped(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def isolated(markup: str, text: str) -> bool:
    """Whether ``text`` appears direction-isolated: in a <bdi>, in an element with a dir attribute, or between
    Unicode isolates (FSI/LRI/RLI … PDI), so that its punctuation is not moved by the text around it."""
    escaped = re.escape(html.escape(text, quote=True)) + "|" + re.escape(text)
    return bool(re.search(rf"<bdi[^>]*>\s*(?:{escaped})\s*</bdi>", markup)
                or re.search(rf'<[a-z]+[^>]*\sdir="(?:auto|ltr|rtl)"[^>]*>\s*(?:{escaped})\s*<', markup)
                or re.search(rf"[\u2066\u2067\u2068](?:{escaped})\u2069", markup))


def _survey(today=None, questions=(), language="ar"):
    """A running study (one external team of six, every rep with ``language`` on the roster); questions of its
    own are added before the wave opens, then the wave is opened yesterday."""
    study, team = builders.running_survey(model="external", today=date.today() + timedelta(days=5),
                                          questions=questions)
    study.waves[0].opens_on = date.today() - timedelta(days=1)
    for rep in team.reps:
        rep.language = language
    db.session.commit()
    return study, team


def _page_of(study, key) -> int:
    pages = responding.paginate(list(study.questions))
    return next(i for i, p in enumerate(pages, start=1) if any(q.key == key for q in p.questions))


def _arabic_mail(app, study, wave, name="Jo O'Neil-Smith", language="ar"):
    from surveys.pilots.invitations import IssuedLink, _message

    with app.test_request_context("/"):
        return _message(study, wave, IssuedLink(1, name, "r@example.com", "", "http://x/s/t", language), False)


# --- B1: the link's refusal pages ignore the roster language -------------------------------------------------

@pytest.mark.parametrize("state", ["not open yet", "wave closed", "used on another device", "replaced"])
def test_b1_an_arabic_reps_link_refused_in_a_fresh_browser_is_english(app, state):
    """B1 (rep-facing English, medium). The roster says Arabic and the invitation came in Arabic, but the rep's
    phone asks for English (very common). ``/s/<token>`` chooses the roster language only *after* the link is
    redeemed, and the language of the request was picked before the view (session, else Accept-Language): every
    refusal of the link itself — not open yet (with its dates), closed, already used (opened again on another
    device), replaced by a newer link — is in English, while the e-mail that sent the rep there was Arabic.
    Fix: look up the link's roster language before raising (e.g. have ``survey.redeem``/``open_link`` return the
    language with the refusal, or catch ``SurveyUnavailable`` in ``redeem`` and re-render it in
    ``invitation.rep.language`` via ``languages.use``)."""
    from surveys.respond.sealing import new_key
    from surveys.respond.submit import submit

    study, team = _survey()
    wave, rep = study.waves[0], team.reps[0]
    token = builders.invite(wave, rep)
    if state == "not open yet":
        wave.opens_on, wave.closes_on = date.today() + timedelta(days=3), date.today() + timedelta(days=9)
    elif state == "wave closed":
        wave.opens_on, wave.closes_on = date.today() - timedelta(days=9), date.today() - timedelta(days=1)
    elif state == "used on another device":
        submit(responding.redeem(token, date.today()), new_key(), builders.valid_answers_by_key(study.questions),
               date.today())
    else:
        builders.invite(wave, rep)
    db.session.commit()
    response = app.test_client().get(f"/s/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 400 <= response.status_code < 500
    body = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in body, f"{state}: " + builders.page_text(response)[:160]


# --- B2: the consultant's note in an Arabic e-mail is laid out right to left ---------------------------------

def test_b2_an_english_note_in_an_arabic_invitation_has_no_direction_of_its_own(app):
    """B2 (mixed direction, medium). The note is "sent as typed" (README), most often in English, but the HTML
    e-mail puts it in a ``<blockquote>`` that inherits ``dir="rtl"``: "Thanks for your help!" is right-aligned and
    reads "!Thanks for your help", "Call 555-0100 before 5 p.m." is reordered. Fix: ``dir="auto"`` on the
    blockquote — better, one ``<p dir="auto">`` (or ``<div dir="auto">``) per paragraph of the note, since a
    note written "in several languages" (README) mixes directions by paragraph."""
    study, _ = builders.running_survey(model="peer")
    wave = study.waves[0]
    wave.note = "Thanks for your help!\nشكرًا لمساعدتكم!"
    db.session.commit()
    markup = _arabic_mail(app, study, wave).get_body(("html",)).get_content()
    quote = re.search(r"<blockquote[^>]*>.*?</blockquote>", markup, re.S).group(0)
    assert re.search(r'<blockquote[^>]*\sdir="auto"', quote) or quote.count('dir="auto"') >= 2, quote


@pytest.mark.browser
def test_b2b_in_chromium_the_arabic_invitation_shows_the_notes_exclamation_mark_before_thanks(app, phone):
    """B2b (the same, seen). The Arabic invitation's HTML rendered in Chromium: the '!' ending the English note
    is drawn left of its 'T' (Latin study and rep names are B3)."""
    study, _ = builders.running_survey(model="peer")
    study.name = LATIN_STUDY
    wave = study.waves[0]
    wave.note = "Thanks for your help!"
    db.session.commit()
    phone.set_content(_arabic_mail(app, study, wave).get_body(("html",)).get_content())
    order = phone.evaluate("""(pairs) => pairs.map(([whole, first, last]) => {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      let node; while ((node = walker.nextNode()) && !node.data.includes(whole)) {}
      const start = node.data.indexOf(whole), at = (i) => { const r = document.createRange();
        r.setStart(node, i); r.setEnd(node, i + 1); return r.getBoundingClientRect().left; };
      return [whole, at(start + whole.indexOf(first)), at(start + whole.lastIndexOf(last))];
    })""", [["Thanks for your help!", "T", "!"]])
    wrong = [whole for whole, first, last in order if last < first]
    assert wrong == [], f"drawn with the '!' before the first letter: {wrong}"


# --- B3: Latin names inside Arabic text, a Hebrew name inside English text, are not isolated ------------------

def test_b3_the_latin_study_and_rep_names_in_an_arabic_invitation_are_not_isolated(app):
    """B3 (mixed direction, low–medium). A Latin study name ("Acme Q1 pilot (EMEA)!") or rep name ("Jo Smith Jr.")
    inside an Arabic sentence is at the mercy of the bidi algorithm for its trailing punctuation (Chromium's
    bracket pairing happens to save "(EMEA)!" before "»"; plain-text mail clients and a '.' or '-' at the end
    do not fare as well). Neither the study name nor the rep's name is wrapped in ``<bdi>`` (or ``dir="auto"``)
    in the HTML part, nor between FSI … PDI in the subject and plain part. Fix: ``<bdi>{{ study_name }}</bdi>``
    and ``<bdi>{{ name }}</bdi>`` in the HTML, U+2068 … U+2069 around them in the subject and text."""
    study, _ = builders.running_survey(model="peer")
    study.name = LATIN_STUDY
    db.session.commit()
    message = _arabic_mail(app, study, study.waves[0], name="Jo Smith Jr.")
    markup = message.get_body(("html",)).get_content()
    plain = message.get_body(("plain",)).get_content()
    assert {"study name (html)": isolated(markup, LATIN_STUDY), "rep name (html)": isolated(markup, "Jo Smith Jr."),
            "study name (text)": isolated(plain, LATIN_STUDY),
            "study name (subject)": isolated(str(message["Subject"]), LATIN_STUDY)} == dict.fromkeys(
        ("study name (html)", "rep name (html)", "study name (text)", "study name (subject)"), True)


def test_b3b_a_hebrew_study_name_in_an_english_invitation_is_not_isolated(app):
    """B3b (mixed direction, low). The other way round: a study named in Hebrew (or Arabic) inside the English
    sentence "the study “פיילוט אימון!” asks you…" — its '!' lands on the wrong side. Fix as B3."""
    study, _ = builders.running_survey(model="peer")
    study.name = HEBREW_STUDY
    db.session.commit()
    markup = _arabic_mail(app, study, study.waves[0], language="en").get_body(("html",)).get_content()
    assert isolated(markup, HEBREW_STUDY), re.search(r"<p>We would like.*?</p>", markup, re.S).group(0)


def test_b3c_the_closed_study_page_in_arabic_does_not_isolate_the_latin_study_name(app):
    """B3c (mixed direction, low–medium). The rep-facing "The study “%(study)s” has ended" in Arabic, with a Latin
    study name, is a plain escaped string in ``unavailable.html``: the name is not in a ``<bdi>``. Fix: build the
    message as Markup with ``<bdi>`` around the (escaped) name, or FSI … PDI in the string."""
    study, team = _survey()
    study.name = LATIN_STUDY
    db.session.commit()
    browser = app.test_client()
    assert browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}").status_code == 302
    study.status = StudyStatus.CLOSED
    db.session.commit()
    response = browser.get("/survey/1")
    assert response.status_code == 410 and 'lang="ar"' in response.get_data(as_text=True)
    assert isolated(response.get_data(as_text=True), LATIN_STUDY), builders.page_text(response)[:300]


# --- B4: the Arabic e-mail's direction is only on <html> ----------------------------------------------------

def test_b4_the_arabic_invitation_sets_its_direction_only_on_the_html_element(app):
    """B4 (RTL, medium). The Arabic HTML part says ``<html lang="ar" dir="rtl">`` and nothing inside ``<body>`` does.
    Webmail (Gmail, Outlook on the web) drops the ``<html>`` and ``<head>`` of a message and keeps the body's
    content: there the whole Arabic e-mail is laid out left to right, left-aligned, its punctuation scrambled.
    Fix: repeat ``dir="rtl"`` (and ``lang``) on ``<body>`` and on a wrapping ``<div>`` (and ``text-align: right``
    for clients that drop attributes too)."""
    study, _ = builders.running_survey(model="peer")
    markup = _arabic_mail(app, study, study.waves[0]).get_body(("html",)).get_content()
    body = markup.split("<body", 1)[1]
    assert re.search(r'^[^>]*\sdir="rtl"', body) and re.search(r'<div[^>]*\sdir="rtl"', body), body[:200]


# --- B5: a study's own choice options left in English are not marked as English ------------------------------

def test_b5_untranslated_english_options_on_an_arabic_page_are_not_marked_english_left_to_right(app):
    """B5 (RTL, medium). An own question without an Arabic translation is shown in English: its legend is wrapped
    in ``<span lang="en" dir="ltr">`` but its option labels are not. On the Arabic page "6+" is drawn "+6",
    "Never!" as "!Never", and a screen reader reads "Weekly" with an Arabic voice. Fix: the same
    ``lang="en" dir="ltr"`` span (or attributes) on each option label of an untranslated question."""
    study, team = _survey(questions=[NewQuestion("How many coaching sessions did you have?", QuestionKind.CHOICE,
                                                 required=True, options=("0", "1-2", "3-5", "6+"))])
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    body = browser.get(f"/survey/{_page_of(study, 'custom_1')}").get_data(as_text=True)
    assert 'lang="ar"' in body and "This question is shown in English" not in body
    labels = re.findall(r'<input[^>]*name="q_custom_1"[^>]*value="6\+"[^>]*>\s*(<span[^>]*>)', body)
    assert labels and 'lang="en"' in labels[0] and 'dir="ltr"' in labels[0], labels


@pytest.mark.browser
def test_b5b_in_chromium_the_option_6_plus_reads_plus_6_on_the_arabic_page(app, phone):
    """B5b (the same, seen): the rendered Arabic page in Chromium draws the '+' of "6+" left of the '6'."""
    study, team = _survey(questions=[NewQuestion("How many coaching sessions did you have?", QuestionKind.CHOICE,
                                                 required=True, options=("0", "1-2", "3-5", "6+"))])
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    phone.set_content(browser.get(f"/survey/{_page_of(study, 'custom_1')}").get_data(as_text=True))
    six, plus = phone.evaluate("""() => {
      const span = [...document.querySelectorAll('label.option span')].find(s => s.textContent === '6+');
      const at = (i) => { const r = document.createRange(); r.setStart(span.firstChild, i);
        r.setEnd(span.firstChild, i + 1); return r.getBoundingClientRect().left; };
      return [at(0), at(1)];
    }""")
    assert plus > six, "the option '6+' is drawn as '+6'"


# --- B6: the comment box takes its direction from the page, not from what is typed ---------------------------

@pytest.mark.parametrize("language", ["ar", "de"])
def test_b6_the_comment_box_has_no_dir_auto(app, language):
    """B6 (mixed direction, low). The README tells reps a comment is kept "as written, in its language"; the
    textarea has no ``dir="auto"``, so an Arabic speaker whose survey is German (or English) types right-to-left
    text in a left-to-right box, and an Arabic-page rep who writes in English sees "!great coach" while typing.
    Fix: ``dir="auto"`` on the survey's textareas (and on the number input, harmless)."""
    study, team = _survey(language=language)
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    body = browser.get(f"/survey/{_page_of(study, 'comment')}").get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*>", body).group(0)
    assert 'dir="auto"' in textarea, textarea


# --- B7–B9: numbers as the rep's language writes them ------------------------------------------------------

CALLS = NewQuestion("How many customer calls did you make this quarter?", QuestionKind.NUMBER, minimum=0,
                    maximum=5000)


def _number_page(app, language):
    study, team = _survey(questions=[CALLS], language=language)
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    return browser, _page_of(study, "custom_1")


def _shown_value(browser, number) -> str | None:
    body = browser.get(f"/survey/{number}").get_data(as_text=True)
    found = re.search(r'<input[^>]*name="q_custom_1"[^>]*>', body).group(0)
    value = re.search(r'value="([^"]*)"', found)
    return value.group(1) if value else None


@pytest.mark.parametrize("language", ["de", "es"])
def test_b7_one_thousand_two_hundred_calls_typed_the_german_way_is_stored_as_1_point_2(app, language):
    """B7 (numbers that agree, medium). German and Spanish write 1200 as "1.200" (the page's own hint, "12 oder
    3,5", tells the rep that a comma is the decimal sign, so a point reads as grouping). ``NumberField`` turns a
    single comma into a point and otherwise calls ``float``: "1.200" is accepted silently as 1.2, inside the range
    0–5000, and averaged with everyone else's counts. Fix: parse with the request's locale
    (``babel.numbers.parse_decimal(text, locale, strict=True)``), and refuse, with the message, a number whose
    separators are ambiguous in that locale rather than guess."""
    browser, number = _number_page(app, language)
    response = browser.post(f"/survey/{number}", data={"q_custom_1": "1.200", "action": "next"})
    if response.status_code == 400:
        return  # refused with a message: acceptable
    assert response.status_code == 302
    assert _shown_value(browser, number) in ("1200", "1.200", "1200.0"), _shown_value(browser, number)


def test_b8_a_german_reps_three_comma_five_comes_back_as_three_point_five(app):
    """B8 (rep-facing form, low). A German rep types "3,5" (as the hint says), goes on and comes back: the field
    now shows "3.5" — the draft's float written the English way (``FloatField._value`` is ``str(data)``), which
    on a German page reads as a grouping or a typo. Fix: render the field's value with ``languages.number``."""
    browser, number = _number_page(app, "de")
    assert browser.post(f"/survey/{number}", data={"q_custom_1": "3,5", "action": "next"}).status_code == 302
    assert _shown_value(browser, number) == "3,5"


def test_b9_an_arabic_keyboards_decimal_separator_is_refused(app):
    """B9 (rep-facing form, low). An Arabic phone keyboard types Arabic-Indic digits and the Arabic decimal
    separator U+066B: "٣" is accepted (``float`` reads it), but "٣٫٥" (3.5) is refused with "like 12 or 3.5".
    Fix: accept U+066B (and U+066C grouping) in Arabic, or normalise them before parsing (``parse_decimal`` with
    ``ar`` and numbering system ``arab``)."""
    browser, number = _number_page(app, "ar")
    assert browser.post(f"/survey/{number}", data={"q_custom_1": "٣", "action": "next"}).status_code == 302
    response = browser.post(f"/survey/{number}", data={"q_custom_1": "٣٫٥", "action": "next"})
    assert response.status_code == 302, builders.page_text(response)[-400:]


# --- B10: a rep's error page sends them to English pages ---------------------------------------------------

def test_b10_the_links_on_an_arabic_reps_error_page_lead_to_english_pages(app):
    """B10 (rep-facing English, low). The rep's 404/405/413/429 pages are ``errors/error.html`` on ``base.html``:
    they show the consultants' header ("تسجيل الدخول" → /login) and "الانتقال إلى الصفحة الرئيسية" → /, both
    English-only pages — the one way on from the rep's error page leaves their language (and offers a log-in
    they do not have). Fix: rep paths get the error page on ``respond/base.html`` (no nav), without the home
    link, or with a "reopen the link from your invitation" sentence instead."""
    study, team = _survey()
    browser = app.test_client()
    browser.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}")
    page = browser.get("/survey/99")
    assert page.status_code == 404 and 'lang="ar"' in page.get_data(as_text=True)
    english = []
    for href in set(re.findall(r'<a[^>]*href="(/[^"]*)"', page.get_data(as_text=True))):
        if href.startswith("/static/") or href.startswith("#"):
            continue
        target = browser.get(href, follow_redirects=True).get_data(as_text=True)
        if 'lang="ar"' not in target:
            english.append(href)
    assert english == [], f"links from the rep's Arabic error page to English pages: {english}"


# --- held: the shared session cookie does not turn the consultant's pages Arabic -------------------------------

def test_b11_a_consultant_who_answered_and_previewed_in_arabic_still_reads_english_pages(app, client):
    # held: a consultant who opened a rep link in their logged-in browser, switched it to Arabic, and previewed
    # in Arabic, gets the studies page, the study page, a consultant 404 and the preview without ?language in
    # English; the preview in Arabic has the study name but no consultant page in between changes language.
    study, team = _survey(language=None)
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    assert client.post("/login", data={"email": "c@acme.example.com",
                                       "password": builders.PASSWORD}).status_code == 302
    assert client.get(f"/s/{builders.invite(study.waves[0], team.reps[0])}").status_code == 302
    assert client.post("/survey/1", data={"language": "ar"}).status_code == 302
    assert 'lang="ar"' in client.get("/survey/1").get_data(as_text=True)
    assert 'lang="ar"' in client.get(f"/studies/{study.id}/preview/1?language=ar").get_data(as_text=True)
    for path in ("/studies", f"/studies/{study.id}", f"/studies/{study.id}/preview/2", "/studies/99999"):
        body = client.get(path, headers={"Accept-Language": "ar"}).get_data(as_text=True)
        assert '<html lang="en" dir="ltr"' in body, path


def test_b12_wtforms_own_messages_and_the_draft_replaced_flash_are_translated(make_app):
    # held: WTForms' built-in "Not a valid choice." comes in each language (Flask-WTF loads WTForms' catalogues
    # for the request's locale), and "Your saved answers were replaced on another device" is flashed in the
    # rep's language.
    app = make_app()
    with app.app_context():
        study, team = _survey(language="fr")
        token = builders.invite(study.waves[0], team.reps[0])
        page_one = {f"q_{q.key}": builders.valid_answers(study.questions)[f"q_{q.key}"]
                    for q in responding.paginate(list(study.questions))[0].questions}
    first, second = app.test_client(), app.test_client()
    first.get(f"/s/{token}")
    refused = first.post("/survey/1", data={**page_one, "q_coaching_1": "99", "action": "next"})
    assert refused.status_code == 400 and "Not a valid choice" not in unescaped(refused)
    assert first.post("/survey/1", data={**page_one, "action": "next"}).status_code == 302
    second.get(f"/s/{token}")
    assert second.post("/survey/1", data={**page_one, "action": "next"}).status_code == 302
    again = unescaped(first.get("/survey/1"))
    assert 'lang="fr"' in again and "another device" not in again and "flash-error" in again
