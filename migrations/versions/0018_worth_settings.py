"""what a model is worth: a study's costs per model, non-inferiority margins, prior scale, fidelity minimum

Set on the design page, kept with the study and, after launch, changed only with a reason (a deviation
printed in the report), like k and the primary outcome.

Revision ID: 0018_worth_settings
Revises: 0017_import_jobs
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_worth_settings'
down_revision = '0017_import_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study') as batch:
        batch.add_column(sa.Column('costs', sa.String(length=400), nullable=True))
        batch.add_column(sa.Column('margin_primary', sa.Float(), nullable=True))
        batch.add_column(sa.Column('margin_quota', sa.Float(), nullable=True))
        batch.add_column(sa.Column('prior_scale', sa.Float(), nullable=True))
        batch.add_column(sa.Column('fidelity_minimum', sa.Float(), nullable=False, server_default='1.0'))


def downgrade():
    with op.batch_alter_table('study') as batch:
        for column in ('fidelity_minimum', 'prior_scale', 'margin_quota', 'margin_primary', 'costs'):
            batch.drop_column(column)
