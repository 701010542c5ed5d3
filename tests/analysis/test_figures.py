"""Charts: drawn in their own style without touching matplotlib's global settings."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
