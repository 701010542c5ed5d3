"""Editing what can be edited, and being told why when it cannot (issue 14 item 2).

Every test goes through the HTTP test client on a real SQLite database: the study's name and
description, wave dates (extend, close early, reopen, edit before opening, delete), a study's own
questions, reps and teams on the roster, the organisation's name, and deleting a draft study. Each
lock is attacked as well as described: a refused change answers 4xx with the message on the page,
and nothing changes.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import g
from sqlalchemy import select

from surveys.extensions import db
from surveys.models import (
    DesignChange,
    Question,
    QuestionKind,
    Study,
    StudyStatus,
    Team,
)
from surveys.pilots.questions import NewQuestion, add_question
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")
TODAY = date.today()
CONSULTANT = "consultant@acme.example.com"


def log_in(client, email=CONSULTANT):
    """Log in afresh (the outer app context keeps Flask-Login's user in ``g`` between requests)."""
    client.post("/logout")
    g.pop("_login_user", None)
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def text(response) -> str:
    """The page's text with runs of white space (line breaks in templates) as one space."""
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def fresh(model, ident):
    """``model`` number ``ident`` as the database has it now (not the session's copy)."""
    db.session.expire_all()
    return db.session.get(model, ident)


@pytest.fixture
def org(client):
    """An organisation with four teams of six reps in two regions, and its consultant, logged in."""
    organisation = builders.organisation()
    for i, region in enumerate(("North", "North", "South", "South")):
        builders.team_with_reps(organisation, name=f"T{i}", reps=6, region=region)
    builders.user(CONSULTANT, orgs=[organisation.name])
    log_in(client)
    return organisation


def teams(org) -> list[Team]:
    return list(db.session.scalars(select(Team).where(Team.organisation_id == org.id).order_by(Team.name)))


@pytest.fixture
def running(org):
    """A running study over T0 (manager), T1 (peer), T2 (external), its wave "w1" open since 20 days ago
    and for 10 more days; T3 is in no study."""
    t0, t1, t2, _ = teams(org)
    return builders.pilot(org, [(t0, "manager"), (t1, "peer"), (t2, "external")], TODAY)


def design_form(study: Study, **changes) -> dict:
    form = {"name": study.name, "description": study.description or "",
            "models": [m.value for m in study.coaching_models], "unit": study.randomisation_unit.value,
            "stratify_by": study.stratify_by or "", "seed": study.seed, "primary_outcome": study.primary_outcome,
            "k_threshold": study.k_threshold}
    form.update(changes)
    return form


# --- the study's name and description -------------------------------------------------------------------


def test_a_running_study_s_name_and_description_are_edited_and_the_change_is_logged(client, running):
    # A browser does not send disabled fields: the locked design (models, unit, strata, seed) is left out.
    form = {key: value for key, value in design_form(running).items()
            if key not in ("models", "unit", "stratify_by", "seed")}
    response = client.post(f"/studies/{running.id}/design", data={
        **form, "name": "Who coaches best, 2027", "description": "Q1 pilot in the Nordics."})
    assert response.status_code == 302
    study = fresh(Study, running.id)
    assert (study.name, study.description) == ("Who coaches best, 2027", "Q1 pilot in the Nordics.")
    logged = {(c.setting, c.old_value, c.new_value) for c in db.session.scalars(select(DesignChange))}
    assert logged == {("name", "Pilot", "Who coaches best, 2027"), ("description", "", "Q1 pilot in the Nordics.")}
    page = text(client.get(f"/studies/{running.id}/design"))
    assert "Q1 pilot in the Nordics." in page and "Who coaches best, 2027" in page and CONSULTANT in page
    assert "Q1 pilot in the Nordics." in text(client.get(f"/studies/{running.id}"))


def test_a_renamed_study_is_not_a_deviation_printed_in_the_report(client, running):
    from surveys.reports.report import _deviations

    client.post(f"/studies/{running.id}/design", data=design_form(running, name="Renamed"))
    assert fresh(Study, running.id).name == "Renamed"
    assert _deviations(fresh(Study, running.id)) == ()


def test_the_locked_design_is_shown_disabled_with_the_reason(client, running):
    page = text(client.get(f"/studies/{running.id}/design"))
    opened = running.waves[0].opens_on
    assert f"Locked since the first wave (“w1”) opened on {opened:%-d %B %Y}" in page
    assert "would invalidate the randomisation" in page
    for name in ("models", "unit", "stratify_by", "seed"):
        assert re.search(rf'<(input|select)[^>]*disabled[^>]*name="{name}"|<(input|select)[^>]*name="{name}"[^>]*'
                         r"disabled", page), name
    assert not re.search(r'<input[^>]*disabled[^>]*name="name"|<input[^>]*name="name"[^>]*disabled', page)


def test_a_locked_design_field_posted_anyway_is_still_refused(client, running):
    response = client.post(f"/studies/{running.id}/design", data=design_form(running, models=["manager", "peer"]))
    assert response.status_code == 409 and "locked" in text(response)
    assert len(fresh(Study, running.id).coaching_models) == 3


# --- the study's own questions ----------------------------------------------------------------------------


@pytest.fixture
def draft_with_question(org):
    study = builders.study(org, today=TODAY + timedelta(days=30))
    question = add_question(study, NewQuestion(text="Which channel?", kind=QuestionKind.CHOICE,
                                               options=("Phone", "Video")), TODAY)
    return study, question


def test_a_draft_study_s_own_question_is_edited(client, draft_with_question):
    study, question = draft_with_question
    version = study.questions_version
    response = client.post(f"/studies/{study.id}/questions/{question.id}/edit", data={
        "text": "Which channel do you sell through most?", "options": "Phone\nVideo\nIn person", "required": "y"})
    assert response.status_code == 302
    edited = fresh(Question, question.id)
    assert (edited.text, edited.options, edited.required) == (
        "Which channel do you sell through most?", "Phone\nVideo\nIn person", True)
    assert fresh(Study, study.id).questions_version > version


def test_a_question_edit_is_checked_like_a_new_question(client, draft_with_question):
    study, question = draft_with_question
    response = client.post(f"/studies/{study.id}/questions/{question.id}/edit",
                           data={"text": "Which channel?", "options": "Phone"})
    assert response.status_code == 409 and "at least two options" in text(response)
    assert fresh(Question, question.id).options == "Phone\nVideo"


def test_questions_lock_at_launch_and_the_page_says_since_when(client, draft_with_question):
    study, question = draft_with_question
    study.status, study.launched_at = StudyStatus.RUNNING, builders_launched_at()
    db.session.commit()
    response = client.post(f"/studies/{study.id}/questions/{question.id}/edit",
                           data={"text": "Changed after launch?", "options": "Phone\nVideo"})
    assert response.status_code == 409
    assert f"since the study was launched on {TODAY - timedelta(days=2):%-d %B %Y}" in text(response)
    assert fresh(Question, question.id).text == "Which channel?"
    added = client.post(f"/studies/{study.id}/questions", data={"text": "Late?", "kind": "agree5"})
    assert added.status_code == 400 and "launched" in text(added)
    page = text(client.get(f"/studies/{study.id}/questions"))
    assert "since the study was launched on" in page and "Edit</a>" not in page


def builders_launched_at():
    from datetime import datetime, time

    return datetime.combine(TODAY - timedelta(days=2), time(9, 30))


def test_built_in_questions_are_not_edited(client, draft_with_question):
    study, _ = draft_with_question
    builtin_question = next(q for q in study.questions if q.instrument)
    response = client.post(f"/studies/{study.id}/questions/{builtin_question.id}/edit",
                           data={"text": "Something else", "options": ""})
    assert response.status_code == 409 and "built-in instrument" in text(response)
