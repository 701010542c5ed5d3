"""organisation names per tenant: the same name may belong to organisations of different consultants

A name unique across all tenants answered "already exists" to a consultant who tried another tenant's
client, so names could be probed (security review F15). A name is now unique only among the
organisations one consultant belongs to, which the application checks when it creates one; the
command line's ``--org`` takes a name or an id and refuses a name that several organisations share.

Revision ID: 0007_org_names_per_tenant
Revises: 0006_frozen_cells
Create Date: 2026-12-01

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_org_names_per_tenant'
down_revision = '0006_frozen_cells'
branch_labels = None
depends_on = None


def upgrade():
    # On SQLite this copies the table (batch mode); env.py turns foreign keys off around it.
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint('uq_organisation_name', type_='unique')


def downgrade():
    # Fails, and changes nothing, if two organisations now share a name: rename one first.
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_organisation_name', ['name'])
