"""Migrations build the schema on empty SQLite and PostgreSQL databases, and agree with the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

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
