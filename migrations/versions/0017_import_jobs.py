"""import jobs: large imports run by the task queue, their state and progress in the database

A roster, performance or session file of more than ``IMPORT_INLINE_ROWS`` rows is imported by a queue
consumer; ``import_job`` keeps what the page that follows it shows (rows checked, the outcome, the
file's problems) and what a periodic task needs to run it again when its consumer died.

Revision ID: 0017_import_jobs
Revises: 0016_report_snapshots
Create Date: 2026-12-04

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_import_jobs'
down_revision = '0016_report_snapshots'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_job',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('upload_id', sa.String(length=32), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('mapping_json', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('checked', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('problems_json', sa.Text(), nullable=True),
        sa.Column('problem_count', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('roster', 'performance', 'sessions')", name=op.f('ck_import_job_kind_known')),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')",
                           name=op.f('ck_import_job_status_known')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_import_job_organisation_id_organisation'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['upload_id'], ['pending_upload.id'],
                                name=op.f('fk_import_job_upload_id_pending_upload'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_import_job_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job')),
    )
    op.create_index(op.f('ix_import_job_user_id'), 'import_job', ['user_id'], unique=False)
    op.create_index(op.f('ix_import_job_updated_at'), 'import_job', ['updated_at'], unique=False)


def downgrade():
    op.drop_table('import_job')
