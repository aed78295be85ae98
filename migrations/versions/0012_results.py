"""results: reminders to trainees who have not filled in a form, and responses to a class day's
feedback (Annex 1 row 18)

Revision ID: 0012_results
Revises: 0011_hardening_two_person
Create Date: 2026-12-05 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_results"
down_revision = "0011_hardening_two_person"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('times', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['sent_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id', 'user_id', 'kind', 'day', name='ux_evaluation_reminder')
    )
    with op.batch_alter_table('evaluation_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_reminder_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_reminder_user_id'), ['user_id'], unique=False)

    op.create_table('evaluation_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_role', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evaluation_response', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_response_class_day', ['class_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_response_org_id'), ['org_id'], unique=False)


def downgrade():
    with op.batch_alter_table('evaluation_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_response_org_id'))
        batch_op.drop_index('ix_evaluation_response_class_day')

    op.drop_table('evaluation_response')
    with op.batch_alter_table('evaluation_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_reminder_user_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_reminder_org_id'))

    op.drop_table('evaluation_reminder')
