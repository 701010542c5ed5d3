"""interim looks: planned looks per wave (study.interim_looks) and the looks taken, kept once taken

Revision ID: 0020_interim_looks
Revises: 0019_analysis_plan
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_interim_looks'
down_revision = '0019_analysis_plan'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study') as batch:
        batch.add_column(sa.Column('interim_looks', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'interim_look',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('look', sa.Integer(), nullable=False),
        sa.Column('responses', sa.Integer(), nullable=False),
        sa.Column('information', sa.Float(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('wave_id', 'look', name='uq_interim_look_wave_look'),
    )
    op.create_index('ix_interim_look_study_id', 'interim_look', ['study_id'])


def downgrade():
    op.drop_index('ix_interim_look_study_id', table_name='interim_look')
    op.drop_table('interim_look')
    with op.batch_alter_table('study') as batch:
        batch.drop_column('interim_looks')
