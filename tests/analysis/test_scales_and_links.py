"""Scale scoring with reverse keys, and the team-level link between satisfaction and performance."""

import numpy as np
import pandas as pd
import pytest

from analysis.clustered import correlation, team_link
from analysis.scales import score_scale


def test_scale_score_mirrors_reverse_keyed_items_and_needs_half_the_items():
    items = pd.DataFrame({"a": [5, 4, np.nan, np.nan], "b": [4, 4, 2, np.nan], "c": [1, 2, 4, np.nan]})
    scores = score_scale(items, reverse=["c"], scale_min=1, scale_max=5)
    assert scores.iloc[0] == pytest.approx((5 + 4 + 5) / 3)   # c = 1 counts as 5
    assert scores.iloc[1] == pytest.approx((4 + 4 + 4) / 3)
    assert scores.iloc[2] == pytest.approx((2 + 2) / 2)       # two of three answered: enough
    assert np.isnan(scores.iloc[3])                           # none answered


def test_team_link_correlates_team_means_overall_and_within_each_model():
    rng = np.random.default_rng(3)
    teams = pd.DataFrame({"model": np.repeat(["manager", "peer", "external"], 10),
                          "satisfaction": rng.normal(3.5, 0.3, 30)})
    teams["quota_attainment"] = 90 + 20 * (teams["satisfaction"] - 3.5) + rng.normal(0, 3, 30)
    link = team_link(teams, "satisfaction", "quota_attainment", "model", ("manager", "peer", "external"))
    assert link.n_teams == 30
    direct = correlation(teams["satisfaction"].to_numpy(), teams["quota_attainment"].to_numpy())
    assert link.overall == direct and link.overall.r > 0.5
    peer = teams[teams["model"] == "peer"]
    assert link.by_group["peer"].r == pytest.approx(np.corrcoef(peer["satisfaction"], peer["quota_attainment"])[0, 1])
    assert link.to_dict()["by_group"]["manager"]["n"] == 10


def test_too_few_teams_give_no_correlation_rather_than_a_made_up_one():
    assert correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.0])) is None
    assert correlation(np.array([1.0, 1.0, 1.0, 1.0]), np.array([2.0, 1.0, 3.0, 4.0])) is None
