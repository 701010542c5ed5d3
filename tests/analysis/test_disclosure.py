"""Property test of the anonymity rules: over random organisations and filter choices, no shown number
rests on fewer than k responses, and no two shown numbers differ by 1 to k − 1 responses.

The checks below recompute everything from the response ids themselves (sets), not from the
module's count tables, so they test the rules, not the bookkeeping.
"""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.disclosure import View, all_views, decide

MODELS = ("manager", "peer", "external")


@st.composite
def organisations(draw):
    """Teams in regions and size bands, each in one model; responses with some outcomes unanswered."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_regions = draw(st.integers(1, 4))
    n_teams = draw(st.integers(2, 14))
    rows = []
    for team in range(n_teams):
        region = f"R{rng.integers(n_regions)}"
        band = ("small", "medium", "large")[rng.integers(3)]
        model = MODELS[rng.integers(3)]
        for _ in range(int(rng.integers(0, 12))):
            rows.append({"response": len(rows), "team": team, "region": region, "band": band,
                         "coaching_model": model,
                         "candour": rng.normal() if rng.random() > 0.15 else np.nan,
                         "satisfaction": float(rng.integers(1, 6)) if rng.random() > 0.05 else np.nan})
    frame = pd.DataFrame(rows, columns=["response", "team", "region", "band", "coaching_model", "candour",
                                        "satisfaction"])
    return frame, draw(st.integers(3, 7))


def members(frame, view: View, model: str, outcome: str) -> set:
    selected = frame[(frame["coaching_model"] == model) & frame[outcome].notna()]
    if view.region is not None:
        selected = selected[selected["region"] == view.region]
    if view.band is not None:
        selected = selected[selected["band"] == view.band]
    return set(selected["response"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_no_shown_number_rests_on_fewer_than_k_or_differs_from_another_by_fewer_than_k(case):
    frame, k = case
    if frame.empty:
        return
    outcomes = ["candour", "satisfaction"]
    disclosure = decide(frame, outcomes, k)
    regions = sorted(frame["region"].unique())
    bands = sorted(frame["band"].unique())
    views = all_views(regions, bands)
    for outcome in outcomes:
        for model in frame["coaching_model"].unique():
            shown = [(v, members(frame, v, model, outcome)) for v in views if disclosure.is_shown(v, model, outcome)]
            for view, people in shown:
                assert len(people) >= k, (view, model, outcome, len(people))
            for i, (v1, s1) in enumerate(shown):
                for v2, s2 in shown[i + 1:]:
                    assert not 0 < len(s1 - s2) < k, (v1, v2, len(s1 - s2))
                    assert not 0 < len(s2 - s1) < k, (v1, v2, len(s2 - s1))
            # A shown parent minus its shown children never leaves 1..k-1 people.
            for parent, people in shown:
                families = []
                if parent.region is None:
                    families.append([View(r, parent.band) for r in regions])
                if parent.band is None:
                    families.append([View(parent.region, b) for b in bands])
                for children in families:
                    visible = set().union(*[members(frame, c, model, outcome) for c in children
                                            if disclosure.is_shown(c, model, outcome)])
                    assert not 0 < len(people - visible) < k, (parent, len(people - visible))


def test_a_small_region_hides_itself_and_its_last_sibling():
    rows = [("manager", "North", "small")] * 20 + [("manager", "South", "small")] * 7 + \
           [("manager", "West", "small")] * 2
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band"]).assign(y=1.0)
    disclosure = decide(frame, ["y"], 5)
    assert disclosure.is_shown(View(), "manager", "y")
    assert not disclosure.is_shown(View(region="West"), "manager", "y")   # 2 < k
    assert not disclosure.is_shown(View(region="South"), "manager", "y")  # all − North − South = West
    assert disclosure.is_shown(View(region="North"), "manager", "y")      # all − North = 9 ≥ k


def test_a_filter_that_removes_fewer_than_k_is_hidden():
    rows = [("peer", "North", "small")] * 30 + [("peer", "South", "small")] * 3
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band"]).assign(y=2.0)
    disclosure = decide(frame, ["y"], 5)
    assert disclosure.is_shown(View(), "peer", "y")
    assert not disclosure.is_shown(View(region="North"), "peer", "y")  # would reveal the 3 from South
    assert disclosure.n(View(region="North"), "peer", "y") == 30
