"""After a class (Annex 1 rows 20–21): the lead trainer's 《讲师培训班活动报告》, reviewed by the
center, and the institution's 《培训师授课意见反馈表》 on each trainer of the class.

Tables only; the rules are in `app.services.activity_reports` and
`app.services.trainer_feedback`. Rows carry the class's institution (``org_id``) so that the one
scope mechanism applies.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin


class ActivityReport(ReviewableMixin, Model):
    """讲师培训班活动报告 of one class: opened (a draft with its to-do) when the lead trainer is
    named, submitted by the lead trainer, reviewed by the center. The trainees' performance and
    the evaluation results are not typed: they are computed from the grade sheet and the forms.
    ``teaching`` is JSON: a list of {day, content}, one per class day."""

    __tablename__ = "activity_report"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, unique=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the class's
    # The org of the lead trainer's account: where review's submitter step sits.
    submitter_org_id = Column(Integer, ForeignKey("org.id"), nullable=False)
    lead_user_id = Column(Integer, ForeignKey("ab_user.id"))  # who submits (the lead trainer)
    overview = Column(Text)  # 概况
    teaching = Column(Text)  # 教学内容, per class day (JSON)
    problems = Column(Text)  # 存在的问题
    suggestions = Column(Text)  # 意见建议
    created_at = Column(DateTime, nullable=False)

    training_class = relationship("TrainingClass", foreign_keys=[class_id])

    def __repr__(self):
        return f"活动报告 {self.training_class.code}" if self.training_class else f"#{self.id}"


class TrainerFeedback(Model):
    """培训师授课意见反馈表: the institution's form on one trainer of its class, opened (with its
    to-do) when the trainer is put on the class, submitted once. ``answers`` is JSON
    {question key: value}; ``score`` the mean of its 1–5 scale answers (what the dispatch
    recommendation reads)."""

    __tablename__ = "trainer_feedback"
    __scope__ = ScopeColumns(org="org_id", owner="trainer_user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    trainer_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    questionnaire_id = Column(Integer, ForeignKey("questionnaire.id"), nullable=False)
    answers = Column(Text)
    score = Column(Float)
    created_at = Column(DateTime, nullable=False)
    submitted_at = Column(DateTime, index=True)
    submitted_by_id = Column(Integer, ForeignKey("ab_user.id"))

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    trainer = relationship("MalanUser", foreign_keys=[trainer_user_id])
    questionnaire = relationship("Questionnaire", foreign_keys=[questionnaire_id])

    __table_args__ = (
        UniqueConstraint("class_id", "trainer_user_id", name="ux_trainer_feedback_once"),
    )

    def __repr__(self):
        return f"授课意见反馈 {self.trainer.full_name}" if self.trainer else f"#{self.id}"
