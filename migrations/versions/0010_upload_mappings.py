"""upload mappings: the column mapping an organisation last used for each kind of import

A file whose headers are not ours is mapped on screen; the mapping was forgotten once the import
ran, so the same CRM export had to be mapped again every month (ux review D17). It is now kept per
organisation and kind (roster, performance, sessions) and pre-selected on the next mapping page.

Revision ID: 0010_upload_mappings
Revises: 0009_account_tokens
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_upload_mappings'
down_revision = '0009_account_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'upload_mapping',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('mapping_json', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('roster', 'performance', 'sessions')", name=op.f('ck_upload_mapping_kind_known')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'],
                                name=op.f('fk_upload_mapping_organisation_id_organisation'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organisation_id', 'kind', name=op.f('pk_upload_mapping')),
    )


def downgrade():
    op.drop_table('upload_mapping')
