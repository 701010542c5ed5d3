"""Our fast studentized-range distribution agrees with SciPy's adaptive integration."""

import pytest
from scipy import stats

from analysis import _studentized


@pytest.mark.parametrize("df", [2, 5, 26.18, 60, 150, 1000, 39997])
@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_survival_function_matches_scipy(k, df):
    for q in (0.5, 2.0, 3.5, 5.0, 8.0):
        assert _studentized.sf(q, k, df) == pytest.approx(stats.studentized_range.sf(q, k, df), abs=1e-9)


@pytest.mark.parametrize("k, df", [(3, 27), (3, 26.184), (4, 103), (2, 39997)])
def test_quantile_matches_scipy(k, df):
    assert _studentized.ppf(0.95, k, df) == pytest.approx(stats.studentized_range.ppf(0.95, k, df), abs=1e-7)


def test_edges():
    assert _studentized.sf(0, 3, 10) == 1.0
    assert _studentized.sf(float("inf"), 3, 10) == 0.0
    assert _studentized.sf(3.3, 3, float("inf")) == pytest.approx(stats.studentized_range.sf(3.3, 3, float("inf")),
                                                                  abs=1e-9)
