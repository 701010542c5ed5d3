"""Write the segment data (``analysis.segments``): responses of 40 teams in four regions, an arm effect in two.

Run from the repository root: ``python tests/analysis/data/make_segments.py``. 40 teams of 4–9 respondents,
regions North, South, East, West (10 teams each), models allocated at random within region. Planted: in
North the external coach scores 0.8 higher, in South 0.6; East and West have no difference. Also planted,
for the edge cases: no peer team in West (an empty model × segment cell, which shrinks the interaction's
degrees of freedom), and a fifth region, Islands, of two manager teams only (one model: no test).
Team effects SD 0.3, respondents SD 0.7; a few answers missing.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
LEVELS = ("manager", "peer", "external")
SHIFT = {"North": 0.8, "South": 0.6}


def make(rng):
    rows, team = [], 0
    for region in ("North", "South", "East", "West", "Islands"):
        if region == "Islands":
            models = ["manager", "manager"]
        elif region == "West":
            models = list(rng.permutation(["manager"] * 5 + ["external"] * 5))
        else:
            models = list(rng.permutation(["manager"] * 3 + ["peer"] * 3 + ["external"] * 4))
        for model in models:
            team += 1
            u = rng.normal(0, 0.3)
            for _ in range(int(rng.integers(4, 10))):
                score = 3.4 + u + (SHIFT.get(region, 0.0) if model == "external" else 0.0) + rng.normal(0, 0.7)
                rows.append({"team": f"T{team:02d}", "region": region, "coaching_model": model,
                             "score": np.nan if rng.random() < 0.04 else round(float(score), 4)})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    make(np.random.default_rng(1712)).to_csv(HERE / "segments.csv", index=False)
