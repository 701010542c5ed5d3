"""A second adversarial pass on anonymity (issue 11): six attacks a consultant or leader could run with the
product's own features, each performed here and each now failing.

F-A comments counted in texts, not people; F-B a closed wave's report moving with each response to an
open wave; F-C a rep's CRM figures differenced across a roster change; F-D k raised step by step during
an open wave; F-E the study's own choice question singling out a row of the export; F-F rows minus an
outcome's n.
"""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from flask import g

from surveys.extensions import db
from surveys.models import Assignment, CoachingModel, PerformanceRecord, QuestionKind, Study, StudyStatus, Wave
from surveys.pilots.exports import WITHHELD
from surveys.pilots.questions import NewQuestion, add_question
from surveys.studies import add_wave, create_study
from tests import builders
from tests.test_disclosure_attacks import answer_plan, log_in_leader, organisation
from tests.test_insider_views import answer, design_form, two_teams  # noqa: F401 -- two_teams is a fixture

pytestmark = pytest.mark.usefixtures("app_context")
TODAY = date.today()


def log_in(client, email):
    """Log in afresh (the test's outer app context keeps Flask-Login's user in flask.g between requests)."""
    client.post("/logout")
    g.pop("_login_user", None)
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def test_f_a_comments_of_fewer_than_threshold_people_stay_hidden_however_many_texts(client):
    """Four external reps answering three free-text questions left twelve texts: all twelve were shown."""
    org = builders.organisation("Words Corp")
    m, p = builders.team_with_reps(org, "M", reps=10), builders.team_with_reps(org, "P", reps=10)
    x = builders.team_with_reps(org, "X", reps=4)
    study = create_study(org, "Pilot", list(CoachingModel), seed=1)
    for i in range(2):
        add_question(study, NewQuestion(text=f"Anything else ({i})?", kind=QuestionKind.TEXT), TODAY)
    study.waves = [Wave(label="w1", opens_on=TODAY - timedelta(days=20), closes_on=TODAY + timedelta(days=10))]
    for team, model in ((m, "manager"), (p, "peer"), (x, "external")):
        study.assignments.append(Assignment(team=team, coaching_model=CoachingModel(model)))
    study.status = StudyStatus.RUNNING
    db.session.commit()
    keys = [q.key for q in study.questions if q.kind is QuestionKind.TEXT]
    for team in (m, p, x):
        builders.answer(study, study.waves[0], team.reps, TODAY,
                        lambda rep, position: {key: f"{rep.name} says #{i}" for i, key in enumerate(keys)})
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)
    data = client.get(f"/studies/{study.id}/report.json").get_json()
    assert "external" not in data["comments"]
    assert len(data["comments"]["manager"]) == 30  # ten people, three texts each: shown
    page = client.get(f"/studies/{study.id}/report").get_data(as_text=True)
    assert "Rep X 0 says" not in page


def test_f_b_a_closed_wave_s_report_does_not_move_as_an_open_wave_fills(client):
    org = builders.organisation("Poll Corp")
    teams = [builders.team_with_reps(org, f"T{i}", reps=12) for i in range(3)]
    study = builders.pilot(org, [(teams[0], "manager"), (teams[1], "peer"), (teams[2], "external")], TODAY)
    for team in teams:
        builders.answer(study, study.waves[0], team.reps, TODAY,
                        lambda rep, position: {"comment": f"comment of {rep.name}"})
    builders.close_wave(study.waves[0], TODAY)
    pulse = add_wave(study, "pulse", TODAY - timedelta(days=1), TODAY + timedelta(days=10))
    log_in_leader(client, org)
    first = client.get(f"/studies/{study.id}/report.json").get_json()
    assert first["wave"] == "w1" and first["comments"]
    for rep in teams[0].reps[:3]:
        builders.answer(study, pulse, [rep], TODAY)
        assert client.get(f"/studies/{study.id}/report.json").get_json() == first


def test_f_c_a_roster_change_does_not_move_the_performance_figures(client):
    """The leader read the performance section before and after a roster upload that marked one rep as
    left, and two means gave that rep's quota attainment before and after."""
    org = builders.organisation("Diff Corp")
    plan = [("M1", "manager"), ("M2", "manager"), ("P1", "peer"), ("P2", "peer"), ("X1", "external"),
            ("X2", "external")]
    teams = {name: builders.team_with_reps(org, name, reps=8, region="North") for name, _ in plan}
    study = builders.pilot(org, [(teams[name], model) for name, model in plan], TODAY)
    for team in teams.values():
        builders.answer(study, study.waves[0], team.reps, TODAY)
    opened = study.waves[0].opens_on
    before, after = opened - timedelta(days=40), opened
    for t, team in enumerate(teams.values()):
        for i, rep in enumerate(team.reps):
            for period, start, value in ((f"{before:%Y-%m}", before, 80.0 + 1.37 * i + t),
                                         (f"{after:%Y-%m}", after, 95.0 + 2.11 * i - t)):
                db.session.add(PerformanceRecord(rep_id=rep.id, period=period, period_start=start,
                                                 quota_attainment=value, win_rate=0.3, revenue=1000.0, deals_won=2))
    db.session.commit()
    builders.close_wave(study.waves[0], TODAY)
    builders.user("consultant@diff.example.com", orgs=[org.name])
    builders.user("leader@diff.example.com", role="leader", orgs=[org.name])
    log_in(client, "leader@diff.example.com")
    first = client.get(f"/studies/{study.id}/report.json").get_json()["performance"]
    assert first is not None
    leaver, newcomer = teams["M1"].reps[3], "Nina Newcomer"
    lines = ["team,region,name,email,crm_id"] + [
        f"{team.name},{team.region},{rep.name},{rep.email},{rep.crm_id}"
        for team in teams.values() for rep in team.reps if rep.id != leaver.id]
    lines.append(f"M2,North,{newcomer},nina@diff.example.com,CRM-NINA")
    log_in(client, "consultant@diff.example.com")
    uploaded = client.post(f"/organisations/{org.id}/import/roster",
                           data={"file": (io.BytesIO("\n".join(lines).encode()), "roster.csv"),
                                 "deactivate_missing": "y"}, content_type="multipart/form-data")
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)[:2000]
    log_in(client, "leader@diff.example.com")
    second = client.get(f"/studies/{study.id}/report.json").get_json()["performance"]
    assert second == first


def total_cell(client, study, wave) -> str:
    page = client.get(f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True)
    [cell] = re.findall(r'<th scope="row">All</th><td>\d+</td><td>([^<]*)</td>', page)
    return cell.strip()


def test_f_d_raising_k_during_an_open_wave_tells_nothing_more_about_its_count(client, two_teams):  # noqa: F811
    """Raising k by one at a time moved the floor across the true count: 'fewer than 8' gave n = 7."""
    study, wave, tokens = two_teams
    for token in tokens[:7]:
        answer(token)
    log_in(client, "consultant@acme.example.com")
    assert total_cell(client, study, wave) == "at least 5"
    seen = []
    for k in range(6, 12):
        db.session.expire_all()
        study = db.session.get(Study, study.id)
        response = client.post(f"/studies/{study.id}/design",
                               data=design_form(study, k_threshold=k, change_reason="stricter client"))
        assert response.status_code == 302
        seen.append(total_cell(client, study, wave))
    assert set(seen) == {"hidden"}, seen
    before = total_cell(client, study, wave)
    answer(tokens[7])
    assert total_cell(client, study, wave) == before
    assert "k was changed while this wave was open" in client.get(
        f"/studies/{study.id}/waves/{wave.id}").get_data(as_text=True)


def test_f_e_a_rare_answer_to_the_study_s_own_question_singles_out_no_export_row(client):
    """One newcomer answered 'Less than a year': that one row carried their team, every rating and the comment."""
    options = ("Less than a year", "1 to 3 years", "More than 3 years")
    org = builders.organisation("Tenure Corp")
    teams = {name: builders.team_with_reps(org, name, reps=8) for name in ("M1", "M2", "P1", "P2", "X1", "X2")}
    study = create_study(org, "Pilot", list(CoachingModel), seed=1)
    question = add_question(study, NewQuestion(text="How long have you been in sales?", kind=QuestionKind.CHOICE,
                                               options=options, required=True), TODAY)
    study.waves = [Wave(label="w1", opens_on=TODAY - timedelta(days=20), closes_on=TODAY + timedelta(days=10))]
    for name, team in teams.items():
        model = {"M": "manager", "P": "peer", "X": "external"}[name[0]]
        study.assignments.append(Assignment(team=team, coaching_model=CoachingModel(model)))
    study.status = StudyStatus.RUNNING
    db.session.commit()
    newcomer = teams["M1"].reps[0]
    for team in teams.values():
        builders.answer(study, study.waves[0], team.reps, TODAY, lambda rep, position: {
            question.key: options[0] if rep.id == newcomer.id else options[1],
            "comment": "my manager never coaches me" if rep.id == newcomer.id else "fine"})
    builders.close_wave(study.waves[0], TODAY)
    builders.user("consultant@tenure.example.com", orgs=[org.name])
    log_in(client, "consultant@tenure.example.com")
    response = client.get(f"/studies/{study.id}/exports/responses.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert not [r for r in rows if r[question.key] == options[0]]
    m1 = [r for r in rows if r["team"] == "M1"]
    assert m1 and {r[question.key] for r in m1} == {WITHHELD}
    others = [r for r in rows if r["team"] == "P1"]
    assert {r[question.key] for r in others} == {options[1]}  # a team where everyone shares it keeps it


def test_f_f_the_report_s_response_counts_are_numbers_the_pattern_already_shows(client):
    """Rows per model minus the largest outcome n gave the 2 reps of a model who declined every rating.

    (Two outcomes' n still differ by the people who declined one of them but not the other: that is
    said in the README as what remains.)"""
    plan = [("M1", "North", 9, 9, "manager"), ("M2", "South", 9, 9, "manager"), ("P1", "North", 9, 9, "peer"),
            ("P2", "South", 9, 9, "peer"), ("X1", "North", 9, 9, "external"), ("X2", "South", 9, 9, "external")]
    org, study, teams = organisation("Rates Corp", plan)
    decliners = {rep.id for rep in teams["M1"].reps[:2]}  # they sent the survey with every rating declined
    declined = {q.key: "na" for q in study.questions if q.kind.value.startswith("agree")}
    declined.update({q.key: "" for q in study.questions if q.kind.value == "scale0_10" and not q.required})
    answer_plan(study, teams, plan, lambda rep, position: dict(declined) if rep.id in decliners else {})
    builders.close_wave(study.waves[0], TODAY)
    log_in_leader(client, org)
    data = client.get(f"/studies/{study.id}/report.json").get_json()
    rows = {r["model"]: r["n"] for r in data["response_rates"]}
    shown = {(o["outcome"], d["group"]): d["n"] for o in data["outcomes"] for d in o.get("descriptives", [])}
    for model, n in rows.items():
        assert n in {count for (_, group), count in shown.items() if group == model}, (model, n)
    page = client.get(f"/studies/{study.id}/waves/{study.waves[0].id}").get_data(as_text=True)
    cells = dict(re.findall(r"<tr><td>(manager|peer|external)</td><td>\d+</td><td>([^<]*)</td>", page))
    assert cells["manager"] == str(rows["manager"])
