"""Write ``coaching_pilot.csv``, the example file of the README's ``analyze`` walk-through.

One row per rep who answered the follow-up survey of a simulated 27-team pilot (seed 7):
team, coaching model, five scale scores (1-5), the overall satisfaction item (1-5), the
recommend item (0-10) and the rep's candour score at baseline (blank if they skipped it).
Run from the repository root: ``python -m analysis.examples.make_example``.
"""

from pathlib import Path

import numpy as np

from analysis.simulate import simulate_pilot


def main() -> None:
    pilot = simulate_pilot(seed=7)
    responses = pilot.responses
    follow = responses[responses["wave"] == "follow-up"].copy()
    baseline = responses[responses["wave"] == "baseline"].set_index("rep")["candour"]
    frame = follow.assign(
        team=follow["team"].map(lambda t: f"T{t:02d}"), model=follow["coaching_model"],
        satisfaction=np.clip(np.rint(follow["satisfaction"]), 1, 5).astype(int),
        recommend=np.clip(np.rint(follow["recommend"]), 0, 10).astype(int),
        candour_baseline=follow["rep"].map(baseline).round(2))
    columns = ["team", "model", "candour", "expertise", "availability", "accountability", "satisfaction",
               "recommend", "candour_baseline"]
    for column in ("candour", "expertise", "availability", "accountability"):
        frame[column] = frame[column].clip(1, 5).round(2)
    frame[columns].sort_values(["team", "model"]).to_csv(Path(__file__).with_name("coaching_pilot.csv"),
                                                         index=False)


if __name__ == "__main__":
    main()
