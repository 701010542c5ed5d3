"""design_change: analysis settings changed after launch, kept as recorded deviations

Revision ID: 0005_design_change
Revises: 0004_submit_path
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_design_change'
down_revision = '0004_submit_path'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'design_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('setting', sa.String(length=40), nullable=False),
        sa.Column('old_value', sa.String(length=200), nullable=False),
        sa.Column('new_value', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('length(reason) > 0', name=op.f('ck_design_change_deviation_reason_given')),
        sa.ForeignKeyConstraint(['changed_by_id'], ['user.id'], name=op.f('fk_design_change_changed_by_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_design_change_study_id_study'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_design_change')),
    )
    with op.batch_alter_table('design_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_design_change_study_id'), ['study_id'], unique=False)


def downgrade():
    with op.batch_alter_table('design_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_design_change_study_id'))
    op.drop_table('design_change')
