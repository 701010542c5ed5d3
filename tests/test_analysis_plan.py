"""The analysis plan is frozen at launch with a SHA-256 of its text; later changes are deviations (issue 17, 1)."""

import hashlib
import json

import pytest
from sqlalchemy import select

from surveys import demo as demo_module
from surveys.extensions import db
from surveys.models import AnalysisPlan, Study
from tests.test_confirmations import draft  # noqa: F401  (the fixture: a randomised draft, consultant in)
from tests.test_insider_views import design_form, log_in

pytestmark = pytest.mark.usefixtures("app_context")


def test_a_draft_shows_its_plan_as_it_stands_and_launch_freezes_it_with_its_sha256(client, draft):  # noqa: F811
    page = client.get(f"/studies/{draft.id}/plan")
    assert page.status_code == 200 and "A draft: this is the plan as it stands" in page.get_data(as_text=True)
    assert client.get(f"/studies/{draft.id}/plan.json").status_code == 404  # nothing frozen yet
    assert client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"}).status_code == 302
    [plan] = db.session.scalars(select(AnalysisPlan)).all()
    download = client.get(f"/studies/{draft.id}/plan.json")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == plan.sha256 == download.headers["X-Content-SHA256"]
    content = json.loads(download.data)
    assert content["primary_outcome"]["key"] == "satisfaction" and content["k"] == 5
    assert [w["label"] for w in content["waves"]] == ["baseline", "follow-up"]
    assert sorted(content["randomisation"]["assigned"].values()) == [4, 4, 4]
    assert len(content["own_questions"]) == 3
    shown = client.get(f"/studies/{draft.id}/plan").get_data(as_text=True)
    assert plan.sha256 in shown and "Frozen at launch on" in shown and "Deviations from the plan" in shown


def test_a_change_after_launch_is_a_deviation_on_the_plan_page_and_the_plan_stays_as_frozen(client, draft):  # noqa: F811
    client.post(f"/studies/{draft.id}/launch", data={"confirm": "1"})
    frozen = db.session.scalar(select(AnalysisPlan))
    before = (frozen.content, frozen.sha256)
    study = db.session.get(Study, draft.id)
    changed = client.post(f"/studies/{draft.id}/design", data={
        **design_form(study, primary_outcome="candour"), "change_reason": "the client asked about candour first"})
    assert changed.status_code == 302
    db.session.expire_all()
    frozen = db.session.scalar(select(AnalysisPlan))
    assert (frozen.content, frozen.sha256) == before
    page = client.get(f"/studies/{draft.id}/plan").get_data(as_text=True)
    assert "the client asked about candour first" in page and "primary outcome" in page
    assert json.loads(frozen.content)["primary_outcome"]["key"] == "satisfaction"


def test_the_demo_report_links_its_plan_and_a_leader_reads_it(app, client):
    seeded = demo_module.seed_demo("http://localhost")
    log_in(client, seeded.leader.email, seeded.leader.password)
    report = client.get(f"/studies/{seeded.study_id}/report").get_data(as_text=True)
    assert f'href="/studies/{seeded.study_id}/plan"' in report
    page = client.get(f"/studies/{seeded.study_id}/plan")
    assert page.status_code == 200
    plan = db.session.scalar(select(AnalysisPlan).where(AnalysisPlan.study_id == seeded.study_id))
    assert plan.sha256 in page.get_data(as_text=True)
    assert json.loads(plan.content)["costs"] == demo_module.DEMO_COSTS
    assert plan.locked_at == db.session.get(Study, seeded.study_id).assignments_locked_at
