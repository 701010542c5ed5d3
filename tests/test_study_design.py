"""Study design: creating a study, reproducible stratified randomisation, locks, manual changes, planning, lifecycle."""

from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from analysis.planning import Design, minimum_detectable_effect
from surveys.extensions import db
from surveys.models import Assignment, AssignmentChange, Study, StudyStatus, Wave
from surveys.pilots.randomisation import randomise
from surveys.reports.sections import compare
from surveys.studies import randomisation_plan
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def org(client):
    """An organisation with 12 teams in two regions, and a logged-in consultant."""
    organisation = builders.organisation()
    for i in range(12):
        builders.team_with_reps(organisation, name=f"T{i:02d}", reps=5 + i % 4, region="North" if i < 6 else "South")
    builders.user("c@acme.example.com", orgs=[organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return organisation


def new_study(client, org, **changes):
    data = {"name": "Who coaches best?", "models": ["manager", "peer", "external"], "unit": "team",
            "stratify_by": "", "seed": "42", "primary_outcome": "candour", "k_threshold": "5", **changes}
    return client.post(f"/organisations/{org.id}/studies/new", data=data)


def allocation(study_id):
    return {a.team.name: a.coaching_model.value for a in db.session.scalars(
        select(Assignment).where(Assignment.study_id == study_id))}


def test_consultant_creates_a_study_with_its_design(client, org):
    response = new_study(client, org, models=["manager", "peer"], stratify_by="region", k_threshold="7")
    assert response.status_code == 302
    study = db.session.scalar(select(Study))
    assert [m.value for m in study.coaching_models] == ["manager", "peer"]
    assert (study.stratify_by, study.k_threshold, study.primary_outcome, study.seed) == ("region", 7, "candour", 42)
    assert study.status is StudyStatus.DRAFT and len(study.questions) > 25


@pytest.mark.parametrize("changes, words", [
    ({"models": ["peer"]}, "at least two coaching models"),
    ({"k_threshold": "2"}, "k is between 3 and 100"),
    ({"name": ""}, "This field is required"),
    ({"primary_outcome": "astrology"}, "Not a valid choice"),
])
def test_a_bad_design_is_refused(client, org, changes, words):
    response = new_study(client, org, **changes)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Study)) == 0


def test_randomisation_is_reproducible_from_the_seed(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    assert client.post(f"/studies/{study.id}/assignment", data={"seed": ""}).status_code == 302
    first = allocation(study.id)
    client.post(f"/studies/{study.id}/assignment", data={"seed": "7"})
    other = allocation(study.id)
    client.post(f"/studies/{study.id}/assignment", data={"seed": "42"})
    assert allocation(study.id) == first
    assert other != first
    assert Counter(first.values()) == {"manager": 4, "peer": 4, "external": 4}


def test_stratified_randomisation_balances_each_region(client, org):
    new_study(client, org, stratify_by="region")
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "3"})
    for stratum in ("North", "South"):
        counts = Counter(a.coaching_model.value for a in study.assignments if a.stratum == stratum)
        assert sorted(counts.values()) == [2, 2, 2]


def test_the_assignment_page_shows_balance_sample_ratio_and_planning(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "1"})
    page = client.get(f"/studies/{study.id}/assignment?icc=0.1&response_rate=0.8").get_data(as_text=True)
    assert "Sample-ratio check" in page and "consistent with the plan" in page
    mean_size = sum(5 + i % 4 for i in range(12)) / 12
    expected = minimum_detectable_effect(Design(3, 4, mean_size * 0.8, 0.1))
    assert f"{expected:.2f} SD" in page


def test_assignments_lock_when_the_first_wave_opens(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "1"})
    before = allocation(study.id)
    db.session.add(Wave(study_id=study.id, label="baseline", opens_on=date.today(),
                        closes_on=date.today() + timedelta(days=7)))
    db.session.commit()
    assert client.post(f"/studies/{study.id}/assignment", data={"seed": "99"}).status_code == 409
    assignment = study.assignments[0]
    other = next(m.value for m in study.coaching_models if m is not assignment.coaching_model)
    refused = client.post(f"/studies/{study.id}/assignment/change", data={
        "assignment_id": assignment.id, "model": other, "reason": "manager on leave"})
    assert refused.status_code == 409
    assert allocation(study.id) == before
    assert db.session.scalar(select(func.count()).select_from(AssignmentChange)) == 0


def test_a_manual_change_before_the_lock_records_who_and_why(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "1"})
    assignment = study.assignments[0]
    old = assignment.coaching_model
    new = next(m for m in study.coaching_models if m is not old)
    assert client.post(f"/studies/{study.id}/assignment/change", data={
        "assignment_id": assignment.id, "model": new.value, "reason": ""}).status_code == 400
    response = client.post(f"/studies/{study.id}/assignment/change", data={
        "assignment_id": assignment.id, "model": new.value, "reason": "Team lead leaves in May"})
    assert response.status_code == 302
    change = db.session.scalar(select(AssignmentChange))
    assert (change.from_model, change.to_model, change.reason) == (old, new, "Team lead leaves in May")
    assert change.changed_by.email == "c@acme.example.com"
    assert "Team lead leaves in May" in client.get(f"/studies/{study.id}/assignment").get_data(as_text=True)


def test_rep_level_randomisation(client, org):
    new_study(client, org, unit="rep", seed="5")
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": ""})
    counts = Counter(a.coaching_model.value for a in study.assignments)
    assert sum(counts.values()) == sum(5 + i % 4 for i in range(12))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_waves_are_added_with_dates_in_order_and_unique_labels(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    url = f"/studies/{study.id}/waves"
    today = date.today()
    wrong = client.post(url, data={"label": "baseline", "opens_on": (today + timedelta(days=5)).isoformat(),
                                   "closes_on": today.isoformat()})
    assert wrong.status_code == 400
    assert client.post(url, data={"label": "baseline", "opens_on": today.isoformat(),
                                  "closes_on": (today + timedelta(days=9)).isoformat()}).status_code == 302
    assert client.post(url, data={"label": "Baseline", "opens_on": today.isoformat(),
                                  "closes_on": today.isoformat()}).status_code == 409
    assert [w.label for w in study.waves] == ["baseline"]


def test_lifecycle_draft_running_closed(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    assert client.post(f"/studies/{study.id}/launch", data={"confirm": "1"}).status_code == 409  # no waves
    client.post(f"/studies/{study.id}/assignment", data={"seed": "1"})
    client.post(f"/studies/{study.id}/waves", data={"label": "baseline", "opens_on": date.today().isoformat(),
                                                     "closes_on": (date.today() + timedelta(days=9)).isoformat()})
    assert client.post(f"/studies/{study.id}/launch", data={"confirm": "1"}).status_code == 302
    assert study.status is StudyStatus.RUNNING
    assert client.post(f"/studies/{study.id}/close", data={"confirm": "1"}).status_code == 302
    db.session.refresh(study)
    assert study.status is StudyStatus.CLOSED
    assert client.post(f"/studies/{study.id}/close", data={"confirm": "1"}).status_code == 409


def test_design_changes_clear_an_unlocked_draw_and_are_refused_once_locked(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "1"})
    data = {"name": "Renamed", "models": ["manager", "peer"], "unit": "team", "stratify_by": "", "seed": "42",
            "primary_outcome": "satisfaction", "k_threshold": "6"}
    assert client.post(f"/studies/{study.id}/design", data=data).status_code == 302
    db.session.refresh(study)
    assert study.name == "Renamed" and study.assignments == [] and study.k_threshold == 6
    randomise(study, date.today())
    db.session.add(Wave(study_id=study.id, label="b", opens_on=date.today(), closes_on=date.today()))
    db.session.commit()
    refused = client.post(f"/studies/{study.id}/design", data={**data, "models": ["manager", "external"]})
    # 409: the form is valid, the study's state forbids the change (it was 400 before deviations were recorded)
    assert refused.status_code == 409 and "locked" in refused.get_data(as_text=True)
    assert len(study.assignments) == 12


def test_a_wave_label_with_control_characters_is_refused(client, org):
    new_study(client, org)
    study = db.session.scalar(select(Study))
    response = client.post(f"/studies/{study.id}/waves", data={
        "label": "base\nline", "opens_on": date.today().isoformat(), "closes_on": date.today().isoformat()})
    assert response.status_code == 400
    assert study.waves == []


def test_huge_ids_and_nul_characters_get_4xx_not_500(client, org):
    assert client.get("/studies/99999999999999999999999999").status_code == 404
    assert client.get("/organisations/1?x=%00").status_code == 400
    assert new_study(client, org, name="Pilot\x00").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Study)) == 0


def test_the_report_re_runs_the_studys_own_randomisation_when_a_model_has_few_teams(client, org):
    """Issue 13 item 5: 12 teams, 4 per model, stratified by region: the randomisation test on team means
    re-runs this study's permuted blocks (the seed reproduces the stored assignment), not a generic shuffle."""
    new_study(client, org, stratify_by="region")
    study = db.session.scalar(select(Study))
    client.post(f"/studies/{study.id}/assignment", data={"seed": "3"})
    plan = randomisation_plan(study)
    assert plan.unit == "team" and set(plan.strata) == {"North", "South"} and plan.reproduced()
    assert plan.block == ("manager", "peer", "external") and plan.seed == 3
    rng = np.random.default_rng(1)
    frame = pd.DataFrame([{"team": a.team_id, "coaching_model": a.coaching_model.value,
                           "satisfaction": 3 + rng.normal(0, 0.4) + rng.normal(0, 0.8)}
                          for a in study.assignments for _ in range(6)])
    row = compare(frame, "satisfaction", ["manager", "peer", "external"], [], 5, cluster="team", randomisation=plan)
    test = row.comparison.randomisation
    assert row.comparison.chosen == "randomisation" and test.method == "permuted blocks" and test.exact
    assert "seed 3 (the seed reproduces the stored assignment)" in test.procedure
    assert test.n_assignments == 6 ** 4  # two strata of 6 teams, two blocks of 3 each
    changed = study.assignments[0]
    changed.coaching_model = next(m for m in study.coaching_models if m is not changed.coaching_model)
    db.session.commit()  # a change by hand that the blocks cannot have made: complete randomisation, said so
    frame["coaching_model"] = frame["team"].map({a.team_id: a.coaching_model.value for a in study.assignments})
    row = compare(frame, "satisfaction", ["manager", "peer", "external"], [], 5, cluster="team",
                  randomisation=randomisation_plan(study))
    assert row.comparison.randomisation.method == "complete randomisation"
    assert "is not one the study's permuted blocks" in row.comparison.chosen_reason
