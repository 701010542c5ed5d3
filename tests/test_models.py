"""Constraints live in the database, not only in Python: each test writes a bad row and is refused."""

from datetime import date

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError, StatementError

from surveys.extensions import db
from surveys.models import (
    Assignment,
    CoachingModel,
    CoachingSession,
    Invitation,
    PerformanceRecord,
    Rep,
    Response,
    Study,
    Wave,
)
from tests import builders

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def roster():
    org = builders.organisation()
    team = builders.team_with_reps(org, reps=2)
    study = builders.study(org, teams=[team])
    return org, team, study


def refused(*rows_or_statements):
    """Assert that writing these is refused by the database, and leave the session usable."""
    with pytest.raises((IntegrityError, StatementError)):
        for item in rows_or_statements:
            if isinstance(item, db.Model):
                db.session.add(item)
            else:
                db.session.execute(item)
        db.session.flush()
    db.session.rollback()


def test_token_hashes_are_unique(roster):
    _, team, study = roster
    wave = study.waves[0]
    reps = team.reps
    db.session.add(Invitation(wave_id=wave.id, rep_id=reps[0].id, token_hash="a" * 64))
    db.session.commit()
    refused(Invitation(wave_id=wave.id, rep_id=reps[1].id, token_hash="a" * 64))


def test_one_performance_record_per_rep_and_period(roster):
    _, team, _ = roster
    rep = team.reps[0]
    db.session.add(PerformanceRecord(rep_id=rep.id, period="2026-Q3", period_start=date(2026, 7, 1),
                                     quota_attainment=90))
    db.session.commit()
    refused(PerformanceRecord(rep_id=rep.id, period="2026-Q3", period_start=date(2026, 7, 1),
                              quota_attainment=95))


@pytest.mark.parametrize("field, value", [
    ("win_rate", 1.5), ("win_rate", -0.1), ("quota_attainment", -1.0), ("revenue", -10.0), ("deals_won", -1)])
def test_performance_values_out_of_range_are_refused(roster, field, value):
    rep = roster[1].reps[0]
    refused(PerformanceRecord(rep_id=rep.id, period="2026-Q2", period_start=date(2026, 4, 1), **{field: value}))


def test_foreign_keys_are_enforced(roster):
    org = roster[0]
    refused(insert(Rep).values(organisation_id=org.id, team_id=999_999, name="Ghost", email="g@example.com",
                               active=True))


def test_anonymity_threshold_below_three_is_refused(roster):
    study = roster[2]
    study.k_threshold = 2
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_wave_cannot_close_before_it_opens(roster):
    study = roster[2]
    refused(Wave(study_id=study.id, label="odd", opens_on=date(2026, 5, 2), closes_on=date(2026, 5, 1)))


def test_wave_labels_are_unique_within_a_study(roster):
    study = roster[2]
    refused(Wave(study_id=study.id, label="baseline", opens_on=date(2026, 5, 1), closes_on=date(2026, 5, 2)))


def test_an_assignment_is_of_a_team_or_a_rep_not_both(roster):
    _, team, study = roster
    refused(Assignment(study_id=study.id, team_id=team.id, rep_id=team.reps[0].id,
                       coaching_model=CoachingModel.PEER))
    refused(Assignment(study_id=study.id, coaching_model=CoachingModel.PEER))


def test_a_team_is_assigned_once_per_study(roster):
    _, team, study = roster
    refused(Assignment(study_id=study.id, team_id=team.id, coaching_model=CoachingModel.PEER))


def test_unknown_coaching_model_is_refused_by_the_database(roster):
    _, team, study = roster
    refused(text("INSERT INTO assignment (study_id, rep_id, coaching_model, assigned_at) "
                 "VALUES (:s, :r, 'astrologer', CURRENT_TIMESTAMP)").bindparams(s=study.id, r=team.reps[0].id))


def test_coaching_session_needs_a_rep_or_a_team_and_sane_minutes(roster):
    org, team, _ = roster
    refused(CoachingSession(organisation_id=org.id, coach_model=CoachingModel.PEER, session_date=date(2026, 7, 1),
                            minutes=30))
    refused(CoachingSession(organisation_id=org.id, team_id=team.id, coach_model=CoachingModel.PEER,
                            session_date=date(2026, 7, 1), minutes=0))


def test_reps_are_unique_by_crm_id_within_an_organisation(roster):
    org, team, _ = roster
    refused(Rep(organisation_id=org.id, team_id=team.id, name="Twin", crm_id=team.reps[0].crm_id))


def test_response_ids_are_random_not_sequential(roster):
    _, team, study = roster
    ids = []
    for _ in range(3):
        response = Response(study_id=study.id, wave_id=study.waves[0].id, coaching_model=CoachingModel.PEER,
                            team_id=team.id, submitted_on=date(2026, 7, 1))
        db.session.add(response)
        db.session.flush()
        ids.append(response.id)
    assert len(set(ids)) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert sorted(ids) != ids or sorted(ids, reverse=True) != ids


def test_deleting_a_study_removes_its_waves_and_questions(roster):
    study = roster[2]
    study_id = study.id
    db.session.delete(study)
    db.session.commit()
    assert db.session.get(Study, study_id) is None
    assert db.session.query(Wave).filter_by(study_id=study_id).count() == 0
