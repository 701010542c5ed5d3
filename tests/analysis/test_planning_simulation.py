"""Checking a design by simulation (issue 17, item 4), against checks that do not use the code under test:
the analytic power of the pairwise tests (``analysis.planning.Design``) and the binomial distribution."""

from __future__ import annotations

import pytest
from scipy.stats import binom

from analysis import DesignSimulation, simulate_design
from analysis.planning import Design

ARMS = ("manager", "peer", "external")
SMALL = {"team_size": (5, 8), "response_rate": 0.8, "icc": 0.05, "planted": "manager"}


def test_a_large_planted_effect_is_named_in_almost_every_pilot():
    """d = 1.5 with 8 teams per model: each pairwise test that involves the planted model has power ≈ 1, so by
    Bonferroni P(right) ≥ 1 − 2·(1 − power). The count right must not fall below that bound's binomial
    0.1 % quantile."""
    result = simulate_design(effect=1.5, teams_per_arm=8, pilots=100, seed=11, candidates=(), **SMALL)
    power = Design(3, 8, 6.5 * 0.8, 0.05, cv=0.18).power_at(1.5)
    floor = binom.ppf(0.001, 100, max(0.0, 1 - 2 * (1 - power)))
    assert power > 0.99
    assert result.right >= floor and result.right >= 95, result
    assert result.wrong == 0 and result.right + result.wrong + result.none == 100


def test_with_no_planted_effect_a_model_is_rarely_recommended():
    """d = 0: no model is better, so any recommendation is a false winner; the report's rule keeps that to α = 5 %.
    Tolerance: the binomial 99.9 % quantile of 200 pilots at 5 % (21 of 200, 10.5 %: a correct rule exceeds it
    with probability below 0.1 %)."""
    result = simulate_design(effect=0.0, teams_per_arm=6, pilots=200, seed=5, **SMALL)
    tolerance = binom.ppf(0.999, 200, 0.05)
    assert result.right + result.wrong <= tolerance, result
    # "Right" is then just one of three models picked by chance: at most its share of the false winners.
    assert result.right <= binom.ppf(0.999, 200, 0.05 / 3) + 1, result
    assert result.candidates == () and result.teams_for_80 is None and result.more_than is None


def test_the_count_right_rises_with_the_number_of_teams():
    """d = 0.5 at 4, 10 and 20 teams per model: the analytic pairwise power rises (about 0.2, 0.6, 0.9), and so
    must the count right, by more than the binomial noise between two counts of 100."""
    counts = (4, 10, 20)
    powers = [Design(3, j, 6.5 * 0.8, 0.05, cv=0.18).power_at(0.5) for j in counts]
    assert powers == sorted(powers) and powers[-1] - powers[0] > 0.5
    result = simulate_design(effect=0.5, teams_per_arm=4, pilots=100, seed=3, candidates=counts, **SMALL)
    right = [c.right for c in result.candidates]
    assert [c.teams_per_arm for c in result.candidates] == list(counts)
    assert right[0] + 10 < right[1] and right[1] + 10 < right[2], right
    assert result.right == right[0]  # the design is one of the candidates: counted once, the same pilots
    # teams_for_80: the smallest count that reached 80 of 100, read off the candidates
    reached = [c.teams_per_arm for c in result.candidates if c.right >= 80]
    assert result.teams_for_80 == (min(reached) if reached else None)
    assert (result.more_than is None) == bool(reached)


def test_the_candidates_come_from_the_analytic_estimate_and_none_reaching_80_says_more_than():
    result = simulate_design(effect=0.3, teams_per_arm=3, pilots=10, seed=1, max_teams=4, **SMALL)
    assert result.analytic_teams is not None and result.analytic_teams > 4
    assert [c.teams_per_arm for c in result.candidates] == [4]
    if result.candidates[0].right < 8:
        assert result.teams_for_80 is None and result.more_than == 4


def test_the_same_seed_gives_the_same_result_and_progress_counts_every_pilot():
    seen: list[tuple[int, int]] = []
    first = simulate_design(effect=0.6, teams_per_arm=3, pilots=8, seed=42, candidates=(3, 5),
                            progress=lambda done, total: seen.append((done, total)), **SMALL)
    again = simulate_design(effect=0.6, teams_per_arm=3, pilots=8, seed=42, candidates=(3, 5), **SMALL)
    assert isinstance(first, DesignSimulation) and first == again
    assert first.to_dict() == again.to_dict()
    assert seen == [(done, 16) for done in range(1, 17)]  # 3 per model is the design: 2 × 8 pilots, not 3 × 8


def test_a_quota_outcome_is_simulated_from_the_crm_figures():
    result = simulate_design(effect=1.2, teams_per_arm=8, pilots=20, seed=2, candidates=(),
                             outcome="quota_attainment", **SMALL)
    assert result.right >= 18 and result.wrong == 0, result


@pytest.mark.parametrize("bad, message", [
    ({"planted": "coach"}, "planted"),
    ({"outcome": "my_own_question"}, "cannot be simulated"),
    ({"teams_per_arm": 1}, "fewer than two per model"),
    ({"effect": -0.1}, "effect"),
])
def test_bad_inputs_are_refused(bad, message):
    arguments = {"effect": 0.3, "teams_per_arm": 4, "pilots": 1, **SMALL, **bad}
    with pytest.raises(ValueError, match=message):
        simulate_design(**arguments)
