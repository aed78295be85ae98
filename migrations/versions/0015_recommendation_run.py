"""recommendation_run, calendar_change: the stored recommendation and its staleness check

Revision ID: 0015_recommendation_run
Revises: 0014_grades
Create Date: 2026-12-05 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_recommendation_run"
down_revision = "0014_grades"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recommendation_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('ranked', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.Column('seen_change_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['computed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recommendation_run', schema=None) as batch_op:
        batch_op.create_index('ix_recommendation_run_dispatch', ['dispatch_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recommendation_run_org_id'), ['org_id'], unique=False)

    op.create_table('calendar_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['faculty_profile.id'], ),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('calendar_change')
    with op.batch_alter_table('recommendation_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_run_org_id'))
        batch_op.drop_index('ix_recommendation_run_dispatch')
    op.drop_table('recommendation_run')
