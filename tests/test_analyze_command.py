"""``flask --app app analyze``: the DESIGN.md JSON on a consultant's CSV or XLSX, text with the verdict first,
and one line with exit status 2 for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "analysis" / "examples" / "coaching_pilot.csv"


def analyze(runner, *args):
    return runner.invoke(args=["analyze", *map(str, args)])


def test_json_has_the_documented_shape(runner):
    result = analyze(runner, EXAMPLE, "--group", "model", "--outcome", "candour", "--outcome", "satisfaction",
                     "--levels", "manager,peer,external", "--cluster", "team", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["group"] == "model" and data["levels"] == ["manager", "peer", "external"]
    assert [o["outcome"] for o in data["outcomes"]] == ["candour", "satisfaction"]
    candour = data["outcomes"][0]
    assert candour["n"] == sum(d["n"] for d in candour["descriptives"])
    assert [d["group"] for d in candour["descriptives"]] == ["manager", "peer", "external"]
    assert set(candour["descriptives"][0]) == {"group", "n", "mean", "sd", "median", "ci_low", "ci_high"}
    assert set(candour["tests"]["welch"]) == {"statistic", "df1", "df2", "p"}
    assert set(candour["tests"]["kruskal"]) == {"statistic", "df", "p"}
    assert candour["chosen"] == "mixed_model"
    pair = candour["posthoc"]["tukey"][0]
    assert (pair["a"], pair["b"]) == ("manager", "peer") and set(pair) == {"a", "b", "diff", "ci_low", "ci_high",
                                                                          "p_adj"}
    assert set(candour["posthoc"]["dunn"][0]) == {"a", "b", "statistic", "p", "p_adj"}
    assert candour["mixed_model"]["converged"] is True
    assert {"level", "vs", "estimate", "se", "p"} <= set(candour["mixed_model"]["arm_effects"][0])
    assert isinstance(data["verdict"]["text"], str) and isinstance(data["warnings"], list)


def test_the_mixed_models_df_can_be_chosen_and_the_json_says_which(runner):
    args = [EXAMPLE, "--group", "model", "--outcome", "candour", "--cluster", "team", "--format", "json"]
    chosen = {}
    for method in ("auto", "satterthwaite", "containment"):
        result = analyze(runner, *args, "--df", method)
        assert result.exit_code == 0, result.output
        chosen[method] = json.loads(result.stdout)["outcomes"][0]["mixed_model"]["df_method"]
    assert chosen["containment"] == "containment" and chosen["satterthwaite"] in ("satterthwaite", "containment")
    assert analyze(runner, *args, "--df", "kenward-roger").exit_code == 2


def test_levels_default_to_sorted_and_the_baseline_enters_an_ancova(runner):
    result = analyze(runner, EXAMPLE, "--group", "model", "--outcome", "candour", "--baseline", "candour_baseline",
                     "--format", "json")
    data = json.loads(result.stdout)
    assert data["levels"] == ["external", "manager", "peer"]
    outcome = data["outcomes"][0]
    assert outcome["chosen"] == "ancova"
    assert [m["group"] for m in outcome["ancova"]["adjusted_means"]] == ["external", "manager", "peer"]


def test_text_report_starts_with_the_verdict_and_can_be_written_to_a_file(runner, tmp_path):
    target = tmp_path / "report.txt"
    result = analyze(runner, EXAMPLE, "--group", "model", "--outcome", "availability", "-o", target)
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.startswith("VERDICT\n") and "Who should coach?" in text
    assert "availability" in text and "Headline test:" in text


def test_xlsx_input_gives_the_same_result_as_csv(runner, tmp_path):
    workbook = tmp_path / "pilot.xlsx"
    pd.read_csv(EXAMPLE).to_excel(workbook, index=False)
    args = ["--group", "model", "--outcome", "expertise", "--format", "json"]
    from_csv = json.loads(analyze(runner, EXAMPLE, *args).stdout)
    from_xlsx = json.loads(analyze(runner, workbook, *args).stdout)
    assert from_csv["outcomes"][0]["tests"] == from_xlsx["outcomes"][0]["tests"]


@pytest.fixture
def write(tmp_path):
    def writer(name, content: bytes):
        path = tmp_path / name
        path.write_bytes(content)
        return path
    return writer


@pytest.mark.parametrize("name, content, args, words", [
    ("pilot.csv", b"model,score\nmanager,1\nmanager,2\npeer,3\npeer,4\n", ["--outcome", "nope"], "column 'nope'"),
    ("pilot.csv", b"model,score\nmanager,1\nmanager,2\n", [], "fewer than two groups"),
    ("pilot.csv", b"model,score\nmanager,1\npeer,3\n", [], "needs two values"),  # n = 1 alone is analysed
    ("pilot.csv", b"model,score\nmanager,1\nmanager,x\npeer,3\npeer,4\n", ["--outcome", "score"], "non-numeric"),
    ("pilot.csv", b"model,score\nmanager,1\nmanager,x\npeer,3\npeer,4\n", [], "no numeric outcome columns"),
    ("pilot.csv", b"model,score\nmanager,2\nmanager,2\npeer,2\npeer,2\n", [], "all values are equal"),
    ("pilot.csv", b"", [], "empty"),
    ("pilot.csv", b"model,score\n", [], "no rows"),
    ("pilot.csv", "model,score\nmanager,1\n".encode("utf-16"), [], "not UTF-8"),
    ("pilot.xlsx", b"PK\x03\x04 not really a workbook", [], "not a readable CSV or XLSX"),
    ("pilot.csv", b"model,score\nmanager,1\nmanager,2\npeer,3\npeer,4\n", ["--levels", "manager"], "--levels"),
])
def test_bad_input_gets_one_line_and_exit_status_2(runner, write, name, content, args, words):
    path = write(name, content)
    result = analyze(runner, path, "--group", "model", *args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], result.output
    assert "Traceback" not in result.output


def test_the_library_runs_without_the_server():
    completed = subprocess.run([sys.executable, "-m", "analysis", str(EXAMPLE), "--group", "model",
                                "--outcome", "candour", "--format", "json"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["outcomes"][0]["outcome"] == "candour"
    missing = subprocess.run([sys.executable, "-m", "analysis", str(EXAMPLE), "--group", "nope"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "column 'nope' not found" in missing.stderr


def test_analysis_does_not_import_the_web_side():
    code = ("import sys, analysis.cli, analysis.comparison, analysis.simulate; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'surveys')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
