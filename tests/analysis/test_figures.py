"""Charts: drawn in their own style without touching matplotlib's global settings."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis import figures

ROOT = Path(__file__).resolve().parents[2]
MODELS = ["manager", "peer", "external"]


def profile():
    values = {"Candour": {m: (3.0 + i / 4, 2.8 + i / 4, 3.2 + i / 4) for i, m in enumerate(MODELS)}}
    return figures.dimension_profile(["Candour"], MODELS, values).svg


def test_importing_and_drawing_leave_the_global_matplotlib_settings_alone():
    code = ("import matplotlib; before = dict(matplotlib.rcParams); "
            "from analysis import figures; imported = dict(matplotlib.rcParams); "
            "figures.forest_plot([('peer − manager', 0.4, 0.1, 0.7, True)]); "
            "assert before == imported == dict(matplotlib.rcParams)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr


def test_a_chart_keeps_its_text_as_text_and_is_the_same_every_time():
    svg = profile()
    assert "<text" in svg and ">Candour<" in svg.replace("\n", "")  # svg.fonttype = none: text, not glyph paths
    assert profile() == svg  # svg.hashsalt: stable ids


def test_charts_drawn_in_parallel_threads_are_the_charts_drawn_alone():
    alone = profile()
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(lambda _: profile(), range(8)))
    assert drawn == [alone] * 8


def test_user_text_is_never_read_as_mathtext():
    """F12: a wave label, question or model name with ``$…$`` was typeset as maths, or broke the chart."""
    broken, maths = "$x^$", "a$b$c"
    charts = [
        figures.dimension_profile([broken, maths], [broken], {broken: {broken: (3, 2, 4)}, maths: {broken: (3, 2, 4)}}),
        figures.agreement_bars([maths], {maths: {"1": 0.5, "5": 0.5}}, [broken, "b", "c", "d", maths],
                               ["1", "2", "3", "4", "5"], broken),
        figures.forest_plot([(broken, 0.4, 0.1, 0.7, True), (maths, 0.1, -0.2, 0.4, False)], unit=broken),
        figures.before_after([maths], {maths: ((1, 0, 2), (2, 1, 3))}, broken, (broken, maths)),
        figures.trend([broken, maths], [maths], {maths: {broken: (3, 2, 4), maths: (3, 2, 4)}}, broken),
    ]
    for chart in charts:
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg.replace("\n", ""))
        assert broken in texts and maths in texts, texts  # as typed, each one text element


def test_the_flow_diagram_says_how_many_were_lost_between_stages_and_never_a_hidden_count():
    from xml.etree import ElementTree

    chart = figures.flow_diagram(["Randomised", "Invited", "Responded", "Analysed"], ["manager", "peer"],
                                 {"manager": [60, 58, 46, 45], "peer": [55, 55, None, 40]},
                                 ["not invited", "did not answer", "not on the outcome"],
                                 headers={"manager": "manager · 9 teams", "peer": "<b>peer</b> & co"})
    root = ElementTree.fromstring(chart.svg)  # well-formed: every text escaped
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "− 2 not invited" in texts and "− 12 did not answer" in texts and "− 1 not on the outcome" in texts
    assert "none lost" in texts and "hidden" in texts and "<b>peer</b> & co" in texts
    # Nothing is derived from a hidden count: no loss is drawn into or out of it.
    assert not any(t.startswith("− ") and ("15" in t or "40" in t) for t in texts)
    assert "peer</b> & co: Randomised 55, Invited 55, Responded hidden, Analysed 40" in chart.alt
    with pytest.raises(ValueError, match="one label between each two stages"):
        figures.flow_diagram(["a", "b"], ["manager"], {"manager": [1, 1]}, [])
