"""The schema itself proves that a response cannot be joined to the rep or invitation it came from."""

import pytest
from sqlalchemy import Date, DateTime, Time, inspect

from surveys.extensions import db

IDENTIFYING_TABLES = {"rep", "invitation", "survey_draft", "user", "membership", "performance_record",
                      "coaching_session"}
ANONYMOUS_TABLES = ("response", "answer", "response_score")


@pytest.fixture
def inspector(app_context):
    return inspect(db.engine)


@pytest.mark.parametrize("table", ANONYMOUS_TABLES)
def test_no_foreign_key_of_responses_or_answers_reaches_a_rep_or_an_invitation(inspector, table):
    reachable = set()
    frontier = [table]
    # Follow foreign keys transitively, except through team (teams are part of the design: clustering).
    while frontier:
        current = frontier.pop()
        for fk in inspector.get_foreign_keys(current):
            target = fk["referred_table"]
            if target not in reachable and target != "team":
                reachable.add(target)
                frontier.append(target)
    assert not reachable & IDENTIFYING_TABLES, reachable


@pytest.mark.parametrize("table", ANONYMOUS_TABLES)
def test_responses_and_answers_store_no_time_address_agent_or_person(inspector, table):
    for column in inspector.get_columns(table):
        name = column["name"].lower()
        assert not isinstance(column["type"], (DateTime, Time)), f"{table}.{name} stores a time of day"
        for word in ("rep", "invitation", "token", "ip", "agent", "user", "email", "time", "_at"):
            assert word not in name.split("_") and not name.endswith(word), f"{table}.{name}"


def test_a_response_carries_only_study_wave_model_team_its_cell_and_date(inspector):
    """The team's region and size band at submit (DESIGN.md section 4) are facts about the team, not the rep."""
    columns = {c["name"]: c for c in inspector.get_columns("response")}
    assert set(columns) == {"id", "study_id", "wave_id", "coaching_model", "team_id", "submitted_on", "region",
                            "band"}
    assert isinstance(columns["submitted_on"]["type"], Date)
    assert not isinstance(columns["submitted_on"]["type"], DateTime)


def test_no_table_refers_to_a_response_except_its_answers_and_scores(inspector):
    for table in inspector.get_table_names():
        if table in ("answer", "response_score"):
            continue
        targets = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert "response" not in targets, table


def test_invitations_record_whether_not_when_a_link_was_used(inspector):
    columns = {c["name"] for c in inspector.get_columns("invitation")}
    assert "used" in columns
    assert not {"used_at", "used_on", "answered_at", "response_id"} & columns


@pytest.mark.postgres
def test_scrubbing_leaves_no_transaction_id_that_pairs_a_link_with_its_response(make_app, postgres_url):
    """PostgreSQL's xmin: the submit writes the invitation and the response in one transaction."""
    from datetime import date

    from flask_migrate import upgrade
    from sqlalchemy import text

    from surveys.respond.sealing import new_key
    from surveys.respond.submit import submit
    from surveys.respond.survey import open_link, scrub_link_traces, survey_plan
    from tests import builders

    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    pairs = text("SELECT count(*) FROM invitation i JOIN response r ON r.xmin = i.xmin")
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        study, team = builders.running_survey(reps=5)
        wave = study.waves[0]
        for rep in team.reps:
            builders.invite(wave, rep)
        db.session.commit()
        ids = db.session.scalars(text("SELECT id FROM invitation ORDER BY id")).all()
        for invitation_id in ids:
            link = open_link(invitation_id, date.today())
            plan = survey_plan(link.study_id, link.questions_version)
            answers = builders.valid_answers_by_key(plan.questions)
            submit(link, new_key(), answers, date.today())
        assert db.session.scalar(pairs) == 5  # the trace exists before the scrub ...

        assert scrub_link_traces() == 5
        assert db.session.scalar(pairs) == 0  # ... and not after it, nor the order links were used in
        assert db.session.scalar(text("SELECT count(DISTINCT xmin::text) FROM invitation WHERE used")) == 1
        result = app.test_cli_runner().invoke(args=["scrub-links"])
        assert result.exit_code == 0 and "Rewrote 5 used link(s)" in result.output
        db.session.remove()
        db.engine.dispose()
