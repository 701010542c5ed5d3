"""A real queue consumer for tests: ``flask --app app worker`` in a process of its own, which a test may SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "queue-test-secret"


class Consumer:
    """``flask --app app worker`` on ``database_url`` and ``queue_url``; started at construction."""

    def __init__(self, database_url: str, queue_url: str, workers: int = 2, periodic: bool = False,
                 extra_env: dict | None = None):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_DEBUG", "REDIS_URL")}
        env.update({"DATABASE_URL": database_url, "QUEUE_URL": queue_url, "SECRET_KEY": SECRET,
                    "PUBLIC_BASE_URL": "http://localhost", **(extra_env or {})})
        self.log = tempfile.NamedTemporaryFile(prefix="consumer-", suffix=".log", delete=False)
        args = [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", str(workers),
                "--periodic" if periodic else "--no-periodic"]
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while "Consuming" not in self.log_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = self.log_text()
                self.stop()
                raise RuntimeError("the consumer did not start: " + text[-2000:])
            time.sleep(0.05)

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the consumer and its threads at once: nothing it was doing is finished or cleaned up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # Huey's graceful stop: finish the running tasks
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        os.unlink(self.log.name)


def wait_until(condition, timeout: float = 30.0, interval: float = 0.05):
    """Poll ``condition()`` until it returns something true; that value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true after {timeout} s: {condition}")
