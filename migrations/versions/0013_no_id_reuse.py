"""no id reuse: SQLite never gives a deleted study's or organisation's id to a new one

Without AUTOINCREMENT, SQLite hands the highest freed rowid to the next row: a draft study deleted by
one tenant's consultant gave its id to the next study, of any tenant, and the audit log (which keeps
plain ids, so that events outlive what they name) listed the deleted study's events on the new one.
``study`` and ``organisation`` are recreated with AUTOINCREMENT, and their counters start above every
id the audit log has ever named, so that an id freed before this migration is not reused either.

PostgreSQL's sequences never reuse ids: nothing to do there.

Revision ID: 0013_no_id_reuse
Revises: 0012_audit_log
Create Date: 2026-12-03

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_no_id_reuse'
down_revision = '0012_audit_log'
branch_labels = None
depends_on = None

# Each table, and the audit log's column that names its ids.
TABLES = {'organisation': 'organisation_id', 'study': 'study_id'}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    if not _sqlite():
        return
    for table, logged in TABLES.items():
        # Batch mode copies the table into a new one (env.py turns foreign keys off around it).
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass
        # The copy set the counter to the highest id present; a higher one freed before (and named in the
        # log) must not come back either.
        op.execute(f"DELETE FROM sqlite_sequence WHERE name = '{table}'")  # noqa: S608 - names of this file
        op.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', max("  # noqa: S608
                   f"coalesce((SELECT max(id) FROM {table}), 0), "
                   f"coalesce((SELECT max({logged}) FROM audit_event), 0))")


def downgrade():
    if not _sqlite():
        return
    for table in reversed(list(TABLES)):
        # SQLite does not keep a primary key's name: the convention gives it back its name of before.
        with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': False},
                                  naming_convention={'pk': 'pk_%(table_name)s'}):
            pass
