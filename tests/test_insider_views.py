"""Attacks by the people who run a study, on what they can see while a wave runs and on the design.

- No view moves by one response: an open wave's report is withheld from everyone, and its
  response counts move only in steps of k (never a count of 1 to k−1), so a consultant who
  watches the pages while a rep answers learns nothing about that rep's answers.
- A closed wave never shows a team's count of 1 to k−1 responses.
- k can only be raised once the first wave opens (reps were promised it); the primary outcome
  can change after launch only with a reason, recorded and printed as a deviation.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from surveys import demo as demo_module
from surveys.extensions import db
from surveys.models import Assignment, CoachingModel, DesignChange, Invitation, Study, StudyStatus, Wave
from surveys.respond.sealing import new_key
from surveys.respond.submit import submit
from surveys.respond.survey import open_link, redeem, survey_plan
from surveys.tokens import hash_token
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


def log_in(client, login_email, password=builders.PASSWORD):
    response = client.post("/login", data={"email": login_email, "password": password})
    assert response.status_code == 302


def answer(token: str, today: date | None = None) -> None:
    """One rep answers the whole survey through the real services."""
    today = today or date.today()
    link = redeem(token, today)
    plan = survey_plan(link.study_id, link.questions_version)
    submit(link, new_key(), builders.valid_answers_by_key(plan.questions), today)


def normalised(view: str, body: str):
    """A view's content with the comments (shuffled on every rebuild, on purpose) in a fixed order."""
    if ".json" not in view:
        return body
    data = json.loads(body)
    data["comments"] = {m: sorted(texts) for m, texts in (data.get("comments") or {}).items()}
    return data


def test_an_open_wave_s_report_does_not_move_when_one_rep_answers(app, client):
    seeded = demo_module.seed_demo("http://localhost")
    log_in(client, seeded.consultant.email, seeded.consultant.password)
    study_id = seeded.study_id
    views = [f"/studies/{study_id}/report.json?wave=pulse", f"/studies/{study_id}/report.json",
             f"/studies/{study_id}/report/tables.csv?wave=pulse"]
    before = [client.get(v).get_data(as_text=True) for v in views]
    answer(seeded.survey_links[0].rsplit("/", 1)[1])
    after = [client.get(v).get_data(as_text=True) for v in views]
    for view, old, new in zip(views, before, after, strict=True):
        assert normalised(view, old) == normalised(view, new), view
    data = client.get(views[0]).get_json()
    assert data["wave"] != "pulse" and "pulse" not in data["waves"]  # withheld until it closes
    assert any("pulse" in message for message in data["messages"])


def test_the_study_page_explains_that_open_waves_show_results_once_closed(app, client):
    seeded = demo_module.seed_demo("http://localhost")
    log_in(client, seeded.consultant.email, seeded.consultant.password)
    page = client.get(f"/studies/{seeded.study_id}/report?wave=pulse").get_data(as_text=True)
    # The report shows nothing of the open wave: no interim result (its looks are on the wave page, consultants only).
    assert "keep going:" not in page.lower() and "interim looks at wave" not in page.lower()
    assert "still open" in page and "appear once it closes" in page


@pytest.fixture
def two_teams(app):
    """A running study, k = 5, two teams of 6 reps (manager and peer), an open wave; every rep invited."""
    org = builders.organisation()
    builders.user(orgs=[org.name])
    teams = [builders.team_with_reps(org, name=f"Team {i}", reps=6) for i in range(2)]
    study = builders.study(org, models=("manager", "peer"), teams=teams)
    study.status = StudyStatus.RUNNING
    db.session.commit()
    wave = study.waves[0]
    tokens = [builders.invite(wave, rep) for team in teams for rep in team.reps]
    return study, wave, tokens


def shown_counts(client, study, wave) -> list[str]:
    """The 'Responses' cells of the wave page's tables."""
    page = client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True)
    rows = re.findall(r"<tr><t[dh][^>]*>[^<]*</t[dh]><td>\d+</td><td>([^<]*)</td>", page)
    assert rows, page
    return rows


def test_open_wave_counts_move_only_in_steps_of_k(client, two_teams):
    study, wave, tokens = two_teams
    log_in(client, "consultant@acme.example.com")
    seen = []
    for token in tokens[:7]:
        answer(token)
        seen.append(shown_counts(client, study, wave))
    for counts in seen:
        for text in counts:
            numbers = [int(n) for n in re.findall(r"\d+", text)]
            assert all(n % study.k_threshold == 0 and n > 0 for n in numbers), (text, counts)
    # the page changed at most once in the first seven responses: when the fifth arrived
    assert len({tuple(c) for c in seen}) <= 2


def test_a_closed_wave_never_shows_a_team_count_below_k(client, two_teams):
    study, wave, tokens = two_teams
    for token in tokens[:2] + tokens[6:12]:  # team 0: 2 of 6 answered; team 1: all 6
        answer(token)
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=20), date.today() - timedelta(days=1)
    db.session.commit()
    log_in(client, "consultant@acme.example.com")
    counts = shown_counts(client, study, wave)
    numbers = [int(n) for text in counts for n in re.findall(r"\d+", text)]
    assert 2 not in numbers and all(n == 0 or n >= study.k_threshold for n in numbers), counts
    # The full team still shows, rounded down to a multiple of k: exact team counts would add up to a
    # model's number of rows, which the report never shows (adversarial review F-F).
    assert any(text.strip() == "at least 5" for text in counts), counts


def design_form(study: Study, **changes) -> dict:
    form = {"name": study.name, "models": [m.value for m in study.coaching_models],
            "unit": study.randomisation_unit.value, "stratify_by": study.stratify_by or "", "seed": study.seed,
            "primary_outcome": study.primary_outcome, "k_threshold": study.k_threshold}
    form.update(changes)
    return form


def test_k_cannot_be_lowered_once_the_first_wave_opened(client, two_teams):
    study, wave, _ = two_teams
    log_in(client, "consultant@acme.example.com")
    response = client.post(f"/studies/{study.id}/design", data=design_form(study, k_threshold=3))
    assert response.status_code == 409
    assert "k can only be raised" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Study, study.id).k_threshold == 5
    raised = client.post(f"/studies/{study.id}/design", data=design_form(study, k_threshold=7,
                                                                          change_reason="a stricter client"))
    assert raised.status_code == 302
    db.session.expire_all()
    assert db.session.get(Study, study.id).k_threshold == 7


def test_changing_the_primary_outcome_after_launch_needs_a_reason_and_is_a_recorded_deviation(client, two_teams):
    study, wave, _ = two_teams
    log_in(client, "consultant@acme.example.com")
    silent = client.post(f"/studies/{study.id}/design", data=design_form(study, primary_outcome="candour"))
    assert silent.status_code == 400
    assert "say why" in silent.get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.get(Study, study.id).primary_outcome == "satisfaction"
    assert db.session.scalars(select(DesignChange)).all() == []
    saved = client.post(f"/studies/{study.id}/design", data=design_form(
        study, primary_outcome="candour", change_reason="the client asked about candour first"))
    assert saved.status_code == 302
    [change] = db.session.scalars(select(DesignChange)).all()
    assert (change.setting, change.old_value, change.new_value) == ("primary outcome", "satisfaction", "candour")
    assert change.reason == "the client asked about candour first" and change.changed_by.email.startswith("consultant")


def test_deviations_are_printed_in_the_report_s_methods(app, client):
    seeded = demo_module.seed_demo("http://localhost")
    log_in(client, seeded.consultant.email, seeded.consultant.password)
    study = db.session.get(Study, seeded.study_id)
    response = client.post(f"/studies/{study.id}/design", data=design_form(
        study, primary_outcome="availability", change_reason="managers asked about time first"))
    assert response.status_code == 302
    page = client.get(f"/studies/{study.id}/report").get_data(as_text=True)
    assert "Deviation from the plan" in page and "managers asked about time first" in page
    data = client.get(f"/studies/{study.id}/report.json").get_json()
    [deviation] = data["deviations"]
    assert deviation["setting"] == "primary outcome" and deviation["old"] == "satisfaction"
    assert deviation["new"] == "availability"


def test_the_survey_never_promises_a_smaller_group_than_k(client, two_teams):
    study, wave, tokens = two_teams
    page = client.get(f"/s/{tokens[0]}", follow_redirects=True).get_data(as_text=True)
    assert f"at least {study.k_threshold}" in page
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(tokens[0])))
    assert open_link(invitation.id, date.today()).k_threshold == study.k_threshold
    assert db.session.scalar(select(Wave.id).where(Wave.study_id == study.id)) == wave.id


def test_a_shown_team_never_gives_away_a_hidden_team_of_its_model(client, app):
    """Manager teams A (5 of 6 answered) and B (3 of 3): the report shows manager's n, so showing A's 5 on the
    wave page would give B's 3 by subtraction (found by an adversarial review)."""
    org = builders.organisation()
    builders.user(orgs=[org.name])
    a, b = builders.team_with_reps(org, "A", reps=6), builders.team_with_reps(org, "B", reps=3)
    c, d = builders.team_with_reps(org, "C", reps=6), builders.team_with_reps(org, "D", reps=6)
    study = builders.study(org, models=("manager", "peer", "external"), teams=[a, c, d])
    study.assignments.append(Assignment(team=b, coaching_model=CoachingModel.MANAGER))
    study.status = StudyStatus.RUNNING
    db.session.commit()
    wave = study.waves[0]
    for team, answering in ((a, 5), (b, 3), (c, 6), (d, 6)):
        for rep in team.reps[:answering]:
            answer(builders.invite(wave, rep))
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=20), date.today() - timedelta(days=1)
    db.session.commit()
    log_in(client, "consultant@acme.example.com")
    page = client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True)
    teams = dict(re.findall(r"<tr><td>([A-D])</td><td>\d+</td><td>([^<]*)</td>", page))
    assert teams["A"] == "hidden" and teams["B"] == "hidden"
    assert teams["C"] == "at least 5" and teams["D"] == "at least 5"  # closed: rounded down to a multiple of k


def test_k_is_fixed_once_a_wave_has_closed(client, two_teams):
    study, wave, _ = two_teams
    wave.opens_on, wave.closes_on = date.today() - timedelta(days=20), date.today() - timedelta(days=1)
    db.session.commit()
    log_in(client, "consultant@acme.example.com")
    response = client.post(f"/studies/{study.id}/design", data=design_form(study, k_threshold=7,
                                                                            change_reason="stricter"))
    assert response.status_code == 409 and "k is fixed once a wave has closed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Study, study.id).k_threshold == 5
