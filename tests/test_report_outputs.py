"""Outputs a leader forwards: the tables as CSV and XLSX (what they hold, how they read, what they are
called) and the charts (nothing cut, every chart titled, legends in the order of the dots)."""

import csv
import io
import re
from xml.etree import ElementTree

import pandas as pd
import pytest
from openpyxl import load_workbook

from surveys import demo as demo_module
from surveys.tabular import to_csv, to_xlsx
from tests.builders import log_in_as as log_in

pytestmark = pytest.mark.usefixtures("app_context")

HOSTILE = ['=HYPERLINK("http://evil.example.com","click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR",
           "-cmd|' /C calc'!A0", "- 1+1", "+ SUM(1,1)", "- x HYPERLINK(\"http://evil.example.com\")", "--2"]
BULLETS = ["- No clear difference between the coaching models on coaching (p = 0.885, mixed model).",
           "- It's performance that counts: supported. Manager coaching came out ahead.",
           "+ more time with my coach", "@ the weekly one-to-one"]






def test_xlsx_writes_words_after_a_dash_as_text_without_a_visible_apostrophe():
    """D11: a bullet ("- No clear difference …") is words, not a formula: it reads as written, stored as a
    string cell that stays text when edited (quotePrefix); what a spreadsheet would evaluate keeps its mark."""
    workbook = load_workbook(io.BytesIO(to_xlsx({"lines": pd.DataFrame({"text": BULLETS + HOSTILE})})))
    cells = [row[0] for row in workbook["lines"].iter_rows(min_row=2)]
    words, formulas = cells[:len(BULLETS)], cells[len(BULLETS):]
    assert [c.value for c in words] == BULLETS
    assert all(c.data_type == "s" and c.quotePrefix for c in words)
    # XML reads a CR back as a line feed; what matters is the apostrophe in front.
    assert [c.value for c in formulas] == ["'" + text.replace("\r", "\n") for text in HOSTILE]
    assert all(c.data_type == "s" for c in formulas)


def test_csv_still_escapes_every_formula_start():
    """A CSV has no cell types: whatever begins with = + - @ tab or CR keeps the apostrophe (OWASP)."""
    rows = list(csv.reader(io.StringIO(to_csv(pd.DataFrame({"text": BULLETS + HOSTILE})))))[1:]
    assert [row[0] for row in rows] == ["'" + text for text in BULLETS + HOSTILE]


def test_the_verdict_sheet_reads_without_apostrophes(seeded, client):
    log_in(client, seeded.leader)
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    texts = [cell.value for row in workbook["verdict"].iter_rows(min_row=2) for cell in row
             if isinstance(cell.value, str)]
    assert any(text.startswith("No clear difference") or "coaching scored" in text for text in texts)
    assert not any(text.startswith("'") for text in texts), [t for t in texts if t.startswith("'")][:3]


def _long_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _too_precise(value) -> bool:
    """A number written with more than four decimals (a p-value below 0.0001 may use an exponent)."""
    text = str(value)
    return "e" not in text.lower() and "." in text and len(text.split(".")[1]) > 4


def test_the_tables_csv_says_what_it_holds_then_carries_verdict_tests_and_pairs(seeded, client):
    log_in(client, seeded.leader)
    rows = _long_csv(client.get(f"/studies/{seeded.study_id}/report/tables.csv"))
    about = {r["item"]: r["value"] for r in rows if r["table"] == "about"}
    assert rows[0]["table"] == "about"  # the first lines say what the file holds
    assert about["study"].startswith("Who should coach?") and about["organisation"] == demo_module.ORGANISATION
    assert (about["wave"], about["region"], about["team size"]) == ("follow-up", "all regions", "all team sizes")
    tables = {r["table"] for r in rows}
    assert {"about", "verdict", "outcomes", "tests", "pairs", "performance", "reliability"} <= tables
    tests = {r["outcome"]: r for r in rows if r["table"] == "tests"}
    assert tests["satisfaction"]["primary"] == "yes" and float(tests["accountability"]["p_adjusted"]) < 0.001
    pairs = [r for r in rows if r["table"] == "pairs" and r["outcome"] == "accountability"]
    assert len(pairs) == 3 and all(r["p_adjusted"] and r["ci_low"] and r["hedges_g"] for r in pairs)
    assert any(r["survives_correction"] == "yes" for r in pairs)
    means = [r for r in rows if r["table"] == "outcomes"]
    assert means and all(r["n"].isdigit() for r in means), {r["n"] for r in means}  # counts stay whole
    numbers = [v for r in rows if r["table"] != "about" for k, v in r.items() if k not in ("text", "label")]
    assert not [v for v in numbers if _too_precise(v)][:3]
    verdict = [r["text"] for r in rows if r["table"] == "verdict"]
    assert verdict and not any(text.startswith(("'", "-")) for text in verdict)


def test_the_tables_xlsx_has_an_about_sheet_rounded_numbers_and_column_widths(seeded, client):
    log_in(client, seeded.leader)
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    assert workbook.sheetnames[0] == "about"
    assert {"verdict", "outcomes", "tests", "pairs", "performance", "reliability"} <= set(workbook.sheetnames)
    about = {row[0].value: row[1].value for row in workbook["about"].iter_rows(min_row=2)}
    assert about["wave"] == "follow-up" and about["region"] == "all regions"
    for sheet in workbook.worksheets:
        header = [cell.value for cell in sheet[1]]
        for column, name in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", header, strict=False):
            assert sheet.column_dimensions[column].width >= min(len(str(name)), 60), (sheet.title, name)
        floats = [c.value for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, float)]
        assert not [v for v in floats if _too_precise(v)][:3], sheet.title
    tests = {row[0].value: row for row in workbook["tests"].iter_rows(min_row=2)}
    assert "p_adjusted" in [cell.value for cell in workbook["tests"][1]] and "accountability" in tests


def test_file_names_and_headers_say_which_study_wave_and_filters(seeded, client):
    log_in(client, seeded.leader)
    base = f"/studies/{seeded.study_id}/report/tables"
    names = {}
    for query in ("", "?region=North", "?region=North&band=up+to+7+reps", "?wave=baseline"):
        for fmt in ("csv", "xlsx"):
            response = client.get(f"{base}.{fmt}{query}")
            assert response.status_code == 200, query
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment; filename=")
            names[(query, fmt)] = disposition.split("filename=")[1].strip('"')
    sid = seeded.study_id
    assert names[("", "csv")] == f"study{sid}-follow-up-report.csv"
    assert names[("?region=North", "csv")] == f"study{sid}-follow-up-region-north-report.csv"
    assert names[("?region=North&band=up+to+7+reps", "xlsx")] == \
        f"study{sid}-follow-up-region-north-size-up-to-7-reps-report.xlsx"
    assert names[("?wave=baseline", "csv")] == f"study{sid}-baseline-report.csv"
    assert len(set(names.values())) == len(names)
    about = {r["item"]: r["value"] for r in _long_csv(client.get(f"{base}.csv?region=North&band=up+to+7+reps"))
             if r["table"] == "about"}
    assert (about["region"], about["team size"]) == ("North", "up to 7 reps")


SVG = "{http://www.w3.org/2000/svg}"


def _chart(client, study_id, name) -> ElementTree.Element:
    response = client.get(f"/studies/{study_id}/report/charts/{name}.svg")
    assert response.status_code == 200
    return ElementTree.fromstring(response.get_data(as_text=True))


def _texts(svg: ElementTree.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


def test_the_forest_chart_keeps_sessions_off_the_points_axis(seeded, client):
    """D15: sessions a month are not points on a 1–5 scale; they have their own table."""
    log_in(client, seeded.leader)
    texts = _texts(_chart(client, seeded.study_id, "forest"))
    assert any(t.startswith("accountability:") for t in texts)
    assert not any("sessions" in t for t in texts), [t for t in texts if "sessions" in t]


def test_every_chart_on_the_report_page_has_a_heading(seeded, client):
    log_in(client, seeded.leader)
    page = client.get(f"/studies/{seeded.study_id}/report").get_data(as_text=True)
    figures = re.findall(r'<figure class="chart[^"]*">(.*?)</figure>', page, flags=re.S)
    assert len(figures) == 6  # profile, agreement, forest, performance, trend and the flow of reps
    for figure in figures:
        assert re.search(r"<h[23][^>]*>[^<]{10,}</h[23]>", figure), figure[:200]


def test_the_profile_legend_lists_the_models_in_the_order_of_the_dots(seeded, client):
    """D15: inside each row the dots run top to bottom in the legend's left-to-right order."""
    log_in(client, seeded.leader)
    svg = _chart(client, seeded.study_id, "profile")
    legend = next(g for g in svg.iter(f"{SVG}g") if g.get("id") == "legend_1")
    labels = sorted((float(t.get("x")), "".join(t.itertext())) for t in legend.iter(f"{SVG}text"))
    legend_order = [label for _, label in labels]
    assert legend_order == ["manager", "peer", "external"]
    colours = {"manager": "#1f5fbf", "peer": "#c2570c", "external": "#2f8f5b"}
    in_legend = set(legend.iter(f"{SVG}use"))
    ys = {model: sorted({round(float(u.get("y")), 1) for u in svg.iter(f"{SVG}use")
                         if u not in in_legend and f"fill: {colour}" in (u.get("style") or "")})
          for model, colour in colours.items()}
    rows = len(ys["manager"])
    assert rows >= 5 and all(len(values) == rows for values in ys.values())
    for row in range(rows):
        top_to_bottom = sorted(colours, key=lambda model: ys[model][row])  # SVG y grows downwards
        assert top_to_bottom == legend_order, row


def test_the_tables_a_leader_forwards_carry_the_decision_first(seeded, client):
    """Issue 12: the XLSX verdict sheet and the CSV say who should coach before the statistics."""
    log_in(client, seeded.leader)
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    rows = [(row[0].value, row[1].value) for row in workbook["verdict"].iter_rows(min_row=2)]
    assert rows[0] == ("recommendation", "manager")
    parts = dict(rows)
    assert parts["decision"].startswith("Choose manager coaching")
    assert any(part == "trade-off" and "availability" in text for part, text in rows)
    csv_rows = _long_csv(client.get(f"/studies/{seeded.study_id}/report/tables.csv"))
    verdict = [r for r in csv_rows if r["table"] == "verdict"]
    assert verdict[0]["part"] == "recommendation" and verdict[0]["text"] == "manager"


def test_the_pairs_sheet_gives_an_adjusted_difference_its_adjusted_g(seeded, client):
    """Statistics review F3 in the tables: the baseline-adjusted CRM differences carry their own g."""
    log_in(client, seeded.leader)
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    sheet = workbook["pairs"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, [cell.value for cell in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    quota = [r for r in rows if r["outcome"] == "quota_attainment"]
    assert quota and all(r["adjusted_g"] is not None for r in quota)
    assert all((r["adjusted_g"] > 0) == (r["difference_b_minus_a"] > 0) for r in quota)
    assert all(isinstance(r["adjusted_g_over"], str) and r["adjusted_g_over"] for r in quota)  # which SD
    satisfaction = [r for r in rows if r["outcome"] == "satisfaction"]
    assert all(r["adjusted_g"] is None for r in satisfaction)  # nothing adjusted, no adjusted g


def test_the_outcomes_sheet_gives_an_adjusted_row_its_adjusted_means(seeded, client):
    """Fresh-eye review: the outcomes sheet said "adjusted for 2026-Q2" over raw means (D6 in the files)."""
    log_in(client, seeded.leader)
    workbook = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))
    sheet = workbook["outcomes"]
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, [cell.value for cell in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    quota = {r["model"]: r for r in rows if r["outcome"] == "quota_attainment"}
    assert all(r["adjusted_mean"] is not None for r in quota.values())
    assert quota["manager"]["adjusted_mean"] != quota["manager"]["mean"]
    data = client.get(f"/studies/{seeded.study_id}/report.json").get_json()
    differences = {(e["higher"], e["lower"]): e["diff"] for e in data["decision"]["evidence"]
                   if e["outcome"] == "quota_attainment"}
    gap = quota["manager"]["adjusted_mean"] - quota["peer"]["adjusted_mean"]
    assert abs(gap - differences[("manager", "peer")]) < 0.02  # rounded to two decimals in the file
    assert all(r["adjusted_mean"] is None for r in rows if r["outcome"] == "satisfaction")


def test_the_flow_chart_draws_the_flow_tables_numbers(seeded, client):
    """Issue 17 item 2: the CONSORT-style flow as an SVG chart, with the numbers of the report's flow table."""
    log_in(client, seeded.leader)
    flow = client.get(f"/studies/{seeded.study_id}/report.json").get_json()["flow"]
    svg = _chart(client, seeded.study_id, "flow")
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    for row in flow["models"]:
        assert f"{row['model']} · {row['teams']} teams" in texts
        for key in ("reps", "invited", "responded", "analysed_primary"):
            assert (f"{row[key]:,}" if row[key] is not None else "hidden") in texts
        if row["invited"] is not None and row["responded"] is not None and row["invited"] > row["responded"]:
            assert f"− {row['invited'] - row['responded']:,} did not answer" in texts


def test_the_baseline_table_gives_team_sizes_and_the_reps_numbers_the_report_shows_elsewhere(seeded, client):
    """Issue 17 item 2 (CONSORT cluster item 15): the baseline by model at team level (teams and their sizes,
    from the roster) and rep level (quota attainment before, the primary outcome at baseline), in the page,
    the JSON and the tables download."""
    from collections import Counter

    from sqlalchemy import select

    from surveys.extensions import db
    from surveys.models import Assignment, Rep

    log_in(client, seeded.leader)
    report = client.get(f"/studies/{seeded.study_id}/report.json").get_json()
    flow = report["flow"]
    assert flow["baseline_wave"] == "baseline"
    sizes = Counter(db.session.scalars(select(Rep.team_id).where(Rep.active.is_(True))))
    for row in flow["baseline"]:
        teams = db.session.scalars(select(Assignment.team_id).where(
            Assignment.study_id == seeded.study_id, Assignment.coaching_model == row["model"])).all()
        assert row["teams"] == len(teams)
        assert (row["size_min"], row["size_max"]) == (min(sizes[t] for t in teams), max(sizes[t] for t in teams))
        assert row["size_mean"] == pytest.approx(sum(sizes[t] for t in teams) / len(teams))
        quota = report["performance"]["metrics"]["quota_attainment"][row["model"]]
        assert (row["quota_before"], row["quota_reps"]) == (pytest.approx(quota["before"]), quota["n"])
        assert row["primary_n"] >= 5
    baseline_trend = {m: waves["baseline"] for m, waves in report["trend"]["values"].items()}
    assert {r["model"]: r["primary_baseline"] for r in flow["baseline"]} == pytest.approx(
        {m: d["mean"] for m, d in baseline_trend.items()})
    page = client.get(f"/studies/{seeded.study_id}/report").get_data(as_text=True)
    assert "At the start, by model: teams (team level) and reps (rep level)" in page
    sheet = load_workbook(io.BytesIO(client.get(f"/studies/{seeded.study_id}/report/tables.xlsx").data))["baseline"]
    assert [c.value for c in sheet[1]][:4] == ["model", "teams", "size_mean", "size_min"]
