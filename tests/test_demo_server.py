"""The server `make demo` starts keeps the rate limits it is configured with (ux review D22).

Flask-Limiter's counters live in the process unless ``RATELIMIT_STORAGE_URI`` names a shared store, so
with several worker processes each kept its own count and "10 per minute" let about twice as many
attempts through. The test starts gunicorn with the very options of the Makefile's demo target and
counts the failed log-ins it lets through.
"""

import re
import shlex

from flask_migrate import upgrade

from tests.gunicorn_kit import ROOT, Gunicorn
from tests.http import Browser


def demo_server_options() -> list[str]:
    """The gunicorn options of the Makefile's ``demo`` target (everything between ``gunicorn`` and the app)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in recipe.splitlines() if "gunicorn" in line)
    words = shlex.split(re.sub(r"\$\((\w+)\)", r"\1", line))
    start = next(i for i, word in enumerate(words) if word.endswith("gunicorn")) + 1
    options = words[start:-1]
    bind = options.index("--bind")
    return options[:bind] + options[bind + 2:]  # the kit binds a free port


def test_the_demo_server_refuses_the_attempt_after_the_configured_number_of_failed_log_ins(make_app, tmp_path):
    database = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
    options = demo_server_options()
    assert options, "the demo target's gunicorn line was not found"
    with Gunicorn(database, server_args=options, extra_env={"LOGIN_RATE_LIMIT": "5 per minute"},
                  probe="/login") as server:
        statuses = []
        for attempt in range(12):
            browser = Browser(server.url)  # a fresh browser each time: the limit is per address, not per cookie
            form = browser.get("/login")
            if form.status == 429:
                statuses.append(429)
                continue
            # A different address each time: an account's own lock-out (after a few failures) is not what is
            # counted here, the address limit is.
            sent = browser.post("/login", {"csrf_token": form.csrf_token(), "email": f"guess{attempt}@acme.example.com",
                                           "password": "not the password"})
            statuses.append(sent.status)
    allowed = [status for status in statuses if status != 429]
    assert len(allowed) == 5, statuses
    assert statuses[5:] == [429] * 7, statuses
