"""frozen cells: each response keeps the region and team-size band its team had when it was submitted

A later roster edit (a rep leaving, a team moving region) must move no response between the report's
cells, or two readings of a closed wave could be differenced (security review F6). New responses get
both columns from the submit. Existing rows are backfilled from the roster as it is when this
migration runs — their region and band at submit time were never stored, so today's roster is the
best that can be known; from here on they are frozen. Bands as in ``surveys/teams.py``: up to 7, 8
to 10 and 11 or more active reps.

Revision ID: 0006_frozen_cells
Revises: 0005_design_change
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_frozen_cells'
down_revision = '0005_design_change'
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE response SET
    region = (SELECT team.region FROM team WHERE team.id = response.team_id),
    band = CASE
        WHEN (SELECT count(*) FROM rep WHERE rep.team_id = response.team_id AND rep.active) <= 7 THEN 'up to 7 reps'
        WHEN (SELECT count(*) FROM rep WHERE rep.team_id = response.team_id AND rep.active) <= 10 THEN '8 to 10 reps'
        ELSE '11 or more reps'
    END
"""


def upgrade():
    # Adding nullable columns is a plain ALTER TABLE on SQLite too (no copy of the table).
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('band', sa.String(length=20), nullable=True))
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('band')
        batch_op.drop_column('region')
