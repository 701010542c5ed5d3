"""The probability functions and rank tests computed without ``scipy.stats`` give SciPy's numbers.

``analysis/_distributions.py`` and ``analysis/_ranks.py`` exist for start-up time (the command does
not import ``scipy.stats``); these tests hold them to ``scipy.stats`` itself, on tied and untied
data, in the tails and at the edges of the support.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import _distributions as dist
from analysis import _ranks as ranks

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(20261202)


@pytest.mark.parametrize("df", [1, 2.5, 7, 30, 401.3, 39_996, np.inf])
@pytest.mark.parametrize("x", [-40.0, -3.1, -0.2, 0.0, 0.7, 2.0, 9.5, 60.0])
def test_t_and_normal(df, x):
    assert dist.t_sf(x, df) == stats.t.sf(x, df)
    assert dist.norm_sf(x) == stats.norm.sf(x)
    for q in (1e-12, 0.025, 0.5, 0.975, 0.999999):
        assert dist.t_ppf(q, df) == stats.t.ppf(q, df)
        assert dist.norm_ppf(q) == stats.norm.ppf(q)


@pytest.mark.parametrize("dfn, dfd", [(1, 3), (2, 27), (2, 14.8), (3, 33), (9, 39_990), (2, 1.02)])
@pytest.mark.parametrize("x", [-1.0, 0.0, 1e-9, 0.26, 1.0, 3.14, 87.0, 1e31, np.inf, np.nan])
def test_f(dfn, dfd, x):
    np.testing.assert_equal(dist.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd))


@pytest.mark.parametrize("df", [1, 2, 3, 5.5, 40, 39_997])
def test_chi_square(df):
    for x in (-1.0, 0.0, 0.3, 2.0, 11.0, 300.0, np.inf):
        assert dist.chi2_sf(x, df) == stats.chi2.sf(x, df)
    for q in (1e-16, 0.05, 0.5, 0.95):
        assert dist.chi2_ppf(q, df) == stats.chi2.ppf(q, df)
        assert dist.chi2_isf(q, df) == stats.chi2.isf(q, df)
    x = np.linspace(0.01, 5 * df, 50)
    np.testing.assert_array_equal(dist.chi2_logpdf(x, df), stats.chi2.logpdf(x, df))


@pytest.mark.parametrize("df", [2, 6, 57, 1_000])
@pytest.mark.parametrize("t, ncp", [(0.5, 0.0), (2.0, 1.5), (-3.0, 2.0), (30.0, 45.0), (640.0, 900.0),
                                    (-8.0, 40.0), (12.0, -3.0)])
def test_noncentral_t(df, t, ncp):
    cdf, sf = stats.nct.cdf(t, df, ncp), stats.nct.sf(t, df, ncp)
    if np.isfinite(cdf):
        assert dist.nct_cdf(t, df, ncp) == cdf
    if np.isfinite(sf):
        assert dist.nct_sf(t, df, ncp) == sf
    assert np.isfinite(dist.nct_cdf(t, df, ncp)) and np.isfinite(dist.nct_sf(t, df, ncp))


def _samples(kind, sizes):
    if kind == "continuous":
        return [RNG.normal(3, 1, n) for n in sizes]
    if kind == "likert":
        return [RNG.integers(1, 6, n).astype(float) for n in sizes]
    return [np.round(RNG.normal(3, 1, n), 1) for n in sizes]  # many ties


@pytest.mark.parametrize("kind", ["continuous", "likert", "rounded"])
@pytest.mark.parametrize("sizes", [(5, 7), (1, 12, 9), (40, 41, 39, 50), (13_333, 13_334, 13_333)])
def test_rank_tests(kind, sizes):
    samples = _samples(kind, sizes)
    pooled = np.concatenate(samples)
    ranked, counts = ranks.rankdata(pooled)
    np.testing.assert_array_equal(ranked, stats.rankdata(pooled))
    assert sorted(counts) == sorted(np.unique(pooled, return_counts=True)[1])
    h, p = ranks.kruskal(samples)
    expected = stats.kruskal(*samples)
    assert h == pytest.approx(expected.statistic, rel=1e-14) and p == pytest.approx(expected.pvalue, rel=1e-12)
    if min(sizes) > 1:
        w, p = ranks.levene_median(samples)
        expected = stats.levene(*samples, center="median")
        assert w == pytest.approx(expected.statistic, rel=1e-13) and p == pytest.approx(expected.pvalue, rel=1e-12)
    u, p = ranks.mann_whitney_u(samples[0], samples[-1])
    expected = stats.mannwhitneyu(samples[0], samples[-1], method="asymptotic")
    assert u == expected.statistic and p == pytest.approx(expected.pvalue, rel=1e-13)


def test_levene_without_spread_in_the_deviations_is_not_finite():
    samples = [np.array([3.0, 3.0, 3.0]), np.array([4.0, 4.0, 4.0])]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = stats.levene(*samples, center="median")
    w, p = ranks.levene_median(samples)
    np.testing.assert_equal((w, p), (float(expected.statistic), float(expected.pvalue)))


def test_the_command_does_not_import_scipy_stats_or_the_web_side():
    """A whole run of ``python -m analysis`` (here on the group-of-one file) loads neither scipy.stats
    nor scipy.optimize (a mixed model imports the latter), nor the modules it does not use."""
    data = ROOT / "tests" / "analysis" / "data" / "group_of_one.csv"
    code = ("import os, sys\nfrom analysis.__main__ import main\n"
            f"assert main([{str(data)!r}, '--group', 'arm', '-o', os.devnull]) == 0\n"
            "bad = sorted(m for m in sys.modules if m in ('scipy.stats', 'scipy.optimize') or m.split('.')[0] in "
            "('matplotlib', 'flask', 'sqlalchemy', 'surveys') or m in ('analysis.suppression', 'analysis.simulate'))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _cases():
    """(f, a, b, xtol): textbook equations, then those the analysis solves (the studentized-range
    quantile of Tukey and Games–Howell, the noncentral-t ends of Hedges' g interval)."""
    from analysis import _studentized
    yield lambda x: x ** 3 - 2 * x - 5, 2.0, 3.0, 2e-12
    yield lambda x: np.cos(x) - x, 0.0, 1.0, 2e-12
    yield lambda x: np.exp(x) - 1e6, 0.0, 20.0, 2e-12
    for k, df in ((2, 3.0), (3, 27.0), (3, 26_665.0), (6, 1.6)):
        yield lambda q, k=k, df=df: _studentized.sf(q, k, df) - 0.05, 0.5, 64.0, 1e-10
    for t, df in ((0.8, 6.0), (640.0, 6.0), (-3.0, 40.0)):
        for target in (0.975, 0.025):
            span = 4 * np.sqrt(1 + t * t / (2 * df)) + 1
            yield (lambda ncp, t=t, df=df, target=target: dist.nct_cdf(t, df, ncp) - target,
                   t - 3 * span, t + 3 * span, 1e-12)


@pytest.mark.parametrize("case", list(range(13)))
def test_brent_finds_the_root_brentq_finds(case):
    from scipy import optimize

    from analysis._roots import brentq
    f, a, b, xtol = list(_cases())[case]
    ours, theirs = brentq(f, a, b, xtol=xtol), optimize.brentq(f, a, b, xtol=xtol)
    assert abs(ours - theirs) <= 2 * (xtol + 4 * np.finfo(float).eps * abs(theirs))


def test_brent_refuses_a_bracket_without_a_sign_change():
    from analysis._roots import brentq
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1, -1.0, 1.0)
    assert brentq(lambda x: x - 2.0, 2.0, 5.0) == 2.0
