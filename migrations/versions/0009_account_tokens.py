"""account tokens: one-time set-password links for invitations and password resets

Consultants invite leaders and fellow consultants in the browser, and anyone can reset a forgotten
password by e-mail (issue 14, item 1). Both send a link that sets the account's password once; the
token is stored only as its SHA-256, like survey links, and an account has at most one at a time
(a new link replaces the earlier one). Invited accounts have no usable password until then.

Revision ID: 0009_account_tokens
Revises: 0008_study_member
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_account_tokens'
down_revision = '0008_study_member'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Enum('invite', 'reset', name='purpose', native_enum=False, create_constraint=True,
                                     length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('length(token_hash) = 64', name=op.f('ck_account_token_token_hash_sha256')),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_account_token_expires_after_created')),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_account_token_user_id_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_account_token_token_hash')),
        sa.UniqueConstraint('user_id', name=op.f('uq_account_token_user_id')),
    )


def downgrade():
    op.drop_table('account_token')
