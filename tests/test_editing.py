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


def test_k_is_shown_fixed_once_a_wave_has_closed(client, running):
    builders.close_wave(running.waves[0], TODAY)
    page = text(client.get(f"/studies/{running.id}/design"))
    assert re.search(r'<input[^>]*disabled[^>]*name="k_threshold"|<input[^>]*name="k_threshold"[^>]*disabled', page)
    assert "The anonymity threshold k is fixed since the wave “w1” closed on" in page
    renamed = client.post(f"/studies/{running.id}/design", data={
        key: value for key, value in design_form(running, name="Renamed").items()
        if key not in ("models", "unit", "stratify_by", "seed", "k_threshold")})
    assert renamed.status_code == 302 and fresh(Study, running.id).name == "Renamed"
    raised = client.post(f"/studies/{running.id}/design", data=design_form(running, k_threshold=7, change_reason="x"))
    assert raised.status_code == 409 and fresh(Study, running.id).k_threshold == 5


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
    return client.post(f"/studies/{study.id}/waves/{wave.id}/close-early", data={"confirm": "1"} if confirm else {})


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
    builders.invite(draft, running.assignments[0].team.reps[0], TODAY)
    asked = client.post(f"/studies/{running.id}/waves/{draft.id}/delete")
    assert asked.status_code == 200 and "Delete the wave “later”" in text(asked)
    assert "The 1 link issued for it stops working" in text(asked)
    assert fresh(Wave, draft.id) is not None
    assert client.post(f"/studies/{running.id}/waves/{draft.id}/delete", data={"confirm": "1"}).status_code == 302
    assert fresh(Wave, draft.id) is None
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    open_wave = running.waves[0]
    refused = client.post(f"/studies/{running.id}/waves/{open_wave.id}/delete", data={"confirm": "1"})
    assert refused.status_code == 409 and "has opened" in text(refused)
    assert fresh(Wave, open_wave.id) is not None


# --- deleting a draft study -------------------------------------------------------------------------------


def test_a_draft_study_is_deleted_after_confirmation(client, org):
    study = builders.study(org, teams=teams(org)[:3], today=TODAY + timedelta(days=30))
    study.status = StudyStatus.RUNNING  # a link issued before links needed a launch (only a launched study issues)
    db.session.commit()
    builders.invite(study.waves[0], teams(org)[0].reps[0], TODAY)
    study.status = StudyStatus.DRAFT
    db.session.commit()
    asked = client.post(f"/studies/{study.id}/delete")
    assert asked.status_code == 200 and "Delete the study “Pilot”" in text(asked)
    assert "the assignment of 3 teams" in text(asked) and "1 survey link already issued" in text(asked)
    assert fresh(Study, study.id) is not None
    response = client.post(f"/studies/{study.id}/delete", data={"confirm": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organisations/{org.id}")
    assert fresh(Study, study.id) is None
    for model in (Question, Wave, Invitation):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    assert db.session.scalar(select(func.count()).select_from(Rep)) == 24  # the roster stays


def test_a_running_study_is_not_deleted(client, running):
    response = client.post(f"/studies/{running.id}/delete", data={"confirm": "1"})
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
    study.status, study.assignments_locked_at = StudyStatus.RUNNING, builders_launched_at()  # launch locks it
    db.session.commit()
    response = client.post(f"/studies/{study.id}/questions/{question.id}/edit",
                           data={"text": "Changed after launch?", "options": "Phone\nVideo"})
    assert response.status_code == 409
    assert f"since the study was launched on {TODAY - timedelta(days=2):%-d %B %Y}" in text(response)
    assert fresh(Question, question.id).text == "Which channel?"
    added = client.post(f"/studies/{study.id}/questions", data={"text": "Late?", "kind": "agree5"})
    assert added.status_code == 409 and "launched" in text(added)  # the study's state forbids it
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


# --- reps and teams ---------------------------------------------------------------------------------------


def test_the_roster_lists_reps_by_team_searchable_and_paginated(client, org):
    big = builders.team_with_reps(org, name="Big", reps=60, region="East")
    base = f"/organisations/{org.id}/roster"
    first = text(client.get(base))
    assert "Rep Big 0" in first and "84 reps" in first and "page 1 of 2" in first and "Rep T0 0" not in first
    second = text(client.get(f"{base}?page=2"))
    assert "page 2 of 2" in second and "Rep T0 0" in second
    found = text(client.get(f"{base}?q=rep+big+1"))  # names "Rep Big 1", "Rep Big 10" … "Rep Big 19"
    assert "11 reps" in found and "Rep Big 19" in found and "Rep T0 1" not in found
    by_mail = text(client.get(f"{base}?q=rep7.{big.id}@"))
    assert "1 rep" in by_mail and "Rep Big 7" in by_mail
    in_team = text(client.get(f"{base}?team={big.id}"))
    assert "60 reps" in in_team and "Rep T0 0" not in in_team
    assert client.get(f"{base}?page=x&team=nope").status_code == 200  # bad queries fall back


def test_a_rep_s_name_email_and_team_are_edited(client, org):
    t0, _, _, t3 = teams(org)
    rep = t0.reps[0]
    response = client.post(f"/organisations/{org.id}/reps/{rep.id}", data={
        "name": "Ana Lima", "email": "ana.lima@acme.example.com", "team_id": t3.id})
    assert response.status_code == 302
    edited = fresh(Rep, rep.id)
    assert (edited.name, edited.email, edited.team_id) == ("Ana Lima", "ana.lima@acme.example.com", t3.id)


def test_a_rep_s_email_must_be_valid_and_not_another_rep_s(client, org):
    t0 = teams(org)[0]
    rep, other = t0.reps[0], t0.reps[1]
    taken = client.post(f"/organisations/{org.id}/reps/{rep.id}",
                        data={"name": rep.name, "email": other.email.upper(), "team_id": t0.id})
    assert taken.status_code == 409 and "already has this e-mail" in text(taken)
    assert f'value="{other.email.upper()}"' in taken.get_data(as_text=True)  # the form as entered
    bad = client.post(f"/organisations/{org.id}/reps/{rep.id}",
                      data={"name": rep.name, "email": "not an address", "team_id": t0.id})
    assert bad.status_code == 409 and "not a valid e-mail" in text(bad)
    assert fresh(Rep, rep.id).email == rep.email


def test_moving_a_rep_to_a_team_of_another_model_is_refused_while_the_study_runs(client, org, running):
    t0, t1, _, t3 = teams(org)
    rep = t0.reps[0]
    page = text(client.get(f"/organisations/{org.id}/reps/{rep.id}"))
    assert "Moving is limited while “Pilot” runs" in page
    for target in (t1, t3):  # peer coaching, and a team in no study (the first step of a move in two)
        response = client.post(f"/organisations/{org.id}/reps/{rep.id}",
                               data={"name": rep.name, "email": rep.email, "team_id": target.id})
        assert response.status_code == 409
        assert "would switch their coaching model" in text(response) or "would take them out" in text(response)
        assert fresh(Rep, rep.id).team_id == t0.id


def test_a_rep_moves_between_teams_of_the_same_model_or_joins_from_outside(client, org, running):
    t0, t1, _, t3 = teams(org)
    t1_assignment = next(a for a in running.assignments if a.team_id == t1.id)
    t1_assignment.coaching_model = next(a for a in running.assignments if a.team_id == t0.id).coaching_model
    db.session.commit()
    rep = t0.reps[0]
    assert client.post(f"/organisations/{org.id}/reps/{rep.id}", data={
        "name": rep.name, "email": rep.email, "team_id": t1.id}).status_code == 302
    newcomer = t3.reps[0]  # in no study yet: joining T0 is like being hired into it
    assert client.post(f"/organisations/{org.id}/reps/{newcomer.id}", data={
        "name": newcomer.name, "email": newcomer.email, "team_id": t0.id}).status_code == 302
    assert (fresh(Rep, rep.id).team_id, fresh(Rep, newcomer.id).team_id) == (t1.id, t0.id)


def test_a_roster_import_cannot_move_a_rep_across_models_either(client, org, running):
    import pandas as pd

    from surveys.organisations.imports import ImportRejected, import_roster

    t0, t1, _, _ = teams(org)
    rep = t0.reps[0]
    frame = pd.DataFrame([{"team": t1.name, "region": "", "name": rep.name, "email": rep.email,
                           "crm_id": rep.crm_id}]).astype(str)
    with pytest.raises(ImportRejected) as rejected:
        import_roster(org, frame, today=TODAY)
    assert "would switch their coaching model" in str(rejected.value.problems[0])
    assert fresh(Rep, rep.id).team_id == t0.id


def test_a_rep_is_deactivated_and_reactivated(client, org, running):
    rep = teams(org)[0].reps[0]
    assert client.post(f"/organisations/{org.id}/reps/{rep.id}/active", data={"active": "0"}).status_code == 302
    assert fresh(Rep, rep.id).active is False
    from surveys.pilots.invitations import issue_links

    issued = issue_links(fresh(Study, running.id), fresh(Study, running.id).waves[0], "http://localhost", TODAY)
    assert rep.id not in {link.rep_id for link in issued}
    assert "left" in text(client.get(f"/organisations/{org.id}/roster?q={rep.email}"))
    assert client.post(f"/organisations/{org.id}/reps/{rep.id}/active", data={"active": "1"}).status_code == 302
    assert fresh(Rep, rep.id).active is True


def test_a_team_is_renamed_and_its_region_set(client, org):
    t3 = teams(org)[3]
    response = client.post(f"/organisations/{org.id}/teams/{t3.id}", data={"name": "Southwest", "region": "West"})
    assert response.status_code == 302
    assert (fresh(Team, t3.id).name, fresh(Team, t3.id).region) == ("Southwest", "West")
    taken = client.post(f"/organisations/{org.id}/teams/{t3.id}", data={"name": "t0", "region": "West"})
    assert taken.status_code == 409 and "already has a team called" in text(taken)


def test_a_team_s_region_is_locked_while_a_study_stratified_by_region_runs(client, org, running):
    running.stratify_by = "region"
    db.session.commit()
    t0, _, _, t3 = teams(org)
    page = text(client.get(f"/organisations/{org.id}/teams/{t0.id}"))
    assert "Locked while “Pilot” runs" in page and "randomised within their regions" in page
    assert re.search(r'<input[^>]*disabled[^>]*name="region"|<input[^>]*name="region"[^>]*disabled', page)
    response = client.post(f"/organisations/{org.id}/teams/{t0.id}", data={"name": "T0", "region": "South"})
    assert response.status_code == 409 and "randomised within their regions" in text(response)
    assert fresh(Team, t0.id).region == "North"
    # Renaming stays possible (the region left out, as a disabled field is), and T3 is in no study.
    assert client.post(f"/organisations/{org.id}/teams/{t0.id}", data={"name": "T0 North"}).status_code == 302
    assert fresh(Team, t0.id).region == "North"
    assert client.post(f"/organisations/{org.id}/teams/{t3.id}", data={"name": "T3", "region": "East"}) \
        .status_code == 302


def test_a_rep_or_team_of_another_organisation_is_not_found(client, org):
    other = builders.organisation("Other Corp")
    foreign = builders.team_with_reps(other, name="Theirs")
    assert client.get(f"/organisations/{org.id}/reps/{foreign.reps[0].id}").status_code == 404
    assert client.post(f"/organisations/{org.id}/teams/{foreign.id}", data={"name": "Mine"}).status_code == 404
    rep = teams(org)[0].reps[0]
    moved = client.post(f"/organisations/{org.id}/reps/{rep.id}",
                        data={"name": rep.name, "email": rep.email, "team_id": foreign.id})
    assert moved.status_code == 400 and fresh(Rep, rep.id).team_id != foreign.id


# --- the organisation -------------------------------------------------------------------------------------


def test_the_organisation_is_renamed_unless_the_consultant_has_one_of_that_name(client, org):
    response = client.post(f"/organisations/{org.id}/edit", data={"name": "Acme Robotics"})
    assert response.status_code == 302
    assert fresh(Organisation, org.id).name == "Acme Robotics"
    client.post("/organisations/", data={"name": "Beta Corp"})
    taken = client.post(f"/organisations/{org.id}/edit", data={"name": "beta corp"})
    assert taken.status_code == 409 and "already have an organisation called" in text(taken)
    builders.organisation("Gamma Corp")  # another tenant's client: not this consultant's business
    assert client.post(f"/organisations/{org.id}/edit", data={"name": "Gamma Corp"}).status_code == 302


def test_leaders_see_no_edit_links(client, org, running):
    builders.user("leader@acme.example.com", role="leader", orgs=[org.name])
    log_in(client, "leader@acme.example.com")
    for url in (f"/studies/{running.id}", f"/studies/{running.id}/waves/{running.waves[0].id}",
                f"/organisations/{org.id}"):
        page = text(client.get(url))
        assert "/edit" not in page and "close-early" not in page and "/delete" not in page, url
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
