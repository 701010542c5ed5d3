"""analysis plan: a study's plan frozen at launch, its canonical JSON and SHA-256

Revision ID: 0019_analysis_plan
Revises: 0018_worth_settings
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_analysis_plan'
down_revision = '0018_worth_settings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'analysis_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('locked_at', sa.DateTime(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('study_id'),
    )


def downgrade():
    op.drop_table('analysis_plan')
