"""PostgreSQL row locks: a page saved in one tab while the other tab submits neither deadlocks nor loses answers.

The save is held, by a listener on the real engine, right after it has locked the rep's draft;
the submit then runs into the locks the save holds. Locks must be taken in one order (link, then
draft) by both, or PostgreSQL cancels one of them as a deadlock.
"""

import threading
import time
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text

from surveys.extensions import db
from surveys.models import Answer, Invitation, Response, SurveyDraft
from surveys.respond import survey as responding
from surveys.respond.sealing import new_key
from surveys.respond.submit import submit as submit_response
from tests import builders

pytestmark = pytest.mark.postgres


def test_a_page_saved_while_the_other_tab_submits_waits_its_turn_and_its_answers_are_kept(make_app, postgres_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        study, team = builders.running_survey()
        builders.invite(study.waves[0], team.reps[0])
        invitation_id = db.session.scalar(select(Invitation.id))
        plan = responding.survey_plan(study.id, study.questions_version)
        answers = builders.valid_answers_by_key(plan.questions)
        first, *middle, last = plan.pages
        key = new_key()  # the rep's browser: both tabs share its cookie, so its draft key
        opened = responding.open_link(invitation_id, date.today())
        responding.save_draft(opened, key, 1, {q.key: answers[q.key] for q in first.questions})
        late_key = middle[0].questions[0].key  # saved by the other tab while the submit runs
        late_question_id = middle[0].questions[0].id
        saved_draft_of = {q.key: answers[q.key] for page in middle for q in page.questions if q.key != late_key}
        responding.save_draft(opened, key, len(plan.pages) - 1, saved_draft_of)
        link = responding.open_link(invitation_id, date.today())
        db.session.remove()

        holding, go, errors = threading.Event(), threading.Event(), []

        def hold_after_locking_the_draft(conn, cursor, statement, *args):
            if threading.current_thread().name == "save" and "FOR UPDATE" in statement and "survey_draft" in statement:
                holding.set()
                go.wait(10)

        def run(name, work):
            def target():
                with app.app_context():
                    try:
                        work()
                    except Exception as error:  # reported by the assertions below
                        errors.append((name, repr(error)))
                    finally:
                        db.session.remove()
            thread = threading.Thread(target=target, name=name)
            thread.start()
            return thread

        event.listen(db.engine, "after_cursor_execute", hold_after_locking_the_draft)
        try:
            save = run("save", lambda: responding.save_draft(opened, key, len(plan.pages) - 1,
                                                             {late_key: answers[late_key]}))
            assert holding.wait(10)
            submit = run("submit", lambda: submit_response(
                link, key, {q.key: answers[q.key] for q in last.questions}, date.today()))
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            deadline = time.time() + 10
            with db.engine.connect() as observer:
                while observer.execute(waiting).scalar() == 0 and time.time() < deadline:
                    observer.rollback()  # pg_stat_activity is a snapshot per transaction: take a new one
                    time.sleep(0.05)
                assert observer.execute(waiting).scalar() == 1  # the submit waits for the save
            go.set()
            save.join(20)
            submit.join(20)
        finally:
            go.set()
            event.remove(db.engine, "after_cursor_execute", hold_after_locking_the_draft)

        assert errors == []  # no deadlock, no refusal: the save went first, the submit after it
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0
        late = db.session.scalar(select(Answer.value_num).where(Answer.question_id == late_question_id))
        assert late is not None  # the answer saved while the submit waited is in the response
        db.session.remove()
        db.engine.dispose()
