"""Write ``scale_shift.csv``: 24 teams x 8 reps, three arms, spread about 1, with a baseline.

The audit's conditioning sweep (F5) in small: the tests add 1e4..1e8 to outcome and baseline, or
multiply both by 1e-6, and expect the same p-values. ``reference/scale_shift.R`` fits the same
shifted files with nlme/lme4/lm. Run from the repository root; the CSV is committed.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261201)
team = np.repeat(np.arange(24), 8)
arm = np.array(["manager", "peer", "external"])[team % 3]
effect = {"manager": 0.0, "peer": 0.35, "external": 0.15}
baseline = rng.normal(0, 1, team.size) + rng.normal(0, 0.4, 24)[team]
outcome = (0.5 * baseline + np.vectorize(effect.get)(arm) + rng.normal(0, 0.45, 24)[team]
           + rng.normal(0, 1, team.size))
pd.DataFrame({"team": [f"T{t + 1:02d}" for t in team], "arm": arm, "baseline": np.round(baseline, 4),
              "outcome": np.round(outcome, 4)}).to_csv(Path(__file__).parent / "scale_shift.csv", index=False)
