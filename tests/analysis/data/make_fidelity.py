"""Write the fidelity data (``analysis.fidelity``): a session log, the teams and the reps' outcomes.

Run from the repository root: ``python tests/analysis/data/make_fidelity.py``. 30 teams, 10 a model,
6–10 reps a team. Each rep gets about 1.5 sessions a month for 3 months from the assigned kind of
coach, and about one team session a month for the team. Planted: T02 (manager) got 80 % of its
sessions from peers, T13 (peer) from its manager, T24 (external) from its manager; T05 (manager)
and T18 (peer) got few sessions (0.3 a rep a month). Outcome: quota attainment with a baseline,
manager +5 points.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
LEVELS = ("manager", "peer", "external")
DRIFT = {"T02": "peer", "T13": "manager", "T24": "manager"}
FEW = {"T05", "T18"}
MONTHS = 3


def make(rng):
    teams, sessions, reps = [], [], []
    rep_id = 0
    for i in range(30):
        name, model = f"T{i:02d}", LEVELS[i // 10]
        size = int(rng.integers(6, 11))
        teams.append({"team": name, "coaching_model": model, "reps": size})
        rate = 0.3 if name in FEW else 1.5
        team_effect = rng.normal(0, 3)
        for _ in range(size):
            rep_id += 1
            for _ in range(int(rng.poisson(rate * MONTHS))):
                kind = DRIFT[name] if name in DRIFT and rng.random() < 0.8 else model
                sessions.append({"team": name, "rep": rep_id, "coach_model": kind,
                                 "minutes": int(rng.integers(20, 61))})
            baseline = rng.normal(95, 12)
            reps.append({"rep": rep_id, "team": name, "coaching_model": model, "baseline": round(baseline, 3),
                         "quota": round(35 + 0.6 * baseline + (5 if model == "manager" else 0) + team_effect
                                        + rng.normal(0, 7), 3)})
        for _ in range(int(rng.poisson(0.0 if name in FEW else 1.0 * MONTHS))):
            kind = DRIFT[name] if name in DRIFT and rng.random() < 0.8 else model
            sessions.append({"team": name, "rep": None, "coach_model": kind, "minutes": int(rng.integers(30, 91))})
    return pd.DataFrame(teams), pd.DataFrame(sessions), pd.DataFrame(reps)


if __name__ == "__main__":
    teams, sessions, reps = make(np.random.default_rng(20261604))
    teams.to_csv(HERE / "fidelity_teams.csv", index=False)
    sessions.to_csv(HERE / "fidelity_sessions.csv", index=False)
    reps.to_csv(HERE / "fidelity_reps.csv", index=False)
