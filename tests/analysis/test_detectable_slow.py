"""Monte Carlo: the power of the product's own pipeline at the difference a null finding states is
80 % ± 5 on the audit's four situations (F4, issue 13 item 4). Long (about 15 minutes on 2 cores):
``make test-slow``; ``pytest -s`` prints each measured power with its Wilson 95 % interval.

Two checks per situation:

- *calibration* (the ±5 check): 1,000 data sets like the situation each state their own
  difference and get one fresh data set with that difference, so the share named is the power
  averaged over what such studies state;
- *the statement*: one seeded data set like the audit's states a difference, and 1,000 fresh data
  sets with that difference give its power (the audit's check). One data set's estimate varies
  with its own noise (with 8 teams per arm each team-level SD rests on 7 df: the stated
  difference of (c) spans 0.77–1.18 between the 10th and 90th percentile of studies), so this
  check gets ±10.

Situation (b) cannot reach 80 %: the product says the view is too small to detect a difference
within the scale, and that statement is what is tested. For (d) the power is measured on data
generated at the upper end of the ICC range (0.20) and must be at least 75 % (70 % for one data set).

Measured (2026-12-02, the seeds below, 15 minutes): (a) calibration 78.5 % of 1,000 (95 % CI
75.8–80.9), statement 82.8 % (80.3–85.0) at 11.57 points (the old statement: 35.24); (b) 62.8 %
(59.8–65.7) at the scale's 4 points, and 400 of 400 studies say "too small"; (c) calibration
82.8 % (80.3–85.0), statement 89.0 % (86.9–90.8) at 1.006 (its arms' team SDs are 0.44/0.51/0.61
against a true 0.51); (d) calibration 82.2 % (79.7–84.4), statement 86.4 % (84.1–88.4) at 3.32.
The first singular data set of (d), whose within-team SD is 15 % low, states 2.80: 71.8 %
(68.9–74.5); ``mde_situations.singular_few_teams`` therefore takes the first typical one.
"""

import numpy as np
import pytest

from analysis.verdict import detectable_difference

from . import mde_situations as s

pytestmark = pytest.mark.slow

DRAWS = 1000
STUDIES = 1000


def calibration(generate, compare, seed, keep=lambda c: True):
    rng = np.random.default_rng(seed)
    hits = studies = 0
    stated = []
    while studies < STUDIES:
        comparison = compare(generate(rng, 0.0))
        if not keep(comparison):
            continue
        detail = detectable_difference(comparison)
        stated.append(detail.value)
        hits += s.named(compare(generate(rng, detail.value)), "external", "manager")
        studies += 1
    report("calibration", hits, studies, stated=np.percentile(stated, [10, 50, 90]).round(3).tolist())
    return hits / studies, s.wilson(hits, studies), np.percentile(stated, [10, 50, 90])


def report(what, hits, n, **more):
    """One line per check, for the record (``pytest -s``)."""
    low, high = s.wilson(hits, n)
    print(f"\n{what}: {hits}/{n} = {hits / n:.3f} (95 % CI {low:.3f}–{high:.3f}) {more}")


def test_a_rank_test_statement_has_80_percent_power():
    comparison = s.compare_quota(s.quota(np.random.default_rng(0)))
    stated = s.finding(comparison).detectable
    share, hits = s.power(s.quota, s.compare_quota, stated, DRAWS, seed=21, higher="external", lower="manager")
    report("(a) statement", hits, DRAWS, stated=stated)
    assert share == pytest.approx(0.80, abs=0.10), (stated, share, s.wilson(hits, DRAWS))


def test_a_rank_test_statements_are_calibrated():
    share, interval, stated = calibration(s.quota, s.compare_quota, seed=31)
    assert share == pytest.approx(0.80, abs=0.05), (share, interval, stated)


def test_b_a_group_of_two_cannot_reach_80_percent_within_the_scale():
    comparison = s.compare_two(s.two_of_thirty(np.random.default_rng(2)))
    assert s.finding(comparison).beyond_scale
    share, hits = s.power(s.two_of_thirty, s.compare_two, comparison.scale_range, DRAWS, seed=22,
                          higher="peer", lower="manager")
    report("(b) power at the scale's range", hits, DRAWS, delta=comparison.scale_range)
    assert s.wilson(hits, DRAWS)[1] < 0.75, (share, s.wilson(hits, DRAWS))
    rng = np.random.default_rng(32)  # and studies of this shape say so (nearly) always
    beyond = [detectable_difference(s.compare_two(s.two_of_thirty(rng))).beyond_scale for _ in range(400)]
    report("(b) studies saying 'too small'", int(np.sum(beyond)), len(beyond))
    assert np.mean(beyond) > 0.95, np.mean(beyond)


def test_c_the_team_means_statement_has_80_percent_power():
    with s.mixed_model_unusable():
        comparison = s.compare_teams(s.teams(np.random.default_rng(0)))
        stated = s.finding(comparison).detectable
        share, hits = s.power(s.teams, s.compare_teams, stated, DRAWS, seed=23, higher="external", lower="manager")
    report("(c) statement", hits, DRAWS, stated=stated)
    assert share == pytest.approx(0.80, abs=0.10), (stated, share, s.wilson(hits, DRAWS))


def test_c_team_means_statements_are_calibrated():
    with s.mixed_model_unusable():
        share, interval, stated = calibration(s.teams, s.compare_teams, seed=33)
    assert share == pytest.approx(0.80, abs=0.05), (share, interval, stated)


def few_teams_at_the_upper_icc(rng, delta):
    return s.few_teams(rng, delta, icc=0.20)


def test_d_the_upper_end_of_the_icc_range_has_power_at_that_icc():
    _, data = s.singular_few_teams()
    stated = s.finding(s.compare_teams(data)).detectable
    share, hits = s.power(few_teams_at_the_upper_icc, s.compare_teams, stated, DRAWS, seed=24,
                          higher="external", lower="manager")
    report("(d) statement at ICC 0.20", hits, DRAWS, stated=stated)
    assert share >= 0.70, (stated, share, s.wilson(hits, DRAWS))
