"""The audit log: every act a consultant takes on a pilot is recorded, shown and exportable; nothing in it
can be changed, not even by someone with the database; and it records acts, never survey answers.

Issue 14 item 6. Before this, only hand changes to the assignment and design deviations were kept:
launching, closing, issuing links, exporting response-level data and imports left no trace.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from surveys import audit
from surveys.database import delete_all_data
from surveys.extensions import db
from surveys.models import AuditEvent, Study, Wave
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

ROSTER = "team,region,name,email,crm_id\n" + "".join(
    f"Team {t},{'North' if t < 3 else 'South'},Rep {t}-{i},rep{t}{i}@acme.example.com,C-{t}-{i}\n"
    for t in range(6) for i in range(6))
CONSULTANT = "c@acme.example.com"


def log_in(client, email=CONSULTANT):
    assert client.post("/login", data={"email": email, "password": builders.PASSWORD}).status_code == 302


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def run_pilot_over_http(client) -> Study:
    """A consultant's whole first week through the pages: each act the log must keep."""
    builders.user(CONSULTANT)
    log_in(client)
    assert client.post("/organisations/", data={"name": "Initech"}).status_code == 302
    org_id = db.session.scalar(select(AuditEvent.organisation_id).where(AuditEvent.action == "organisation.created"))
    upload = {"file": (io.BytesIO(ROSTER.encode()), "roster.csv")}
    assert client.post(f"/organisations/{org_id}/import/roster", data=upload,
                       content_type="multipart/form-data").status_code in (200, 302)
    assert client.post(f"/organisations/{org_id}/studies/new", data={
        "name": "Pilot", "models": ["manager", "peer", "external"], "unit": "team", "stratify_by": "",
        "seed": "7", "primary_outcome": "satisfaction", "k_threshold": "5"}).status_code == 302
    study = db.session.scalar(select(Study))
    assert client.post(f"/studies/{study.id}/assignment", data={"seed": "7"}).status_code == 302
    today = date.today()
    assert client.post(f"/studies/{study.id}/waves", data={
        "label": "baseline", "opens_on": today.isoformat(),
        "closes_on": (today + timedelta(days=14)).isoformat()}).status_code == 302
    launched = client.post(f"/studies/{study.id}/launch", data={"confirm": "1"})
    assert launched.status_code == 302
    wave = db.session.scalar(select(Wave))
    links = client.post(f"/studies/{study.id}/waves/{wave.id}/links.csv", data={"confirm": "1"})
    assert links.status_code == 200 and links.mimetype == "text/csv"
    return study


def test_the_acts_of_a_pilot_are_recorded_with_who_did_them(client):
    study = run_pilot_over_http(client)
    recorded = actions()
    for action in ("organisation.created", "roster.imported", "study.created", "study.randomised", "wave.added",
                   "study.launched", "links.issued"):
        assert action in recorded, (action, recorded)
    assert set(db.session.scalars(select(AuditEvent.actor))) == {CONSULTANT}
    issued = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "links.issued"))
    assert issued.study_id == study.id and "36 link(s)" in issued.detail


def test_an_export_of_response_level_data_is_recorded(client):
    study, _ = builders.running_survey()
    builders.user(CONSULTANT, orgs=[study.organisation.name])
    wave = study.waves[0]
    reps = study.assignments[0].team.reps
    builders.answer(study, wave, reps, date.today())
    builders.close_wave(wave, date.today())
    log_in(client)
    assert client.get(f"/studies/{study.id}/exports/responses.csv").status_code == 200
    assert client.get(f"/studies/{study.id}/exports/performance.xlsx").status_code == 200
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.responses"))
    assert entry is not None and entry.actor == CONSULTANT and "CSV" in entry.detail
    assert "export.performance" in actions()


def test_a_refused_act_leaves_no_event(client):
    org = builders.organisation("Initech")
    builders.user(CONSULTANT, orgs=["Initech"])
    log_in(client)
    study = builders.study(org)  # an open wave, but nothing assigned: launching is refused
    before = actions()
    response = client.post(f"/studies/{study.id}/launch", data={"confirm": "1"})
    assert response.status_code == 409
    assert actions() == before and "study.launched" not in actions()


def test_the_log_is_on_the_pages_and_downloadable(client):
    study = run_pilot_over_http(client)
    page = client.get(f"/studies/{study.id}")
    assert page.status_code == 200 and b"launched the study" in page.data and b"whole activity log" in page.data
    org_page = client.get(f"/organisations/{study.organisation_id}")
    assert b"issued links and downloaded the mail-merge file" in org_page.data  # the latest acts
    assert b"imported a roster" in client.get(f"/organisations/{study.organisation_id}/activity").data
    log = client.get(f"/studies/{study.id}/activity")
    assert log.status_code == 200 and b"issued links and downloaded the mail-merge file" in log.data
    frame = pd.read_csv(io.BytesIO(client.get(f"/studies/{study.id}/activity.csv").data))
    assert list(frame.columns) == ["time_utc", "who", "action", "what", "study", "detail"]
    assert "study.launched" in set(frame["action"])
    sheet = pd.read_excel(io.BytesIO(client.get(f"/organisations/{study.organisation_id}/activity.xlsx").data))
    assert "organisation.created" in set(sheet["action"])
    assert client.get(f"/studies/{study.id}/activity.pdf").status_code == 404


def test_leaders_and_other_tenants_cannot_read_the_log(client):
    study = run_pilot_over_http(client)
    client.post("/logout")
    builders.user("leader@acme.example.com", role="leader", orgs=["Initech"])
    log_in(client, "leader@acme.example.com")
    assert client.get(f"/studies/{study.id}/activity").status_code == 403
    assert client.get(f"/organisations/{study.organisation_id}/activity.csv").status_code == 403
    assert b"whole activity log" not in client.get(f"/studies/{study.id}").data
    client.post("/logout")
    builders.organisation("Other")
    builders.user("other@else.example.com", orgs=["Other"])
    log_in(client, "other@else.example.com")
    assert client.get(f"/studies/{study.id}/activity").status_code == 404
    assert client.get(f"/organisations/{study.organisation_id}/activity").status_code == 404


def test_the_log_holds_no_survey_answer(client):
    study, _ = builders.running_survey()
    wave = study.waves[0]
    secret = "my coach never turns up ZX-41"
    text_key = next(q.key for q in study.questions if q.kind.value == "text")
    builders.answer(study, wave, study.assignments[0].team.reps, date.today(),
                    answers=lambda rep, position: {text_key: secret})
    builders.close_wave(wave, date.today())
    builders.user(CONSULTANT, orgs=[study.organisation.name])
    log_in(client)
    client.get(f"/studies/{study.id}/exports/responses.csv")
    rows = db.session.execute(select(AuditEvent)).scalars().all()
    assert rows, "the export should have been recorded"
    everything = " ".join(f"{e.actor} {e.action} {e.detail} {e.study_name}" for e in rows)
    assert "ZX-41" not in everything


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET detail = 'nothing happened'",
                                       "DELETE FROM audit_event"])
def test_nobody_can_change_or_delete_an_entry_even_in_the_database(statement):
    org = builders.organisation("Initech")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    with pytest.raises(DatabaseError, match="audit log cannot be changed"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    [entry] = db.session.scalars(select(AuditEvent)).all()
    assert entry.action == "organisation.created" and entry.detail == org.name


def test_the_operators_reset_still_empties_everything_and_keeps_the_guard():
    builders.organisation("Initech")
    delete_all_data()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    builders.organisation("Again")
    with pytest.raises(DatabaseError, match="audit log cannot be changed"):
        db.session.execute(text("DELETE FROM audit_event"))
    db.session.rollback()


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("study.teleported")


def test_editing_and_people_are_recorded(client):
    study = run_pilot_over_http(client)
    wave = db.session.scalar(select(Wave))
    org_id = study.organisation_id
    assert client.post(f"/studies/{study.id}/waves/{wave.id}/close-early", data={"confirm": "1"}).status_code == 302
    invited = client.post(f"/organisations/{org_id}/people", data={"email": "lee@acme.example.com", "role": "leader"})
    assert invited.status_code in (200, 302)
    recorded = actions()
    assert "wave.closed_early" in recorded and "people.invited" in recorded
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "people.invited"))
    assert entry.detail == "lee@acme.example.com as leader" and entry.actor == CONSULTANT


# --- ids that outlive what they name (adversary issue 14, F2) ----------------------------------------------


def test_a_deleted_studys_id_is_never_given_to_a_new_study():
    alpha, beta = builders.organisation("Alpha Sales"), builders.organisation("Beta Sales")
    gone = builders.study(alpha)
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    assert builders.study(beta).id > gone_id


def test_a_studys_log_leaves_out_events_of_an_older_row_or_another_organisation_with_its_id():
    """Events keep plain ids: one naming this study's id but another organisation, or dated before this study
    existed (an id SQLite reused before migration 0013), is not this study's."""
    alpha, beta = builders.organisation("Alpha Sales"), builders.organisation("Beta Sales")
    study = builders.study(beta)
    mine = audit.record("study.changed", study=study, detail="mine")
    db.session.add(AuditEvent(actor="a@alpha.example.com", organisation_id=alpha.id, study_id=study.id,
                              study_name="Project Layoffs Q3", action="study.deleted", detail="theirs"))
    db.session.add(AuditEvent(at=study.created_at - timedelta(days=1), actor="x@beta.example.com",
                              organisation_id=beta.id, study_id=study.id, study_name="Old", action="study.deleted",
                              detail="older row"))
    db.session.commit()
    shown = {e.detail for e in audit.events(study_id=study.id)}
    assert mine.detail in shown and not shown & {"theirs", "older row"}
