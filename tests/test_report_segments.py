"""Segments declared in the plan (issue 17 item 5): the heatmap of model × outcome per region and per
team-size band, the arm effect per segment (Holm across segments) and the interaction test, on the demo.

What is asserted: every number of a segment is one the reader can see anyway (the filtered view's mean
minus the whole report's mean, both shown there); every cell the filtered view hides is hidden here; no
test reads the answers of a hidden cell; and the numbers agree between the page, the JSON and the tables
download.
"""

import io
import math

import numpy as np
import pytest
from openpyxl import load_workbook

from analysis.disclosure import View
from surveys.disclosure import survey_frame, wave_pattern
from surveys.extensions import db
from surveys.models import Study
from surveys.reports.segments import segments
from tests.builders import log_in_as as log_in

MODELS = ["manager", "peer", "external"]
PARAM = {"region": "region", "band": "band"}


def _means(report: dict) -> dict[tuple[str, str], float]:
    return {(o["outcome"], d["group"]): d["mean"] for o in report["outcomes"] if "descriptives" in o
            for d in o["descriptives"]}


@pytest.fixture
def demo(seeded, client):
    log_in(client, seeded.leader)
    report = client.get(f"/studies/{seeded.study_id}/report.json").get_json()
    return seeded, report


def test_the_demo_report_has_a_heatmap_per_region_and_per_team_size_band(demo):
    _, report = demo
    families = {f["dimension"]: f for f in report["segments"]}
    assert set(families) == {"region", "band"}
    region = families["region"]
    assert [s["segment"] for s in region["segments"]] == ["East", "North", "South", "West"]
    assert region["primary"] == "satisfaction" and "coaching" in region["outcomes"]
    shown = [d for s in region["segments"] for per in s["differences"].values() for d in per.values()
             if d is not None]
    assert len(shown) > 50  # the scale scores of the demo are mostly shown in a region
    # The vivid demo plants differences on accountability, onboarding, candour, expertise, availability.
    flagged = {key for s in region["segments"] for key, flag in s["flags"].items() if flag}
    assert flagged and flagged <= {"accountability", "onboarding", "candour", "expertise", "availability"}


def test_every_difference_is_the_filtered_views_mean_minus_the_whole_reports_and_hidden_there_is_hidden_here(
        demo, client):
    seeded, report = demo
    overall = _means(report)
    hidden_overall = {(o["outcome"], m) for o in report["outcomes"] for m in o["hidden_models"]}
    checked = 0
    for family in report["segments"]:
        for segment in family["segments"]:
            view = client.get(f"/studies/{seeded.study_id}/report.json",
                              query_string={PARAM[family["dimension"]]: segment["segment"]}).get_json()
            assert view["filters"][family["dimension"]] == segment["segment"]
            inside = _means(view)
            hidden = {(o["outcome"], m) for o in view["outcomes"] for m in o["hidden_models"]}
            for model, per in segment["differences"].items():
                for key, difference in per.items():
                    if (key, model) in inside and (key, model) in overall:
                        assert difference == pytest.approx(inside[key, model] - overall[key, model], abs=1e-9)
                        checked += 1
                    else:  # a mean the filtered view or the whole report does not show: no difference either
                        assert difference is None, (family["dimension"], segment["segment"], model, key)
                    assert difference is None or ((key, model) not in hidden and (key, model) not in hidden_overall)
    assert checked > 100


def test_a_filtered_report_and_a_baseline_have_no_segments(demo, client):
    seeded, _ = demo
    filtered = client.get(f"/studies/{seeded.study_id}/report.json", query_string={"region": "North"}).get_json()
    assert filtered["segments"] == []
    baseline = client.get(f"/studies/{seeded.study_id}/report.json", query_string={"wave": "baseline"}).get_json()
    assert baseline["pre_intervention"] and baseline["segments"] == []


def test_no_test_of_a_segment_reads_the_answers_of_a_hidden_cell(seeded):
    """Per dimension, change the answers in every hidden segment × model cell: no p-value of that dimension's
    segments moves. (The differences of that model elsewhere move with its overall mean, which the report
    shows anyway; a cell hidden by band may be shown by region, so each dimension is attacked on its own.)"""
    study = db.session.get(Study, seeded.study_id)
    wave = next(w for w in study.waves if w.label == "follow-up")
    frame = survey_frame(study, wave)
    pattern = wave_pattern(study, wave, frame)
    outcomes = pattern.outcomes
    before = {f.dimension: f for f in segments(frame, pattern, MODELS, outcomes, "satisfaction", study.k_threshold)}
    rng = np.random.default_rng(3)
    for dimension, levels in (("region", pattern.regions), ("band", pattern.bands)):
        changed, moved = frame.copy(), 0
        for level in levels:
            view = View(level, None) if dimension == "region" else View(None, level)
            for key in outcomes:
                for model in set(MODELS) - set(pattern.shown_models(view, key, MODELS)):
                    rows = (changed[dimension] == level) & (changed["coaching_model"] == model) \
                        & changed[key].notna()
                    changed.loc[rows, key] = rng.uniform(0, 10, rows.sum()).round(2)
                    moved += int(rows.sum())
        assert moved > 20, dimension
        after = {f.dimension: f for f in segments(changed, pattern, MODELS, outcomes, "satisfaction",
                                                  study.k_threshold)}[dimension]
        for a, b in zip(before[dimension].rows, after.rows, strict=True):
            assert a.p_holm == b.p_holm, (dimension, a.segment)
        assert {k: t and t.p for k, t in before[dimension].interactions.items()} == \
               {k: t and t.p for k, t in after.interactions.items()}, dimension


def test_the_page_shows_the_heatmap_and_the_tables_download_has_the_same_numbers(demo, client):
    seeded, report = demo
    page = client.get(f"/studies/{seeded.study_id}/report").get_data(as_text=True)
    assert 'id="segments"' in page and "Region × model: difference from the model" in page
    assert "Does the difference between the models on overall satisfaction vary by region?" in page
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    sheet = workbook["segments"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    by_key = {(r["dimension"], r["segment"], r["model"], r["outcome"]): r for r in rows}
    for family in report["segments"]:
        for segment in family["segments"]:
            for model, per in segment["differences"].items():
                for key, difference in per.items():
                    cell = by_key[family["dimension"], segment["segment"], model, key]["difference_from_overall"]
                    if difference is None:
                        assert cell is None
                    else:
                        assert float(cell) == pytest.approx(difference, abs=0.006)
                        assert f"{difference:+.2f}" in page or math.isclose(abs(difference), 0, abs_tol=0.005)
