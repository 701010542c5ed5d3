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
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import (
    DesignChange,
    Invitation,
    Organisation,
    Question,
    QuestionKind,
    Rep,
    Study,
    StudyMember,
    StudyStatus,
    Team,
    Wave,
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


# --- wave dates -------------------------------------------------------------------------------------------


def wave_form(wave: Wave, **changes) -> dict:
    return {"label": wave.label, "opens_on": wave.opens_on.isoformat(), "closes_on": wave.closes_on.isoformat(),
            **changes}


def test_an_open_wave_is_extended(client, running):
    wave = running.waves[0]
    later = wave.closes_on + timedelta(days=14)
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/edit",
                           data={"closes_on": later.isoformat()})  # the opening date is disabled
    assert response.status_code == 302
    assert fresh(Wave, wave.id).closes_on == later


def test_an_open_wave_s_opening_date_is_locked_and_says_why(client, running):
    wave = running.waves[0]
    page = text(client.get(f"/studies/{running.id}/waves/{wave.id}/edit"))
    assert re.search(r'<input[^>]*disabled[^>]*name="opens_on"|<input[^>]*name="opens_on"[^>]*disabled', page)
    assert f"opened on {wave.opens_on:%-d %B %Y}" in page
    moved = client.post(f"/studies/{running.id}/waves/{wave.id}/edit",
                        data=wave_form(wave, opens_on=(wave.opens_on + timedelta(days=1)).isoformat()))
    assert moved.status_code == 409 and "opened on" in text(moved)
    assert fresh(Wave, wave.id).opens_on == TODAY - timedelta(days=20)


def test_an_open_wave_cannot_be_set_to_close_before_today(client, running):
    wave = running.waves[0]
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/edit",
                           data={"closes_on": (TODAY - timedelta(days=1)).isoformat()})
    assert response.status_code == 409 and "close it early" in text(response)
    assert fresh(Wave, wave.id).closes_on == TODAY + timedelta(days=10)


def test_a_closed_wave_s_dates_are_locked(client, running):
    wave = running.waves[0]
    builders.close_wave(wave, TODAY)
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/edit",
                           data={"closes_on": (TODAY + timedelta(days=5)).isoformat()})
    assert response.status_code == 409 and "has closed" in text(response)
    assert fresh(Wave, wave.id).closes_on == TODAY - timedelta(days=1)


def test_a_wave_not_yet_open_gets_new_dates_and_label(client, running):
    wave = Wave(study_id=running.id, label="follow-up", opens_on=TODAY + timedelta(days=30),
                closes_on=TODAY + timedelta(days=40))
    db.session.add(wave)
    db.session.commit()
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/edit", data={
        "label": "follow-up 1", "opens_on": (TODAY + timedelta(days=35)).isoformat(),
        "closes_on": (TODAY + timedelta(days=50)).isoformat()})
    assert response.status_code == 302
    edited = fresh(Wave, wave.id)
    assert (edited.label, edited.opens_on, edited.closes_on) == (
        "follow-up 1", TODAY + timedelta(days=35), TODAY + timedelta(days=50))
    taken = client.post(f"/studies/{running.id}/waves/{wave.id}/edit", data=wave_form(edited, label="W1"))
    assert taken.status_code == 409 and "already has a wave called" in text(taken)
    backwards = client.post(f"/studies/{running.id}/waves/{wave.id}/edit", data=wave_form(
        edited, opens_on=(TODAY - timedelta(days=2)).isoformat()))
    assert backwards.status_code == 409 and "today or later" in text(backwards)
    assert fresh(Wave, wave.id).opens_on == TODAY + timedelta(days=35)


def close_early(client, study, wave, confirm=True):
    return client.post(f"/studies/{study.id}/waves/{wave.id}/close-early", data={"confirm": "yes"} if confirm else {})


def test_closing_a_wave_early_asks_first_and_says_what_happens(client, running):
    wave = running.waves[0]
    builders.invite(wave, running.assignments[0].team.reps[0], TODAY)
    asked = close_early(client, running, wave, confirm=False)
    assert asked.status_code == 200
    page = text(asked)
    assert "Close the wave “w1” today" in page and "their links stop working at once (1 rep was invited" in page
    assert 'name="confirm"' in page
    assert fresh(Wave, wave.id).is_open(TODAY)


def test_the_close_early_page_tells_no_exact_count_of_an_open_wave(client, running):
    """Invited minus links still unused would be the open wave's exact number of responses, which its
    counts show only in steps of k: the page says how many were invited, never how many links die."""
    wave = running.waves[0]
    reps = [rep for a in running.assignments for rep in a.team.reps]
    builders.answer(running, wave, reps[:7], TODAY)
    builders.invite(wave, reps[7], TODAY)
    page = text(close_early(client, running, wave, confirm=False))
    assert "8 reps were invited" in page
    assert not re.search(r"\b[17] (unused |open )?links?\b", page)
    assert not re.search(r"\b7 (reps )?(have )?answered", page)


def test_a_wave_closed_early_is_closed_for_reps_the_report_and_the_export(client, running):
    wave = running.waves[0]
    reps = [rep for a in running.assignments for rep in a.team.reps]
    builders.answer(running, wave, reps[:-1], TODAY)
    late = builders.invite(wave, reps[-1], TODAY)
    response = close_early(client, running, wave)
    assert response.status_code == 302
    closed = fresh(Wave, wave.id)
    assert (closed.closes_on, closed.planned_closes_on) == (TODAY, TODAY + timedelta(days=10))
    assert closed.is_closed(TODAY) and not closed.is_open(TODAY)
    assert client.get(f"/s/{late}").status_code == 410  # the rep who had not answered: closed
    report = text(client.get(f"/studies/{running.id}/report"))
    assert "No results yet" not in report and "w1" in report
    assert client.get(f"/studies/{running.id}/exports/responses.csv").status_code == 200
    # Reading the first closed wave froze the study's population, as a wave closing on its date does.
    assert db.session.scalar(select(func.count()).select_from(StudyMember)) == len(reps)
    assert "closed early" in text(client.get(f"/studies/{running.id}/waves/{wave.id}"))


def test_reopening_a_wave_closed_early_that_nobody_answered(client, running):
    wave = running.waves[0]
    close_early(client, running, wave)
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/reopen")
    assert response.status_code == 302
    reopened = fresh(Wave, wave.id)
    assert (reopened.closes_on, reopened.planned_closes_on) == (TODAY + timedelta(days=10), None)
    assert reopened.is_open(TODAY)


def test_a_closed_wave_that_someone_answered_is_never_reopened(client, running):
    """Its results were out the moment it closed: reopened and closed again, the two versions of its report
    would differ by exactly the people who answered in between."""
    wave = running.waves[0]
    builders.answer(running, wave, running.assignments[0].team.reps[:5], TODAY)
    close_early(client, running, wave)
    assert "No results yet" not in text(client.get(f"/studies/{running.id}/report"))
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/reopen")
    assert response.status_code == 409
    assert "compare" in text(response) and "add a new wave" in text(response)
    assert fresh(Wave, wave.id).is_closed(TODAY)


def test_reopening_is_refused_for_a_wave_that_closed_on_its_date_or_after_its_planned_date(client, running):
    wave = running.waves[0]
    builders.close_wave(wave, TODAY)
    on_date = client.post(f"/studies/{running.id}/waves/{wave.id}/reopen")
    assert on_date.status_code == 409 and "closed early" in text(on_date)
    wave = fresh(Wave, wave.id)
    wave.closes_on, wave.planned_closes_on = TODAY - timedelta(days=5), TODAY - timedelta(days=1)
    db.session.commit()
    past = client.post(f"/studies/{running.id}/waves/{wave.id}/reopen")
    assert past.status_code == 409 and "planned closing date" in text(past)
    assert fresh(Wave, wave.id).is_closed(TODAY)


def test_a_wave_of_a_closed_study_is_not_reopened(client, running):
    wave = running.waves[0]
    close_early(client, running, wave)
    study = fresh(Study, running.id)
    study.status = StudyStatus.CLOSED
    db.session.commit()
    response = client.post(f"/studies/{running.id}/waves/{wave.id}/reopen")
    assert response.status_code == 409 and "study is closed" in text(response)


def test_a_draft_wave_is_deleted_after_confirmation_and_an_open_one_is_not(client, running):
    draft = Wave(study_id=running.id, label="later", opens_on=TODAY + timedelta(days=30),
                 closes_on=TODAY + timedelta(days=40))
    db.session.add(draft)
    db.session.commit()
    asked = client.post(f"/studies/{running.id}/waves/{draft.id}/delete")
    assert asked.status_code == 200 and "Delete the wave “later”" in text(asked)
    assert fresh(Wave, draft.id) is not None
    assert client.post(f"/studies/{running.id}/waves/{draft.id}/delete", data={"confirm": "yes"}).status_code == 302
    assert fresh(Wave, draft.id) is None
    open_wave = running.waves[0]
    refused = client.post(f"/studies/{running.id}/waves/{open_wave.id}/delete", data={"confirm": "yes"})
    assert refused.status_code == 409 and "has opened" in text(refused)
    assert fresh(Wave, open_wave.id) is not None


# --- deleting a draft study -------------------------------------------------------------------------------


def test_a_draft_study_is_deleted_after_confirmation(client, org):
    study = builders.study(org, today=TODAY + timedelta(days=30))
    asked = client.post(f"/studies/{study.id}/delete")
    assert asked.status_code == 200 and "Delete the study “Pilot”" in text(asked)
    assert fresh(Study, study.id) is not None
    response = client.post(f"/studies/{study.id}/delete", data={"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organisations/{org.id}")
    assert fresh(Study, study.id) is None
    assert db.session.scalar(select(func.count()).select_from(Question)) == 0


def test_a_running_study_is_not_deleted(client, running):
    response = client.post(f"/studies/{running.id}/delete", data={"confirm": "yes"})
    assert response.status_code == 409 and "only a draft" in text(response)
    assert fresh(Study, running.id) is not None


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
