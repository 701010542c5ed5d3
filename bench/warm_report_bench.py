"""Benchmark: report snapshots (issue 15 item 5) — every view of a large study's report served warm by every
gunicorn worker, and the background rebuild of the whole cube of views.

1. Seeds a fresh SQLite database as ``bench/report_bench.py`` does (teams of 8 in four regions, one closed wave,
   30 scale items per respondent, CRM figures before and after).
2. Rebuild: in a process of its own, with nothing cached, times ``surveys.reports.snapshots.rebuild`` — every view
   a reader can ask for (each closed wave × all/each region × all/each band), computed and stored — and each view.
3. Serving: starts gunicorn with 4 workers on that database, logs in as the leader over real HTTP and requests
   every stored view as the page and as JSON, ``--rounds`` times, one request at a time. Which worker answered is
   read from gunicorn's access log (``%(p)s``); the times are the client's (request sent → body read). The first
   request of a view to a worker unpickles the snapshot and renders it; later ones hit that worker's own copy.
   An idle machine lets one worker take nearly every request made one at a time, so the same requests are then
   made by four readers at once (one per worker): every worker serves, and the times include waiting for a core.

Run from the repository root: ``.venv/bin/python -m bench.warm_report_bench [--size 40000] [--rounds 12]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookies
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report_bench import PASSWORD, seed  # noqa: E402
from tests.gunicorn_kit import BENCH_SECRET, Gunicorn  # noqa: E402


def rebuild_in_own_process(url: str, study_id: int) -> dict:
    """Runs in a child: the whole rebuild from a cold process, and the time of each view."""
    from app import create_app
    from surveys.reports import report as report_module
    from surveys.reports.snapshots import rebuild

    app = create_app({"SECRET_KEY": BENCH_SECRET, "SQLALCHEMY_DATABASE_URI": url, "QUEUE_URL": "immediate"})
    per_view = []
    original = report_module._compute

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            per_view.append(time.perf_counter() - start)

    report_module._compute = timed
    with app.app_context():
        start = time.perf_counter()
        views = rebuild(study_id)
        total = time.perf_counter() - start
    return {"seconds": total, "views": views, "per_view": per_view}


class Session:
    """A logged-in browser without a cookie jar (the session cookie is set by hand, as in gunicorn_kit)."""

    def __init__(self, base: str):
        self.base, self.cookies = base, {}

    def request(self, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            response = opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return response.status, response.read()

    def log_in(self, email: str) -> None:
        _, page = self.request("/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
        status, _ = self.request("/login", {"email": email, "password": PASSWORD, "csrf_token": token})
        assert status == 302, status


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def stored_views(url: str, study_id: int) -> list[str]:
    """The query string of every stored view."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        keys = [json.loads(k) for (k,) in connection.execute(
            text("SELECT view_key FROM report_snapshot WHERE study_id = :s ORDER BY id"), {"s": study_id})]
        labels = dict(connection.execute(text("SELECT id, label FROM wave WHERE study_id = :s"), {"s": study_id}).all())
    engine.dispose()
    queries = []
    for wave_id, region, band in keys:
        args = {"wave": labels[wave_id], **({"region": region} if region else {}), **({"band": band} if band else {})}
        queries.append(urllib.parse.urlencode(args))
    return queries


def serve(url: str, study_id: int, rounds: int, folder: str) -> dict:
    access = Path(folder) / "access.log"
    queries = stored_views(url, study_id)
    server_args = ["--workers", "4", "--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s %(D)s"]
    env = {"QUEUE_URL": f"sqlite:///{folder}/queue.sqlite"}
    times: list[tuple[str, float]] = []
    with Gunicorn(url, workers=4, extra_env=env, server_args=server_args, probe="/login") as server:
        browser = Session(server.url)
        browser.log_in("leader@bench.example.com")
        for _ in range(rounds):
            for query in queries:
                for suffix in ("", ".json"):
                    path = f"/studies/{study_id}/report{suffix}?{query}"
                    start = time.perf_counter()
                    status, body = browser.request(path)
                    elapsed = time.perf_counter() - start
                    assert status == 200, (path, status)
                    assert b"Newer data are being added" not in body, path
                    times.append((path, elapsed))
        time.sleep(0.5)
        sequential_lines = len(access.read_text().splitlines())
        together = concurrently(server.url, study_id, queries, rounds)
        time.sleep(0.5)
    lines = [line.split() for line in access.read_text().splitlines()]
    together_lines = [line for line in lines[sequential_lines:] if line[2].startswith(f"/studies/{study_id}/report")]
    lines = lines[:sequential_lines]
    report_lines = [(pid, path) for pid, _, path, _ in lines if path.startswith(f"/studies/{study_id}/report")]
    assert len(report_lines) == len(times), (len(report_lines), len(times))
    by_worker: dict[str, list[float]] = defaultdict(list)
    first_of_view: dict[tuple[str, str], float] = {}
    for (pid, _), (path, elapsed) in zip(report_lines, times, strict=True):
        by_worker[pid].append(elapsed)
        first_of_view.setdefault((pid, path), elapsed)
    every = [t for _, t in times]
    return {"views": len(queries), "requests": len(times), "median_ms": statistics.median(every) * 1000,
            "max_ms": max(every) * 1000,
            "first_per_worker_max_ms": max(first_of_view.values()) * 1000,
            "first_per_worker_median_ms": statistics.median(first_of_view.values()) * 1000,
            "workers": {pid: {"requests": len(t), "median_ms": statistics.median(t) * 1000, "max_ms": max(t) * 1000}
                        for pid, t in sorted(by_worker.items())},
            "together": {**together, "workers": {pid: sum(1 for line in together_lines if line[0] == pid)
                                                 for pid in sorted({line[0] for line in together_lines})},
                         "server_median_ms": statistics.median(int(line[3]) for line in together_lines) / 1000}}


def concurrently(base: str, study_id: int, queries: list[str], rounds: int, clients: int = 4) -> dict:
    """As many logged-in readers as workers, each requesting every view ``rounds`` times at once with the
    others, so that every worker serves (one at a time, an idle machine lets one worker take them all)."""
    import threading

    times: list[float] = []
    lock = threading.Lock()

    def reader() -> None:
        browser = Session(base)
        browser.log_in("leader@bench.example.com")
        for _ in range(rounds):
            for query in queries:
                for suffix in ("", ".json"):
                    path = f"/studies/{study_id}/report{suffix}?{query}"
                    start = time.perf_counter()
                    status, body = browser.request(path)
                    elapsed = time.perf_counter() - start
                    assert status == 200 and b"Newer data are being added" not in body, (path, status)
                    with lock:
                        times.append(elapsed)

    threads = [threading.Thread(target=reader) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": clients, "requests": len(times), "median_ms": statistics.median(times) * 1000,
            "max_ms": max(times) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--keep", help="a folder to keep the database in (default: a temporary one)")
    args = parser.parse_args()
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory()) as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        start = time.perf_counter()
        study_id = seed(url, args.size)
        print(f"seeded {args.size:,} respondents in {time.perf_counter() - start:.1f} s", flush=True)
        out = subprocess.run([sys.executable, "-m", "bench.warm_report_bench", "--rebuild", url, str(study_id)],
                             cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ})
        built = json.loads(out.stdout.strip().splitlines()[-1])
        per_view = built["per_view"]
        print(f"rebuild: {built['views']} views in {built['seconds']:.1f} s (computing a view: first "
              f"{per_view[0]:.2f} s, median {statistics.median(per_view):.2f} s, max {max(per_view):.2f} s)",
              flush=True)
        served = serve(url, study_id, args.rounds, folder)
        print(f"served: {served['requests']} requests of {served['views']} views × page and JSON: median "
              f"{served['median_ms']:.1f} ms, max {served['max_ms']:.1f} ms; first request of a view to a worker: "
              f"median {served['first_per_worker_median_ms']:.1f} ms, max {served['first_per_worker_max_ms']:.1f} ms")
        for pid, figures in served["workers"].items():
            print(f"  worker {pid}: {figures['requests']} requests, median {figures['median_ms']:.1f} ms, "
                  f"max {figures['max_ms']:.1f} ms")
        together = served["together"]
        print(f"served to {together['clients']} readers at once: {together['requests']} requests, median "
              f"{together['median_ms']:.1f} ms, max {together['max_ms']:.1f} ms (server's own median "
              f"{together['server_median_ms']:.1f} ms); requests per worker: "
              + ", ".join(f"{pid} {n}" for pid, n in together["workers"].items()))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--rebuild":
        print(json.dumps(rebuild_in_own_process(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
