"""audit chain: each audit entry hashes its content and the previous entry's hash

Revision ID: 0009_audit_chain
Revises: 0008_classroom
Create Date: 2026-12-01 10:00:00

Entries written before this migration stay unchained (NULL hashes); `flask malan audit-verify`
counts them apart and the chain starts after them. PostgreSQL also refuses TRUNCATE of the log,
even to its owner.
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_audit_chain"
down_revision = "0008_classroom"
branch_labels = None
depends_on = None

GENESIS = "0" * 64

NO_TRUNCATE = """
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(chain, [{"id": 1, "head_hash": GENESIS}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NO_TRUNCATE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
