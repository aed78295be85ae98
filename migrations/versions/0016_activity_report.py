"""after class: activity reports, the institution's feedback on the trainers

Revision ID: 0016_activity_report
Revises: 0015_recommendation_run
Create Date: 2026-12-05 12:40:00

"""

import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_activity_report"
down_revision = "0015_recommendation_run"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "activity_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("submitter_org_id", sa.Integer(), nullable=False),
        sa.Column("lead_user_id", sa.Integer(), nullable=True),
        sa.Column("overview", sa.Text(), nullable=True),
        sa.Column("teaching", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=True),
        sa.Column("suggestions", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("in_force_revision", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["training_class.id"]),
        sa.ForeignKeyConstraint(["lead_user_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["submitter_org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id"),
    )
    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_report_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_activity_report_status"), ["status"], unique=False)

    op.create_table(
        "trainer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trainer_user_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["training_class.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.ForeignKeyConstraint(["questionnaire_id"], ["questionnaire.id"]),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["trainer_user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "trainer_user_id", name="ux_trainer_feedback_once"),
    )
    with op.batch_alter_table("trainer_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainer_feedback_class_id"), ["class_id"])
        batch_op.create_index(batch_op.f("ix_trainer_feedback_org_id"), ["org_id"])
        batch_op.create_index(batch_op.f("ix_trainer_feedback_submitted_at"), ["submitted_at"])
        batch_op.create_index(
            batch_op.f("ix_trainer_feedback_trainer_user_id"), ["trainer_user_id"]
        )
    _seed_questionnaire()


SATISFACTION = ["很不满意", "不满意", "一般", "满意", "很满意"]
# A snapshot of app.services.trainer_feedback.DEFAULT_QUESTIONS (version 1).
QUESTIONS = [
    ("scale", "教学准备与课程设计"),
    ("scale", "授课内容的专业性与实用性"),
    ("scale", "授课方法与课堂互动"),
    ("scale", "遵守培训纪律与时间安排"),
    ("scale", "总体评价"),
    ("text", "主要优点"),
    ("text", "意见和改进建议"),
]


def _seed_questionnaire():
    table = sa.table(
        "questionnaire",
        sa.column("kind", sa.String),
        sa.column("version", sa.Integer),
        sa.column("title", sa.String),
        sa.column("questions", sa.Text),
        sa.column("created_at", sa.DateTime),
    )
    items = [
        {
            "key": f"q{n}",
            "type": qtype,
            "required": qtype == "scale",
            "per_trainer": False,
            "text": text,
            "options": SATISFACTION if qtype == "scale" else [],
        }
        for n, (qtype, text) in enumerate(QUESTIONS, 1)
    ]
    op.bulk_insert(
        table,
        [
            {
                "kind": "trainer_feedback",
                "version": 1,
                "title": "培训师授课意见反馈表",
                "questions": json.dumps(items, ensure_ascii=False),
                "created_at": datetime(2020, 1, 1),
            }
        ],
    )


def downgrade():
    op.execute("DELETE FROM questionnaire WHERE kind = 'trainer_feedback'")
    with op.batch_alter_table("trainer_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainer_feedback_trainer_user_id"))
        batch_op.drop_index(batch_op.f("ix_trainer_feedback_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_trainer_feedback_org_id"))
        batch_op.drop_index(batch_op.f("ix_trainer_feedback_class_id"))
    op.drop_table("trainer_feedback")
    with op.batch_alter_table("activity_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_report_status"))
        batch_op.drop_index(batch_op.f("ix_activity_report_org_id"))
    op.drop_table("activity_report")
