"""The demo pilot: realistic in shape, and carrying the simulator's planted differences into the database."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from analysis.simulate import BASE_MEANS, SURVEY_EFFECTS
from surveys.accounts import authenticate
from surveys.demo import quarter_label, quarter_start
from surveys.extensions import db
from surveys.frames import response_scores
from surveys.instruments import builtin
from surveys.models import (
    Answer,
    Assignment,
    CoachingSession,
    Invitation,
    Organisation,
    PerformanceRecord,
    Rep,
    Response,
    Study,
    Team,
    Wave,
)
from surveys.tokens import hash_token


@pytest.fixture
def demo(runner, app_context):
    result = runner.invoke(args=["demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def scalar(query):
    return db.session.scalar(query)


def test_demo_json_has_the_promised_shape(demo):
    assert set(demo) == {"consultant", "leader", "organisation", "study_id", "survey_links"}
    assert set(demo["consultant"]) == {"email", "password"} == set(demo["leader"])
    assert demo["organisation"] == scalar(select(Organisation.name))
    assert scalar(select(Study.id)) == demo["study_id"]


def test_demo_logins_work(demo):
    assert authenticate(demo["consultant"]["email"], demo["consultant"]["password"]).role.value == "consultant"
    assert authenticate(demo["leader"]["email"], demo["leader"]["password"]).role.value == "leader"


def test_demo_roster_is_randomised_teams_of_five_to_twelve(demo):
    sizes = db.session.execute(select(Team.id, func.count(Rep.id)).join(Rep).group_by(Team.id)).all()
    assert len(sizes) >= 24
    assert all(5 <= n <= 12 for _, n in sizes)
    per_model = dict(db.session.execute(
        select(Assignment.coaching_model, func.count()).group_by(Assignment.coaching_model)).all())
    assert {m.value for m in per_model} == {"manager", "peer", "external"}
    assert max(per_model.values()) - min(per_model.values()) <= 1


def test_demo_has_baseline_and_follow_up_with_about_eighty_percent_answering(demo):
    reps = scalar(select(func.count(Rep.id)))
    waves = {w.label: w for w in db.session.scalars(select(Wave))}
    assert {"baseline", "follow-up"} <= set(waves)
    today = date.today()
    assert waves["baseline"].closes_on < today and waves["follow-up"].closes_on < today  # leaders can read them
    assert waves["pulse"].is_open(today)  # a short pulse wave is open: the demo's survey links
    for wave in waves.values():
        responses = scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id))
        used = scalar(select(func.count()).select_from(Invitation).where(Invitation.wave_id == wave.id,
                                                                        Invitation.used.is_(True)))
        assert responses == used
        expected = 0.35 if wave.label == "pulse" else 0.8
        assert expected - 0.1 <= responses / reps <= expected + 0.1


def test_demo_links_are_the_unused_invitations_of_the_open_wave(demo):
    links = demo["survey_links"]
    assert links and all(link.startswith("http://localhost/s/") for link in links)
    open_wave = scalar(select(Wave).where(Wave.label == "pulse"))
    unused = set(db.session.scalars(select(Invitation.token_hash).where(
        Invitation.wave_id == open_wave.id, Invitation.used.is_(False))))
    assert {hash_token(link.rsplit("/", 1)[1]) for link in links} == unused


def test_demo_has_performance_for_the_quarters_before_and_after_and_a_session_log(demo):
    reps = scalar(select(func.count(Rep.id)))
    periods = dict(db.session.execute(
        select(PerformanceRecord.period, func.count()).group_by(PerformanceRecord.period)).all())
    after = quarter_start(quarter_start(date.today()) - timedelta(days=1))
    assert len(periods) == 2 and quarter_label(after) in periods
    assert set(periods.values()) == {reps}
    assert scalar(select(func.count()).select_from(CoachingSession)) > reps


def test_demo_responses_answer_every_item_of_the_instrument(demo):
    scale_items = [i for i in builtin().items if i.scale_min is not None]
    answered = db.session.execute(
        select(Answer.response_id, func.count()).where(Answer.value_text.is_(None)).group_by(Answer.response_id)).all()
    assert {n for _, n in answered} == {len(scale_items)}
    comments = scalar(select(func.count()).select_from(Answer).where(Answer.value_text.is_not(None)))
    assert comments > 20


def test_demo_data_carry_the_planted_differences(demo):
    """Follow-up arm means of the stored, reverse-scored scales sit near the simulator's truth."""
    scores = response_scores(demo["study_id"])
    follow_up = scores[scores["wave"] == "follow-up"]
    for dimension, base in BASE_MEANS.items():
        if dimension == "recommend":
            continue
        means = follow_up.groupby("coaching_model")[dimension].mean()
        truth = {arm: base + SURVEY_EFFECTS.get(dimension, {}).get(arm, 0.0) for arm in means.index}
        for a in means.index:
            for b in means.index:
                observed = means[a] - means[b]
                planted = truth[a] - truth[b]
                # About 60 responses per arm in 9 teams; 0.35 points is about three standard errors.
                assert abs(observed - planted) < 0.35, (dimension, a, b, observed, planted)


def test_demo_refuses_to_overwrite_data_without_reset(runner, demo):
    before = scalar(select(func.count()).select_from(Response))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 2
    assert "--reset" in result.output
    assert scalar(select(func.count()).select_from(Response)) == before


def test_demo_reset_replaces_the_data(runner, demo):
    result = runner.invoke(args=["demo", "--reset", "--json"])
    assert result.exit_code == 0, result.output
    assert scalar(select(func.count()).select_from(Organisation)) == 1
    assert json.loads(result.stdout)["consultant"]["password"] != demo["consultant"]["password"]
