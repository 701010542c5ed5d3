"""Checking a design by simulation from the planning panel (issue 17, item 4): a consultant asks, a queue consumer
simulates 100 pilots of the study's design (and a few team counts), the page shows the progress and then, on the
planning panel, how often the report names the right model and how many teams 80 % needs."""

from __future__ import annotations

import html
import json
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import CoachingModel, PlanningSimulation, RandomisationUnit
from surveys.studies import create_study
from tests import builders
from tests.queue_kit import Consumer, wait_until

SENTENCE = re.compile(r"In (\d+) of (\d+) simulated pilots like this one the report names the right model; in (\d+) "
                      r"it names a wrong one.\s+You need (about|more than) (\d+) teams \(per model\) for 80 %.")
CUSTOM = {"sim-preset": "custom", "sim-effect": "2", "sim-icc": "0", "sim-response_rate": "1"}


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def draft_study(teams: int = 9, reps: int = 6, unit: RandomisationUnit = RandomisationUnit.TEAM):
    """A draft study (no waves, not randomised yet) of an organisation with ``teams`` teams of ``reps`` reps."""
    organisation = builders.organisation()
    for i in range(teams):
        builders.team_with_reps(organisation, name=f"T{i}", reps=reps)
    study = create_study(organisation, "Pilot", list(CoachingModel), seed=7, randomisation_unit=unit)
    return organisation, study


def log_in(client, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def simulations() -> int:
    return db.session.scalar(select(func.count()).select_from(PlanningSimulation))


# --- a real consumer process on SQLite files --------------------------------------------------------------


@pytest.fixture
def queued(make_app, tmp_path):
    """A web app and a consumer process sharing a SQLite database file and a SQLite queue file."""
    database, queue = f"sqlite:///{tmp_path / 'app.sqlite'}", f"sqlite:///{tmp_path / 'queue.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database, QUEUE_URL=queue)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        organisation, study = draft_study()
        builders.user("c@acme.example.com", orgs=[organisation.name])
        client = app.test_client()
        log_in(client, "c@acme.example.com")
        with Consumer(database, queue) as consumer:
            yield client, study, consumer


def test_the_consumer_simulates_the_design_with_progress_and_the_panel_then_says_how_often_it_finds_the_model(queued):
    client, study, consumer = queued
    sent = client.post(f"/studies/{study.id}/planning/simulations", data=CUSTOM)
    assert sent.status_code == 302 and "/planning/simulations/" in sent.headers["Location"]
    seen: list[tuple[int, int]] = []

    def outcome():
        page = client.get(sent.headers["Location"])
        if page.status_code == 200 and "<progress" in text(page):
            assert '<meta http-equiv="refresh" content="2">' in text(page)
            done, total = re.search(r"([\d,]+) of ([\d,]+) pilots simulated", text(page)).groups()
            seen.append((int(done.replace(",", "")), int(total.replace(",", ""))))
            return None
        return page

    finished = wait_until(outcome, timeout=300, interval=0.05)  # 400 pilots: about 15 s on an idle machine
    assert seen, "the first answer is a progress page"
    assert [done for done, _ in seen] == sorted(done for done, _ in seen), seen  # progress never goes back
    assert any(0 < done < total for done, total in seen), seen  # some pilots done, not all: progress was written
    assert finished.status_code == 302 and finished.headers["Location"].endswith(f"/studies/{study.id}#simulation")
    panel = text(client.get(finished.headers["Location"]))
    right, pilots, wrong, about, teams = SENTENCE.search(panel).groups()
    row = db.session.scalar(select(PlanningSimulation))
    db.session.refresh(row)
    stored = json.loads(row.result_json)
    asked = json.loads(row.parameters_json)
    # The design is the roster's: 9 teams of 6 reps, the study's models and seed, its primary outcome.
    assert (asked["n_teams"], asked["team_size"], asked["arms"], asked["planted"], asked["seed"], asked["outcome"]) == (
        9, [6, 6], ["manager", "peer", "external"], "manager", 7, "satisfaction")
    assert (asked["effect"], asked["icc"], asked["response_rate"], asked["preset"]) == (2.0, 0.0, 1.0, "custom")
    # The page says what the simulation found, and the counts add up.
    assert (int(right), int(pilots), int(wrong)) == (stored["right"], 100, stored["wrong"])
    assert stored["right"] + stored["wrong"] + stored["none"] == 100
    assert row.status == "done" and row.done == row.total == seen[-1][1]
    reaching = [c["teams_per_arm"] for c in stored["candidates"] if c["right"] >= 80]
    if about == "about":
        assert int(teams) == min(reaching) == stored["teams_for_80"]
    else:
        assert not reaching and int(teams) == max(c["teams_per_arm"] for c in stored["candidates"])
    assert "simulation_task" in consumer.log_text()


# --- QUEUE_URL=immediate: the pages without a consumer --------------------------------------------------


@pytest.fixture
def immediate(make_app):
    app = make_app()
    with app.app_context():
        organisation, study = draft_study()
        consultant = builders.user("c@acme.example.com", orgs=[organisation.name])
        builders.user("lee@acme.example.com", role="leader", orgs=[organisation.name])
        client = app.test_client()
        log_in(client, "c@acme.example.com")
        yield app, client, study, consultant


@pytest.mark.parametrize("values, field, message", [
    ({"sim-effect": "5"}, "effect", "The effect d is between 0.05 and 2 (SD units)."),
    ({"sim-effect": ""}, "effect", "Give the effect d, between 0.05 and 2 (SD units)."),
    ({"sim-effect": "0.01"}, "effect", "The effect d is between 0.05 and 2 (SD units)."),
    ({"sim-icc": "0.7"}, "icc", "The ICC is between 0 and 0.5."),
    ({"sim-response_rate": "0.05"}, "response_rate", "The response rate is between 0.1 and 1."),
    ({"sim-preset": "vivid"}, "preset", "Not a valid choice."),
])
def test_bad_inputs_re_render_the_panel_with_the_message_next_to_the_field_and_a_400(immediate, values, field,
                                                                                     message):
    app, client, study, _ = immediate
    response = client.post(f"/studies/{study.id}/planning/simulations", data={**CUSTOM, **values})
    assert response.status_code == 400 and "Location" not in response.headers
    body = text(response)
    assert f'<p class="error" id="sim-{field}-error">{message}</p>' in body
    assert 'id="simulation"' in body and "<h1>Pilot</h1>" in body  # the study page with its planning panel
    ids = re.findall(r'\bid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), "two elements share an id"
    for label in re.findall(r'<label for="([^"]+)"', body):
        assert label in ids, label  # every label names an input on the page
    assert simulations() == 0


def test_a_preset_fixes_its_values_whatever_its_fields_say(immediate):
    """The quota preset fixes d = 0.12: an effect field out of range is then not the consultant's input."""
    from surveys.pilots.forms import SimulationForm

    app, client, study, _ = immediate
    with app.test_request_context(method="POST", data={"sim-preset": "quota", "sim-effect": "9",
                                                       "sim-icc": "0.2", "sim-response_rate": "0.7"}):
        form = SimulationForm(meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.effect.data, form.icc.data, form.response_rate.data) == (0.12, 0.2, 0.7)
    with app.test_request_context(method="POST", data={"sim-preset": "survey", "sim-effect": "",
                                                       "sim-icc": "", "sim-response_rate": "0.7"}):
        form = SimulationForm(meta={"csrf": False})
        assert form.validate(), form.errors
        assert (form.effect.data, form.icc.data) == (0.25, 0.10)


def test_a_leader_gets_403_and_another_organisations_consultant_404(immediate):
    app, client, study, consultant = immediate
    row = PlanningSimulation(study_id=study.id, user_id=consultant.id, parameters_json="{}", status="running",
                             total=400, done=40)
    db.session.add(row)
    db.session.commit()
    progress = f"/studies/{study.id}/planning/simulations/{row.id}"
    assert client.get(progress).status_code == 200
    other_org = builders.organisation("Other")
    builders.user("o@other.example.com", orgs=[other_org.name])
    # Each client in an app context (and a ``g``) of its own: the outer one remembers the consultant.
    with app.app_context():
        leader = app.test_client()
        log_in(leader, "lee@acme.example.com")
        assert leader.post(f"/studies/{study.id}/planning/simulations", data=CUSTOM).status_code == 403
        assert leader.get(progress).status_code == 403
        assert "Check the design by simulation" not in text(leader.get(f"/studies/{study.id}"))
    with app.app_context():
        stranger = app.test_client()
        log_in(stranger, "o@other.example.com")
        assert stranger.post(f"/studies/{study.id}/planning/simulations", data=CUSTOM).status_code == 404
        assert stranger.get(progress).status_code == 404
    assert client.get(f"/studies/{study.id}/planning/simulations/{'0' * 32}").status_code == 404
    assert simulations() == 1


def test_the_progress_page_refreshes_itself_and_a_failed_check_says_so(immediate):
    app, client, study, consultant = immediate
    running = PlanningSimulation(study_id=study.id, user_id=consultant.id, parameters_json="{}", status="running",
                                 total=400, done=40)
    failed = PlanningSimulation(study_id=study.id, user_id=consultant.id, parameters_json="{}", status="failed",
                                total=400, done=7, message="The simulation stopped on an error.")
    db.session.add_all([running, failed])
    db.session.commit()
    body = text(client.get(f"/studies/{study.id}/planning/simulations/{running.id}"))
    assert '<meta http-equiv="refresh" content="2">' in body and '<progress max="400" value="40">' in body
    assert "40 of 400 pilots simulated" in body and ">refresh</a>" in body  # a link for a browser without refresh
    body = text(client.get(f"/studies/{study.id}/planning/simulations/{failed.id}"))
    assert "The simulation stopped on an error." in body and 'http-equiv="refresh"' not in body
    panel = text(client.get(f"/studies/{study.id}"))
    assert "The simulation stopped on an error." in panel and "follow its progress" in panel


def test_a_design_that_cannot_be_simulated_is_refused_with_its_reason(make_app):
    app = make_app()
    with app.app_context():
        organisation, few = draft_study(teams=5)
        by_rep = create_study(organisation, "By rep", list(CoachingModel), seed=1,
                              randomisation_unit=RandomisationUnit.REP)
        builders.user("c@acme.example.com", orgs=[organisation.name])
        client = app.test_client()
        log_in(client, "c@acme.example.com")
        response = client.post(f"/studies/{few.id}/planning/simulations", data=CUSTOM)
        assert response.status_code == 409
        assert "Not simulated: import a roster with at least two teams per coaching model first." in text(response)
        response = client.post(f"/studies/{by_rep.id}/planning/simulations", data=CUSTOM)
        assert response.status_code == 409
        assert "the check by simulation is for studies randomised by team" in text(response)
        assert simulations() == 0


def test_after_launch_the_panel_and_its_refusals_are_on_the_assignment_page(immediate):
    from surveys.models import StudyStatus

    app, client, study, _ = immediate
    study.status = StudyStatus.RUNNING
    db.session.commit()
    assert "Check the design by simulation" not in text(client.get(f"/studies/{study.id}"))
    assert "Check the design by simulation" in text(client.get(f"/studies/{study.id}/assignment"))
    response = client.post(f"/studies/{study.id}/planning/simulations", data={**CUSTOM, "sim-icc": "0.9"})
    assert response.status_code == 400
    body = text(response)
    assert "<h1>Assignment to coaching models</h1>" in body
    assert '<p class="error" id="sim-icc-error">The ICC is between 0 and 0.5.</p>' in body


def test_a_check_whose_worker_stopped_says_so_instead_of_refreshing_for_ever(immediate):
    from datetime import timedelta

    from surveys.models import utcnow

    app, client, study, consultant = immediate
    stopped = PlanningSimulation(study_id=study.id, user_id=consultant.id, parameters_json="{}", status="running",
                                 total=400, done=120, updated_at=utcnow() - timedelta(hours=1))
    db.session.add(stopped)
    db.session.commit()
    body = text(client.get(f"/studies/{study.id}/planning/simulations/{stopped.id}"))
    assert "This check stopped at 120 of 400 pilots: nothing has moved for 5 minutes" in body
    assert 'http-equiv="refresh"' not in body and "<progress" not in body
    assert "follow its progress" not in text(client.get(f"/studies/{study.id}"))
