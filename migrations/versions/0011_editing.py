"""editing: a study's description, and a wave's planned closing date once closed early

- ``study.description``: free text beside the name, editable any time (changes go to ``design_change``).
- No new column for the launch date: launching locks the study, and ``study.assignments_locked_at``
  (set by launch) is that date; the forms say "locked since the study was launched on …". Studies
  launched before launch set it keep NULL and the forms say "since the study was launched".
- ``wave.planned_closes_on``: set when a consultant closes a wave early — ``closes_on`` becomes that
  day and this keeps the date planned until then. A wave with it set counts as closed from that moment
  (``Wave.is_closed``), and may be reopened, up to that date, only while nobody has answered it.

Revision ID: 0011_editing
Revises: 0010_upload_mappings
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_editing'
down_revision = '0010_upload_mappings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_closes_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.drop_column('planned_closes_on')
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('description')
