"""Property test of the anonymity rules: over random organisations and filter choices, no shown number
rests on fewer than k responses, and no two shown numbers differ by 1 to k − 1 responses.

The checks below recompute everything from the response ids themselves (sets), not from the
module's count tables, so they test the rules, not the bookkeeping.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.disclosure import View, all_views, decide
from analysis.suppression import audit, brute_force_audit

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


def spread(n: int) -> np.ndarray:
    """Scores that differ from one another (a group giving one value only is hidden for that alone)."""
    return 1.0 + np.arange(n) % 5


def test_a_small_region_hides_itself_and_its_last_sibling():
    rows = [("manager", "North", "small")] * 20 + [("manager", "South", "small")] * 7 + \
           [("manager", "West", "small")] * 2
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band"]).assign(y=spread(len(rows)))
    disclosure = decide(frame, ["y"], 5)
    assert disclosure.is_shown(View(), "manager", "y")
    assert not disclosure.is_shown(View(region="West"), "manager", "y")   # 2 < k
    assert not disclosure.is_shown(View(region="South"), "manager", "y")  # all − North − South = West
    assert disclosure.is_shown(View(region="North"), "manager", "y")      # all − North = 9 ≥ k


def test_a_filter_that_removes_fewer_than_k_is_hidden():
    rows = [("peer", "North", "small")] * 30 + [("peer", "South", "small")] * 3
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band"]).assign(y=spread(len(rows)))
    disclosure = decide(frame, ["y"], 5)
    assert disclosure.is_shown(View(), "peer", "y")
    assert not disclosure.is_shown(View(region="North"), "peer", "y")  # would reveal the 3 from South
    assert disclosure.n(View(region="North"), "peer", "y") == 30


# --------------------------------------------------------------------------------------------------
# The whole cube: exact audits of what decide() shows (security review F3, F4, F5, F17; statistics
# review F1). Each rebuilds the cells from the raw rows, independently of the module's own tables.

SCALES = {"satisfaction": (1.0, 5.0)}


def report_cells(frame, disclosure, outcome, regions, bands, atom):
    """The shown report cells of ``outcome`` as sets of atoms, with each atom's count of answers."""
    answered = frame[frame[outcome].notna()]
    counts = answered.groupby(list(atom)).size().to_dict()
    cells = []
    for model in frame["coaching_model"].unique():
        for view in all_views(regions, bands):
            if disclosure.is_shown(view, model, outcome):
                members = {key for key in counts if key[0] == model and view.contains(key[1], key[2])}
                cells.append(frozenset(members))
    return counts, cells


def test_the_statistics_review_example_cannot_be_recombined():
    """Statistics review F1: (all, B1) − (R0, B1) − (R1, all sizes) + (R1, B0) gave the hidden R2 × B1 cell
    (n = 4, mean 3.75) under the pairwise rules."""
    counts = {("R0", "B0"): 9, ("R0", "B1"): 14, ("R1", "B0"): 10, ("R1", "B1"): 9, ("R2", "B0"): 14,
              ("R2", "B1"): 4}
    rows = [("manager", r, b) for (r, b), n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band"]).assign(y=spread(len(rows)))
    hidden_cell = frame[(frame["region"] == "R2") & (frame["band"] == "B1")]["y"]
    disclosure = decide(frame, ["y"], 5)
    attack = [(View(None, "B1"), 1), (View("R0", "B1"), -1), (View("R1", None), -1), (View("R1", "B0"), 1)]
    if all(disclosure.is_shown(view, "manager", "y") for view, _ in attack):
        def total(view):
            chosen = frame[[view.contains(r, b) for r, b in zip(frame["region"], frame["band"], strict=True)]]
            return len(chosen), chosen["y"].sum()
        n = sum(sign * total(view)[0] for view, sign in attack)
        mean = sum(sign * total(view)[1] for view, sign in attack) / n
        pytest.fail(f"the shown cells combine to n = {n}, mean {mean} (the hidden cell: "
                    f"{len(hidden_cell)}, {hidden_cell.mean()})")
    assert disclosure.audit() is None
    counts_, cells = report_cells(frame, disclosure, "y", ["R0", "R1", "R2"], ["B0", "B1"],
                                  ("coaching_model", "region", "band"))
    assert brute_force_audit(counts_, cells, 1, 4) is None


@st.composite
def small_organisations(draw):
    """Like ``organisations``, with many teams of 1 to 4 responses, rating answers and complete flags."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_regions = draw(st.integers(1, 4))
    n_teams = draw(st.integers(2, 16))
    rep_level = draw(st.booleans())
    rows = []
    for team in range(n_teams):
        region = f"R{rng.integers(n_regions)}"
        band = ("small", "medium", "large")[rng.integers(3)]
        team_model = MODELS[rng.integers(3)]
        size = int(rng.choice([1, 2, 3, 4, 4, 5, 6, 8, 11]))
        for _ in range(size):
            model = MODELS[rng.integers(3)] if rep_level else team_model
            rows.append({"response": len(rows), "team": team, "region": region, "band": band,
                         "coaching_model": model,
                         "candour": rng.normal() if rng.random() > 0.15 else np.nan,
                         "satisfaction": float(rng.integers(1, 6)) if rng.random() > 0.05 else np.nan,
                         "candour_complete": float(rng.random() > 0.2)})
    frame = pd.DataFrame(rows)
    return frame, draw(st.integers(3, 6))


def shown_export_cells(frame, disclosure):
    """The export's cells as sets of fine atoms: each named (model, team) and each exported model."""
    cells = []
    for model in frame["coaching_model"].unique():
        if not disclosure.exported.get(model):
            continue
        model_rows = frame[frame["coaching_model"] == model]
        cells.append(frozenset(map(tuple, model_rows[["coaching_model", "region", "band", "team"]].values)))
        for team in model_rows["team"].unique():
            if disclosure.team_shown(model, team):
                part = model_rows[model_rows["team"] == team]
                cells.append(frozenset(map(tuple, part[["coaching_model", "region", "band", "team"]].values)))
    return cells


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_organisations())
def test_over_random_organisations_the_shown_cells_and_the_export_pass_the_exact_audit(case):
    frame, k = case
    outcomes = ["candour", "satisfaction"]
    regions = sorted(frame["region"].unique())
    bands = sorted(frame["band"].unique())
    disclosure = decide(frame, outcomes, k, team="team", export=True, scales=SCALES,
                        complete={"candour": "candour_complete"})
    assert disclosure.audit() is None
    fine = ("coaching_model", "region", "band", "team")
    rows = frame.groupby(list(fine)).size().to_dict()
    export = shown_export_cells(frame, disclosure)
    for outcome in outcomes:
        counts, cells = report_cells(frame, disclosure, outcome, regions, bands, fine)
        # Rule 1: no combination of the report's cells isolates 1..k-1 answers.
        assert audit(counts, cells, 1, k - 1, method="milp") is None, outcome
        # Rule 2: with the export's team labels, no combination isolates 1..k-1 rows (a report cell
        # stands for the atoms that answered the outcome: only their rows carry it).
        assert audit(rows, cells + export, 1, k - 1, method="milp") is None, outcome
    # Rule 3: no shown satisfaction cell, nor a set they isolate, has 1..k-1 in an answer category.
    counts, cells = report_cells(frame, disclosure, "satisfaction", regions, bands, fine)
    answered = frame[frame["satisfaction"].notna()]
    for low, high in ((1, 2), (3, 3), (4, 5)):
        inside = answered[answered["satisfaction"].between(low, high)].groupby(list(fine)).size().to_dict()
        weights = {a: inside.get(a, 0) for a in counts}
        assert audit(weights, cells, 1, k - 1, method="milp") is None, (low, high)
        whole = {a for a in counts if weights[a] == counts[a]}
        assert audit(counts, cells, 1, None, free=whole, method="milp") is None, (low, high)
    # Rule 4 for reliability: α's complete answers are never 1..k-1 in any isolated set.
    complete = frame[(frame["candour_complete"] > 0)].groupby(list(fine)).size().to_dict()
    alpha_cells = [frozenset(a for a in complete if a[0] == model and view.contains(a[1], a[2]))
                   for model in MODELS for view in all_views(regions, bands)
                   if disclosure.alpha_shown(view, model, "candour")]
    assert audit(complete, alpha_cells, 1, k - 1, method="milp") is None
    # Rep-level randomisation: a team's rows of one model are named only when there are k of them (F4).
    for (model, team), shown in disclosure.teams.items():
        if shown:
            assert ((frame["coaching_model"] == model) & (frame["team"] == team)).sum() >= k


def test_the_pooled_rows_of_the_export_cannot_be_attributed_through_a_region():
    """Security review F5: North minus the named team A is the two tiny teams' rows, so the pooled rows
    of the model would be matched to them. With the export in the cube the combination is blocked."""
    rows = ([("manager", "North", "small", "A")] * 8 + [("manager", "North", "small", "T1")] * 1
            + [("manager", "North", "small", "T2")] * 2 + [("manager", "South", "large", "B")] * 9
            + [("manager", "West", "large", "C")] * 7)
    frame = pd.DataFrame(rows, columns=["coaching_model", "region", "band", "team"]).assign(y=spread(len(rows)))
    alone = decide(frame, ["y"], 5)
    assert alone.is_shown(View("North"), "manager", "y")  # the report by itself may show North (11)
    disclosure = decide(frame, ["y"], 5, team="team", export=True)
    assert disclosure.audit() is None
    north, team_a = disclosure.is_shown(View("North"), "manager", "y"), disclosure.team_shown("manager", "A")
    assert not (north and team_a)
    assert not disclosure.team_shown("manager", "T1") and not disclosure.team_shown("manager", "T2")


def test_under_rep_level_randomisation_team_and_model_never_single_out_fewer_than_k():
    """Security review F4: a team of 6 mixes models 3/2/1 — its one peer rep was a row of their own."""
    rows = ([("manager", "A")] * 3 + [("external", "A")] * 2 + [("peer", "A")] * 1
            + [("manager", "B")] * 6 + [("peer", "B")] * 7 + [("external", "B")] * 5)
    frame = pd.DataFrame(rows, columns=["coaching_model", "team"]).assign(region="North", band="small",
                                                                          y=spread(len(rows)))
    disclosure = decide(frame, ["y"], 5, team="team", export=True)
    assert not any(disclosure.team_shown(m, "A") for m in MODELS)
    assert disclosure.audit() is None
    # Pooled, team A's peer row would be B's peers minus … nothing: B's peers (7) are named only if the
    # model's pooled rows are 0 or at least k.
    pooled = {m: int((frame["coaching_model"] == m).sum()) - sum(
        int(((frame["coaching_model"] == m) & (frame["team"] == t)).sum()) for t in ("A", "B")
        if disclosure.team_shown(m, t)) for m in MODELS}
    assert all(n == 0 or n >= 5 for n in pooled.values()), pooled


def test_answer_categories_held_by_a_few_or_by_everyone_are_not_shown():
    """Security review F17: a share of 1/11 "disagree" told that exactly one person disagreed."""
    one_disagrees = [1.0] + [4.0] * 5 + [5.0] * 5
    all_agree = [4.0] * 6 + [5.0] * 6
    mixed = [1.0, 2.0] * 3 + [3.0] * 5 + [4.0, 5.0] * 3
    frame = pd.DataFrame(
        [("peer", "North", "small", v) for v in one_disagrees] + [("peer", "South", "small", v) for v in all_agree]
        + [("peer", "West", "small", v) for v in mixed], columns=["coaching_model", "region", "band", "satisfaction"])
    disclosure = decide(frame, ["satisfaction"], 5, scales=SCALES)
    assert not disclosure.is_shown(View("North"), "peer", "satisfaction")  # 1 in "disagree"
    assert not disclosure.is_shown(View("South"), "peer", "satisfaction")  # everyone agrees
    # West (6 / 5 / 6) or the whole (7 / 5 / 28) may show, not both: their difference is North and South,
    # with its one "disagree".
    west, whole = (disclosure.is_shown(view, "peer", "satisfaction") for view in (View("West"), View()))
    assert west != whole
    assert disclosure.audit() is None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_organisations())
def test_over_random_organisations_the_report_cells_alone_pass_the_exact_audit(case):
    """Security review F3: the pairwise rules let cross-family combinations through in about a fifth of
    random organisations; the report's cells by themselves must not isolate anyone."""
    frame, k = case
    regions, bands = sorted(frame["region"].unique()), sorted(frame["band"].unique())
    disclosure = decide(frame, ["candour", "satisfaction"], k)
    for outcome in ("candour", "satisfaction"):
        counts, cells = report_cells(frame, disclosure, outcome, regions, bands,
                                     ("coaching_model", "region", "band"))
        found = audit(counts, cells, 1, k - 1, method="milp")
        assert found is None, (outcome, found)
