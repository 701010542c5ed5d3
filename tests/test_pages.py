"""Home, log-in and error pages, in one layout, with the security headers."""

import pytest
from flask import abort

from tests import builders


def test_home_page_says_what_coachlab_is(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Who should coach your sales reps?" in page
    assert 'name="viewport"' in page


def test_login_page_has_a_labelled_form_with_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    page = app.test_client().get("/login").get_data(as_text=True)
    assert '<label for="email">' in page and '<label for="password">' in page
    assert 'name="csrf_token"' in page


def test_login_without_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/login", data={"email": "a@b.example.com", "password": "whatever1"})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def test_user_logs_in_and_sees_the_studies(client, app_context):
    builders.user("c@acme.example.com")
    response = client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/studies")
    assert client.get("/studies").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, app_context):
    builders.user("c@acme.example.com")
    response = client.post("/login", data={"email": "c@acme.example.com", "password": "wrong password"})
    assert response.status_code == 200
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/studies").status_code == 302


def test_login_does_not_redirect_to_another_site(client, app_context):
    builders.user("c@acme.example.com")
    response = client.post("/login?next=//evil.example.com/x",
                           data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    assert response.headers["Location"].endswith("/studies")


def test_study_of_another_organisation_is_not_found(client, app_context):
    mine, theirs = builders.organisation("Mine"), builders.organisation("Theirs")
    builders.user("c@acme.example.com", orgs=["Mine"])
    their_study = builders.study(theirs)
    my_study = builders.study(mine)
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    assert client.get(f"/studies/{my_study.id}").status_code == 200
    assert client.get(f"/studies/{their_study.id}").status_code == 404
    assert client.get("/studies/999999").status_code == 404


def test_unknown_page_gets_the_404_page_in_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Not found" in page and 'class="site-header"' in page


@pytest.mark.parametrize("code, words", [(410, "already been used"), (500, "went wrong on our side")])
def test_error_pages_explain_without_a_traceback(make_app, code, words):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        if code == 500:
            raise RuntimeError("secret internals")
        abort(code)

    response = app.test_client().get("/boom")
    assert response.status_code == code
    page = response.get_data(as_text=True)
    assert words in page
    assert "Traceback" not in page and "secret internals" not in page


def test_every_page_sends_security_headers(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
