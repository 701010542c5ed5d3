"""Cronbach's α with missing item answers (statistics review F9), against psych::alpha in R.

``reference/alpha_pairwise.R`` writes ``reference/alpha_pairwise.json`` and ``data/alpha_missing.csv``;
CI reads the stored files and does not need R.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.scales import cronbach_alpha, reliability
from analysis.verdict import DesignFacts, _caveats

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "alpha_pairwise.json").read_text())
ITEMS = ["q1", "q2", "q3", "q4", "q5"]


def _missing():
    return reliability(pd.read_csv(HERE / "data" / "alpha_missing.csv"), ITEMS, between="arm",
                       levels=("manager", "peer", "external"), scale="candour")


def test_pairwise_alpha_matches_psych_with_listwise_alongside():
    result, ref = _missing(), REF["alpha_missing"]
    assert result.alpha == pytest.approx(ref["alpha_pairwise"], rel=1e-9)
    assert result.alpha_listwise == pytest.approx(ref["alpha_listwise"], rel=1e-9)
    assert result.n_listwise == ref["n_listwise"] and result.n == 60
    for arm in ref["per_arm"]:
        assert result.by_group[arm["group"]] == pytest.approx(arm["alpha_pairwise"], rel=1e-9)
        assert result.by_group_listwise[arm["group"]] == pytest.approx(arm["alpha_listwise"], rel=1e-9)
        assert result.n_by_group_listwise[arm["group"]] == arm["n_listwise"]


def test_pairwise_alpha_matches_psych_on_reverse_keyed_scale():
    data = pd.read_csv(HERE / "data" / "scale_items.csv")
    result = reliability(data, ["item_1", "item_2", "item_3", "item_4"], between="arm",
                         levels=("manager", "peer", "external"), scale="scale", reverse=["item_3"])
    ref = REF["scale_items"]
    assert result.alpha == pytest.approx(ref["alpha_pairwise"], rel=1e-9)
    assert result.alpha_listwise == pytest.approx(ref["alpha_listwise"], rel=1e-9)
    for arm in ref["per_arm"]:
        assert result.by_group[arm["group"]] == pytest.approx(arm["alpha_pairwise"], rel=1e-9)


def test_cronbach_alpha_pairwise_option():
    data = pd.read_csv(HERE / "data" / "alpha_missing.csv")[ITEMS]
    alpha, n = cronbach_alpha(data, missing="pairwise")
    assert alpha == pytest.approx(REF["alpha_missing"]["alpha_pairwise"], rel=1e-9) and n == 60
    alpha, n = cronbach_alpha(data)  # the listwise figure stays the default of the low-level function
    assert alpha == pytest.approx(REF["alpha_missing"]["alpha_listwise"], rel=1e-9) and n == 25
    with pytest.raises(ValueError, match="missing"):
        cronbach_alpha(data, missing="mean")


def test_low_reliability_caveat_uses_pairwise_alpha():
    # Listwise (25 of 60 rows) flags overall 0.674 and manager 0.448 (6 rows); pairwise flags peer 0.668 only.
    result = _missing()
    assert result.low == ("peer",)
    caveats = " ".join(_caveats([], DesignFacts(reliability=(result,))))
    assert "Low reliability" in caveats and "peer" in caveats and "overall" not in caveats
    assert "manager" not in caveats
    assert "pairwise" in caveats
