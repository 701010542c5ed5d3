"""A submit that read its link while the wave was open, but reaches the database after the wave or the study
was closed, stores nothing (issue 14: a submit racing a close).

Once a wave has closed, its results can be read; one response more would change them, and a reader who saw both
versions would learn what that one rep said. So the submit re-checks the wave and the study inside its own
transaction, with the rows locked (``FOR SHARE`` on PostgreSQL, the single writer on SQLite) so that a close
committing meanwhile waits for it or is seen by it — never both missed.

The late submit is reproduced as it happens in a request: the link is opened (``open_link``, what the view does
first), the consultant's close commits, then the view's submit runs with the link it holds.
"""

import threading
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select

from surveys import studies
from surveys.extensions import db
from surveys.models import Invitation, Response, Wave
from surveys.pilots.waves import close_early
from surveys.respond import survey as responding
from surveys.respond.sealing import new_key
from surveys.respond.submit import submit
from tests import builders


def _opened_link(today):
    study, team = builders.running_survey()
    token = builders.invite(study.waves[0], team.reps[0])
    link = responding.redeem(token, today)
    answers = builders.valid_answers_by_key(responding.survey_plan(study.id, study.questions_version).questions)
    return study, link, answers


def _responses() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def test_a_submit_that_arrives_after_the_wave_was_closed_early_stores_nothing(app_context):
    today = date.today()
    study, link, answers = _opened_link(today)
    close_early(study, study.waves[0], today)
    with pytest.raises(responding.WaveClosed):
        submit(link, new_key(), answers, today)
    db.session.rollback()
    assert _responses() == 0
    assert db.session.scalar(select(Invitation.used)) is False


def test_a_submit_that_arrives_after_the_study_was_closed_stores_nothing(app_context):
    today = date.today()
    study, link, answers = _opened_link(today)
    studies.close(study)
    db.session.commit()
    with pytest.raises(responding.StudyClosed):
        submit(link, new_key(), answers, today)
    db.session.rollback()
    assert _responses() == 0


def test_a_submit_still_counts_when_the_wave_closes_after_it(app_context):
    today = date.today()
    study, link, answers = _opened_link(today)
    submit(link, new_key(), answers, today)
    close_early(study, study.waves[0], today)
    assert _responses() == 1


@pytest.mark.postgres
def test_on_postgresql_a_close_committed_while_the_submit_runs_is_seen_by_the_submit(make_app, postgres_url):
    """The close commits between the submit's first statement (the link marked used) and the rest of it."""
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    today = date.today()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        study, link, answers = _opened_link(today)
        study_id, wave_id = study.id, study.waves[0].id
        db.session.remove()
        fired = threading.Event()

        def close_in_another_session():
            with app.app_context():
                wave = db.session.get(Wave, wave_id)
                close_early(wave.study, wave, today)  # commits: it owns its transaction
                db.session.remove()

        def after_first_write(conn, cursor, statement, parameters, context, executemany):
            if not fired.is_set() and "UPDATE invitation" in statement:
                fired.set()
                closer = threading.Thread(target=close_in_another_session)
                closer.start()
                closer.join(timeout=10)

        event.listen(db.engine, "after_cursor_execute", after_first_write)
        try:
            with pytest.raises(responding.WaveClosed):
                submit(link, new_key(), answers, today)
        finally:
            event.remove(db.engine, "after_cursor_execute", after_first_write)
        db.session.remove()
        assert fired.is_set()
        assert db.session.get(Wave, wave_id).closed_early
        assert db.session.scalar(select(func.count()).select_from(Response).where(Response.study_id == study_id)) == 0
        assert db.session.scalar(select(Invitation.used).where(Invitation.id == link.invitation_id)) is False
