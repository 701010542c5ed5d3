"""ICC(1) with its F interval (``analysis.icc``) against psychometric and a hand computation in R (icc.R)."""

import json

import pandas as pd
import pytest

from analysis.icc import icc_interval
from tests.analysis.test_reference import DATA, HERE

REFERENCE = json.loads((HERE / "reference" / "icc.json").read_text())


def test_balanced_teams_match_psychometric():
    result = icc_interval(pd.read_csv(DATA / "satterthwaite_balanced.csv"), "outcome", "team")
    ref = REFERENCE["balanced"]
    assert (result.icc, result.ci_low, result.ci_high) == pytest.approx((ref["icc"], ref["ci_low"], ref["ci_high"]),
                                                                        rel=1e-10)


def test_unequal_teams_within_models_match_the_hand_computation():
    data = pd.read_csv(DATA / "clustered.csv")
    result = icc_interval(data, "outcome", "team", between="arm")
    ref = REFERENCE["unbalanced"]
    assert (result.df1, result.df2) == (ref["df1"], ref["df2"])
    for key in ("icc", "ci_low", "ci_high", "n0", "f"):
        assert getattr(result, key) == pytest.approx(ref[key], rel=1e-10), key
    assert result.ci_low < result.icc < result.ci_high
    assert "ICC of outcome: 0.244 (95 % interval 0.121 to 0.425" in result.words()


@pytest.mark.parametrize(("frame", "words"), [
    (pd.DataFrame({"y": [1.0, 2.0], "team": ["a", "a"]}), "two teams"),
    (pd.DataFrame({"y": [1.0, 2.0], "team": ["a", "b"]}), "a team of two reps"),
    (pd.DataFrame({"y": [1.0, 1.0, 2.0, 2.0], "team": ["a", "a", "b", "b"]}), "no variation within teams"),
])
def test_too_little_data_is_named(frame, words):
    with pytest.raises(ValueError, match=words):
        icc_interval(frame, "y", "team")
