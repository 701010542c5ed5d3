"""report snapshots: each view of a study's report computed once and served warm by every worker

The report cache lived in each worker process, so with four gunicorn workers a leader met a cold
report four times, and every new filter was cold again. ``report_snapshot`` keeps each view (wave ×
region × band) with the data version it was built from; ``report_rebuild`` marks a study whose
snapshots a background job is rebuilding. Both go with their study.

Revision ID: 0016_report_snapshots
Revises: 0015_reminders
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_report_snapshots'
down_revision = '0015_reminders'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('view_key', sa.String(length=400), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('k_threshold', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('built_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_report_snapshot_study_id_study'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_snapshot')),
        sa.UniqueConstraint('study_id', 'view_key', name=op.f('uq_report_snapshot_study_id_view_key')),
    )
    op.create_index(op.f('ix_report_snapshot_study_id'), 'report_snapshot', ['study_id'], unique=False)
    op.create_table(
        'report_rebuild',
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_report_rebuild_study_id_study'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('study_id', name=op.f('pk_report_rebuild')),
    )


def downgrade():
    op.drop_table('report_rebuild')
    op.drop_index(op.f('ix_report_snapshot_study_id'), table_name='report_snapshot')
    op.drop_table('report_snapshot')
