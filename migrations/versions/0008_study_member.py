"""study members: who a study's CRM and session figures count, frozen when its first wave has closed

Counted over the roster as it is on the day of reading, two readings of the performance section on
either side of a roster change (one rep leaving, joining or moving team) differed by exactly that
rep: their quota attainment before and after fell out of two means (adversarial review F-C). The
report now freezes the population once, the first time it reads a study with a closed wave, and
counts it for the study's whole life. Studies already past a closed wave are frozen at their next
reading, from the roster as it then is.

Revision ID: 0008_study_member
Revises: 0007_org_names_per_tenant
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_study_member'
down_revision = '0007_org_names_per_tenant'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'study_member',
        sa.Column('study_id', sa.Integer(), nullable=False),
        sa.Column('rep_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=120), nullable=True),
        sa.Column('band', sa.String(length=20), nullable=False),
        sa.Column('coaching_model', sa.Enum('manager', 'peer', 'external', name='coaching_model', native_enum=False,
                                            create_constraint=True, length=20), nullable=False),
        sa.ForeignKeyConstraint(['rep_id'], ['rep.id'], name=op.f('fk_study_member_rep_id_rep'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['study_id'], ['study.id'], name=op.f('fk_study_member_study_id_study'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_study_member_team_id_team'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('study_id', 'rep_id', name=op.f('pk_study_member')),
    )


def downgrade():
    op.drop_table('study_member')
