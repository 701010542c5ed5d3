"""Benchmark: survey submissions under load through gunicorn (targets: throughput ≥ 0.5 × a minimal
one-row-insert endpoint, p99 ≤ 150 ms at 32 concurrent clients, no errors, stored = acknowledged).

For each engine (SQLite in WAL mode; PostgreSQL when reachable) the run

1. creates an empty database and seeds a running study with one open wave and enough reps, each
   with a draft holding every page but the last — what a rep's browser holds just before pressing
   "Send my answers" — and a signed session cookie with its CSRF token (``tests/gunicorn_kit.py``);
2. serves the minimal endpoint (``bench/minimal_app.py``) with gunicorn, 4 sync workers, and drives
   it with wrk (2 threads, 32 connections) for the set duration, each request a POST of the same
   form body;
3. serves CoachLab the same way and drives it with wrk, each request the last page of a different
   rep's survey of the full built-in instrument: the submit that validates, stores the response with
   its 31 answers and scores, marks the link used and deletes the draft, in one transaction;
4. counts what was stored. wrk stops on the clock with some requests in flight; the server still
   finishes those, so stored = acknowledged (HTTP 302 received) + cut off (sent, not answered), and
   the run says so or fails;
5. repeats 2–4 for the set number of rounds, alternating which server goes first, and prints the
   throughput ratio of each round (the machine's speed drifts; within a round both see the same).

Each server gets a warm-up first (its rows are not counted). Needs ``wrk`` (``apt-get install wrk``).

Run: ``make bench-load`` or ``.venv/bin/python -m bench.load_bench [--duration 15] [--rounds 2]
[--engines sqlite,postgresql]``. Exit status 1 when a check fails, 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.gunicorn_kit import BENCH_SECRET, LAST_PAGE, Gunicorn, Prepared, prepare, submit

ROOT = Path(__file__).resolve().parent.parent

WORKERS = 4
THREADS = 2
CONNECTIONS = 32
WARM_UP = 200
ADMIN_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def database(engine: str, directory: Path):
    """An empty database of the engine, removed afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{directory / 'load.sqlite'}"
        return
    import sqlalchemy as sa

    name = f"coachlab_load_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(ADMIN_POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_reachable() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(ADMIN_POSTGRES, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # noqa: BLE001  (any failure to connect means: skip this engine)
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def write_requests(path: Path, items: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{cookie}\t{body}\n" for cookie, body in items))


def run_wrk(url: str, target: str, data: Path, duration: int) -> dict:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(ROOT / "bench" / "submit.lua"), url, "--", str(data), str(THREADS), target]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("WRKJSON "))
    result = json.loads(line.removeprefix("WRKJSON "))
    result["throughput"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def settle(count) -> int:
    """Wait until the server has finished what wrk left in flight (the count holds still for a second)."""
    previous = count()
    while True:
        time.sleep(1.0)
        current = count()
        if current == previous:
            return current
        previous = current


def warm_up(url: str, send) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(WARM_UP)))
    if set(statuses) != {302}:
        raise SystemExit(f"warm-up failed at {url}: statuses {sorted(set(statuses))}")


class Minimal:
    """The yardstick: bench/minimal_app.py under gunicorn, on the engine's database."""

    name = "minimal"

    def __init__(self, url: str, body: str, scratch: Path):
        import sqlalchemy as sa

        from bench import minimal_app

        os.environ["DATABASE_URL"] = url
        self.url, self.body, self.module = url, body, minimal_app
        self.app = minimal_app.create_app()
        with self.app.app_context():
            minimal_app.db.create_all()
        self.rows = sa.select(sa.func.count()).select_from(minimal_app.Ping)
        self.data = scratch / "minimal.tsv"
        write_requests(self.data, [("", body)] * 200_000)

    def count(self) -> int:
        with self.app.app_context():
            return self.module.db.session.scalar(self.rows)

    def run(self, duration: int) -> dict:
        with Gunicorn(self.url, workers=WORKERS, app="bench.minimal_app:create_app()", probe="/ping") as server:
            warm_up(server.url, lambda _: _post(server.url, "/ping", self.body))
            before = self.count()
            result = run_wrk(server.url, "/ping", self.data, duration)
            result["stored"] = settle(self.count) - before
        return result

    def close(self) -> None:
        with self.app.app_context():
            self.module.db.engine.dispose()


class CoachLab:
    """CoachLab under gunicorn; each round submits its own reps' surveys."""

    name = "CoachLab"

    def __init__(self, url: str, rounds: int, submissions: int, scratch: Path):
        import sqlalchemy as sa

        from app import create_app
        from surveys.extensions import db
        from surveys.models import Invitation, Response

        self.url, self.scratch, self.db = url, scratch, db
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET,
                               "PUBLIC_BASE_URL": "http://bench"})
        with self.app.app_context():
            db.create_all()
        per_round = WARM_UP + submissions
        prepared = prepare(self.app, rounds * per_round)
        self.rounds = [prepared[i * per_round:(i + 1) * per_round] for i in range(rounds)]
        self.body = prepared[0].body
        self.responses = sa.select(sa.func.count()).select_from(Response)
        self.used = sa.select(sa.func.count()).select_from(Invitation).where(Invitation.used.is_(True))

    def count(self, query=None) -> int:
        with self.app.app_context():
            return self.db.session.scalar(self.responses if query is None else query)

    def run(self, duration: int) -> dict:
        prepared = self.rounds.pop(0)
        warm, load = prepared[:WARM_UP], prepared[WARM_UP:]
        data = self.scratch / "submits.tsv"
        write_requests(data, [(p.cookie, p.body) for p in load])
        with Gunicorn(self.url, workers=WORKERS) as server:
            warm_up(server.url, lambda i: submit(server.url, warm[i]))
            before, used_before = self.count(), self.count(self.used)
            result = run_wrk(server.url, f"/survey/{LAST_PAGE}", data, duration)
            result["stored"] = settle(self.count) - before
            result["used_links"] = self.count(self.used) - used_before
        return result

    def answers_per_response(self) -> list[int]:
        import sqlalchemy as sa

        from surveys.models import Answer

        with self.app.app_context():
            counts = self.db.session.execute(sa.select(sa.func.count()).select_from(Answer)
                                             .group_by(Answer.response_id)).scalars().all()
        return sorted(set(counts))

    def close(self) -> None:
        with self.app.app_context():
            self.db.engine.dispose()


def _post(url: str, path: str, body: str) -> int:
    return submit(url, Prepared(0, "", body), path=path)


def in_flight(result: dict) -> int:
    """Requests wrk sent but stopped waiting for when its clock ran out.

    wrk calls the script's request() once before the run to check it; that one is never sent.
    """
    return result["sent"] - 1 - result["received"]


def check(name: str, result: dict) -> list[str]:
    """The run's failures: errors, refused requests, and stored ≠ acknowledged + cut off."""
    problems = []
    acknowledged = result["statuses"].get("302", 0)
    cut_off = in_flight(result)
    errors = {k: v for k, v in result["errors"].items() if v}
    if errors:
        problems.append(f"{name}: errors {errors}")
    if result["exhausted"]:
        problems.append(f"{name}: ran out of prepared submissions ({result['exhausted']}); raise --submissions")
    if acknowledged != result["received"]:
        problems.append(f"{name}: statuses other than 302: {result['statuses']}")
    if result["stored"] != acknowledged + cut_off:
        problems.append(f"{name}: stored {result['stored']} ≠ acknowledged {acknowledged} + cut off {cut_off}")
    if "used_links" in result and result["used_links"] != result["stored"]:
        problems.append(f"{name}: {result['used_links']} links used for {result['stored']} responses")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per server and round (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both servers, order alternating (default 2)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--submissions", type=int, default=15_000, help="prepared submits per round")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("load_bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgresql"}
    if unknown:
        print(f"load_bench: unknown engine(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    problems = []
    print(f"gunicorn {WORKERS} sync workers; wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s; "
          f"{os.cpu_count()} CPUs")
    header = (f"{'engine':<11} {'server':<9} {'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'errors':>6} {'acked':>7} {'cut off':>7} {'stored':>7}")
    for engine in engines:
        if engine == "postgresql":
            reason = postgres_reachable()
            if reason:
                print(f"postgresql: skipped, {ADMIN_POSTGRES} does not answer ({reason})")
                continue
        with tempfile.TemporaryDirectory(prefix="coachlab-load-") as scratch, database(engine, Path(scratch)) as url:
            coachlab = CoachLab(url, args.rounds, args.submissions, Path(scratch))
            minimal = Minimal(url, coachlab.body, Path(scratch))
            print()
            print(header)
            ratios, p99s = [], []
            for number in range(args.rounds):
                # Alternate the order, so a machine that speeds up or slows down favours neither.
                results = {}
                for server in ((minimal, coachlab) if number % 2 == 0 else (coachlab, minimal)):
                    results[server.name] = server.run(args.duration)
                for name in ("minimal", "CoachLab"):
                    result = results[name]
                    acknowledged = result["statuses"].get("302", 0)
                    print(f"{engine:<11} {name:<9} {result['throughput']:>8.0f} {result['p50_us'] / 1000:>7.1f} "
                          f"{result['p90_us'] / 1000:>7.1f} {result['p99_us'] / 1000:>7.1f} "
                          f"{result['max_us'] / 1000:>7.1f} "
                          f"{sum(result['errors'].values()) + result['received'] - acknowledged:>6} "
                          f"{acknowledged:>7} {in_flight(result):>7} {result['stored']:>7}")
                    problems += check(f"{engine} {name} round {number + 1}", result)
                ratios.append(results["CoachLab"]["throughput"] / results["minimal"]["throughput"])
                p99s.append(results["CoachLab"]["p99_us"] / 1000)
            answer_counts = coachlab.answers_per_response()
            if len(answer_counts) != 1:
                problems.append(f"{engine}: responses with differing answer counts {answer_counts}")
            coachlab.close()
            minimal.close()
        print(f"{engine}: CoachLab/minimal throughput ratio {' '.join(f'{r:.2f}' for r in ratios)} "
              f"(target ≥ 0.5); CoachLab p99 {' '.join(f'{p:.0f}' for p in p99s)} ms (target ≤ 150 ms); "
              f"answers per stored response {answer_counts}")
    for problem in problems:
        print("FAILED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
