"""Watching and answering the evaluation forms (Annex 1 row 18): the reminders the institution
and the class's trainers send to a trainee who has not responded, and their responses to a class
day's feedback, which the class's trainees read.

Tables only; the rules are in `app.services.evaluation_results`. Both carry the class's
institution (``org_id``) so that the one scope mechanism applies; a reminder is also owned by
the trainee it is for (``user_id``).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns


class EvaluationReminder(Model):
    """催填提醒: one per trainee, form and day; sending it again moves ``sent_at`` and counts.
    It shows at the top of the trainee's home page while that form is open and not submitted,
    so submitting the form is what makes it disappear (nothing is deleted)."""

    __tablename__ = "evaluation_reminder"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)  # trainee
    kind = Column(String(16), nullable=False)
    day = Column(Date, nullable=False)
    times = Column(Integer, nullable=False, default=1)
    sent_at = Column(DateTime, nullable=False)
    sent_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)

    sent_by = relationship("MalanUser", foreign_keys=[sent_by_id])

    __table_args__ = (
        UniqueConstraint("class_id", "user_id", "kind", "day", name="ux_evaluation_reminder"),
    )


class EvaluationResponse(Model):
    """对反馈的回复: the institution's or a trainer's answer to one class day's feedback."""

    __tablename__ = "evaluation_response"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    day = Column(Date, nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    author_role = Column(String(16), nullable=False)  # institution / trainer, when written
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)

    author = relationship("MalanUser", foreign_keys=[author_id])

    __table_args__ = (Index("ix_evaluation_response_class_day", "class_id", "day"),)
