"""Every route that takes an id, called as the wrong user: 404 across organisations, 403 for leaders' writes.

The routes are read from the app's URL map, so a route added later is checked without editing this file.
"""

import pytest
from flask import url_for

from surveys.extensions import db
from surveys.models import ImportJob, PlanningSimulation, Rep, Study, Wave
from surveys.organisations import uploads
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

# A token is its own access check (a survey link, a set-password link); survey pages are reached through
# the rep's session, not an id.
PUBLIC = {"static", "respond.redeem", "respond.page", "auth.set_password"}
LEADER_MAY_POST = {"respond.preview"}  # previewing stores nothing


def world():
    """Two organisations with a study, a wave, questions, a team with reps and a pending upload each."""
    objects = {}
    for name in ("A", "B"):
        org = builders.organisation(f"Org {name}")
        team = builders.team_with_reps(org, name=f"Team {name}")
        study = builders.study(org, teams=[team])
        consultant = builders.user(f"c{name.lower()}@example.com", orgs=[org.name])
        leader = builders.user(f"l{name.lower()}@example.com", role="leader", orgs=[org.name])
        upload = uploads.stage(consultant, org, uploads.KINDS["roster"], "r.csv", b"team,name\nx,y\n")
        job = ImportJob(user_id=consultant.id, organisation_id=org.id, upload_id=upload.id, kind="roster",
                        filename="r.csv", status="running", total=1)
        simulation = PlanningSimulation(study_id=study.id, user_id=consultant.id, parameters_json="{}",
                                        status="running", total=400)
        db.session.add_all([job, simulation])
        db.session.commit()
        objects[name] = {"organisation_id": org.id, "study_id": study.id, "wave_id": study.waves[0].id,
                         "question_id": study.questions[0].id, "upload_id": upload.id, "kind_name": "roster",
                         "job_id": job.id, "simulation_id": simulation.id, "team_id": team.id,
                         "rep_id": team.reps[0].id,
                         "number": 1, "name": "responses", "fmt": "csv", "consultant": consultant.email,
                         "leader": leader.email, "user_id": leader.id}
    return objects


def id_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or not rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def build(app, rule, values):
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})


def log_in(client, email):
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302
    client.get("/studies")  # shows (and so clears) the flashed "logged in" messages


def test_every_id_route_answers_404_for_another_organisations_objects(app, client):
    objects = world()
    log_in(client, objects["A"]["consultant"])
    checked = 0
    for rule, method in id_routes(app):
        url = build(app, rule, objects["B"])
        response = client.open(url, method=method)
        assert response.status_code == 404, (method, url, response.status_code)
        checked += 1
    assert checked >= 20


def test_a_missing_id_gets_the_same_404_page(app, client):
    objects = world()
    log_in(client, objects["A"]["consultant"])
    elsewhere = client.get(f"/studies/{objects['B']['study_id']}").get_data(as_text=True)
    missing = client.get("/studies/987654").get_data(as_text=True)
    assert elsewhere == missing


def test_a_leader_of_another_organisation_gets_404_too(app, client):
    objects = world()
    log_in(client, objects["A"]["leader"])
    for rule, method in id_routes(app):
        url = build(app, rule, objects["B"])
        assert client.open(url, method=method).status_code == 404, (method, url)


def test_a_leader_reads_but_never_writes_in_their_own_organisation(app, client):
    objects = world()
    log_in(client, objects["A"]["leader"])
    for rule, method in id_routes(app):
        url = build(app, rule, objects["A"])
        status = client.open(url, method=method).status_code
        if method == "POST" and rule.endpoint not in LEADER_MAY_POST:
            assert status == 403, (method, url, status)
        elif method == "POST":
            assert status in (200, 302, 400), (method, url, status)  # an empty preview form is simply invalid
        elif rule.endpoint in ("reports.chart", "reports.tables", "reports.plan_file"):
            assert status in (200, 404), (method, url, status)  # no closed wave (or no launch) yet: nothing there
        else:
            assert status in (200, 403), (method, url, status)
    assert db.session.query(Wave).count() == 2 and db.session.query(Study).count() == 2
    assert db.session.query(Rep).filter(Rep.active.is_(False)).count() == 0


def test_anonymous_users_are_sent_to_log_in(app, client):
    objects = world()
    for rule, method in id_routes(app):
        response = client.open(build(app, rule, objects["A"]), method=method)
        assert response.status_code in (302, 401), (method, rule.rule)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


def test_the_matrix_covers_who_has_access(app):
    """The people routes take an organisation and a member: the matrix above checks them like every other."""
    endpoints = {rule.endpoint for rule, _ in id_routes(app)}
    assert {"organisations.invite_person", "organisations.person_role", "organisations.person_remove",
            "organisations.person_link"} <= endpoints
    assert "pilots.wave_reminders" in endpoints  # a wave's reminders and note: leaders 403, other tenants 404
