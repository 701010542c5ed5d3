"""Benchmark: ``compare_models`` on 40,000 rows × 10 outcomes × 3 coaching models (target ≤ 1 s).

Prints the first (cold: caches empty) and the median of five further runs, then the mixed model
and ANCOVA, which the target excludes, on the same rows. Run: ``.venv/bin/python bench/analyze_bench.py``.
"""

import statistics
import time

import numpy as np
import pandas as pd

from analysis.comparison import compare_models  # noqa: E402

ROWS, OUTCOMES, TEAM_SIZE = 40_000, 10, 8


def frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    teams = ROWS // TEAM_SIZE
    team = np.repeat(np.arange(teams), TEAM_SIZE)
    arm = np.array(["manager", "peer", "external"])[team % 3]
    data = {"model": arm, "team": team}
    for i in range(OUTCOMES):
        team_effect = rng.normal(0, 0.25, teams)[team]
        data[f"outcome_{i}"] = 3.3 + 0.1 * (arm == "peer") * (i % 2) + team_effect + rng.normal(0, 0.75, ROWS)
    data["baseline"] = data["outcome_0"] + rng.normal(0, 0.5, ROWS)
    return pd.DataFrame(data)


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    data = frame()
    outcomes = [f"outcome_{i}" for i in range(OUTCOMES)]
    levels = ["manager", "peer", "external"]
    cold = timed(lambda: compare_models(data, outcomes, "model", levels))
    others = [frame(seed) for seed in range(2, 7)]
    warm = [timed(lambda other=other: compare_models(other, outcomes, "model", levels)) for other in others]
    mixed = timed(lambda: compare_models(data, ["outcome_0"], "model", levels, cluster="team"))
    ancova = timed(lambda: compare_models(data, ["outcome_0"], "model", levels, baseline="baseline"))
    print(f"compare_models, {ROWS:,} rows x {OUTCOMES} outcomes x 3 models")
    print(f"  first run (cold caches): {cold:.3f} s")
    print(f"  median of 5 new data sets: {statistics.median(warm):.3f} s (min {min(warm):.3f}, max {max(warm):.3f})")
    print(f"  target: <= 1 s -> {'met' if max(cold, *warm) <= 1.0 else 'MISSED'}")
    print(f"mixed model, 1 outcome, {ROWS // TEAM_SIZE:,} teams: {mixed:.3f} s (excluded from the target)")
    print(f"ANCOVA, 1 outcome: {ancova:.3f} s")


if __name__ == "__main__":
    main()
