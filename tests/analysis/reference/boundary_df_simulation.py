"""How liberal lmerTest's Satterthwaite df are at a singular fit (γ = 0), where they become N − p.

Null data (no arm effect) from a random-intercept model; each data set is fitted with
``mixed_model(df_method="satterthwaite")``, which at a singular fit tests on the containment df, and
the same F is also referred to N − p, lmerTest's df there. Prints the share of singular fits and the
false-positive rates at α = 0.05. Run from the repository root (about 2.5 minutes on one core):

    PYTHONPATH=. python tests/analysis/reference/boundary_df_simulation.py

Output of the committed version (numpy 2.4, 2,000 data sets each) is in the reference README.
"""

import numpy as np
import pandas as pd
from scipy import stats

from analysis.clustered import mixed_model

LEVELS = ("manager", "peer", "external")


def simulate(teams_per_arm: int, reps: int, icc: float, sims: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n_teams = 3 * teams_per_arm
    team = np.repeat(np.arange(n_teams), reps)
    arm = np.array(LEVELS)[team % 3]
    counts = dict.fromkeys(("singular", "ours", "lmertest", "singular_ours", "singular_lmertest"), 0)
    for _ in range(sims):
        y = rng.normal(0, np.sqrt(icc), n_teams)[team] + rng.normal(0, np.sqrt(1 - icc), len(team))
        fit = mixed_model(pd.DataFrame({"team": team, "arm": arm, "y": y}), "y", "arm", "team", levels=LEVELS,
                          df_method="satterthwaite")
        p_ours = p_lmertest = fit.arm_test.p
        if fit.var_cluster == 0:
            p_lmertest = stats.f.sf(fit.arm_test.statistic, 2, len(y) - 3)
            counts["singular"] += 1
            counts["singular_ours"] += bool(p_ours < 0.05)
            counts["singular_lmertest"] += bool(p_lmertest < 0.05)
        counts["ours"] += bool(p_ours < 0.05)
        counts["lmertest"] += bool(p_lmertest < 0.05)
    singular = max(counts["singular"], 1)
    return {"design": f"{teams_per_arm} teams per arm x {reps} reps, ICC {icc}",
            "singular_share": counts["singular"] / sims,
            "fpr_containment_at_boundary": counts["ours"] / sims,
            "fpr_n_minus_p_at_boundary": counts["lmertest"] / sims,
            "singular_fpr_containment": counts["singular_ours"] / singular,
            "singular_fpr_n_minus_p": counts["singular_lmertest"] / singular}


if __name__ == "__main__":
    for args in ((2, 10, 0.2, 2000, 1), (4, 8, 0.05, 2000, 2)):
        print(simulate(*args))
