"""``make demo``'s supervisor: the web server, a queue consumer and the mail catcher, stopped together.

    python -m surveys.demo_runner -- gunicorn --workers 1 --threads 8 --bind 127.0.0.1:5000 'app:create_app()'

Starts ``flask --app app mail-catcher`` (on ``MAIL_PORT``, into ``DEMO_OUTBOX``) and ``flask --app app worker``
at once, and the server command given after ``--`` once the catcher listens, so that no message is lost.
When the server stops (Ctrl-C, SIGTERM, or an error), the consumer is stopped gracefully (SIGINT: Huey
finishes the tasks it is running) and the catcher with it; their output goes to this terminal too.

The three share the environment this runner is given: ``MAIL_SERVER=127.0.0.1``, ``MAIL_PORT``,
``DEMO_OUTBOX``, the database and the queue (the default, ``instance/queue.sqlite``, is on this machine).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

STARTUP_SECONDS = 60


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen, first=signal.SIGINT, grace: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(first)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        print("usage: python -m surveys.demo_runner -- SERVER COMMAND…", file=sys.stderr)
        return 2
    server_command = argv[argv.index("--") + 1:]
    env = dict(os.environ)
    host, port = env.setdefault("MAIL_SERVER", "127.0.0.1"), int(env.setdefault("MAIL_PORT", "8025"))
    outbox = env.setdefault("DEMO_OUTBOX", "instance/outbox")
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    if _listening(host, port):
        print(f"demo: something already listens on {host}:{port}; set MAIL_PORT to a free port", file=sys.stderr)
        return 2
    helpers: list[subprocess.Popen] = []
    server = None
    stopping = []

    def on_term(*_):  # forwarded to the server; the helpers follow it below
        stopping.append(True)
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    try:
        catch = [*flask, "mail-catcher", "--host", host, "--port", str(port), "--outbox", outbox]
        catcher = subprocess.Popen(catch, env=env)  # noqa: S603
        helpers.append(catcher)
        worker = subprocess.Popen([*flask, "worker", "--workers", "2"], env=env)  # noqa: S603
        helpers.append(worker)
        # The server starts only once the catcher listens: a message sent before (a password reset asked
        # for on the first page) would be lost, on a busy machine seconds after the page first answers.
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(host, port):
            if stopping:
                return 0
            if catcher.poll() is not None or worker.poll() is not None or time.monotonic() > deadline:
                print("demo: the mail catcher or the queue consumer did not start", file=sys.stderr)
                return 1
            time.sleep(0.1)
        print(f"demo: mail to anyone lands in {outbox}/ (consultants read it at /demo/outbox)", flush=True)
        if stopping:
            return 0
        server = subprocess.Popen(server_command, env=env)  # noqa: S603  (the Makefile's command line)
        while True:
            try:
                return server.wait()
            except KeyboardInterrupt:  # Ctrl-C reached the server too (same process group): wait for it to stop
                continue
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None:
            _stop(server, signal.SIGTERM)
        for helper in reversed(helpers):
            _stop(helper)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
