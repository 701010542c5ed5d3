"""Column mapping (ux review D17): a mapping that fails keeps the file and the choices made; mappings are
remembered per organisation and kind for the next upload; common CRM and HR headers are recognised."""

import html
import io
import re

import pytest
from sqlalchemy import func, select

from surveys.extensions import db
from surveys.models import Organisation, PendingUpload, Rep, Team
from surveys.organisations.imports import ROSTER_FIELDS
from surveys.tabular import guess_mapping
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")

OWN_HEADERS = "Unit,Zone,Person,Contact,Ident\n"
ROSTER = (OWN_HEADERS + "East 1,East,Gil Garcia,gil@acme.example.com,X-9\n"
          "East 1,East,Ana Diaz,ana@acme.example.com,X-10\n")


@pytest.fixture
def org(client):
    organisation = builders.organisation()
    builders.organisation("Other Co")
    builders.user("c@acme.example.com", orgs=[organisation.name, "Other Co"])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    return organisation


def upload(client, org, content, kind="roster", filename="people.csv"):
    return client.post(f"/organisations/{org.id}/import/{kind}", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content.encode()), filename)})


def selected(page: str, field: str) -> str | None:
    """The option chosen in the select ``map_<field>`` of the mapping page."""
    select_html = re.search(rf'<select[^>]*name="map_{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    match = re.search(r'<option selected value="([^"]*)">|<option value="([^"]*)" selected>', select_html)
    return next((g for g in match.groups() if g is not None), None) if match else None


def error_of(page: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="map_{field}-error">(.*?)</p>', page)
    return html.unescape(match.group(1)) if match else None


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_mapping_without_a_required_column_keeps_the_file_and_the_choices(client, org):
    mapping_url = upload(client, org, ROSTER).headers["Location"]
    refused = client.post(mapping_url, data={"map_team": "", "map_region": "Zone", "map_name": "Person",
                                             "map_email": "Contact", "map_crm_id": "Ident"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Which column is which?" in page  # the mapping page again, not a page with only "← back"
    assert error_of(page, "team") == "Choose the column that holds Team: it is required."
    assert [selected(page, f) for f in ("team", "region", "name", "email", "crm_id")] == \
        ["", "Zone", "Person", "Contact", "Ident"]
    assert count(PendingUpload) == 1 and count(Rep) == 0
    done = client.post(mapping_url, data={"map_team": "Unit", "map_region": "Zone", "map_name": "Person",
                                          "map_email": "Contact", "map_crm_id": "Ident"})
    assert done.status_code == 302 and count(Rep) == 2 and count(PendingUpload) == 0


def test_one_column_chosen_for_two_fields_is_refused_next_to_the_second(client, org):
    mapping_url = upload(client, org, ROSTER).headers["Location"]
    refused = client.post(mapping_url, data={"map_team": "Unit", "map_region": "Unit", "map_name": "Person",
                                             "map_email": "Contact", "map_crm_id": "Ident"})
    assert refused.status_code == 400
    assert error_of(refused.get_data(as_text=True), "region") == \
        "“Unit” is already chosen for Team; a column can hold one field only."


def test_a_performance_mapping_needs_a_column_that_names_the_rep(client, org):
    mapping_url = upload(client, org, "Rep,Quarter,Quota\nX,2026-Q3,90\n", kind="performance").headers["Location"]
    refused = client.post(mapping_url, data={"map_period": "Quarter", "map_quota_attainment": "Quota"})
    assert refused.status_code == 400
    assert error_of(refused.get_data(as_text=True), "crm_id") == \
        "Choose the column that holds CRM id or E-mail: each row must say which rep it is about."


def test_rows_refused_after_mapping_are_listed_on_the_mapping_page_with_the_file_kept(client, org):
    mapping_url = upload(client, org, ROSTER.replace("gil@acme.example.com", "not-an-email")).headers["Location"]
    choices = {"map_team": "Unit", "map_region": "Zone", "map_name": "Person", "map_email": "Contact",
               "map_crm_id": "Ident"}
    refused = client.post(mapping_url, data=choices)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Which column is which?" in page and "is not an e-mail address" in html.unescape(page)
    assert "people.csv: nothing was imported because of the problems below." in html.unescape(page)
    assert selected(page, "team") == "Unit" and count(PendingUpload) == 1


def test_a_mapping_is_remembered_for_the_next_upload_of_that_organisation_and_kind(client, org):
    mapping_url = upload(client, org, ROSTER).headers["Location"]
    client.post(mapping_url, data={"map_team": "Unit", "map_region": "Zone", "map_name": "Person",
                                   "map_email": "Contact", "map_crm_id": "Ident"})
    again = client.get(upload(client, org, OWN_HEADERS + "West,West,Bo Li,bo@acme.example.com,X-11\n")
                       .headers["Location"])
    page = again.get_data(as_text=True)
    assert [selected(page, f) for f in ("team", "region", "name", "email", "crm_id")] == \
        ["Unit", "Zone", "Person", "Contact", "Ident"]
    assert "as in the last roster import" in page
    other = db.session.scalar(select(Organisation).where(Organisation.name == "Other Co"))
    elsewhere = client.get(upload(client, other, ROSTER).headers["Location"]).get_data(as_text=True)
    assert selected(elsewhere, "team") in (None, "")  # another organisation's mapping is its own


def test_common_crm_and_hr_headers_are_recognised():
    headers = ["Squad", "Area", "Full name", "Work email", "Salesforce ID"]
    assert guess_mapping(headers, ROSTER_FIELDS) == {"team": "Squad", "region": "Area", "name": "Full name",
                                                     "email": "Work email", "crm_id": "Salesforce ID",
                                                     "language": None}
    assert guess_mapping([*headers, "Preferred language"], ROSTER_FIELDS)["language"] == "Preferred language"


def test_a_roster_with_those_headers_imports_without_a_mapping_page(client, org):
    response = upload(client, org, "Squad,Area,Full name,Work email,Salesforce ID\n"
                                   "East 1,East,Gil Garcia,gil@acme.example.com,0051x000\n")
    assert response.status_code == 302 and "/import/roster/" not in response.headers["Location"]
    assert db.session.scalar(select(Team.name)) == "East 1" and db.session.scalar(select(Rep.crm_id)) == "0051x000"
