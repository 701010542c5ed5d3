"""Write costs.csv and costs_boot_index.csv for the cost-effectiveness checks (``analysis.costs``).

Run from the repository root: ``python tests/analysis/data/make_costs.py``. A pilot of 12 teams a
model, 5 to 10 reps a team: quota attainment after (``quota``) and before (``baseline``), coaching
minutes a rep a month (``minutes``). Planted: manager +4 quota points, external +1, peer 0; managers
coach fewer minutes. costs_boot_index.csv holds the 200 resamples ``analysis.costs.bootstrap_teams``
draws with the default seed for these teams (team names, one row per resample and position), so that
``reference/costs.R`` recomputes the statistics on exactly the same resamples.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.costs import DEFAULT_SEED, bootstrap_teams

HERE = Path(__file__).parent
LEVELS = ("manager", "peer", "external")
SHIFT = {"manager": 4.0, "peer": 0.0, "external": 1.0}
MINUTES = {"manager": 25.0, "peer": 80.0, "external": 110.0}
N_BOOT = 200


def costs(rng) -> pd.DataFrame:
    rows = []
    for level in LEVELS:
        for t in range(12):
            team_effect = rng.normal(0, 3.0)
            for _ in range(int(rng.integers(5, 11))):
                baseline = rng.normal(95, 12)
                rows.append({"team": f"{level[:3]}-{t:02d}", "arm": level, "baseline": round(baseline, 3),
                             "quota": round(35 + 0.6 * baseline + SHIFT[level] + team_effect + rng.normal(0, 7), 3),
                             "minutes": round(max(0.0, rng.normal(MINUTES[level], 20)), 2)})
    return pd.DataFrame(rows)


def boot_index(data: pd.DataFrame) -> pd.DataFrame:
    """The resamples as ``analysis.costs`` draws them: teams sorted by model, then by name."""
    teams = data.drop_duplicates("team")[["team", "arm"]]
    teams = teams.assign(code=teams["arm"].map({level: i for i, level in enumerate(LEVELS)}))
    teams = teams.sort_values(["code", "team"], kind="stable").reset_index(drop=True)
    index = bootstrap_teams(teams["code"].to_numpy(), N_BOOT, DEFAULT_SEED)
    names = teams["team"].to_numpy()[index]
    return pd.DataFrame({"resample": np.repeat(np.arange(1, N_BOOT + 1), index.shape[1]), "team": names.ravel()})


if __name__ == "__main__":
    data = costs(np.random.default_rng(20261216))
    data.to_csv(HERE / "costs.csv", index=False)
    boot_index(data).to_csv(HERE / "costs_boot_index.csv", index=False)
