"""Migrations build the schema on empty SQLite and PostgreSQL databases, and agree with the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, inspect, select

from surveys.extensions import db


def migrate_and_compare(app):
    """Run every migration on the app's empty database; return the differences from the models."""
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    return differences, tables


def test_migrations_match_the_models_on_sqlite(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.sqlite'}")
    differences, tables = migrate_and_compare(app)
    assert differences == []
    assert {t.name for t in db.metadata.sorted_tables} <= tables


@pytest.mark.postgres
def test_migrations_match_the_models_on_postgresql(make_app, postgres_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=postgres_url)
    differences, tables = migrate_and_compare(app)
    assert differences == []
    assert {t.name for t in db.metadata.sorted_tables} <= tables


def test_db_upgrade_command_builds_the_schema(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'cli.sqlite'}")
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert "response" in inspect(db.engine).get_table_names()
        db.engine.dispose()



def row_counts(app) -> dict[str, int]:
    """Rows per table, for the tables that exist in the app's database."""
    with app.app_context():
        with db.engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            counts = {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                      for table in db.metadata.sorted_tables if table.name in present}
        db.engine.dispose()
    return counts


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_downgrading_the_last_migration_and_upgrading_again_keeps_every_row(make_app, tmp_path, request, engine):
    """SQLite alters a table by copying and dropping it; with foreign keys on, that drop cascaded into
    every child table (downgrading 0004's column of `study` emptied waves, responses and answers)."""
    url = f"sqlite:///{tmp_path / 'steps.sqlite'}" if engine == "sqlite" else request.getfixturevalue("postgres_url")
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    seeded = runner.invoke(args=["demo"], env={"COACHLAB_PASSWORD": "demo-password-1"})
    assert seeded.exit_code == 0, seeded.output
    before = row_counts(app)
    assert before["answer"] > 1000 and before["wave"] > 0 and before["response_score"] > 0

    down = runner.invoke(args=["db", "downgrade"])  # one step: -1
    assert down.exit_code == 0, down.output
    after_down = row_counts(app)
    assert after_down == {name: before[name] for name in after_down}
    up = runner.invoke(args=["db", "upgrade"])
    assert up.exit_code == 0, up.output
    # A table the last migration creates comes back empty (its downgrade drops it); every other row stays.
    assert {name: n for name, n in row_counts(app).items() if name in after_down} == {
        name: n for name, n in before.items() if name in after_down}
