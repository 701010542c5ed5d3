"""The survey over real HTTP against a threaded server: concurrent submits, CSRF, preview."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Answer, Invitation, Response, SurveyDraft
from surveys.respond import survey as responding
from tests import builders
from tests.http import Browser

SUBMITTERS = 20


@pytest.fixture
def open_survey(live_app):
    """A running study with an open wave; returns (token, pages, answers)."""
    with live_app.app_context():
        study, team = builders.running_survey(model="external")
        token = builders.invite(study.waves[0], team.reps[0])
        pages = [[f"q_{q.key}" for q in page.questions] for page in responding.paginate(list(study.questions))]
        answers = builders.valid_answers(study.questions)
    return token, pages, answers


def fill(browser, pages, answers, upto):
    """Answer pages 1..upto through real form posts with CSRF tokens."""
    for number in range(1, upto + 1):
        form = browser.get(f"/survey/{number}")
        assert form.status == 200, form.text[:500]
        data = {name: answers[name] for name in pages[number - 1]}
        result = browser.post(f"/survey/{number}", {**data, "csrf_token": form.csrf_token(), "action": "next"})
        assert result.status == 302, result.text[:1000]


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Response)),
                db.session.scalar(select(func.count()).select_from(Answer)),
                db.session.scalar(select(func.count()).select_from(SurveyDraft)))


def test_twenty_concurrent_submits_with_one_link_store_exactly_one_response(live_server, live_app, open_survey):
    """Twenty tabs of the rep's browser (only the browser that saved the draft can send a whole response)."""
    token, pages, answers = open_survey
    last = len(pages)
    rep = Browser(live_server)
    assert rep.get(f"/s/{token}").status == 302
    fill(rep, pages, answers, upto=last - 1)
    browsers = [rep.tab() for _ in range(SUBMITTERS)]
    forms = []
    for browser in browsers:
        page = browser.get(f"/survey/{last}")
        assert page.status == 200
        forms.append({**{name: answers[name] for name in pages[-1]}, "csrf_token": page.csrf_token(),
                      "action": "submit"})
    start = threading.Barrier(SUBMITTERS)

    def submit(i):
        start.wait()
        return browsers[i].post(f"/survey/{last}", forms[i])

    with ThreadPoolExecutor(SUBMITTERS) as pool:
        results = list(pool.map(submit, range(SUBMITTERS)))
    statuses = sorted(r.status for r in results)
    assert all(status < 500 for status in statuses), statuses
    accepted = [r for r in results if r.status == 302]
    assert len(accepted) == 1 and accepted[0].headers["Location"].endswith("/survey/thanks")
    refused = [r for r in results if r.status == 410]
    assert len(refused) == SUBMITTERS - 1
    assert all("already been answered" in r.text for r in refused)
    responses, answer_rows, drafts = counts(live_app)
    assert responses == 1
    assert answer_rows == sum(len(p) for p in pages)
    assert drafts == 0


def test_form_without_a_csrf_token_is_refused_and_nothing_is_stored(live_server, live_app, open_survey):
    token, pages, answers = open_survey
    browser = Browser(live_server)
    browser.get(f"/s/{token}")
    result = browser.post("/survey/1", {**{n: answers[n] for n in pages[0]}, "action": "next"})
    assert result.status == 400
    assert "could not accept it yet" in result.text
    assert counts(live_app)[2] == 0


def test_form_with_a_forged_csrf_token_is_refused(live_server, live_app, open_survey):
    token, pages, answers = open_survey
    browser = Browser(live_server)
    browser.get(f"/s/{token}")
    forged = {**{n: answers[n] for n in pages[0]}, "action": "next", "csrf_token": "IjAwMDAi.forged.token"}
    assert browser.post("/survey/1", forged).status == 400
    assert counts(live_app)[2] == 0


@pytest.fixture
def short_csrf(live_app):
    live_app.config["WTF_CSRF_TIME_LIMIT"] = 1
    return live_app


def test_expired_csrf_token_shows_the_page_again_with_the_answers_kept(short_csrf, live_server, open_survey):
    token, pages, answers = open_survey
    browser = Browser(live_server)
    browser.get(f"/s/{token}")
    form = browser.get("/survey/1")
    time.sleep(2.2)  # let the one-second token expire
    data = {**{n: answers[n] for n in pages[0]}, "action": "next", "csrf_token": form.csrf_token()}
    result = browser.post("/survey/1", data)
    assert result.status == 400
    assert "Your answers are still here" in result.text
    first = pages[0][0]
    assert f'value="{answers[first]}"' in result.text and "checked" in result.text
    retry = browser.post("/survey/1", {**data, "csrf_token": result.csrf_token()})
    assert retry.status == 302
    with short_csrf.app_context():
        assert db.session.scalar(select(Invitation.used)) is False


def test_consultant_previews_the_survey_without_storing_anything(live_server, live_app):
    with live_app.app_context():
        org = builders.organisation()
        builders.user("c@acme.example.com", orgs=[org.name])
        study = builders.study(org)
        other = builders.study(builders.organisation("Other Co"))
        pages = [[f"q_{q.key}" for q in page.questions] for page in responding.paginate(list(study.questions))]
        answers = builders.valid_answers(study.questions)
        study_id, other_id = study.id, other.id
    browser = Browser(live_server)
    login = browser.get("/login")
    assert browser.post("/login", {"email": "c@acme.example.com", "password": builders.PASSWORD,
                                   "csrf_token": login.csrf_token()}).status == 302
    for number, names in enumerate(pages, start=1):
        page = browser.get(f"/studies/{study_id}/preview/{number}")
        assert page.status == 200 and "Nothing you enter is stored" in page.text
        result = browser.post(f"/studies/{study_id}/preview/{number}",
                              {**{n: answers[n] for n in names}, "csrf_token": page.csrf_token(), "action": "next"})
        assert result.status == (200 if number == len(pages) else 302)
    assert "End of the preview" in result.text
    assert counts(live_app) == (0, 0, 0)
    assert browser.get(f"/studies/{other_id}/preview/1").status == 404


def test_a_double_clicked_page_is_saved_once_without_an_error(live_server, live_app, open_survey):
    token, pages, answers = open_survey
    rep = Browser(live_server)
    rep.get(f"/s/{token}")
    browsers = [rep.tab() for _ in range(12)]  # the same page sent twelve times at once
    forms = []
    for browser in browsers:
        page = browser.get("/survey/1")
        forms.append({**{n: answers[n] for n in pages[0]}, "csrf_token": page.csrf_token(), "action": "next"})
    start = threading.Barrier(len(browsers))

    def post(i):
        start.wait()
        return browsers[i].post("/survey/1", forms[i])

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = [r.status for r in pool.map(post, range(len(browsers)))]
    assert statuses == [302] * len(browsers)
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 1
    assert rep.get("/survey").headers["Location"].endswith("/survey/2")
    first = rep.get("/survey/1").text
    for name in pages[0]:
        assert re.search(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="{answers[name]}"', first) or re.search(
            rf'<input[^>]*name="{name}"[^>]*value="{answers[name]}"[^>]*checked', first), name
