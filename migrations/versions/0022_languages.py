"""languages: a rep's language and translations of a study's own questions

Revision ID: 0022_languages
Revises: 0021_planning_simulations
Create Date: 2026-12-03

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022_languages'
down_revision = '0021_planning_simulations'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rep') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    op.create_table(
        'question_translation',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('options', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['question_id'], ['question.id'],
                                name=op.f('fk_question_translation_question_id_question'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', 'language', name=op.f('pk_question_translation')),
    )


def downgrade():
    op.drop_table('question_translation')
    with op.batch_alter_table('rep') as batch_op:
        batch_op.drop_column('language')
