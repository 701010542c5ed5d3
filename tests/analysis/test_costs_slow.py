"""Coverage of the team-bootstrap interval of ``analysis.costs`` over simulated pilots (slow).

1,000 pilots of 12 teams a model (5–10 reps, team SD 3, rep SD 7 quota points), a true effect of
external coaching over manager coaching of +2 points and fixed fees, so the interval of the
points per 1,000 covers exactly when the effect's does. The 95 % interval must cover the truth in
95 % ± 2 of them (the Monte Carlo SE of a share near 0.95 over 1,000 pilots is 0.7 points).
"""

import numpy as np
import pandas as pd
import pytest

from analysis.costs import cost_effectiveness, parse_costs

pytestmark = pytest.mark.slow

PILOTS = 1000
TRUE_EFFECT = 2.0
INPUTS = parse_costs("manager=rep_month:50,external=rep_month:300")


def pilot(rng) -> pd.DataFrame:
    frames = []
    for level, shift in (("manager", 0.0), ("external", TRUE_EFFECT)):
        for t in range(12):
            n = int(rng.integers(5, 11))
            baseline = rng.normal(95, 12, n)
            frames.append(pd.DataFrame({"team": f"{level}-{t}", "arm": level, "baseline": baseline,
                                        "quota": 35 + 0.6 * baseline + shift + rng.normal(0, 3) + rng.normal(0, 7, n)}))
    return pd.concat(frames, ignore_index=True)


def test_the_95_percent_interval_covers_the_truth_95_percent_of_the_time(interval="expanded"):
    """Measured 94.9 % (expanded, the default); the plain percentile interval, with interval="percentile",
    covered 92.0 % on the same pilots, too narrow with twelve teams a model."""
    rng = np.random.default_rng(20261217)
    covered = 0
    for i in range(PILOTS):
        result = cost_effectiveness(pilot(rng), "quota", "arm", "team", ("manager", "external"), INPUTS,
                                    n_boot=999, seed=i, interval=interval, baseline="baseline")
        c = result.comparison("external")
        covered += c.effect_low <= TRUE_EFFECT <= c.effect_high
    coverage = covered / PILOTS
    print(f"\n{interval}: coverage of the 95 % interval over {PILOTS} pilots = {100 * coverage:.1f} %")
    assert 0.93 <= coverage <= 0.97
