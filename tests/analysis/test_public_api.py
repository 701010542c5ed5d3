"""The package re-exports its public API, as pingouin does: ``from analysis import compare_models``."""

import re
import subprocess
import sys
from pathlib import Path

import analysis
from analysis import comparison

ROOT = Path(__file__).resolve().parents[2]


def test_the_entry_points_import_from_the_package():
    from analysis import compare_models, compare_outcome, json_safe, read_data_file

    assert compare_models is comparison.compare_models and compare_outcome is comparison.compare_outcome
    assert json_safe({"p": float("nan"), "pairs": ((1, 2),)}) == {"p": None, "pairs": [[1, 2]]}
    assert callable(read_data_file)


def test_every_exported_name_exists_and_the_docstring_lists_each_one():
    listed = set(re.findall(r"\b\w+\b", analysis.__doc__))
    for name in analysis.__all__:
        assert hasattr(analysis, name), name
        assert name in listed, f"{name} is exported but not listed in the package docstring"
    assert len(set(analysis.__all__)) == len(analysis.__all__)


def test_importing_the_package_loads_neither_the_web_side_nor_matplotlib():
    code = ("import sys, analysis; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'surveys', 'matplotlib')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stdout + completed.stderr
