"""``python -m analysis FILE``: valid input accepted, invalid input named (statistics review F8, section 3)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _frame(seed=3, n=12):
    rng = np.random.default_rng(seed)
    arm = np.repeat(["manager", "peer", "external"], n)
    return pd.DataFrame({"arm": arm, "score": np.round(rng.normal(3.5, 0.6, 3 * n), 2)})


def _run(capsys, path, *args):
    status = main([str(path), "--group", "arm", "--format", "json", *args])
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if status == 0 else None), captured.err


def test_a_group_of_one_is_analysed_where_the_tests_are_defined(tmp_path, capsys):
    frame = pd.concat([_frame(), pd.DataFrame({"arm": ["solo"], "score": [3.1]})])
    frame.to_csv(tmp_path / "d.csv", index=False)
    status, data, err = _run(capsys, tmp_path / "d.csv", "--outcome", "score")
    assert status == 0, err
    outcome = data["outcomes"][0]
    assert outcome["tests"]["anova"]["p"] is not None and outcome["tests"]["kruskal"]["p"] is not None
    assert any("solo" in w and "one value" in w for w in data["warnings"])


def test_labels_differing_in_case_or_spaces_are_merged_with_a_warning(tmp_path, capsys):
    frame = _frame()
    frame.loc[[0, 1], "arm"] = "Manager"
    frame.loc[[12], "arm"] = "peer "
    frame.to_csv(tmp_path / "d.csv", index=False)
    status, data, err = _run(capsys, tmp_path / "d.csv", "--outcome", "score")
    assert status == 0, err
    assert data["levels"] == ["external", "manager", "peer"]
    assert any("'Manager'" in w and "'manager'" in w for w in data["warnings"])
    assert any("'peer '" in w for w in data["warnings"])


@pytest.mark.parametrize("column", ["id", "rep_id", "team", "employee"])
def test_id_like_columns_are_not_picked_as_outcomes(tmp_path, capsys, column):
    frame = _frame()
    frame.insert(0, column, np.arange(1001, 1001 + len(frame)) if column != "team" else np.arange(len(frame)) // 3)
    frame.to_csv(tmp_path / "d.csv", index=False)
    status, data, err = _run(capsys, tmp_path / "d.csv")
    assert status == 0, err
    assert [o["outcome"] for o in data["outcomes"]] == ["score"]
    status, data, err = _run(capsys, tmp_path / "d.csv", "--outcome", column, "--outcome", "score")
    assert status == 0 and column in [o["outcome"] for o in data["outcomes"]]  # named: analysed


def test_semicolons_and_decimal_commas_are_read(tmp_path, capsys):
    frame = _frame()
    text = frame.to_csv(index=False, sep=";").replace(".", ",")
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    status, data, err = _run(capsys, tmp_path / "d.csv", "--outcome", "score")
    assert status == 0, err
    assert data["outcomes"][0]["n"] == 36
    mean = data["outcomes"][0]["descriptives"][0]["mean"]
    assert mean == pytest.approx(frame.loc[frame.arm == "external", "score"].mean())
    status, data, err = _run(capsys, tmp_path / "d.csv", "--outcome", "score", "--decimal", ",")
    assert status == 0, err


def test_units_come_from_the_column(tmp_path, capsys):
    rng = np.random.default_rng(5)
    frame = _frame()
    frame["revenue"] = np.round(rng.normal(250_000, 60_000, len(frame)) + np.repeat([0, 60_000, 0], 12))
    frame["win_rate"] = np.clip(rng.normal(0.3, 0.05, len(frame)) + np.repeat([0, 0.08, 0], 12), 0, 1)
    frame.to_csv(tmp_path / "d.csv", index=False)
    status = main([str(tmp_path / "d.csv"), "--group", "arm", "--outcome", "revenue", "--outcome", "win_rate"])
    text = capsys.readouterr().out
    assert status == 0
    from analysis.cli import run
    analysis = run(tmp_path / "d.csv", "arm", ["revenue", "win_rate"])
    assert analysis.outcome("revenue").unit == "in revenue"
    rate = analysis.outcome("win_rate")
    assert rate.unit == "percentage points" and rate.unit_scale == 100
    assert "points" not in analysis.outcome("revenue").amount(59_913.0)
    assert "59,913 points" not in text


@pytest.mark.parametrize("content, args, words", [
    ("arm,score\nmanager,1\npeer,2\n", ["--outcome", "nope"], "column 'nope' not found"),
    ("arm,score\nmanager,x\nmanager,2\npeer,2\npeer,3\n", ["--outcome", "score"], "non-numeric"),
    ("", ["--outcome", "score"], "empty"),
    ("arm,score\nmanager,1\nmanager,2\npeer,2\npeer,3\n", ["--outcome", "score", "--decimal", ";"],
     "--decimal"),
])
def test_bad_input_exits_2_naming_the_problem_without_a_traceback(tmp_path, content, args, words):
    (tmp_path / "d.csv").write_text(content, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "analysis", str(tmp_path / "d.csv"), "--group", "arm", *args],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr


def test_whole_unique_amounts_in_no_order_stay_outcomes():
    from analysis._validate import is_id_like
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"revenue": rng.permutation(np.arange(200_000, 260_000, 1_000))})
    assert not is_id_like(frame, "revenue")
    assert is_id_like(frame.assign(rep=np.arange(60)[::-1]), "rep")  # a run without gaps


def test_a_group_of_one_matches_aov_and_kruskal_test():
    """``reference/group_of_one.R``: aov and kruskal.test are defined, oneway.test (Welch) is not."""
    from analysis.comparison import compare_outcome
    here = Path(__file__).parent
    ref = json.loads((here / "reference" / "group_of_one.json").read_text())
    result = compare_outcome(pd.read_csv(here / "data" / "group_of_one.csv"), "score", "arm")
    assert result.anova.statistic == pytest.approx(ref["anova"]["F"], rel=1e-9)
    assert (result.anova.df1, result.anova.df2) == (ref["anova"]["df1"], ref["anova"]["df2"])
    assert result.anova.p == pytest.approx(ref["anova"]["p"], rel=1e-6)
    assert result.kruskal.statistic == pytest.approx(ref["kruskal"]["H"], rel=1e-9)
    assert result.kruskal.p == pytest.approx(ref["kruskal"]["p"], rel=1e-6)
    assert result.welch is None and result.chosen == "kruskal"
    assert any("'solo' has only one value" in w for w in result.warnings)
