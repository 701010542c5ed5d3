"""Fidelity and the per-protocol estimate (``analysis.fidelity``) against ``reference/fidelity.R``.

Shares and rates are an R hand computation (to 1e-12); the effects are lmerTest's (Satterthwaite df,
to 1e-5 relative). The data (``data/make_fidelity.py``) plant one drifting team per model and two
teams below the minimum.
"""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.fidelity import fidelity, per_protocol
from tests.analysis.test_reference import DATA, HERE

REFERENCE = json.loads((HERE / "reference" / "fidelity.json").read_text())
LEVELS = ("manager", "peer", "external")


@pytest.fixture(scope="module")
def frames():
    return (pd.read_csv(DATA / "fidelity_sessions.csv"), pd.read_csv(DATA / "fidelity_teams.csv"),
            pd.read_csv(DATA / "fidelity_reps.csv"))


@pytest.fixture(scope="module")
def result(frames):
    sessions, teams, _ = frames
    return fidelity(sessions, teams, LEVELS, 3)


def test_team_and_model_shares_and_rates_match_r(result):
    for ref in REFERENCE["teams"]:
        team = result.team(ref["team"])
        assert team.sessions == ref["sessions"]
        assert team.assigned_share == pytest.approx(ref["assigned_share"], abs=1e-12)
        assert team.sessions_per_rep_month == pytest.approx(ref["sessions_per_rep_month"], abs=1e-12)
    for ref in REFERENCE["arms"]:
        arm = result.arm(ref["level"])
        assert arm.sessions == ref["sessions"]
        assert arm.assigned_share == pytest.approx(ref["assigned_share"], abs=1e-12)
        assert arm.sessions_per_rep_month == pytest.approx(ref["sessions_per_rep_month"], abs=1e-12)
    assert list(result.kept_teams) == REFERENCE["kept"]


def test_the_planted_drifting_and_thin_teams_are_named_by_team(result):
    assert [a.drifting for a in result.arms] == [("T02",), ("T13",), ("T24",)]
    assert {t.team for t in result.teams if t.below_minimum} == {"T05", "T18"}
    words = " ".join(result.warnings)
    assert "Team T02 (manager coaching) got most of its coaching from peers" in words
    assert "Team T13 (peer coaching) got most of its coaching from its manager" in words
    assert "T05" in words and "T18" in words


def test_no_rep_id_appears_in_any_warning_or_output(result, frames):
    _, _, reps = frames
    text = json.dumps(result.to_dict())
    for rep in reps["rep"].astype(str):
        assert f'"{rep}"' not in text and f"rep {rep}" not in " ".join(result.warnings)


def test_a_low_share_is_warned_of():
    sessions = pd.DataFrame({"team": ["A"] * 6 + ["B"] * 4, "rep": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                             "coach_model": ["manager"] * 3 + ["peer"] * 3 + ["peer"] * 4})
    teams = pd.DataFrame({"team": ["A", "B"], "coaching_model": ["manager", "peer"], "reps": [3, 2]})
    result = fidelity(sessions, teams, ("manager", "peer"), 2)
    assert result.low == ("manager",)
    assert any(w.startswith("Only 50 % of the manager teams' sessions were given by managers") for w in result.warnings)


def test_per_protocol_and_intention_to_treat_match_lmertest(frames, result):
    _, _, reps = frames
    pp = per_protocol(reps, "quota", "coaching_model", "team", LEVELS, result, baseline="baseline")
    for mine, key in ((pp.intention_to_treat, "intention_to_treat"), (pp.per_protocol, "per_protocol")):
        for effect in mine:
            ref = REFERENCE[key][effect.level]
            assert effect.method == "mixed_model" and effect.vs == "manager"
            assert effect.estimate == pytest.approx(ref["estimate"], rel=1e-5)
            assert effect.se == pytest.approx(ref["se"], rel=1e-5)
            assert effect.df == pytest.approx(ref["df"], rel=1e-5)
            assert effect.p == pytest.approx(ref["p"], rel=1e-4)
    assert [(a.teams, a.kept) for a in pp.arms] == [(10, 8), (10, 8), (10, 9)]
    assert "not chosen at random" in pp.caveat


def test_with_few_kept_teams_the_per_protocol_estimate_uses_team_means(frames):
    sessions, teams, reps = frames
    small = teams[teams["team"].isin([f"T{i:02d}" for i in (0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23)])]
    keep = sessions[sessions["team"].isin(small["team"])]
    result = fidelity(keep, small, LEVELS, 3)
    pp = per_protocol(reps[reps["team"].isin(small["team"])], "quota", "coaching_model", "team", LEVELS, result)
    assert {e.method for e in pp.per_protocol} == {"team_means"}
    assert all(np.isfinite(e.ci_low) and e.ci_low < e.estimate < e.ci_high for e in pp.per_protocol)


@pytest.mark.parametrize(("change", "words"), [
    (lambda s, t: (s.drop(columns="coach_model"), t), "coach_model"),
    (lambda s, t: (s.assign(coach_model="astrologer"), t), "'astrologer', not a kind of coach"),
    (lambda s, t: (pd.concat([s, s.head(1).assign(team="T99")]), t), "team 'T99' is not a team of the study"),
    (lambda s, t: (s, t.assign(reps=0)), "'reps' must be a whole number of at least 1"),
    (lambda s, t: (s, pd.concat([t, t.head(1)])), "listed twice"),
])
def test_bad_input_is_named(frames, change, words):
    sessions, teams, _ = frames
    s, t = change(sessions, teams)
    with pytest.raises(ValueError, match=words):
        fidelity(s, t, LEVELS, 3)


@pytest.mark.parametrize("months", [0, -1, float("nan"), "3"])
def test_a_period_of_no_months_is_refused(frames, months):
    sessions, teams, _ = frames
    with pytest.raises(ValueError, match="months"):
        fidelity(sessions, teams, LEVELS, months)


def test_no_sessions_at_all_says_so_and_gives_no_share(frames):
    _, teams, _ = frames
    result = fidelity(pd.DataFrame(columns=["team", "rep", "coach_model"]), teams, LEVELS, 3)
    assert all(a.assigned_share is None for a in result.arms)
    assert any("No coaching sessions are logged for the manager teams" in w for w in result.warnings)
    assert result.kept_teams == ()
