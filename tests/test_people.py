"""People in the browser: consultants invite leaders and fellow consultants by e-mail, see who has access,
change a role and remove access; anyone resets a forgotten password; what the log-in and log-out pages say.

Mail goes through a real SMTP server on loopback (aiosmtpd); without ``MAIL_SERVER`` the consultant is
shown the one-time link instead.
"""

import hashlib
import re
from datetime import timedelta

import pytest
from flask import g, request_started
from sqlalchemy import func, select

from surveys import accounts
from surveys.extensions import db
from surveys.models import AccountToken, Organisation, Role, TokenPurpose, User, utcnow
from tests import builders
from tests.conftest import mail_text
from tests.gunicorn_kit import free_port

pytestmark = pytest.mark.usefixtures("app_context")

NEW_PASSWORD = "tangerine orbit lantern 42"
LINK = re.compile(r"http://localhost/password/[A-Za-z0-9_-]+")


@pytest.fixture(autouse=True)
def each_request_loads_its_own_user(app):
    """The test holds one application context open, and requests reuse it; Flask-Login keeps the signed-in
    user in ``g``, so without this the phone's request would see the desktop's user."""

    def forget_user(sender, **extra):
        g.pop("_login_user", None)

    request_started.connect(forget_user, app)
    yield
    request_started.disconnect(forget_user, app)


@pytest.fixture
def acme():
    """Acme Sales with a consultant (c@acme.example.com) and a study."""
    org = builders.organisation("Acme Sales")
    builders.user("c@acme.example.com", orgs=[org.name])
    builders.study(org)
    return org


@pytest.fixture
def mail(app, smtp):
    """The app sends mail through the loopback server; yields its inbox."""
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    return inbox


def log_in(client, email="c@acme.example.com", password=builders.PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def signed_in(client) -> bool:
    return client.get("/studies").status_code == 200


def invite(client, org, email, role="leader"):
    return client.post(f"/organisations/{org.id}/people", data={"email": email, "role": role})


def path_of(link: str) -> str:
    return link.removeprefix("http://localhost")


def set_password(client, link, password=NEW_PASSWORD, confirm=None):
    return client.post(path_of(link), data={"password": password, "confirm": password if confirm is None else confirm})


def person(email) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def tokens() -> int:
    return db.session.scalar(select(func.count()).select_from(AccountToken))


def invited_link(client, org, email, role="leader") -> str:
    """Invite without a mail server and read the one-time link off the page."""
    response = invite(client, org, email, role)
    assert response.status_code == 200, response.status_code
    return LINK.search(response.get_data(as_text=True)).group(0)


# --- password reset ---------------------------------------------------------------------------------------


def forgot(client, email):
    return client.post("/forgot-password", data={"email": email})


def test_the_log_in_page_links_to_the_password_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "Forgot your password?" in page
    assert client.get("/forgot-password").status_code == 200


def test_a_reset_link_sets_a_new_password_ends_every_other_session_and_clears_the_lock(app, client, acme, mail):
    other_device = app.test_client()
    log_in(other_device)
    for _ in range(10):
        log_in(app.test_client(), password="wrong guess")
    assert log_in(app.test_client()).status_code == 429  # locked
    response = forgot(client, "C@acme.example.com")
    assert response.status_code == 200
    assert "2 hours" in response.get_data(as_text=True)
    [(recipients, raw)] = mail.wait_for(1)
    assert recipients == ["c@acme.example.com"]
    body = mail_text(raw)
    assert "2 hours" in body
    link = LINK.search(body).group(0)
    assert set_password(client, link).status_code == 302
    assert signed_in(client)
    assert not signed_in(other_device)
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302  # lock cleared, new password
    assert log_in(app.test_client()).status_code == 200  # the old one no longer works
    assert app.test_client().get(path_of(link)).status_code == 410


def test_a_reset_link_expires_after_2_hours(app, acme):
    me = person("c@acme.example.com")
    fresh = accounts.issue_account_token(me, TokenPurpose.RESET, now=utcnow() - timedelta(hours=1, minutes=59))
    assert app.test_client().get(f"/password/{fresh}").status_code == 200
    stale = accounts.issue_account_token(me, TokenPurpose.RESET, now=utcnow() - timedelta(hours=2, minutes=1))
    assert app.test_client().get(f"/password/{stale}").status_code == 410


def test_a_reset_for_an_unknown_address_looks_exactly_the_same(app, acme, mail):
    def ask(email):
        response = forgot(app.test_client(), email)
        return response.status_code, sorted(response.headers.keys()), response.get_data(as_text=True).replace(
            email, "EMAIL")

    unknown = ask("nobody@acme.example.com")
    known = ask("c@acme.example.com")
    assert known == unknown and known[0] == 200
    assert [recipients for recipients, _ in mail.wait_for(1)] == [["c@acme.example.com"]]
    assert tokens() == 1


def test_a_disabled_account_gets_no_reset_link(app, acme, mail):
    accounts.disable_user("c@acme.example.com")
    assert forgot(app.test_client(), "c@acme.example.com").status_code == 200
    assert tokens() == 0 and mail.messages == []


def test_reset_requests_are_limited_per_address_the_same_way_for_unknown_addresses(app, acme, mail):
    def ask(email, times):
        client = app.test_client()
        responses = [forgot(client, email) for _ in range(times)]
        return [(r.status_code, "Retry-After" in r.headers, r.get_data(as_text=True).replace(email, "EMAIL"))
                for r in responses]

    known, unknown = ask("c@acme.example.com", 4), ask("nobody@acme.example.com", 4)
    assert [status for status, _, _ in known] == [200, 200, 200, 429]
    assert known == unknown
    assert re.search(r'id="email-error">[^<]*try again in', known[3][2])
    assert len(mail.wait_for(3)) == 3


def test_without_a_mail_server_the_reset_page_says_no_link_can_be_sent(app, acme):
    response = forgot(app.test_client(), "c@acme.example.com")
    assert response.status_code == 200
    assert "cannot send e-mail" in response.get_data(as_text=True)
    assert tokens() == 0


def test_a_malformed_address_on_the_reset_form_is_refused_on_its_field(client):
    response = forgot(client, "not-an-address")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and 'value="not-an-address"' in page


def test_an_unknown_link_gets_the_same_page_as_a_used_one(app, acme):
    unknown = app.test_client().get("/password/" + "x" * 32)
    assert unknown.status_code == 410
    assert "Forgot your password?" in unknown.get_data(as_text=True)


# --- what users are told ----------------------------------------------------------------------------------


def test_logging_out_says_every_device_was_signed_out(client, acme):
    log_in(client)
    response = client.post("/logout")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "every device" in page


def test_a_session_ended_on_another_device_says_why(app, acme):
    phone, desktop = app.test_client(), app.test_client()
    log_in(phone)
    log_in(desktop)
    phone.post("/logout")
    response = desktop.get("/studies")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = desktop.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out because you logged out on another device or your password was changed" in page
    assert "Please log in to see this page" not in page
    assert "signed out because" not in desktop.get("/login").get_data(as_text=True)  # said once


def test_the_lock_says_for_how_long_without_telling_whether_the_address_exists(app, acme):
    def lock(email):
        client = app.test_client()
        for _ in range(10):
            log_in(client, email, "wrong guess")
        response = log_in(client, email, builders.PASSWORD)
        return response.status_code, response.get_data(as_text=True).replace(email, "EMAIL")

    known, unknown = lock("c@acme.example.com"), lock("nobody@acme.example.com")
    assert known == unknown and known[0] == 429
    assert re.search(r"locked for (15|14) minutes", known[1])
    assert "Forgot your password?" in known[1]
