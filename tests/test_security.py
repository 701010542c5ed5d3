"""Security essentials: headers, cookies, session timeouts, ending sessions, rate limits (memory and Redis)."""

import os
import re
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveys import demo
from surveys.extensions import db
from surveys.models import Invitation, Organisation, Rep, Response, Study, User
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def log_in(client, email="c@acme.example.com", password=builders.PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def consultant(app_context):
    org = builders.organisation()
    return builders.user("c@acme.example.com", orgs=[org.name])


def test_headers_on_every_response(client, consultant):
    for path in ("/", "/login", "/no/such/page", "/static/style.css"):
        with client.get(path) as response:
            headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_https_gets_hsts(make_app):
    client = make_app().test_client()
    response = client.get("/login", base_url="https://coachlab.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_httponly_samesite_lax_and_secure_behind_https(make_app, monkeypatch):
    monkeypatch.setenv("COACHLAB_HTTPS", "1")
    app = make_app()
    with app.app_context():
        builders.organisation()
        builders.user("c@acme.example.com")
    response = log_in(app.test_client())
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and "session" in v)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_behind_a_proxy_forwarded_https_is_recognised(make_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = make_app()
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Strict-Transport-Security" in response.headers


def test_idle_session_ends(client, consultant):
    log_in(client)
    assert client.get("/studies").status_code == 200
    with client.session_transaction() as session:
        session["auth_seen"] = time.time() - 31 * 60
    response = client.get("/studies")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/studies").status_code == 302


def test_absolute_session_timeout(client, consultant):
    log_in(client)
    with client.session_transaction() as session:
        session["auth_started"] = time.time() - 13 * 3600
    assert client.get("/studies").status_code == 302


def test_logging_out_ends_every_session_of_the_user(app, consultant):
    first, second = app.test_client(), app.test_client()
    log_in(first)
    log_in(second)
    assert second.get("/studies").status_code == 200
    first.post("/logout")
    assert second.get("/studies").status_code == 302  # the copied / other session died too


def test_disabling_a_user_ends_their_sessions(app, runner, consultant):
    client = app.test_client()
    log_in(client)
    result = runner.invoke(args=["disable-user", "c@acme.example.com"])
    assert result.exit_code == 0, result.output
    assert client.get("/studies").status_code == 302
    assert log_in(app.test_client()).status_code == 200  # refused: the form again
    assert runner.invoke(args=["disable-user", "nobody@acme.example.com"]).exit_code == 2


def test_repeated_failed_logins_get_429_but_successes_do_not_count(app, consultant):
    client = app.test_client()
    for _ in range(12):
        assert log_in(client).status_code == 302
        client.post("/logout")
    statuses = [log_in(client, password="wrong password").status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    assert "Too many" in log_in(client).get_data(as_text=True)


def test_repeated_unknown_survey_links_get_429(app):
    client = app.test_client()
    statuses = [client.get(f"/s/guess-{i}").status_code for i in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_rate_limits_count_per_client_address_behind_a_proxy(make_app, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    client = make_app().test_client()
    for i in range(20):
        client.get(f"/s/guess-{i}", headers={"X-Forwarded-For": "198.51.100.1"})
    assert client.get("/s/x", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    assert client.get("/s/x", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 404


@pytest.fixture
def redis_uri():
    """The local Redis; skips without it, fails under CI=true."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable: {error}")
        pytest.skip(f"Redis is not reachable ({error}); CI starts it")
    prefix = f"coachlab-test-{uuid.uuid4().hex[:8]}"
    yield "redis://127.0.0.1:6379", prefix, client
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def test_two_instances_share_rate_limits_through_redis(make_app, redis_uri):
    uri, prefix, redis_client = redis_uri
    first = make_app(RATELIMIT_STORAGE_URI=uri, RATELIMIT_KEY_PREFIX=prefix).test_client()
    second = make_app(RATELIMIT_STORAGE_URI=uri, RATELIMIT_KEY_PREFIX=prefix).test_client()
    for i in range(10):
        assert first.get(f"/s/guess-{i}").status_code == 404
    for i in range(10):
        assert second.get(f"/s/guess-{i}").status_code == 404
    assert second.get("/s/one-more").status_code == 429  # counted across both instances
    assert any(prefix in key.decode() for key in redis_client.scan_iter(f"*{prefix}*"))


def test_a_read_only_database_gets_a_try_again_page_and_keeps_the_link(make_app, tmp_path):
    path = tmp_path / "small.sqlite"
    writable = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with writable.app_context():
        db.create_all()
        study, team = builders.running_survey()
        token = builders.invite(study.waves[0], team.reps[0])
        from surveys.respond import survey as responding

        pages = responding.paginate(list(study.questions))
        answers = builders.valid_answers(study.questions)
    rep = writable.test_client()
    rep.get(f"/s/{token}")
    for number, page in enumerate(pages[:-1], start=1):
        rep.post(f"/survey/{number}", data={**{f"q_{q.key}": answers[f"q_{q.key}"] for q in page.questions},
                                             "action": "next"})
    cookie = rep.get_cookie("coachlab_session").value
    read_only = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///file:{path}?mode=ro&uri=true")
    blocked = read_only.test_client()
    blocked.set_cookie("coachlab_session", cookie)
    last = {f"q_{q.key}": answers[f"q_{q.key}"] for q in pages[-1].questions}
    response = blocked.post(f"/survey/{len(pages)}", data={**last, "action": "submit"})
    assert response.status_code == 503
    assert "try again" in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    with writable.app_context():
        assert db.session.scalar(select(Invitation.used)) is False
        assert db.session.scalar(select(Response.id)) is None
    retry = rep.post(f"/survey/{len(pages)}", data={**last, "action": "submit"})
    assert retry.status_code == 302 and retry.headers["Location"].endswith("/survey/thanks")
    with writable.app_context():
        assert db.session.scalar(select(Invitation.used)) is True


def test_debug_is_off_by_default(app):
    assert app.debug is False
    assert app.test_client().get("/console").status_code == 404


def test_debug_is_off_under_gunicorn_even_with_flask_debug_set(monkeypatch, tmp_path):
    import gunicorn.arbiter  # noqa: F401 -- what a gunicorn worker has loaded when it builds the app

    from app import create_app

    monkeypatch.setenv("FLASK_DEBUG", "1")
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'debug.sqlite'}", "SECRET_KEY": "test"}
    assert create_app(config).debug is False


def test_bandit_finds_nothing_of_medium_severity_or_above():
    completed = subprocess.run([sys.executable, "-m", "bandit", "-q", "-ll", "-r", "app.py", "surveys", "analysis"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_users_table_holds_no_plain_passwords(consultant):
    user = db.session.scalar(select(User))
    assert builders.PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")


# --- Findings of the security review (shared/reviews/security.md): each test performs the attack. ---

def csrf_login(client, email, password):
    """Log in as a browser would: the form's CSRF token, then the POST."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def logout_token(html: str) -> str:
    """The CSRF token of the navigation's log-out form."""
    form = re.search(r'<form[^>]*action="/logout".*?</form>', html, re.S).group(0)
    return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)


@pytest.fixture
def demo_world(app):
    """The demo pilot, with a second leader of the same organisation."""
    with app.app_context():
        seeded = demo.seed_demo("http://localhost")
        builders.user("second.leader@northwind.example.com", role="leader", orgs=[seeded.organisation])
    return seeded


def test_f9_a_cached_report_page_carries_each_viewers_own_token_and_messages(make_app, demo_world):
    """F9: the second viewer of a cached report page got the first one's CSRF token (and would get their
    pending messages), so logging out from that page failed with 400 "Form expired"."""
    live = make_app(WTF_CSRF_ENABLED=True)
    first, second = live.test_client(), live.test_client()
    csrf_login(first, demo_world.leader.email, demo_world.leader.password)
    csrf_login(second, "second.leader@northwind.example.com", builders.PASSWORD)
    with first.session_transaction() as session:
        session["_flashes"] = [("info", "A message for the first viewer only")]
    url = f"/studies/{demo_world.study_id}/report?cachetest=x1"
    page_a = first.get(url).get_data(as_text=True)
    page_b = second.get(url)
    assert page_b.status_code == 200
    assert "A message for the first viewer only" in page_a
    assert "A message for the first viewer only" not in page_b.get_data(as_text=True)
    assert logout_token(page_a) != logout_token(page_b.get_data(as_text=True))
    again = second.get(url).get_data(as_text=True)  # served from the cache again: still B's own token
    logged_out = second.post("/logout", data={"csrf_token": logout_token(again)})
    assert logged_out.status_code == 302
    assert second.get("/studies").status_code == 302  # B is logged out
    assert first.get("/studies").status_code == 200  # A is not


def test_f16_every_authenticated_page_and_export_is_no_store(client, demo_world):
    """F16: report pages, JSON, tables, charts, lists and wave pages had no Cache-Control; a shared
    machine's browser cache kept them after log-out."""
    log_in(client, demo_world.consultant.email, demo_world.consultant.password)
    with client.application.app_context():
        study = db.session.get(Study, demo_world.study_id)
        study_id, org_id, wave_id = study.id, study.organisation_id, study.waves[0].id
    report = f"/studies/{study_id}/report"
    paths = ["/", "/studies", f"/studies/{study_id}", f"/studies/{study_id}/design", f"/studies/{study_id}/questions",
             f"/studies/{study_id}/assignment", f"/studies/{study_id}/waves/{wave_id}", "/organisations/",
             f"/organisations/{org_id}", f"/organisations/{org_id}/roster", f"/organisations/{org_id}/performance",
             f"/organisations/{org_id}/sessions", report, report + ".json", report + "/tables.csv",
             report + "/tables.xlsx", report + "/charts/profile.svg", report + "/charts/trend.svg",
             f"/studies/{study_id}/exports/responses.csv", f"/studies/{study_id}/exports/performance.xlsx",
             "/no/such/page"]
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    links = client.post(f"/studies/{study_id}/waves/{study.waves[-1].id}/links.csv")
    assert "no-store" in links.headers.get("Cache-Control", "")
    # Nothing private in static files: the browser may keep them, signed in or not.
    log_in(client, demo_world.consultant.email, demo_world.consultant.password)
    with client.get("/static/style.css") as static:
        assert "no-store" not in static.headers.get("Cache-Control", "")
        assert "Set-Cookie" not in static.headers  # nor do they carry (and so refresh) the session


def test_f12_a_wave_labelled_like_mathtext_renders_in_the_chart_and_the_report_command(make_app, demo_world,
                                                                                       tmp_path):
    """F12: a wave labelled ``$x^$`` (WaveForm allows it) made the trend chart answer 500 for every viewer,
    and ``flask report --format html`` fail; ``a$b$c`` was silently typeset as maths."""
    served = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    consultant = served.test_client()
    log_in(consultant, demo_world.consultant.email, demo_world.consultant.password)
    today = date.today()
    added = consultant.post(f"/studies/{demo_world.study_id}/waves", data={
        "label": "$x^$ later", "opens_on": (today + timedelta(days=30)).isoformat(),
        "closes_on": (today + timedelta(days=40)).isoformat()})
    assert added.status_code == 302  # the form takes such a label
    with served.app_context():
        study = db.session.get(Study, demo_world.study_id)
        # The waves with responses get such labels too (as if they had been created so).
        labels = {"baseline": "$x^$", "follow-up": "a$b$c"}
        for wave in study.waves:
            wave.label = labels.get(wave.label, wave.label)
        db.session.commit()
    leader = served.test_client()
    log_in(leader, demo_world.leader.email, demo_world.leader.password)
    chart = leader.get(f"/studies/{demo_world.study_id}/report/charts/trend.svg")
    assert chart.status_code == 200, chart.get_data(as_text=True)[:300]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", chart.get_data(as_text=True).replace("\n", ""))
    assert "$x^$" in texts and "a$b$c" in texts
    page = leader.get(f"/studies/{demo_world.study_id}/report")
    assert page.status_code == 200 and "$x^$" in page.get_data(as_text=True)
    result = served.test_cli_runner().invoke(args=["report", str(demo_world.study_id), "--format", "html",
                                                   "-o", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    assert "a$b$c" in (tmp_path / "report.html").read_text()


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))


def test_f10_a_hostile_csv_leaves_the_gunicorn_worker_alive_and_small(make_app):
    """F10: one row of 3,000,000 fields (6 MB) under a valid header took a gunicorn worker past its 30 s
    timeout at 1.6 GB, and the worker was killed. Now: a 400 with the reason, the same worker, and its peak
    memory barely moves (VmHWM, measured by the kernel)."""
    from tests.gunicorn_kit import BENCH_SECRET, Gunicorn
    from tests.http import Browser

    app = make_app(SECRET_KEY=BENCH_SECRET)
    with app.app_context():
        org = builders.organisation()
        builders.user("c@acme.example.com", orgs=[org.name])
        org_id = org.id
    wide_row = b"team,region,name,email,crm_id\n" + b"a," * 3_000_000 + b"a\n"
    with Gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], workers=1) as server:
        [worker] = server.workers()
        browser = Browser(server.url)
        token = browser.get("/login").csrf_token()
        assert browser.post("/login", {"email": "c@acme.example.com", "password": builders.PASSWORD,
                                       "csrf_token": token}).status == 302
        roster = browser.get(f"/organisations/{org_id}/roster")
        assert roster.status == 200
        before = peak_rss_kib(worker)
        refused = browser.upload(f"/organisations/{org_id}/import/roster", {"csrf_token": roster.csrf_token()},
                                 "file", "wide_row.csv", wide_row)
        assert refused.status == 400, refused.text[-500:]
        assert "a row is longer than 100,000 characters" in refused.text and "Traceback" not in refused.text
        assert server.workers() == [worker]  # not killed, not replaced
        assert peak_rss_kib(worker) - before < 200 * 1024  # it reached 1.6 GB
        assert browser.get(f"/organisations/{org_id}/roster").status == 200  # and it still serves
        assert "WORKER TIMEOUT" not in server.log_text()
    with app.app_context():
        assert db.session.scalar(select(Rep.id)) is None


@pytest.mark.parametrize("password", [
    "password", "aaaaaaaa", " " * 8,  # the review's three, all accepted
    "password1234", "aaaaaaaaaaaa", " " * 12, "qwertyuiopas", "Password123!", "iloveyou2024",  # 12, but common
    "globex.example.com1",  # the user's own e-mail
])
def test_f14_create_user_refuses_short_and_common_passwords(runner, app_context, monkeypatch, password):
    """F14: COACHLAB_PASSWORD='password', 'aaaaaaaa' and 8 spaces were accepted; the only check was 8 to 128
    characters. Now: at least 12, and not one that zxcvbn's lists and patterns guess easily."""
    builders.organisation("Globex Sales")
    monkeypatch.setenv("COACHLAB_PASSWORD", password)
    result = runner.invoke(args=["create-user", "lead@globex.example.com", "--role", "leader", "--org", "Globex Sales"])
    assert result.exit_code == 2, result.output
    assert "at least 12 characters" in result.output or "too easy to guess" in result.output, result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(User.id)) is None


def test_f14_a_common_password_typed_at_the_prompt_is_refused_too(runner, app_context, monkeypatch):
    monkeypatch.delenv("COACHLAB_PASSWORD", raising=False)
    result = runner.invoke(args=["create-user", "c@globex.example.com", "--role", "consultant"],
                           input="password1234\npassword1234\n")
    assert result.exit_code == 2 and "too easy to guess" in result.output
    assert db.session.scalar(select(User.id)) is None


def test_f14_a_long_unusual_password_and_the_demos_passwords_are_accepted(app_context):
    from surveys.accounts import check_password

    check_password("glacier tram nectar ochre")
    check_password("x7#Qm!v2@Lp9$Rk4" * 8)  # 128 characters: judged on its first 72, zxcvbn's limit
    seeded = demo.seed_demo("http://localhost")
    for login in (seeded.consultant, seeded.leader):
        assert len(login.password) >= 12
        check_password(login.password, login.email)


def from_address(address: str) -> dict:
    return {"headers": {"X-Forwarded-For": address}}


@pytest.fixture
def behind_proxy(make_app, monkeypatch):
    """An app behind one trusted proxy (so each request can come from its own address), with a consultant."""
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = make_app()
    with app.app_context():
        builders.organisation()
        builders.user("c@acme.example.com")
        builders.user("other@acme.example.com")
    return app


def test_f13_an_account_locks_after_repeated_failures_whatever_the_address(behind_proxy):
    """F13: failed log-ins were limited per client address only, so guesses spread over many addresses
    never stopped. Now the account locks after LOGIN_ACCOUNT_LIMIT failures, even for the right password."""
    client = behind_proxy.test_client()
    for i in range(10):
        failed = client.post("/login", data={"email": "c@acme.example.com", "password": f"guess {i}"},
                             **from_address(f"203.0.113.{i + 1}"))
        assert failed.status_code == 200, i
    locked = client.post("/login", data={"email": "C@acme.example.com", "password": builders.PASSWORD},
                         **from_address("198.51.100.77"))
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/studies").status_code == 302  # not logged in
    other = behind_proxy.test_client()  # another account from the same addresses is not affected
    assert other.post("/login", data={"email": "other@acme.example.com", "password": builders.PASSWORD},
                      **from_address("203.0.113.1")).status_code == 302


def test_f13_the_lock_does_not_tell_whether_the_account_exists(behind_proxy):
    def attempts(email):
        client = behind_proxy.test_client()
        responses = [client.post("/login", data={"email": email, "password": f"guess {i}"},
                                 **from_address(f"192.0.2.{i + 1}")) for i in range(12)]
        return [(r.status_code, r.headers.get("Retry-After") is not None,
                 r.get_data(as_text=True).replace(email, "EMAIL")) for r in responses]

    known, unknown = attempts("c@acme.example.com"), attempts("nobody@acme.example.com")
    assert [status for status, _, _ in known] == [200] * 10 + [429, 429]
    assert known == unknown


def test_f13_a_successful_log_in_clears_the_accounts_failures(behind_proxy):
    client = behind_proxy.test_client()
    for _ in range(2):
        for i in range(9):
            assert client.post("/login", data={"email": "c@acme.example.com", "password": "typo"},
                               **from_address(f"203.0.113.{i + 1}")).status_code == 200
        assert client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD},
                           **from_address("203.0.113.50")).status_code == 302
        client.post("/logout")


def test_f13_one_office_behind_one_address_does_not_lock_out_a_colleague(behind_proxy):
    """F13: with 10 failed log-ins per minute per address, one office's typos locked everybody behind its NAT
    out. The account lock now guards each account, so the address limit can be looser (30 per minute)."""
    client = behind_proxy.test_client()
    office = from_address("198.51.100.10")
    for i in range(20):  # twenty colleagues mistype their password once this minute
        assert client.post("/login", data={"email": f"rep{i}@acme.example.com", "password": "typo"},
                           **office).status_code == 200
    assert client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD},
                       **office).status_code == 302


def test_f13_every_429_says_when_to_retry(behind_proxy):
    """F13: 429 came without Retry-After."""
    client = behind_proxy.test_client()
    spray = from_address("198.51.100.20")
    statuses = [client.post("/login", data={"email": f"x{i}@acme.example.com", "password": "spray"}, **spray)
                for i in range(31)]
    assert [r.status_code for r in statuses] == [200] * 30 + [429]
    assert 0 < int(statuses[-1].headers["Retry-After"]) <= 60
    links = [client.get(f"/s/guess-{i}", **spray) for i in range(21)]
    assert links[-1].status_code == 429 and 0 < int(links[-1].headers["Retry-After"]) <= 60


@pytest.mark.parametrize("workers, storage, warned", [(2, None, True), (1, None, False),
                                                     (2, "redis://127.0.0.1:6379", False)])
def test_f13_memory_counters_under_several_workers_are_announced_at_start(make_app, workers, storage, warned):
    """F13: with memory:// counters each of N workers counts alone (40 link guesses passed where the setting is
    20); nothing said so. Now the app warns at start. (Redis need not answer: the app starts without it.)"""
    from tests.gunicorn_kit import Gunicorn

    url = make_app().config["SQLALCHEMY_DATABASE_URI"]
    extra = {"RATELIMIT_STORAGE_URI": storage} if storage else {}
    with Gunicorn(url, workers=workers, extra_env=extra) as server:
        log = server.log_text()
    assert ("rate limits are counted per process" in log) is warned, log[-2000:]


@pytest.mark.parametrize("name", ["LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_LIMIT", "LINK_RATE_LIMIT"])
def test_a_rate_limit_setting_that_is_no_rate_limit_is_named_at_start(monkeypatch, name):
    from surveys.config import ConfigurationError, security_settings

    monkeypatch.setenv(name, "lots")
    with pytest.raises(ConfigurationError, match=name):
        security_settings("http://localhost")


def test_f15_another_tenants_organisation_name_answers_like_an_unused_one(app, demo_world):
    """F15: a consultant of another tenant could test any name, in any case, and tell from 400 "already exists"
    versus 302 that a client of that name uses CoachLab. Names are now unique only among the organisations a
    consultant belongs to: another tenant's name is created like any new name, as a separate organisation,
    and nothing of the other tenant's becomes visible."""
    with app.app_context():
        builders.organisation("Rival Corp")
        builders.user("consultant@rival.example.com", orgs=["Rival Corp"])
        northwind = db.session.scalar(select(Organisation.id).where(Organisation.name == "Northwind Sales (demo)"))
    client = app.test_client()
    log_in(client, "consultant@rival.example.com")
    for name in ["northwind SALES (demo)", "A Client Nobody Has"]:
        answer = client.post("/organisations/", data={"name": name})
        assert answer.status_code == 302, (name, answer.status_code)
    # Their own organisation's name is refused, in any case, as often as they like: no limit, no lock.
    for _ in range(8):
        own = client.post("/organisations/", data={"name": " RIVAL corp "})
        assert own.status_code == 400 and "already have an organisation called" in own.get_data(as_text=True)
    # ...and so is a second organisation of the name they just used, because now it is theirs.
    again = client.post("/organisations/", data={"name": "NORTHWIND sales (demo)"})
    assert again.status_code == 400
    with app.app_context():
        theirs = db.session.scalars(select(Organisation).where(
            func.lower(Organisation.name) == "northwind sales (demo)")).all()
        assert len(theirs) == 2
        mine = next(o for o in theirs if o.id != northwind)
        assert [m.email for m in mine.members] == ["consultant@rival.example.com"]
        assert mine.teams == [] and mine.studies == []
    assert client.get(f"/organisations/{northwind}").status_code == 404


def test_info_a_405_names_the_methods_that_are_allowed(client):
    """Review, Info: the custom error page dropped the Allow header of a 405."""
    response = client.get("/logout")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


@pytest.mark.parametrize("digits", ["\u0661", "\uff11", "\u0967"])
def test_info_ids_in_urls_are_ascii_digits_only(client, consultant, digits):
    """Review, Info: /studies/١ and /studies/１ answered as /studies/1."""
    log_in(client)
    assert client.get(f"/studies/{digits}").status_code == 404
    assert client.get(f"/organisations/{digits}").status_code == 404
