"""A consultant invites a leader in a real browser; the leader sets a password from the e-mail and reads the studies."""

import re

import pytest
from playwright.sync_api import expect

from tests import builders
from tests.conftest import mail_text

pytestmark = pytest.mark.browser

PASSWORD = "tangerine orbit lantern 42"


def test_an_invited_leader_sets_a_password_from_the_mail_and_sees_the_organisations_studies(
        chromium, live_app, live_server, smtp):
    controller, inbox = smtp
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    with live_app.app_context():
        org = builders.organisation("Initech Sales")
        builders.user("c@initech.example.com", orgs=[org.name])
        builders.study(org)

    consultant = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    consultant.goto(f"{live_server}/login")
    consultant.get_by_label("E-mail").fill("c@initech.example.com")
    consultant.get_by_label("Password").fill(builders.PASSWORD)
    consultant.get_by_role("button", name="Log in").click()
    consultant.get_by_role("link", name="Organisations").click()
    consultant.get_by_role("link", name="Initech Sales").click()
    consultant.get_by_role("heading", name="People with access").wait_for()
    consultant.get_by_label("E-mail").fill("dana.leader@initech.example.com")
    consultant.get_by_label("Role", exact=True).select_option("leader")
    consultant.get_by_role("button", name="Send the invitation").click()
    expect(consultant.locator("body")).to_contain_text("Invitation sent to dana.leader@initech.example.com")
    expect(consultant.locator("#people")).to_contain_text("invited, has not set a password yet")

    [(recipients, raw)] = inbox.wait_for(1)
    assert recipients == ["dana.leader@initech.example.com"]
    link = re.search(r"http://localhost/password/\S+", mail_text(raw)).group(0)

    leader = chromium.new_context(viewport={"width": 375, "height": 740}).new_page()
    leader.goto(link.replace("http://localhost", live_server))
    leader.get_by_role("heading", name="Set your password").wait_for()
    leader.get_by_label("New password").fill(PASSWORD)
    leader.get_by_label("Repeat the password").fill(PASSWORD)
    leader.get_by_role("button", name="Set the password and sign in").click()
    leader.get_by_role("heading", name="Studies").wait_for()
    expect(leader.locator("body")).to_contain_text("Your password is set and you are signed in.")
    expect(leader.get_by_role("link", name="Pilot")).to_be_visible()
    expect(leader.locator("body")).to_contain_text("Initech Sales")
    leader.context.close()
    consultant.context.close()
