"""reminders: a schedule of e-mail reminders per wave, and the consultant's note in its e-mails

- ``wave.note``: the consultant's words (at most 1,000 characters) in the wave's invitations and reminders.
- ``wave_reminder``: a wave's scheduled reminders, each ``days`` after the wave opens or ``days`` before it
  closes (the form offers "N days after opening" and "the day before closing"); ``ran_at`` is set when the
  periodic task takes one, so it runs once.

Revision ID: 0015_reminders
Revises: 0014_send_jobs
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_reminders'
down_revision = '0014_send_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
    op.create_table(
        'wave_reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('after_opening', 'before_closing', name='kind', native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('ran_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint('days >= 1', name=op.f('ck_wave_reminder_days_positive')),
        sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_wave_reminder_wave_id_wave'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wave_reminder')),
        sa.UniqueConstraint('wave_id', 'kind', 'days', name=op.f('uq_wave_reminder_wave_id_kind_days')),
    )
    op.create_index(op.f('ix_wave_reminder_wave_id'), 'wave_reminder', ['wave_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_wave_reminder_wave_id'), table_name='wave_reminder')
    op.drop_table('wave_reminder')
    with op.batch_alter_table('wave', schema=None) as batch_op:
        batch_op.drop_column('note')
