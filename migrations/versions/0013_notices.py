"""notices: issued documents (the dispatch's 派遣通知书 and 执行任务通知书, later certificates),
the institution's objection and its answer on a dispatch, a withdrawn seat's time

Revision ID: 0013_notices
Revises: 0012_results
Create Date: 2026-12-06 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_notices"
down_revision = "0012_results"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('issued_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('class_id', sa.Integer(), nullable=True),
    sa.Column('seat_id', sa.Integer(), nullable=True),
    sa.Column('subject_code', sa.String(length=64), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('issuer_name', sa.String(length=128), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['training_class.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['issued_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['owner_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['seat_id'], ['dispatch_seat.id'], ),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_document_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_document_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_document_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_document_owner_user_id'), ['owner_user_id'], unique=False)

    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('objection', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('objection_answer', sa.Text(), nullable=True))

    with op.batch_alter_table('dispatch_seat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('dispatch_seat', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')

    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_column('objection_answer')
        batch_op.drop_column('objection')

    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_document_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_issued_document_org_id'))
        batch_op.drop_index(batch_op.f('ix_issued_document_kind'))
        batch_op.drop_index(batch_op.f('ix_issued_document_class_id'))

    op.drop_table('issued_document')
