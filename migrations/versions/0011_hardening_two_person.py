"""hardening: account changes proposed and approved by two administrators (三员分立), the reset
notice, initial passwords and TOTP secrets sealed at rest

Revision ID: 0011_hardening_two_person
Revises: 0010_dispatch
Create Date: 2026-12-06 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from models.sealed import SEALED_LENGTH, seal


# revision identifiers, used by Alembic.
revision = "0011_hardening_two_person"
down_revision = "0010_dispatch"
branch_labels = None
depends_on = None

# (table, column, purpose of its key, length before)
SEALED = (
    ("roster_entry", "initial_password", "roster-initial-password", 64),
    ("ab_user", "totp_secret", "totp-secret", 64),
)


def upgrade():
    op.create_table('account_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=24), nullable=False),
    sa.Column('proposer_kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('role_kind', sa.String(length=16), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('account_org_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('in_force_revision', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['target_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_request_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_request_target_id'), ['target_id'], unique=False)

    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_notice', sa.String(length=300), nullable=True))

    # Widen, then seal what is already there (keyed from this deployment's SECRET_KEY).
    bind = op.get_bind()
    for table, column, purpose, before in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=before),
                type_=sa.String(length=SEALED_LENGTH),
                existing_nullable=True,
            )
        rows = bind.execute(
            sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        for pk, value in rows:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"),
                {"v": seal(value, purpose), "id": pk},
            )


def downgrade():
    # Sealed values cannot go back into 64 characters: pending initial passwords are dropped
    # (reset those accounts) and second factors must be set up again.
    bind = op.get_bind()
    for table, column, _purpose, before in SEALED:
        bind.execute(sa.text(f"UPDATE {table} SET {column} = NULL"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=SEALED_LENGTH),
                type_=sa.String(length=before),
                existing_nullable=True,
            )
    bind.execute(sa.text("UPDATE ab_user SET totp_enabled_at = NULL, totp_last_step = NULL"))
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_column('reset_notice')
    with op.batch_alter_table('account_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_request_target_id'))
        batch_op.drop_index(batch_op.f('ix_account_request_status'))
        batch_op.drop_index(batch_op.f('ix_account_request_org_id'))
    op.drop_table('account_request')
