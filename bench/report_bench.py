"""Benchmark: the comparison report of a study with many respondents (targets: cold ≤ 3 s, warm ≤ 100 ms,
peak memory ≤ 1 GB at 40,000 respondents × 30 items).

For each size a fresh SQLite database (WAL) gets one organisation, teams of 8 reps randomised to
three models, a closed wave with one response per rep answering the 30 scale items of the
built-in instrument (plus CRM figures for the quarter before and after), through bulk inserts.
Then a separate process — so its peak memory is the report's alone — logs in as the leader and
times, with Flask's test client:

- the report page, cold (the first request after new data: a response was just stored) and warm
  (cached, median of 5), after one request has loaded the code;
- the JSON, cold (again after new data) and warm.

Run from the repository root: ``.venv/bin/python -m bench.report_bench [--sizes 10000,40000,160000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TEAM_SIZE = 8
PASSWORD = "benchmark-password"


def seed(url: str, respondents: int) -> int:
    """Fill an empty database; return the study id."""
    import numpy as np
    from sqlalchemy import insert

    from app import create_app
    from surveys import accounts
    from surveys.extensions import db
    from surveys.models import (
        Answer,
        Assignment,
        CoachingModel,
        Organisation,
        PerformanceRecord,
        Rep,
        Response,
        StudyStatus,
        Team,
        Wave,
    )
    from surveys.respond.scoring import rebuild_scores
    from surveys.studies import create_study
    from surveys.teams import band_of

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    rng = np.random.default_rng(1)
    with app.app_context():
        db.create_all()
        org = Organisation(name="Benchmark Inc")
        db.session.add(org)
        db.session.flush()
        teams = respondents // TEAM_SIZE
        regions = ["North", "South", "East", "West"]
        db.session.execute(insert(Team), [{"organisation_id": org.id, "name": f"T{i:06d}", "region": regions[i % 4]}
                                          for i in range(teams)])
        team_ids = [t for (t,) in db.session.execute(db.select(Team.id).order_by(Team.id))]
        db.session.execute(insert(Rep), [{"organisation_id": org.id, "team_id": team_ids[i // TEAM_SIZE],
                                          "name": f"Rep {i}", "crm_id": f"B-{i}", "active": True}
                                         for i in range(teams * TEAM_SIZE)])
        study = create_study(org, "Benchmark pilot", list(CoachingModel), seed=1)
        study.status = StudyStatus.RUNNING
        today = date.today()
        study.waves = [Wave(label="follow-up", opens_on=today - timedelta(days=40),
                            closes_on=today - timedelta(days=5))]
        db.session.flush()
        models = list(CoachingModel)
        db.session.execute(insert(Assignment), [{"study_id": study.id, "team_id": t, "coaching_model": models[i % 3]}
                                                for i, t in enumerate(team_ids)])
        questions = [q for q in study.questions if q.scale_min is not None]
        wave_id = study.waves[0].id
        arms = np.arange(teams) % 3
        team_effect = rng.normal(0, 0.2, teams)
        for start in range(0, teams, 500):
            block = range(start, min(start + 500, teams))
            responses, answers = [], []
            for t in block:
                for member in range(TEAM_SIZE):
                    response_id = f"{t:08x}{member:08x}{rng.integers(1 << 60):016x}"
                    responses.append({"id": response_id, "study_id": study.id, "wave_id": wave_id,
                                      "coaching_model": models[arms[t]], "team_id": team_ids[t],
                                      "submitted_on": today - timedelta(days=10), "region": regions[t % 4],
                                      "band": band_of(TEAM_SIZE)})
                    latent = 3.3 + 0.3 * (arms[t] == 1) + team_effect[t] + rng.normal(0, 0.7)
                    values = np.clip(np.rint(latent + rng.normal(0, 0.6, len(questions))), 1, 5)
                    for q, value in zip(questions, values, strict=True):
                        high = q.scale_max
                        if high == 10:
                            value = float(np.clip(np.rint(latent * 2), 0, 10))
                        answers.append({"response_id": response_id, "question_id": q.id, "value_num": float(value),
                                        "value_text": None})
            db.session.execute(insert(Response), responses)
            db.session.execute(insert(Answer), answers)
        rep_ids = [r for (r,) in db.session.execute(db.select(Rep.id).order_by(Rep.id))]
        quarter_before, quarter_after = _quarters(today - timedelta(days=40))
        rows = []
        for position, rep in enumerate(rep_ids):
            base = rng.normal(95, 18)
            for period, start, value in ((quarter_before[0], quarter_before[1], base),
                                         (quarter_after[0], quarter_after[1], base + rng.normal(0, 10))):
                rows.append({"rep_id": rep, "period": period, "period_start": start,
                             "quota_attainment": float(np.clip(value, 0, 400)), "win_rate": 0.3,
                             "revenue": 1000.0 * position % 7, "deals_won": 3})
        for start in range(0, len(rows), 20_000):
            db.session.execute(insert(PerformanceRecord), rows[start:start + 20_000])
        rebuild_scores(study.id)  # what each submit does for its own response
        db.session.commit()
        accounts.create_user("leader@bench.example.com", "leader", PASSWORD, ["Benchmark Inc"])
        study_id = study.id
        db.engine.dispose()
    return study_id


def _quarters(first_open: date):
    """(label, start) of a period before the wave opens and of one starting on the day it opens."""
    return (f"{first_open.year - 1}-Q1", date(first_open.year - 1, 1, 1)), (f"{first_open:%Y-%m}", first_open)


def new_data(app, study_id: int) -> None:
    """Store one more (empty) response, as a rep's submit would: the report's data version moves on."""
    import secrets

    from surveys.extensions import db
    from surveys.models import Response, Study

    with app.app_context():
        study = db.session.get(Study, study_id)
        assignment = study.assignments[0]
        db.session.add(Response(id=secrets.token_hex(16), study_id=study_id, wave_id=study.waves[0].id,
                                coaching_model=assignment.coaching_model, team_id=assignment.team_id,
                                submitted_on=date.today()))
        db.session.commit()


def measure(url: str, study_id: int) -> dict:
    """Runs in its own process: cold and warm timings, and this process's peak memory."""
    from app import create_app

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assert client.post("/login", data={"email": "leader@bench.example.com", "password": PASSWORD}).status_code == 302

    def timed(path: str) -> float:
        start = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (path, response.status_code)
        return elapsed

    page = f"/studies/{study_id}/report"
    timed(page)  # a running server: code loaded, templates compiled
    new_data(app, study_id)
    cold_page = timed(page)
    warm_page = statistics.median(timed(page) for _ in range(5))
    new_data(app, study_id)
    cold_json = timed(page + ".json")
    warm_json = statistics.median(timed(page + ".json") for _ in range(5))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cold_page": cold_page, "warm_page": warm_page, "cold_json": cold_json, "warm_json": warm_json,
            "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,40000,160000")
    args = parser.parse_args()
    print(f"{'respondents':>12} {'answers':>10} {'seed s':>7} {'cold page s':>12} {'warm page ms':>13} "
          f"{'cold JSON s':>12} {'warm JSON ms':>13} {'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.sqlite"
            start = time.perf_counter()
            study_id = seed(url, size)
            seeding = time.perf_counter() - start
            # As a module from the root, so the child loads this checkout's code (not an installed copy).
            out = subprocess.run([sys.executable, "-m", "bench.report_bench", "--measure", url, str(study_id)],
                                 cwd=ROOT, capture_output=True, text=True, check=True, env={**os.environ})
            result = json.loads(out.stdout.strip().splitlines()[-1])
            answers = size // TEAM_SIZE * TEAM_SIZE * 30
            print(f"{size:>12,} {answers:>10,} {seeding:>7.1f} {result['cold_page']:>12.2f} "
                  f"{result['warm_page'] * 1000:>13.1f} {result['cold_json']:>12.2f} "
                  f"{result['warm_json'] * 1000:>13.1f} {result['peak_mb']:>8.0f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
