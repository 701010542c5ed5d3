"""Issue 13, items 1-2: numerics that do not depend on the data's scale, and no row dropped in silence.

Reference values: ``reference/scale_shift.R`` -> ``reference/scale_shift.json`` (nlme::lme with
containment df, lme4::lmer, lm); R is not needed to run these tests.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.baseline import ancova
from analysis.clustered import mixed_model
from analysis.comparison import compare_models

HERE = Path(__file__).parent
DATA = pd.read_csv(HERE / "data" / "scale_shift.csv")
REFERENCE = json.loads((HERE / "reference" / "scale_shift.json").read_text())
LEVELS = ("manager", "peer", "external")
TRANSFORMS = {"none": lambda v: v, "shift_1e4": lambda v: v + 1e4, "shift_1e6": lambda v: v + 1e6,
              "shift_1e8": lambda v: v + 1e8, "times_1e-6": lambda v: v * 1e-6}


def _transformed(name):
    data = DATA.copy()
    for column in ("outcome", "baseline"):
        data[column] = TRANSFORMS[name](data[column])
    return data


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("with_baseline", [True, False])
def test_the_mixed_model_gives_the_same_p_values_on_shifted_and_rescaled_data(name, with_baseline):
    baseline = "baseline" if with_baseline else None
    plain = mixed_model(DATA, "outcome", "arm", "team", baseline, LEVELS)
    moved = mixed_model(_transformed(name), "outcome", "arm", "team", baseline, LEVELS)
    assert moved.converged, moved.warnings
    assert moved.arm_test.p == pytest.approx(plain.arm_test.p, abs=1e-6)
    for a, b in zip(moved.arm_effects, plain.arm_effects, strict=True):
        assert a.p == pytest.approx(b.p, abs=1e-6)
    factor = 1e-6 if name == "times_1e-6" else 1.0  # reported on the original scale
    assert moved.arm_effects[0].estimate == pytest.approx(plain.arm_effects[0].estimate * factor, rel=1e-5)
    assert moved.var_residual == pytest.approx(plain.var_residual * factor ** 2, rel=1e-5)
    assert moved.icc == pytest.approx(plain.icc, abs=1e-6)


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("with_baseline", [True, False])
def test_the_mixed_model_agrees_with_lme4_at_every_scale(name, with_baseline):
    key = "with_baseline" if with_baseline else "without_baseline"
    expected = REFERENCE["mixed"][key][name]
    result = mixed_model(_transformed(name), "outcome", "arm", "team",
                         "baseline" if with_baseline else None, LEVELS, df_method="containment")  # nlme's df
    assert result.arm_test.p == pytest.approx(expected["p_arm"], rel=1e-5)
    assert result.arm_test.statistic == pytest.approx(expected["F_arm"], rel=1e-5)
    assert [e.estimate for e in result.arm_effects] == pytest.approx(expected["estimates"], rel=1e-5)
    assert [e.se for e in result.arm_effects] == pytest.approx(expected["se"], rel=1e-4)
    assert result.var_cluster == pytest.approx(expected["var_cluster"], rel=1e-4)
    assert result.var_residual == pytest.approx(expected["var_residual"], rel=1e-5)
    if with_baseline:
        assert result.baseline.estimate == pytest.approx(expected["baseline"], rel=1e-5)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_the_ancova_gives_the_same_p_values_as_lm_at_every_scale(name):
    expected = REFERENCE["ancova"][name]
    result = ancova(_transformed(name), "outcome", "arm", "baseline", LEVELS)
    assert result.arm_test.p == pytest.approx(expected["p_arm"], rel=1e-6)
    assert result.arm_test.statistic == pytest.approx(expected["F_arm"], rel=1e-6)
    assert [e.estimate for e in result.arm_effects] == pytest.approx(expected["estimates"], rel=1e-6)
    assert result.baseline.estimate == pytest.approx(expected["baseline"], rel=1e-6)
    assert result.residual_sd == pytest.approx(expected["sigma"], rel=1e-6)
    assert [m.mean for m in result.adjusted_means] == pytest.approx(expected["adjusted_means"], rel=1e-9)


def test_a_shift_that_moved_the_headline_in_the_audit_keeps_the_mixed_model():
    # F5: at a level of 1e6 the product fell back to team means (p 0.165 against lme4's 0.046).
    result = compare_models(_transformed("shift_1e6"), ["outcome"], "arm", levels=LEVELS, cluster="team",
                            baseline="baseline")
    assert result.outcome("outcome").chosen == "mixed_model"


def _with_holes():
    """The audit's d8 in small: 30 of 64 external reps (47 %) lack a baseline, 5 peer reps a team, and
    2 manager reps the outcome."""
    data = DATA.copy()
    external = data.index[data["arm"] == "external"]
    data.loc[external[::2][:30], "baseline"] = np.nan
    data.loc[data.index[data["arm"] == "peer"][:5], "team"] = np.nan
    data.loc[data.index[data["arm"] == "manager"][-2:], "outcome"] = np.nan
    return data


def test_rows_left_out_of_the_ancova_are_counted_per_arm_and_warned():
    result = ancova(_with_holes(), "outcome", "arm", "baseline", LEVELS)
    assert result.n_used == {"manager": 62, "peer": 64, "external": 34}
    assert result.n_dropped == {"manager": {"missing_outcome": 2}, "peer": {}, "external": {"missing_baseline": 30}}
    assert result.n == 160
    assert any("30 of 64" in w and "external" in w and "baseline" in w for w in result.warnings)
    assert result.to_dict()["n_dropped"]["external"] == {"missing_baseline": 30}


def test_rows_left_out_of_the_mixed_model_are_counted_per_arm_and_warned():
    result = mixed_model(_with_holes(), "outcome", "arm", "team", "baseline", LEVELS)
    assert result.n_used == {"manager": 62, "peer": 59, "external": 34}
    assert result.n_dropped == {"manager": {"missing_outcome": 2}, "peer": {"missing_team": 5},
                                "external": {"missing_baseline": 30}}
    assert result.n == 155
    assert any("5 of 64" in w and "team" in w for w in result.warnings)
    assert result.to_dict()["n_used"]["peer"] == 59


def test_a_row_missing_several_things_is_counted_once_under_the_first():
    data = _with_holes()
    data.loc[data.index[data["arm"] == "peer"][:5], "baseline"] = np.nan  # the team-less reps too
    result = mixed_model(data, "outcome", "arm", "team", "baseline", LEVELS)
    assert result.n_dropped["peer"] == {"missing_baseline": 5}


def test_an_arm_that_loses_more_than_a_tenth_of_its_rows_raises_a_caveat():
    analysis = compare_models(_with_holes(), ["outcome"], "arm", levels=LEVELS, cluster="team",
                              baseline="baseline")
    outcome = analysis.outcome("outcome")
    assert outcome.chosen == "mixed_model"
    assert any("external" in w and "baseline" in w for w in outcome.warnings)
    caveats = [c for c in analysis.verdict.caveats if "left out" in c]
    assert len(caveats) == 1, analysis.verdict.caveats
    assert "30 of 64" in caveats[0] and "47 %" in caveats[0] and "baseline" in caveats[0]
    assert "peer" not in caveats[0]  # 5 of 64 (8 %) is under the threshold


def test_no_caveat_when_every_arm_keeps_nine_tenths():
    data = DATA.copy()
    data.loc[data.index[data["arm"] == "peer"][:6], "baseline"] = np.nan  # 6 of 64 = 9 %
    analysis = compare_models(data, ["outcome"], "arm", levels=LEVELS, cluster="team", baseline="baseline")
    assert not [c for c in analysis.verdict.caveats if "left out" in c]
    assert analysis.outcome("outcome").mixed_model.n_dropped["peer"] == {"missing_baseline": 6}


@pytest.mark.parametrize("fit", ["ancova", "mixed_model"])
def test_a_baseline_missing_for_a_whole_arm_says_exactly_that(fit):
    data = DATA.copy()
    data.loc[data["arm"] == "peer", "baseline"] = np.nan
    with pytest.raises(ValueError, match="'baseline' is missing for every rep of 'peer'") as error:
        if fit == "ancova":
            ancova(data, "outcome", "arm", "baseline", LEVELS)
        else:
            mixed_model(data, "outcome", "arm", "team", "baseline", LEVELS)
    assert "collinear" not in str(error.value)
