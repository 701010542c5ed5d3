"""Write the small data sets that the analysis tests and ``reference.R`` share.

Run from the repository root: ``python tests/analysis/data/make_datasets.py``. The CSV files are
committed; this script documents how they were made (numpy's default_rng, fixed seeds).
PlantGrowth is R's published data set (Dobson 1983), copied verbatim.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent


def plantgrowth() -> pd.DataFrame:
    weights = {
        "ctrl": [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14],
        "trt1": [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69],
        "trt2": [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26],
    }
    return pd.DataFrame([(w, g) for g, ws in weights.items() for w in ws], columns=["weight", "group"])


def likert(rng) -> pd.DataFrame:
    """A single 1-5 agreement item, three arms of unequal size with shifted answer shares."""
    shares = {"manager": [.10, .20, .30, .30, .10], "peer": [.05, .10, .25, .35, .25],
              "external": [.15, .25, .30, .20, .10]}
    sizes = {"manager": 40, "peer": 35, "external": 45}
    rows = [(arm, int(v)) for arm, p in shares.items() for v in rng.choice([1, 2, 3, 4, 5], sizes[arm], p=p)]
    return pd.DataFrame(rows, columns=["arm", "rating"])


def unequal_var(rng) -> pd.DataFrame:
    """Scale scores with very different spreads (Welch and Games-Howell matter here)."""
    spec = {"manager": (10.0, 1.0, 20), "peer": (11.0, 3.0, 30), "external": (14.0, 6.0, 25)}
    rows = [(arm, round(float(v), 3)) for arm, (m, s, n) in spec.items() for v in rng.normal(m, s, n)]
    return pd.DataFrame(rows, columns=["arm", "score"])


def ties(rng) -> pd.DataFrame:
    """Heavily tied values (three distinct values) in three arms."""
    spec = {"manager": [.5, .3, .2], "peer": [.3, .4, .3], "external": [.2, .3, .5]}
    rows = [(arm, int(v)) for arm, p in spec.items() for v in rng.choice([1, 2, 3], 30, p=p)]
    return pd.DataFrame(rows, columns=["arm", "value"])


def unequal_n(rng) -> pd.DataFrame:
    """Four groups of very unequal size (k > 3 must work) and two outcomes."""
    spec = {"g1": (5, 50.0), "g2": (12, 52.0), "g3": (30, 47.0), "g4": (60, 55.0)}
    rows = []
    for group, (n, mean) in spec.items():
        for _ in range(n):
            rows.append((group, round(float(rng.normal(mean, 8.0)), 2), round(float(rng.gamma(2.0, 3.0)), 2)))
    return pd.DataFrame(rows, columns=["group", "y1", "y2"])


def two_groups(rng) -> pd.DataFrame:
    """The smallest comparison: two arms."""
    rows = [("manager", round(float(v), 2)) for v in rng.normal(3.2, 0.7, 25)]
    rows += [("peer", round(float(v), 2)) for v in rng.normal(3.6, 0.8, 28)]
    return pd.DataFrame(rows, columns=["arm", "score"])


def clustered(rng) -> pd.DataFrame:
    """30 teams randomised to three arms, 4-10 reps each, team effects, a baseline per rep."""
    rows = []
    arms = np.resize(["manager", "peer", "external"], 30)
    rng.shuffle(arms)
    effects = {"manager": 0.0, "peer": 0.35, "external": 0.15}
    for team in range(1, 31):
        arm = arms[team - 1]
        u = rng.normal(0, 0.3)
        for _ in range(int(rng.integers(4, 11))):
            trait = rng.normal(0, 0.45)
            baseline = 3.2 + u + trait + rng.normal(0, 0.4)
            outcome = 3.2 + effects[arm] + u + trait + rng.normal(0, 0.4)
            rows.append((f"T{team:02d}", arm, round(baseline, 3), round(outcome, 3)))
    return pd.DataFrame(rows, columns=["team", "arm", "baseline", "outcome"])


def scale_items(rng) -> pd.DataFrame:
    """Four 1-5 items of one scale (item_3 reverse-keyed) with a few missing answers, three arms."""
    rows = []
    for arm, n, noise in (("manager", 40, 0.7), ("peer", 40, 1.0), ("external", 40, 1.6)):
        for _ in range(n):
            latent = rng.normal(3.3, 0.8)
            items = [latent + rng.normal(0, noise) for _ in range(4)]
            values = [int(np.clip(np.rint(v), 1, 5)) for v in items]
            values[2] = 6 - values[2]
            rows.append([arm, *values])
    frame = pd.DataFrame(rows, columns=["arm", "item_1", "item_2", "item_3", "item_4"]).astype(
        {"item_1": "float", "item_2": "float", "item_3": "float", "item_4": "float"})
    for row, column in ((3, "item_2"), (17, "item_4"), (55, "item_1"), (90, "item_3")):
        frame.loc[row, column] = np.nan
    return frame


def performance(rng) -> pd.DataFrame:
    """Quota attainment before and after per rep, three arms (difference in differences)."""
    rows = []
    for arm, shift, n in (("manager", 6.0, 50), ("peer", 0.0, 45), ("external", 2.0, 55)):
        for _ in range(n):
            ability = rng.normal(0, 15)
            before = 95 + ability + rng.normal(0, 10)
            after = 95 + shift + ability + rng.normal(0, 10)
            rows.append((arm, round(before, 1), round(after, 1)))
    return pd.DataFrame(rows, columns=["arm", "before", "after"])


def baseline_imbalance(rng) -> pd.DataFrame:
    """18 teams (6 per arm, 4-14 reps) whose manager-arm baseline sits well above the others'.

    The raw difference after the pilot then mixes the arm effect with the head start, so the
    baseline-adjusted difference and its standardised size differ clearly from the raw ones
    (statistics review F3). Quota-like numbers: baseline about 90, residual SD about 12.
    """
    rows = []
    arms = np.repeat(["manager", "peer", "external"], 6)
    head_start = {"manager": 8.0, "peer": 0.0, "external": -2.0}
    effects = {"manager": 6.0, "peer": 0.0, "external": 1.0}
    for team, arm in enumerate(arms, start=1):
        u = rng.normal(0, 3.0)
        for _ in range(int(rng.integers(4, 15))):
            ability = head_start[arm] + rng.normal(0, 12.0)  # the manager arm's reps were stronger
            baseline = 90 + ability + rng.normal(0, 6.0)
            outcome = 92 + effects[arm] + u + 0.9 * ability + rng.normal(0, 9.0)
            rows.append((f"B{team:02d}", arm, round(baseline, 1), round(outcome, 1)))
    return pd.DataFrame(rows, columns=["team", "arm", "baseline", "outcome"])


def main() -> None:
    rng = np.random.default_rng(20261127)
    sets = {"plantgrowth": plantgrowth(), "likert": likert(rng), "unequal_var": unequal_var(rng),
            "ties": ties(rng), "unequal_n": unequal_n(rng), "two_groups": two_groups(rng),
            "clustered": clustered(rng), "scale_items": scale_items(rng), "performance": performance(rng)}
    # Added later with its own generator, so the sets above stay exactly as they were.
    sets["baseline_imbalance"] = baseline_imbalance(np.random.default_rng(20261201))
    for name, frame in sets.items():
        frame.to_csv(HERE / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
