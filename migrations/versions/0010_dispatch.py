"""dispatch: availability, a class's dispatch and candidates, seats, bookings, history; to-do
items assigned to one user

Revision ID: 0010_dispatch
Revises: 0009_audit_chain
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_dispatch"
down_revision = "0009_audit_chain"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('availability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['faculty_profile.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('profile_id', 'day', name='ux_availability_day')
    )
    op.create_table('dispatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('wanted', sa.Integer(), nullable=False),
    sa.Column('course_type', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=True),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('min_taught', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=1), nullable=True),
    sa.Column('named_profile_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['named_profile_id'], ['faculty_profile.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id')
    )
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_status'), ['status'], unique=False)

    op.create_table('dispatch_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], ),
    sa.ForeignKeyConstraint(['profile_id'], ['faculty_profile.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dispatch_id', 'profile_id', name='ux_dispatch_candidate')
    )
    op.create_table('dispatch_seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('trainer_user_id', sa.Integer(), nullable=False),
    sa.Column('lead', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['profile_id'], ['faculty_profile.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['trainer_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id', 'profile_id', name='ux_dispatch_seat')
    )
    with op.batch_alter_table('dispatch_seat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_seat_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_seat_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_seat_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_seat_trainer_user_id'), ['trainer_user_id'], unique=False)

    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seat_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['profile_id'], ['faculty_profile.id'], ),
    sa.ForeignKeyConstraint(['seat_id'], ['dispatch_seat.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('profile_id', 'day', name='ux_booking_day')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_seat_id'), ['seat_id'], unique=False)

    op.create_table('dispatch_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=False),
    sa.Column('seat_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=128), nullable=True),
    sa.Column('org_name', sa.String(length=128), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], ),
    sa.ForeignKeyConstraint(['seat_id'], ['dispatch_seat.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dispatch_event', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_event_dispatch', ['dispatch_id', 'at'], unique=False)

    # A to-do item for one user only (a trainer's request), not for every user of its org.
    with op.batch_alter_table('review_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_review_task_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key('fk_review_task_assignee', 'ab_user', ['assignee_id'], ['id'])


def downgrade():
    with op.batch_alter_table('review_task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_review_task_assignee', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_review_task_assignee_id'))
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('dispatch_event', schema=None) as batch_op:
        batch_op.drop_index('ix_dispatch_event_dispatch')
    op.drop_table('dispatch_event')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_seat_id'))
    op.drop_table('booking')
    with op.batch_alter_table('dispatch_seat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_seat_trainer_user_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_seat_profile_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_seat_org_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_seat_dispatch_id'))
    op.drop_table('dispatch_seat')
    op.drop_table('dispatch_candidate')
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_status'))
        batch_op.drop_index(batch_op.f('ix_dispatch_org_id'))
    op.drop_table('dispatch')
    op.drop_table('availability')
