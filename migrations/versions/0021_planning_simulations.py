"""planning simulations: a check of a study's design by simulated pilots, run by the queue, with its progress

Revision ID: 0021_planning_simulations
Revises: 0020_interim_looks
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_planning_simulations'
down_revision = '0020_interim_looks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'planning_simulation',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('parameters_json', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                           name=op.f('ck_planning_simulation_status_known')),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_planning_simulation_study_id_study'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_planning_simulation_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_simulation')),
    )
    op.create_index(op.f('ix_planning_simulation_study_id'), 'planning_simulation', ['study_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_planning_simulation_study_id'), table_name='planning_simulation')
    op.drop_table('planning_simulation')
