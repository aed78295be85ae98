"""course types as long as the vocabulary's codes: plan lines, class applications, classes

Revision ID: 0005_course_type_length
Revises: 0004_libraries
Create Date: 2026-11-29 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_course_type_length"
down_revision = '0004_libraries'
branch_labels = None
depends_on = None

# Course types come from the center's vocabulary (vocabulary_term.code, String(32)); the plan and
# class tables held the fixed list's codes in String(16).
TABLES = ('plan_line', 'class_application', 'training_class')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('course_type',
                   existing_type=sa.String(length=16),
                   type_=sa.String(length=32),
                   existing_nullable=False)


def downgrade():
    # Refused by PostgreSQL if a code longer than 16 characters is stored: shorten it first.
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('course_type',
                   existing_type=sa.String(length=32),
                   type_=sa.String(length=16),
                   existing_nullable=False)
