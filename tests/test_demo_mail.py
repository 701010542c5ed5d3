"""`make demo` shows the mail (issue 15, item 7): a local catcher keeps each message in instance/outbox/, and a
demo-only page lists them for consultants; the demo runner starts the web server, a queue consumer and the
catcher together and stops them together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade

from surveys import mail
from surveys.extensions import db
from surveys.outbox import messages
from tests import builders
from tests.gunicorn_kit import free_port
from tests.http import Browser
from tests.queue_kit import wait_until


def log_in(client, email: str, role: str = "consultant", orgs: list[str] | None = None):
    builders.user(email, role=role, orgs=orgs if orgs is not None else
                  [] if role == "consultant" else [builders.organisation().name])
    client.post("/login", data={"email": email, "password": builders.PASSWORD})


def test_a_message_sent_by_coachlab_lands_in_the_outbox_and_the_page_lists_it(make_app, catcher):
    folder, port = catcher
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DEMO_OUTBOX=str(folder))
    with app.app_context():
        with mail.connection() as server:  # real SMTP over loopback
            server.send_message(mail.compose("ann@acme.example.com", "Your survey link",
                                             "Hello Ann,\nanswer here: http://localhost/s/abc123\n"))
        files = wait_until(lambda: list(folder.glob("*.eml")), timeout=10)
        assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0  # private: links are credentials
        # The page lists mail to the consultant's own organisations only (tests/test_insider_attacks_sending.py).
        org = builders.organisation()
        builders.team_with_reps(org).reps[0].email = "ann@acme.example.com"
        db.session.commit()
        client = app.test_client()
        log_in(client, "c@acme.example.com", orgs=[org.name])
        page = client.get("/demo/outbox")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your survey link" in body and "ann@acme.example.com" in body and "Hello Ann," in body
    assert '<a href="http://localhost/s/abc123"' in body  # the link can be followed from the page
    assert 'href="/demo/outbox"' in body  # and the navigation offers the page


def test_the_outbox_page_is_not_found_without_demo_outbox_or_for_leaders(make_app, catcher):
    folder, _ = catcher
    without = make_app()
    with without.app_context():
        client = without.test_client()
        log_in(client, "c@acme.example.com")
        page = client.get("/demo/outbox")
        assert page.status_code == 404 and "/demo/outbox" not in client.get("/organisations/").get_data(as_text=True)
    demo = make_app(DEMO_OUTBOX=str(folder))
    with demo.app_context():
        leader = demo.test_client()
        log_in(leader, "l@acme.example.com", role="leader")
        assert leader.get("/demo/outbox").status_code == 404
    assert messages(folder) == ([], 0)


def test_the_mail_catcher_command_refuses_a_port_in_use(runner, catcher):
    _, port = catcher
    result = runner.invoke(args=["mail-catcher", "--port", str(port)])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output


@pytest.mark.slow  # 40 to 70 s here: three processes each import the app (pandas, scipy, matplotlib)
def test_the_demo_runner_serves_with_a_consumer_and_a_mail_catcher_and_stops_them_together(repo_copy, make_app):
    """`make demo`'s last step in a copy of the code: the page answers, the consumer consumes, a password reset
    lands in instance/outbox/ and is listed at /demo/outbox; SIGTERM stops all three."""
    port, mail_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "QUEUE_URL", "REDIS_URL", "FLASK_DEBUG", "MAIL_SERVER")}
    env.update({"PORT": str(port), "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port),
                "DEMO_OUTBOX": "instance/outbox", "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
    database = f"sqlite:///{repo_copy / 'demo.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database)
    with app.app_context():  # what `make demo`'s first steps do, less the seeding, in this process (faster)
        upgrade(directory=app.extensions["migrate"].directory)
        builders.user("c@acme.example.com", orgs=[builders.organisation("Acme").name])
    env.update({"DATABASE_URL": database, "IMPORT_INLINE_ROWS": "1"})  # a small roster is a job for the consumer
    log = tempfile.NamedTemporaryFile(prefix="demo-", suffix=".log", delete=False)
    runner = subprocess.Popen(
        [sys.executable, "-m", "surveys.demo_runner", "--", sys.executable, "-m", "gunicorn", "--workers", "1",
         "--threads", "8", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=repo_copy, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started = time.monotonic()
    try:
        browser = Browser(f"http://127.0.0.1:{port}", timeout=5)

        def answers():
            try:
                return browser.get("/login").status == 200
            except OSError:
                return runner.poll() is not None and pytest.fail(Path(log.name).read_text())

        wait_until(answers, timeout=90, interval=0.2)
        print(f"demo runner: page answers after {time.monotonic() - started:.1f} s")
        # The catcher listened before the server started: a reset asked for on the first page is not lost.
        assert "mail to anyone lands in" in Path(log.name).read_text()
        wait_until(lambda: "Consuming" in Path(log.name).read_text(), timeout=30)
        form = browser.get("/forgot-password")
        browser.post("/forgot-password", {"csrf_token": form.csrf_token(), "email": "c@acme.example.com"})
        outbox = repo_copy / "instance" / "outbox"
        try:
            sent = wait_until(lambda: list(outbox.glob("*.eml")), timeout=30)
        except AssertionError:
            pytest.fail("no reset mail in the outbox; the demo's output:\n" + Path(log.name).read_text())
        assert "c@acme.example.com" in sent[0].read_text()
        login = browser.get("/login")
        browser.post("/login", {"csrf_token": login.csrf_token(), "email": "c@acme.example.com",
                                "password": builders.PASSWORD})
        page = browser.get("/demo/outbox")
        assert page.status == 200 and "c@acme.example.com" in page.text, page.text
        roster = browser.get("/organisations/1/roster")
        sent = browser.upload("/organisations/1/import/roster", {"csrf_token": roster.csrf_token()}, "file",
                              "roster.csv", b"team,name,crm_id\nNorth,Ada,C-1\nNorth,Ben,C-2\n")
        job = sent.headers["Location"]
        assert "/imports/" in job, sent
        done = wait_until(lambda: (page := browser.get(job)).status == 302 and page, timeout=30, interval=0.2)
        assert "2 rows read, 2 added" in browser.get(done.headers["Location"]).text  # the consumer ran it
    finally:
        runner.send_signal(signal.SIGTERM)
        code = runner.wait(timeout=60)
        text = Path(log.name).read_text()
        os.unlink(log.name)
    assert code == 0, text
    # Nothing of the demo is left running: no process of the runner's session remains.
    survivors = subprocess.run(["pgrep", "-s", str(runner.pid)], capture_output=True, text=True).stdout.split()
    assert survivors == [], text
