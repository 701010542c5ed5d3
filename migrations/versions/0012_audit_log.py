"""audit log: who did what and when, append-only

Consultants can change a study's design, launch and close it, issue links, export response-level
data and give people access; until now only hand changes to the assignment and design deviations
were recorded. ``audit_event`` keeps every such act (never a survey answer), and triggers make the
table append-only on both engines: an UPDATE or DELETE is refused by the database itself.

Revision ID: 0012_audit_log
Revises: 0011_editing
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa

from surveys.database import GUARD


# revision identifiers, used by Alembic.
revision = '0012_audit_log'
down_revision = '0011_editing'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('study_id', sa.Integer(), nullable=True),
        sa.Column('study_name', sa.String(length=200), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.CheckConstraint('length(action) > 0', name=op.f('ck_audit_event_action_named')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    op.create_index(op.f('ix_audit_event_at'), 'audit_event', ['at'], unique=False)
    op.create_index(op.f('ix_audit_event_organisation_id'), 'audit_event', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_audit_event_study_id'), 'audit_event', ['study_id'], unique=False)
    for statement in GUARD.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    op.drop_table('audit_event')
