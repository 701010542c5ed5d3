"""How often the report recommends a coaching model when no model is better: the family-wise rate of
"who should coach?" (statistics review F7), measured on null pilots.

Each pilot is simulated with no true difference on any survey outcome or CRM metric
(``analysis.simulate``, 45 teams of 5–12 reps, ICC 0.10, as the demo); the survey outcomes and the
three CRM metrics (adjusted for the quarter before) are compared as the report compares them, the
verdict is assembled with satisfaction as the primary outcome, and ``analysis.decision.decide``
reads it. A recommendation on such a pilot is a false winner.

    python -m bench.decision_error_rate [--pilots 400] [--seed 9000]
"""

from __future__ import annotations

import argparse
import math
import time

from analysis.comparison import assemble, compare_outcome
from analysis.decision import decide
from analysis.simulate import simulate_pilot

LEVELS = ("manager", "peer", "external")
SURVEY = ("coaching", "mentoring", "motivating", "accountability", "onboarding", "candour", "expertise",
          "availability", "satisfaction", "recommend")
CRM = ("quota_attainment", "win_rate", "revenue")


def one_pilot(seed: int):
    pilot = simulate_pilot(n_teams=45, survey_effects={}, performance_effects={}, seed=seed)
    survey = pilot.responses[pilot.responses["wave"] == "follow-up"]
    comparisons = [compare_outcome(survey, o, "coaching_model", LEVELS, cluster="team") for o in SURVEY
                   if o in survey]
    perf = pilot.performance
    wide = perf[perf["period"] == "after"].merge(
        perf[perf["period"] == "before"][["rep", *CRM]], on="rep", suffixes=("", "_before"))
    for metric in CRM:
        comparisons.append(compare_outcome(wide, metric, "coaching_model", LEVELS, cluster="team",
                                           baseline=f"{metric}_before"))
    analysis = assemble(comparisons, "coaching_model", LEVELS, "satisfaction", cluster="team")
    decision = decide(analysis.outcomes, analysis.verdict.findings, LEVELS, "satisfaction")
    primary_named = any(f.outcome == "satisfaction" and f.differences for f in analysis.verdict.findings)
    any_named = any(f.differences for f in analysis.verdict.findings)
    return decision.recommendation is not None, primary_named, any_named, decision.decided_by


def wilson(hits: int, n: int) -> tuple[float, float]:
    z, p = 1.959964, hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=400)
    parser.add_argument("--seed", type=int, default=9000)
    args = parser.parse_args()
    start = time.perf_counter()
    results = [one_pilot(args.seed + i) for i in range(args.pilots)]
    n = len(results)
    for name, index in (("a model recommended (false winner)", 0), ("a pair named on the primary", 1),
                        ("a pair named on any outcome", 2)):
        hits = sum(r[index] for r in results)
        low, high = wilson(hits, n)
        print(f"{name}: {hits}/{n} = {hits / n:.1%} (95 % CI {low:.1%} to {high:.1%})")
    by = {}
    for r in results:
        if r[0]:
            by[r[3]] = by.get(r[3], 0) + 1
    print(f"recommendations by rule step: {by}")
    print(f"{n} pilots in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
