"""submit path: study.questions_version, and only text answers indexed by question

Revision ID: 0004_submit_path
Revises: 0003_response_score
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_submit_path'
down_revision = '0003_response_score'
branch_labels = None
depends_on = None


def upgrade():
    # Each app process caches a study's survey (pages, forms) under this version.
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.add_column(sa.Column('questions_version', sa.Integer(), server_default='0', nullable=False))
    # A full index on answer.question_id cost every submit one random page write per question.
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_question')
        batch_op.create_index('ix_answer_question_text', ['question_id'], unique=False,
                              sqlite_where=sa.text('value_text IS NOT NULL'),
                              postgresql_where=sa.text('value_text IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_question_text')
        batch_op.create_index('ix_answer_question', ['question_id'], unique=False)
    with op.batch_alter_table('study', schema=None) as batch_op:
        batch_op.drop_column('questions_version')
