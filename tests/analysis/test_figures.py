"""Charts: drawn in their own style without touching matplotlib's global settings."""

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
