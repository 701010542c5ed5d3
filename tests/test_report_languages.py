"""The report's answers by roster language (issue 18): study level only, closed waves only, no count of 1 to k−1
shown or left to subtraction. Expected lines are worked out by hand in each test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from surveys.extensions import db
from surveys.models import CoachingModel
from surveys.reports.languages import language_counts
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")
TODAY = date.today()


@pytest.fixture
def study():
    """Three teams of ten, one per model (k = 5). Roster languages: es ×12, de ×3, ar ×1, none ×14.
    Answers: es 6, de 2, ar 1, none 9; every rep invited."""
    org = builders.organisation()
    teams = [builders.team_with_reps(org, name=f"T{n}", reps=10) for n in range(3)]
    result = builders.pilot(org, list(zip(teams, [m.value for m in CoachingModel], strict=True)), TODAY)
    reps = [rep for team in teams for rep in team.reps]
    plan = ["es"] * 12 + ["de"] * 3 + ["ar"] + [None] * 14
    for rep, language in zip(reps, plan, strict=True):
        rep.language = language
    db.session.commit()
    answering = reps[:6] + reps[12:14] + reps[15:16] + reps[16:25]
    wave = result.waves[0]
    builders.answer(result, wave, answering, TODAY)
    for rep in reps:
        if rep not in answering:
            builders.invite(wave, rep, TODAY)
    return result


def lines(counts):
    return [(line.language, line.invited, line.n) for line in counts.lines]


def test_an_open_wave_shows_no_counts(study):
    assert language_counts(study, study.waves[0], TODAY) is None


def test_a_closed_wave_shows_languages_of_k_and_pools_the_rest_so_that_nothing_follows_by_subtraction(study):
    builders.close_wave(study.waves[0], TODAY)
    # es (12 invited, 6 answered, 6 not) and "not set" (14, 9, 5) have k of each; de (3, 2) and ar (1, 1) do
    # not, and together (4, 3, 1) would follow from the totals, so the shown one with fewer answers (es, 6)
    # joins them: (16, 9, 7).
    assert lines(language_counts(study, study.waves[0], TODAY)) == [
        ("not set (English or the browser's)", 14, 9),
        ("other languages: Español (es), Deutsch (de), العربية (ar)", 16, 9)]


def test_a_language_whose_reps_all_answered_is_not_shown_alone(study):
    """Everyone of a language answering (or nobody) says what each of them did: pooled, like fewer than k."""
    builders.close_wave(study.waves[0], TODAY)
    from surveys.models import Rep

    for rep in db.session.scalars(select(Rep).where(Rep.language == "es")).all()[6:]:
        builders.answer(study, study.waves[0], [rep], TODAY - timedelta(days=2))
    shown = lines(language_counts(study, study.waves[0], TODAY))
    assert not [line for line in shown if line[2] is not None and (line[2] == line[1] or line[1] - line[2] < 5)]


def test_a_pool_that_stays_below_k_with_everything_in_it_is_hidden(study):
    builders.close_wave(study.waves[0], TODAY)
    study.k_threshold = study.comment_threshold = 15
    db.session.commit()
    assert lines(language_counts(study, study.waves[0], TODAY)) == [
        ("other languages: not set (English or the browser's), Español (es), Deutsch (de), العربية (ar)", 30, None)]


def test_a_roster_without_languages_shows_nothing(study):
    builders.close_wave(study.waves[0], TODAY)
    for team in study.organisation.teams:
        for rep in team.reps:
            rep.language = None
    db.session.commit()
    assert language_counts(study, study.waves[0], TODAY) is None


def test_the_report_carries_them_unfiltered_only(client, study):
    builders.close_wave(study.waves[0], TODAY - timedelta(days=0))
    builders.user("c@acme.example.com", orgs=[study.organisation.name])
    client.post("/login", data={"email": "c@acme.example.com", "password": builders.PASSWORD})
    report = client.get(f"/studies/{study.id}/report.json").get_json()
    assert report["languages"]["by_roster_language"][0] == {
        "language": "not set (English or the browser's)", "invited": 14, "n": 9}
    page = client.get(f"/studies/{study.id}/report").get_data(as_text=True)
    assert 'id="languages"' in page and "recorded nowhere" in page
    filtered = client.get(f"/studies/{study.id}/report.json", query_string={"region": "North"}).get_json()
    assert filtered["languages"] is None
