"""certificates: certificate batches and certificates; a class's closing

Revision ID: 0017_certificates
Revises: 0016_activity_report
Create Date: 2026-12-05 12:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_certificates"
down_revision = "0016_activity_report"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_training_class_closed_by_id_ab_user", "ab_user", ["closed_by_id"], ["id"]
        )
    op.create_table(
        "certificate_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("province_org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("pooled_at", sa.DateTime(), nullable=True),
        sa.Column("pooled_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("in_force_revision", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["training_class.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["province_org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["pooled_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id"),
    )
    with op.batch_alter_table("certificate_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_batch_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_batch_status"), ["status"], unique=False)
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("course_type", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["certificate_batch.id"]),
        sa.ForeignKeyConstraint(["class_id"], ["training_class.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["trainee_id"], ["class_trainee.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["issued_document.id"]),
        sa.ForeignKeyConstraint(["profile_id"], ["faculty_profile.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("trainee_id"),
        sa.UniqueConstraint("document_id"),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        for column in ("batch_id", "class_id", "org_id", "user_id", "profile_id"):
            batch_op.create_index(batch_op.f(f"ix_certificate_{column}"), [column], unique=False)


def downgrade():
    op.drop_table("certificate")
    op.drop_table("certificate_batch")
    with op.batch_alter_table("training_class", schema=None) as batch_op:
        batch_op.drop_constraint("fk_training_class_closed_by_id_ab_user", type_="foreignkey")
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("closed_at")
