"""No dead ends: every POST route answers a refused input with a rendered page, its message and a 4xx.

A browser does not follow a redirect that carries a 4xx status: it shows the bare "Redirecting…"
body, and the flashed message is lost (ux review D1). So a refusal re-renders the page it came from,
with the form as entered and the message next to the field (or at the top) — never a redirect.

The routes are read from ``app.url_map``. Each POST route needs a case in ``CASES``: who posts, to
which objects of the world, what, and the message the page must show.
**A POST route added later fails ``test_every_post_route_has_a_refusal_case`` until it is given a
case here** — that is intended: a new form states how it refuses before it is merged.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from flask import url_for

from surveys import accounts
from surveys.extensions import db
from surveys.models import CoachingModel, StudyStatus, TokenPurpose, Wave
from surveys.organisations import uploads
from surveys.studies import create_study
from tests import builders


@dataclass(frozen=True)
class Case:
    """A refused POST: who sends it, to which objects of the world, what, and the message the page shows."""

    who: str  # "consultant", "anonymous" or "rep"
    values: Callable[[dict], dict]  # the route's URL values, from the world
    message: str
    status: int = 409
    data: Callable[[dict], dict] = field(default=lambda world: {})
    csrf: bool = True  # False: the refusal is the missing CSRF token itself


TOMORROW = (date.today() + timedelta(days=1)).isoformat()
IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()

CASES: dict[str, Case] = {
    "auth.login": Case("anonymous", lambda w: {}, "This field is required.", 400,
                       lambda w: {"email": "", "password": "whatever1"}),
    "auth.logout": Case("consultant", lambda w: {}, "Form expired", 400, csrf=False),
    "auth.forgot_password": Case("anonymous", lambda w: {}, "This field is required.", 400,
                                 lambda w: {"email": ""}),
    "auth.set_password": Case("anonymous", lambda w: {"token": w["reset_token"]}, "The two passwords do not match.",
                              400, lambda w: {"password": "a long new password", "confirm": "another one"}),
    "organisations.index": Case("consultant", lambda w: {}, "You already have an organisation called 'Acme Sales'.",
                                400, lambda w: {"name": "Acme Sales"}),
    "organisations.invite_person": Case("consultant", lambda w: {"organisation_id": w["org"]},
                                        "This field is required.", 400, lambda w: {"email": "", "role": "leader"}),
    "organisations.person_link": Case(
        "consultant", lambda w: {"organisation_id": w["org"], "user_id": w["consultant_id"]},
        "has set a password already", 409),
    "organisations.person_role": Case(
        "consultant", lambda w: {"organisation_id": w["org"], "user_id": w["leader_id"]}, "Not a valid choice", 400,
        lambda w: {"role": "owner"}),
    "organisations.person_remove": Case(
        "consultant", lambda w: {"organisation_id": w["org"], "user_id": w["consultant_id"]},
        "You are the only consultant of Acme Sales, so removing yourself would leave it with nobody", 409),
    "organisations.upload": Case("consultant", lambda w: {"organisation_id": w["org"], "kind_name": "roster"},
                                 "Choose a file to import.", 400),
    "organisations.mapping": Case(
        "consultant", lambda w: {"organisation_id": w["org"], "kind_name": "roster", "upload_id": w["upload"]},
        "Choose the column that holds Team: it is required.", 400,
        lambda w: {"map_team": "", "map_name": "Person"}),
    "organisations.sessions": Case(
        "consultant", lambda w: {"organisation_id": w["org"]}, "The date is in the future.", 400,
        lambda w: {"who": f"team:{w['team']}", "coach_model": "peer", "session_date": TOMORROW, "minutes": "30"}),
    "organisations.new_study": Case(
        "consultant", lambda w: {"organisation_id": w["org"]}, "This field is required.", 400,
        lambda w: {"name": "", "models": ["manager", "peer"], "unit": "team", "primary_outcome": "satisfaction",
                   "k_threshold": "5"}),
    "pilots.assignment": Case("consultant", lambda w: {"study_id": w["opened"]},
                              "Not randomised: the assignment is locked", 409, lambda w: {"seed": "3"}),
    "pilots.change": Case("consultant", lambda w: {"study_id": w["bare_randomised"]},
                          "Say why the assignment is changed.", 400,
                          lambda w: {"assignment_id": w["assignment"], "model": w["other_model"], "reason": ""}),
    "pilots.design": Case("consultant", lambda w: {"study_id": w["bare"]}, "k is between 3 and 100", 400,
                          lambda w: {"name": "Pilot", "models": ["manager", "peer"], "unit": "team",
                                     "primary_outcome": "satisfaction", "k_threshold": "2"}),
    "pilots.translations_upload": Case("consultant", lambda w: {"study_id": w["bare"]},
                                       "this study has no questions of its own", 409),
    "pilots.questions": Case("consultant", lambda w: {"study_id": w["bare"]}, "This field is required.", 400,
                             lambda w: {"text": "", "kind": "agree5"}),
    "pilots.delete_question": Case(
        "consultant", lambda w: {"study_id": w["bare"], "question_id": w["builtin_question"]},
        "Not removed: questions of the built-in instrument cannot be removed: every study asks them", 409),
    "pilots.add_wave_view": Case(
        "consultant", lambda w: {"study_id": w["opened"]}, "the study already has a wave called 'baseline'", 409,
        lambda w: {"label": "baseline", "opens_on": TOMORROW, "closes_on": TOMORROW}),
    "pilots.wave_links": Case("consultant", lambda w: {"study_id": w["opened"], "wave_id": w["opened_wave"]},
                              "No links issued: the study has not been launched yet", 409,
                              lambda w: {"confirm": "1"}),
    "pilots.interim": Case("consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
                           "No look taken: the study's plan has no interim looks", 409, lambda w: {"confirm": "1"}),
    "pilots.wave_send": Case("consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
                             "No mail server is configured (MAIL_SERVER)", 409, lambda w: {"confirm": "1"}),
    "pilots.wave_resend_uncertain": Case("consultant", lambda w: {"study_id": w["running"],
                                                                  "wave_id": w["running_wave"]},
                                         "No mail server is configured (MAIL_SERVER)", 409),
    "pilots.launch_view": Case("consultant", lambda w: {"study_id": w["bare"]},
                               "Not launched: add at least one wave before launching.", 409,
                               lambda w: {"confirm": "1"}),
    "pilots.close_view": Case("consultant", lambda w: {"study_id": w["bare"]},
                              "Not closed: the study is draft, not running.", 409, lambda w: {"confirm": "1"}),
    # Changing what exists (issue 14 item 2): each lock refuses with its reason, on the page it came from.
    "pilots.edit_wave_view": Case(
        "consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
        "Not saved: the wave opened on", 409,
        lambda w: {"label": "baseline", "opens_on": TOMORROW, "closes_on": IN_A_MONTH}),
    "pilots.close_wave_early": Case("consultant", lambda w: {"study_id": w["opened"], "wave_id": w["opened_wave"]},
                                    "Not closed: the study is draft, not running", 409, lambda w: {"confirm": "1"}),
    "pilots.reopen_wave": Case("consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
                               "Not reopened: only a wave closed early can be reopened", 409),
    "pilots.delete_wave_view": Case("consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
                                    "Not deleted: the wave has opened", 409, lambda w: {"confirm": "1"}),
    "pilots.delete_study_view": Case("consultant", lambda w: {"study_id": w["running"]},
                                     "Not deleted: the study is running: only a draft study can be deleted", 409,
                                     lambda w: {"confirm": "1"}),
    "pilots.edit_question_view": Case(
        "consultant", lambda w: {"study_id": w["bare"], "question_id": w["builtin_question"]},
        "Not saved: questions of the built-in instrument cannot be edited", 409, lambda w: {"text": "Other words"}),
    # Reminders and note of a wave (issue 15 item 3): a day the wave does not have, next to the field.
    "pilots.wave_reminders": Case(
        "consultant", lambda w: {"study_id": w["running"], "wave_id": w["running_wave"]},
        "Not saved: day 0: a reminder goes out at least 1 day after the wave opens", 400,
        lambda w: {"days": "0", "note": ""}),
    # Checking the design by simulation (issue 17 item 4): an effect out of range, next to its field.
    "pilots.planning_simulate": Case(
        "consultant", lambda w: {"study_id": w["bare"]}, "The effect d is between 0.05 and 2 (SD units).", 400,
        lambda w: {"sim-preset": "custom", "sim-effect": "5", "sim-icc": "0.1", "sim-response_rate": "0.8"}),
    "organisations.edit": Case("consultant", lambda w: {"organisation_id": w["org"]}, "This field is required.",
                               400, lambda w: {"name": ""}),
    "organisations.rep": Case("consultant", lambda w: {"organisation_id": w["org"], "rep_id": w["rep"]},
                              "Not saved: another rep of this organisation already has this e-mail", 409,
                              lambda w: {"name": "Ada", "email": w["other_rep_email"], "team_id": w["team"]}),
    "organisations.rep_active": Case("consultant", lambda w: {"organisation_id": w["org"], "rep_id": w["rep"]},
                                     "Not changed: say whether the rep has left", 400, lambda w: {"active": "maybe"}),
    "organisations.team": Case("consultant", lambda w: {"organisation_id": w["org"], "team_id": w["team"]},
                               "Not saved: the organisation already has a team called 'T1'", 409,
                               lambda w: {"name": "T1", "region": ""}),
    "respond.preview": Case("consultant", lambda w: {"study_id": w["bare"], "number": 1},
                            "Please answer this question", 400),
    "respond.page": Case("rep", lambda w: {"number": 1}, "Please answer this question", 400),
}

# Routes that handle a missing CSRF token themselves (the rep's pages keep the answers and ask again).
OWN_CSRF_PAGE = {"respond.page": "This page was open for a long time",
                 "respond.preview": "This page was open for a long time"}


def post_routes(app) -> dict[str, object]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


@pytest.fixture
def csrf_app(make_app):
    """The app as in production for forms: CSRF checked; rate limits off (many log-ins from one address)."""
    return make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)


@pytest.fixture
def world(csrf_app):
    """One organisation with studies in the states the refusals need, a consultant and a rep's link."""
    with csrf_app.app_context():
        org = builders.organisation("Acme Sales")
        teams = [builders.team_with_reps(org, name=f"T{i}", reps=5) for i in range(3)]
        consultant = builders.user("c@acme.example.com", orgs=[org.name])
        leader = builders.user("lee@acme.example.com", role="leader", orgs=[org.name])
        reset_token = accounts.issue_account_token(leader, TokenPurpose.RESET)
        bare = create_study(org, "Bare", list(CoachingModel), seed=1)  # a draft: no waves, no assignment
        bare_randomised = create_study(org, "Bare randomised", list(CoachingModel), seed=1)
        from surveys.pilots.randomisation import randomise

        randomise(bare_randomised, date.today())
        assignment = bare_randomised.assignments[0]
        other = next(m for m in bare_randomised.coaching_models if m is not assignment.coaching_model)
        opened = builders.study(org, teams=teams)  # a draft whose wave has opened: assignment locked
        running = builders.study(org, teams=teams)
        running.status = StudyStatus.RUNNING
        db.session.commit()
        token = builders.invite(running.waves[0], teams[0].reps[0])
        upload = uploads.stage(consultant, org, uploads.KINDS["roster"], "r.csv", b"Squad,Person\nEast,Gil\n")
        return {"org": org.id, "team": teams[0].id, "rep": teams[0].reps[1].id,
                "other_rep_email": teams[0].reps[2].email, "bare": bare.id, "bare_randomised": bare_randomised.id,
                "assignment": assignment.id, "other_model": other.value, "opened": opened.id,
                "opened_wave": opened.waves[0].id, "running": running.id, "running_wave": running.waves[0].id,
                "builtin_question": bare.questions[0].id, "upload": upload.id, "token": token,
                "consultant": consultant.email, "consultant_id": consultant.id, "leader_id": leader.id,
                "reset_token": reset_token}


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def client_as(app, world, who: str):
    """A client signed in as ``who``, and a valid CSRF token of its session."""
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    if who == "consultant":
        response = client.post("/login", data={"email": world["consultant"], "password": builders.PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302
        token = csrf_token(client.get("/organisations/").get_data(as_text=True))
    elif who == "rep":
        assert client.get(f"/s/{world['token']}").status_code == 302
        token = csrf_token(client.get("/survey/1").get_data(as_text=True))
    return client, token


def url_of(app, endpoint: str, values: dict) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def assert_rendered_refusal(response, message: str, status: int | None = None) -> None:
    """A 4xx with a whole HTML page that carries ``message``: no redirect, no Location header."""
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, body[:300])
    if status is not None:
        assert response.status_code == status, (response.status_code, body[:300])
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert "<!doctype html>" in body.lower() and "</html>" in body
    assert "Redirecting..." not in body
    assert message in html.unescape(body), (message, html.unescape(body)[:3000])


def test_every_post_route_has_a_refusal_case(csrf_app):
    routes = post_routes(csrf_app)
    missing = sorted(set(routes) - set(CASES))
    assert not missing, (f"POST route(s) without a refusal case: {missing}. Add one to CASES in "
                         "tests/test_no_dead_ends.py: a refused input and the message its page shows.")
    assert not set(CASES) - set(routes), "CASES names routes that no longer exist"


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_refused_post_re_renders_a_page_with_the_message(csrf_app, world, endpoint):
    case = CASES[endpoint]
    client, token = client_as(csrf_app, world, case.who)
    data = case.data(world)
    if case.csrf:
        data["csrf_token"] = token
    response = client.post(url_of(csrf_app, endpoint, case.values(world)), data=data)
    assert_rendered_refusal(response, case.message, case.status)


@pytest.mark.parametrize("endpoint", sorted(CASES))
def test_a_post_without_a_csrf_token_gets_a_page_that_says_so(csrf_app, world, endpoint):
    case = CASES[endpoint]
    client, _ = client_as(csrf_app, world, case.who)
    response = client.post(url_of(csrf_app, endpoint, case.values(world)), data=case.data(world))
    assert_rendered_refusal(response, OWN_CSRF_PAGE.get(endpoint, "Form expired"), 400)


def test_the_message_of_a_form_refusal_stands_next_to_its_field(csrf_app, world):
    client, token = client_as(csrf_app, world, "consultant")
    response = client.post(url_of(csrf_app, "pilots.change", {"study_id": world["bare_randomised"]}), data={
        "assignment_id": world["assignment"], "model": world["other_model"], "reason": "", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="reason-error">Say why the assignment is changed.</p>', page)
    # the form as entered: the unit and the model chosen stay selected
    assert re.search(rf'<option selected value="{world["assignment"]}">|<option value="{world["assignment"]}" '
                     r'selected>', page)
    assert re.search(rf'<option selected value="{world["other_model"]}">', page)


def test_a_refusal_without_a_field_is_shown_at_the_top_of_the_page_it_came_from(csrf_app, world):
    client, token = client_as(csrf_app, world, "consultant")
    url = url_of(csrf_app, "pilots.delete_question", {"study_id": world["bare"],
                                                       "question_id": world["builtin_question"]})
    response = client.post(url, data={"csrf_token": token})
    page = html.unescape(response.get_data(as_text=True))
    assert "<h1>Questions</h1>" in page  # the questions page, not a bare error page
    assert page.index("Not removed:") < page.index("<h1>Questions</h1>")
    # and the message is not left behind to show up again on the next page
    assert "Not removed:" not in html.unescape(client.get("/studies").get_data(as_text=True))


def test_an_upload_refusal_re_renders_the_roster_page_with_the_message_next_to_the_file(csrf_app, world):
    client, token = client_as(csrf_app, world, "consultant")
    url = url_of(csrf_app, "organisations.upload", {"organisation_id": world["org"], "kind_name": "roster"})
    bad = "team,name,email,crm_id\nT0,Ada,not-an-email,C-1\n"
    response = client.post(url, data={"csrf_token": token, "file": (io.BytesIO(bad.encode()), "roster.csv")})
    assert_rendered_refusal(response, "roster.csv: nothing was imported because of the problems below.", 400)
    page = response.get_data(as_text=True)
    assert "<h1>Roster</h1>" in page and 'id="file-error"' in page
    assert "is not an e-mail address" in html.unescape(page)
    with csrf_app.app_context():
        assert db.session.query(Wave).count() == 2  # nothing else moved
