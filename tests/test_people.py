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


# --- invitations ------------------------------------------------------------------------------------------


def test_a_consultant_sees_who_has_access_with_role_last_log_in_and_pending_invitations(client, acme):
    builders.user("lee@acme.example.com", role="leader", orgs=[acme.name])
    log_in(client)
    invited_link(client, acme, "new.leader@acme.example.com")
    page = client.get(f"/organisations/{acme.id}").get_data(as_text=True)
    people = page[page.index("People with access"):]
    assert "c@acme.example.com" in people and "lee@acme.example.com" in people
    assert "new.leader@acme.example.com" in people
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*new\.leader@acme\.example\.com.*?</tr>", people, re.S).group(0)
    assert "invited" in row and "link valid until" in row and "never" in row
    lee = re.search(r"<tr[^>]*>(?:(?!</tr>).)*lee@acme\.example\.com.*?</tr>", people, re.S).group(0)
    assert "leader" in lee and "never" in lee
    mine = re.search(r"<tr[^>]*>(?:(?!</tr>).)*c@acme\.example\.com.*?</tr>", people, re.S).group(0)
    assert "consultant" in mine and utcnow().strftime("%Y-%m-%d") in mine  # logged in just now


def test_an_invitation_mails_a_one_time_link_that_sets_the_password_and_signs_the_leader_in(app, client, acme, mail):
    log_in(client)
    response = invite(client, acme, "Lee@Acme.example.com")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Invitation sent to lee@acme.example.com" in page
    assert "/password/" not in page  # mailed, not shown
    [(recipients, raw)] = mail.messages
    assert recipients == ["lee@acme.example.com"]
    body = mail_text(raw)
    assert "Acme Sales" in body and "72 hours" in body
    link = LINK.search(body).group(0)

    leader = app.test_client()
    form = leader.get(path_of(link))
    assert form.status_code == 200 and "lee@acme.example.com" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer"  # the token is in the address
    done = set_password(leader, link)
    assert done.status_code == 302 and done.headers["Location"].endswith("/studies")
    studies = leader.get("/studies").get_data(as_text=True)
    assert "Pilot" in studies and "Acme Sales" in studies
    assert person("lee@acme.example.com").role is Role.LEADER

    again = app.test_client().get(path_of(link))  # single use
    assert again.status_code == 410 and "expired or has already been used" in again.get_data(as_text=True)
    assert log_in(app.test_client(), "lee@acme.example.com", NEW_PASSWORD).status_code == 302


def test_the_token_is_stored_only_as_its_hash(client, acme):
    log_in(client)
    link = invited_link(client, acme, "lee@acme.example.com")
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalar(select(AccountToken))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.purpose is TokenPurpose.INVITE and len(token) >= 32
    assert token not in str([tuple(row) for row in db.session.execute(AccountToken.__table__.select())])


def test_an_invitation_link_works_for_72_hours_and_not_after(app, client, acme):
    log_in(client)
    invited_link(client, acme, "lee@acme.example.com")
    lee = person("lee@acme.example.com")
    almost = accounts.issue_account_token(lee, TokenPurpose.INVITE, now=utcnow() - timedelta(hours=71, minutes=59))
    assert app.test_client().get(f"/password/{almost}").status_code == 200
    late = accounts.issue_account_token(lee, TokenPurpose.INVITE, now=utcnow() - timedelta(hours=72, minutes=1))
    browser = app.test_client()
    assert browser.get(f"/password/{late}").status_code == 410
    assert set_password(browser, f"http://localhost/password/{late}").status_code == 410
    assert not accounts.has_password(person("lee@acme.example.com"))


def test_a_new_link_replaces_the_earlier_one(app, client, acme):
    log_in(client)
    first = invited_link(client, acme, "lee@acme.example.com")
    lee_id = person("lee@acme.example.com").id
    response = client.post(f"/organisations/{acme.id}/people/{lee_id}/link")
    assert response.status_code == 200
    second = LINK.search(response.get_data(as_text=True)).group(0)
    assert first != second and tokens() == 1
    assert app.test_client().get(path_of(first)).status_code == 410
    assert set_password(app.test_client(), second).status_code == 302


def test_inviting_the_same_pending_address_again_sends_a_new_link(app, client, acme):
    log_in(client)
    first = invited_link(client, acme, "lee@acme.example.com")
    second = invited_link(client, acme, "lee@acme.example.com")
    assert app.test_client().get(path_of(first)).status_code == 410
    assert app.test_client().get(path_of(second)).status_code == 200


def test_a_weak_password_is_refused_on_its_field_and_the_link_still_works(app, client, acme):
    log_in(client)
    link = invited_link(client, acme, "lee@acme.example.com")
    browser = app.test_client()
    weak = set_password(browser, link, password="password1234")
    assert weak.status_code == 400
    page = weak.get_data(as_text=True)
    assert re.search(r'<p class="error" id="password-error">[^<]*too easy to guess', page)
    assert "lee@acme.example.com" in page and 'name="confirm"' in page  # the form, again
    own_email = set_password(browser, link, password="lee@acme.example.com lee")
    assert own_email.status_code == 400
    assert set_password(browser, link).status_code == 302


def test_a_confirmation_that_does_not_match_is_refused_on_its_field(app, client, acme):
    log_in(client)
    link = invited_link(client, acme, "lee@acme.example.com")
    response = set_password(app.test_client(), link, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 400
    assert re.search(r'id="confirm-error">[^<]*do not match', response.get_data(as_text=True))


def test_an_invited_person_cannot_log_in_before_setting_a_password(app, client, acme):
    log_in(client)
    invited_link(client, acme, "lee@acme.example.com")
    response = log_in(app.test_client(), "lee@acme.example.com", "")
    assert response.status_code == 400
    for guess in ("!", "correct horse battery", NEW_PASSWORD):
        assert "do not match" in log_in(app.test_client(), "lee@acme.example.com", guess).get_data(as_text=True)


def test_without_a_mail_server_the_link_is_shown_once_with_a_note(app, client, acme):
    log_in(client)
    response = invite(client, acme, "lee@acme.example.com")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No mail server is configured" in page and "only this once" in page
    link = LINK.search(page).group(0)
    assert "72 hours" in page
    assert link.rsplit("/", 1)[1] not in client.get(f"/organisations/{acme.id}").get_data(as_text=True)
    assert set_password(app.test_client(), link).status_code == 302


def test_an_expired_invitation_is_listed_as_such(client, acme):
    log_in(client)
    invited_link(client, acme, "lee@acme.example.com")
    accounts.issue_account_token(person("lee@acme.example.com"), TokenPurpose.INVITE,
                                 now=utcnow() - timedelta(hours=73))
    page = client.get(f"/organisations/{acme.id}").get_data(as_text=True)
    assert "the link has expired: send a new one" in page


def test_without_mail_no_link_is_shown_for_an_account_that_also_has_access_elsewhere(app, client, acme):
    """Whoever holds a set-password link takes the account over; shown to a consultant of another client, it would
    open that client's organisation to them. Such a link goes by e-mail only."""
    globex = builders.organisation("Globex")
    builders.user("g@globex.example.com", orgs=[globex.name])
    theirs = app.test_client()
    log_in(theirs, "g@globex.example.com")
    invited_link(theirs, globex, "pat@example.com", role="consultant")
    log_in(client)
    assert invite(client, acme, "pat@example.com", role="consultant").status_code == 302  # an existing account
    pat = person("pat@example.com")
    response = client.post(f"/organisations/{acme.id}/people/{pat.id}/link")
    assert response.status_code == 409
    assert "can only be sent by e-mail" in response.get_data(as_text=True)
    assert not LINK.search(response.get_data(as_text=True))


def test_an_account_added_elsewhere_loses_the_link_shown_before_and_gets_a_new_one_by_mail(app, client, acme, smtp):
    """Globex (no mail server then) was shown pat's link; Acme then adds pat, by e-mail: the link Globex kept
    stops working, and the new one goes to pat's mailbox only (adversary issue 14, F1)."""
    globex = builders.organisation("Globex")
    builders.user("g@globex.example.com", orgs=[globex.name])
    theirs = app.test_client()
    log_in(theirs, "g@globex.example.com")
    kept = invited_link(theirs, globex, "pat@example.com", role="consultant")
    controller, inbox = smtp
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    log_in(client)
    response = invite(client, acme, "pat@example.com", role="consultant")
    assert response.status_code == 302 and not LINK.search(response.get_data(as_text=True))
    assert set_password(app.test_client(), kept).status_code == 410
    [(recipients, raw)] = inbox.messages
    mailed = LINK.search(mail_text(raw)).group(0)
    assert recipients == ["pat@example.com"] and "Acme Sales" in mail_text(raw)
    assert set_password(app.test_client(), mailed).status_code == 302
    assert {o.name for o in person("pat@example.com").organisations} == {"Acme Sales", "Globex"}


def test_without_mail_an_account_added_elsewhere_loses_its_link_and_the_page_says_how_to_get_one(app, client, acme):
    globex = builders.organisation("Globex")
    builders.user("g@globex.example.com", orgs=[globex.name])
    theirs = app.test_client()
    log_in(theirs, "g@globex.example.com")
    kept = invited_link(theirs, globex, "pat@example.com", role="consultant")
    log_in(client)
    response = invite(client, acme, "pat@example.com", role="consultant")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "no longer works" in page and "CoachLab administrator" in page and not LINK.search(page)
    assert tokens() == 0
    assert set_password(app.test_client(), kept).status_code == 410


def test_inviting_an_existing_account_adds_access_and_a_notice_without_touching_its_password(app, client, acme, mail):
    other = builders.organisation("Globex")
    builders.user("pat@globex.example.com", orgs=[other.name])
    before = person("pat@globex.example.com").password_hash
    pat = app.test_client()
    log_in(pat, "pat@globex.example.com")
    log_in(client)
    response = invite(client, acme, "pat@globex.example.com", role="consultant")
    assert response.status_code == 302
    assert "already has a CoachLab account" in client.get(response.headers["Location"]).get_data(as_text=True)
    [(recipients, raw)] = mail.messages
    body = mail_text(raw)
    assert recipients == ["pat@globex.example.com"] and "Acme Sales" in body and "/password/" not in body
    assert person("pat@globex.example.com").password_hash == before and tokens() == 0
    assert pat.get(f"/organisations/{acme.id}").status_code == 200  # their session goes on, with Acme in it


def test_an_existing_account_without_mail_is_added_and_the_page_says_to_tell_them(client, acme):
    builders.user("pat@globex.example.com")
    log_in(client)
    response = invite(client, acme, "pat@globex.example.com", role="consultant")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "already has a CoachLab account" in page and "tell them yourself" in page
    assert tokens() == 0


def test_an_existing_account_with_another_role_is_not_added(client, acme):
    builders.user("pat@globex.example.com")  # a consultant
    log_in(client)
    response = invite(client, acme, "pat@globex.example.com", role="leader")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    # One neutral refusal, whatever the account is elsewhere: its role there is not told (adversary issue 14, F7).
    assert re.search(r'id="email-error">[^<]*cannot be invited to Acme Sales as a leader', page)
    assert "as a consultant" not in page
    assert 'value="pat@globex.example.com"' in page  # the form as entered
    assert acme.id not in [o.id for o in person("pat@globex.example.com").organisations]


def test_a_member_is_not_invited_twice(client, acme):
    builders.user("lee@acme.example.com", role="leader", orgs=[acme.name])
    log_in(client)
    response = invite(client, acme, "lee@acme.example.com")
    assert response.status_code == 409
    assert re.search(r'id="email-error">[^<]*already has access', response.get_data(as_text=True))


def test_a_malformed_address_is_refused_on_its_field_with_the_form_kept(client, acme):
    log_in(client)
    response = invite(client, acme, "not-an-address", role="consultant")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and 'value="not-an-address"' in page
    assert re.search(r'<option selected value="consultant">|<option value="consultant" selected>', page)
    assert person("not-an-address") is None


def test_an_unreachable_mail_server_invites_nobody_and_says_so(app, client, acme):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=2)
    log_in(client)
    response = invite(client, acme, "lee@acme.example.com")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "cannot use the mail server" in page and 'value="lee@acme.example.com"' in page
    assert person("lee@acme.example.com") is None and tokens() == 0


# --- roles and removal ------------------------------------------------------------------------------------


def test_a_consultant_makes_a_leader_a_consultant(app, client, acme):
    lee = builders.user("lee@acme.example.com", role="leader", orgs=[acme.name])
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{lee.id}/role", data={"role": "consultant"})
    assert response.status_code == 302
    assert "lee@acme.example.com is now a consultant" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert person("lee@acme.example.com").role is Role.CONSULTANT


def test_a_role_that_also_counts_in_other_organisations_is_not_changed_here(client, acme):
    other = builders.organisation("Globex")
    pat = builders.user("pat@example.com", orgs=[acme.name, other.name])
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{pat.id}/role", data={"role": "leader"})
    assert response.status_code == 409
    assert "other organisations" in response.get_data(as_text=True)
    assert person("pat@example.com").role is Role.CONSULTANT


def test_the_only_consultant_cannot_demote_themselves(client, acme):
    me = person("c@acme.example.com")
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{me.id}/role", data={"role": "leader"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "only consultant" in page and "People with access" in page
    assert person("c@acme.example.com").role is Role.CONSULTANT


def test_the_only_consultant_cannot_remove_themselves(client, acme):
    me = person("c@acme.example.com")
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{me.id}/remove")
    assert response.status_code == 409
    assert "only consultant" in response.get_data(as_text=True)
    assert client.get(f"/organisations/{acme.id}").status_code == 200


def test_a_consultant_may_leave_while_another_consultant_stays(client, acme):
    other = builders.organisation("Globex")
    builders.user("second@acme.example.com", orgs=[acme.name])
    me = person("c@acme.example.com")
    db.session.get(Organisation, other.id).members.append(me)
    db.session.commit()
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{me.id}/remove")
    assert response.status_code == 302 and response.headers["Location"].endswith("/organisations/")
    assert "You no longer have access to Acme Sales" in client.get("/organisations/").get_data(as_text=True)
    assert client.get(f"/organisations/{acme.id}").status_code == 404


def test_removed_access_ends_at_once_while_access_to_other_organisations_goes_on(app, client, acme):
    other = builders.organisation("Globex")
    pat = builders.user("pat@example.com", orgs=[acme.name, other.name])
    pats = app.test_client()
    log_in(pats, "pat@example.com")
    log_in(client)
    response = client.post(f"/organisations/{acme.id}/people/{pat.id}/remove")
    assert response.status_code == 302
    assert "pat@example.com no longer has access" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert pats.get(f"/organisations/{acme.id}").status_code == 404  # the very next request
    assert pats.get(f"/organisations/{other.id}").status_code == 200  # still signed in for Globex


def test_removing_someones_last_organisation_signs_them_out_everywhere(app, client, acme):
    lee = builders.user("lee@acme.example.com", role="leader", orgs=[acme.name])
    phone, desktop = app.test_client(), app.test_client()
    log_in(phone, "lee@acme.example.com")
    log_in(desktop, "lee@acme.example.com")
    log_in(client)
    client.post(f"/organisations/{acme.id}/people/{lee.id}/remove")
    for device in (phone, desktop):
        assert not signed_in(device)
    assert person("lee@acme.example.com").organisations == []


def test_removing_a_pending_invitation_kills_its_link(app, client, acme):
    log_in(client)
    link = invited_link(client, acme, "lee@acme.example.com")
    client.post(f"/organisations/{acme.id}/people/{person('lee@acme.example.com').id}/remove")
    assert app.test_client().get(path_of(link)).status_code == 410 and tokens() == 0


def test_a_person_of_another_organisation_is_not_found(client, acme):
    other = builders.organisation("Globex")
    stranger = builders.user("lee@globex.example.com", role="leader", orgs=[other.name])
    log_in(client)
    for action, data in (("role", {"role": "consultant"}), ("remove", {}), ("link", {})):
        assert client.post(f"/organisations/{acme.id}/people/{stranger.id}/{action}", data=data).status_code == 404
    assert person("lee@globex.example.com").organisations[0].id == other.id


def test_leaders_neither_see_nor_manage_people(app, client, acme):
    lee = builders.user("lee@acme.example.com", role="leader", orgs=[acme.name])
    log_in(client, "lee@acme.example.com")
    page = client.get(f"/organisations/{acme.id}").get_data(as_text=True)
    assert "People with access" not in page and "c@acme.example.com" not in page
    assert invite(client, acme, "friend@acme.example.com").status_code == 403
    me = person("c@acme.example.com")
    assert client.post(f"/organisations/{acme.id}/people/{me.id}/remove").status_code == 403
    assert client.post(f"/organisations/{acme.id}/people/{lee.id}/role", data={"role": "consultant"}).status_code == 403
    assert person("friend@acme.example.com") is None and person("lee@acme.example.com").role is Role.LEADER


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


def test_the_command_line_prints_a_one_time_link_for_a_server_without_mail(app, runner, acme):
    result = runner.invoke(args=["password-link", "C@acme.example.com"])
    assert result.exit_code == 0, result.output
    link = LINK.search(result.output).group(0)
    assert "2 hours" in result.output
    assert set_password(app.test_client(), link).status_code == 302
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_the_command_line_refuses_an_unknown_address(runner, acme):
    result = runner.invoke(args=["password-link", "nobody@acme.example.com"])
    assert result.exit_code == 2 and "no active account" in result.output
    assert tokens() == 0


def test_link_lifetimes_are_settings_and_must_be_whole_hours(make_app, monkeypatch):
    from surveys.config import ConfigurationError

    monkeypatch.setenv("INVITE_TOKEN_HOURS", "48")
    assert make_app().config["INVITE_TOKEN_HOURS"] == 48
    for value in ("0", "two"):
        monkeypatch.setenv("RESET_TOKEN_HOURS", value)
        with pytest.raises(ConfigurationError, match="RESET_TOKEN_HOURS"):
            make_app()


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


def test_a_reset_link_opened_in_a_browser_whose_session_ended_elsewhere_still_opens(app, acme):
    """The sign-out hooks send a stale session to the log-in page with ``next=`` the address: for a link page
    that would copy the token into another address, and the person would lose the page they came for."""
    phone, desktop = app.test_client(), app.test_client()
    log_in(phone)
    log_in(desktop)
    phone.post("/logout")
    token = accounts.issue_account_token(person("c@acme.example.com"), TokenPurpose.RESET)
    response = desktop.get(f"/password/{token}")
    assert response.status_code == 200
    assert set_password(desktop, f"http://localhost/password/{token}").status_code == 302
    assert signed_in(desktop)


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


def test_the_daily_purge_deletes_expired_set_password_links_and_keeps_live_ones(app, runner, acme):
    """An expired link's hash is of no use to anyone: the daily ``purge-drafts`` removes it (a live one stays)."""
    with app.app_context():
        expired = builders.user("old@acme.example.com", role="leader", orgs=[acme.name])
        live = builders.user("new@acme.example.com", role="leader", orgs=[acme.name])
        accounts.issue_account_token(expired, TokenPurpose.INVITE, now=utcnow() - timedelta(hours=73))
        accounts.issue_account_token(live, TokenPurpose.RESET, now=utcnow() - timedelta(minutes=5))
        live_id = live.id
    result = runner.invoke(args=["purge-drafts"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired set-password link(s)." in result.output
    with app.app_context():
        assert db.session.scalars(select(AccountToken.user_id)).all() == [live_id]


def test_reset_links_asked_for_at_the_same_moment_each_store_their_token(app, acme):
    """Two reset requests for one account, their mail threads racing: each replaces the earlier link and
    neither fails. On PostgreSQL both threads deleted the (same) old link and both inserted, so one broke
    the one-link-per-account constraint and its message was never written (CI, stop 23)."""
    import threading

    user_id = person("c@acme.example.com").id
    db.session.commit()
    errors, start = [], threading.Barrier(6)

    def ask():
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                start.wait()
                accounts.issue_account_token(user, TokenPurpose.RESET)
            except Exception as error:  # what the mail thread would have logged
                errors.append(repr(error))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tokens() == 1
