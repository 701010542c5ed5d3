"""A study's costs, margins, prior scale and fidelity minimum: set on the design page, locked by launch.

Before launch they change freely; once the study runs, a change needs a reason and is a deviation from
the plan, printed in the report like a new primary outcome or k (issue 16).
"""

import re

import pytest
from sqlalchemy import select

from surveys.extensions import db
from surveys.models import DesignChange, Study, StudyStatus
from tests import builders
from tests.test_insider_views import design_form, log_in

pytestmark = pytest.mark.usefixtures("app_context")

WORTH = {"cost_manager_hour": "85", "cost_peer_hour": "40", "cost_external_month": "350",
         "cost_external_hour": "20", "margin_primary": "0.3", "margin_quota": "3", "prior_scale": "",
         "fidelity_minimum": "1"}


@pytest.fixture
def draft(app, client):
    org = builders.organisation()
    builders.user(orgs=[org.name])
    teams = [builders.team_with_reps(org, name=f"Team {i}", reps=6) for i in range(3)]
    study = builders.study(org, models=("manager", "peer", "external"), teams=teams)
    study.status = StudyStatus.DRAFT
    db.session.commit()
    log_in(client, "consultant@acme.example.com")
    return study


def test_the_design_page_keeps_costs_and_margins_and_shows_them_again(client, draft):
    page = client.get(f"/studies/{draft.id}/design").get_data(as_text=True)
    assert "Outside coach: fee per rep per month" in page and "No-worse margin on quota attainment" in page
    saved = client.post(f"/studies/{draft.id}/design", data={**design_form(draft), **WORTH})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    study = db.session.get(Study, draft.id)
    assert study.costs == "manager=hour:85,peer=hour:40,external=rep_month:350+hour:20"
    assert (study.margin_primary, study.margin_quota, study.prior_scale, study.fidelity_minimum) == (0.3, 3, None, 1)
    again = client.get(f"/studies/{draft.id}/design").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="cost_external_month"[^>]*value="350', again)
    assert "value=\"0.3\"" in again
    assert db.session.scalars(select(DesignChange)).all() == []  # before launch: no deviation


@pytest.mark.parametrize(("field", "value", "words"), [
    ("margin_quota", "-3", "The margin must be above 0."),
    ("margin_primary", "0", "The margin must be above 0."),
    ("prior_scale", "5", "Between 0 and 2 SDs"),
    ("prior_scale", "1e-320", "at least 0.01"),
    ("cost_peer_hour", "-40", "An amount between 0 and 1,000,000,000."),
    ("cost_external_month", "1e12", "An amount between 0 and 1,000,000,000."),
    ("cost_manager_month", "lots", "Not a valid float value."),
    ("fidelity_minimum", "99", "Between 0 and 30."),
])
def test_a_bad_setting_is_refused_at_its_field_and_nothing_is_saved(client, draft, field, value, words):
    refused = client.post(f"/studies/{draft.id}/design", data={**design_form(draft), **WORTH, field: value})
    assert refused.status_code == 400
    assert words in refused.get_data(as_text=True)
    db.session.expire_all()
    study = db.session.get(Study, draft.id)
    assert (study.costs, study.margin_primary, study.margin_quota) == (None, None, None)


def test_after_launch_a_new_margin_needs_a_reason_and_is_a_deviation(client, draft):
    client.post(f"/studies/{draft.id}/design", data={**design_form(draft), **WORTH})
    study = db.session.get(Study, draft.id)
    study.status = StudyStatus.RUNNING
    db.session.commit()
    silent = client.post(f"/studies/{draft.id}/design", data={**design_form(study), **WORTH, "margin_quota": "5"})
    assert silent.status_code == 400 and "margin (quota)" in silent.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Study, draft.id).margin_quota == 3
    saved = client.post(f"/studies/{draft.id}/design", data={**design_form(study), **WORTH, "margin_quota": "5",
                                                              "change_reason": "the sales VP set 5 points"})
    assert saved.status_code == 302
    [change] = db.session.scalars(select(DesignChange)).all()
    assert (change.setting, change.old_value, change.new_value) == ("margin (quota)", "3", "5")
    assert change.reason == "the sales VP set 5 points"


def test_a_form_without_the_settings_leaves_them_as_they_are(client, draft):
    client.post(f"/studies/{draft.id}/design", data={**design_form(draft), **WORTH})
    assert client.post(f"/studies/{draft.id}/design", data=design_form(draft, name="Renamed")).status_code == 302
    db.session.expire_all()
    assert db.session.get(Study, draft.id).margin_quota == 3
