"""Running a class (Annex 1 rows 15–17): its trainers, its trainees, the trainers' needs analyses,
the evaluation questionnaires the center keeps and the trainees' answers.

Tables only; the rules are in `app.services.classroom` (trainers, trainees, accounts, needs
analyses) and `app.services.evaluations` (questionnaires, forms). Rows of a class carry the
class's institution (``org_id``, copied from the class) so that the one scope mechanism applies:
the institution, its city, its province and the center see them; a trainer or a trainee sees the
rows it owns (``user_id``).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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

# Where a class's trainer comes from: the center's direct assignment (until [dispatch]), or a
# confirmed dispatch seat (that module writes the same table through the same service function).
SOURCE_CENTER, SOURCE_DISPATCH = "center", "dispatch"

DAILY, MIDTERM, FINAL = "daily", "midterm", "final"  # 每日意见反馈表, 期中评估表, 结束评估表
FORM_KINDS = (DAILY, MIDTERM, FINAL)
SCALE, SINGLE, MULTIPLE, TEXT = "scale", "single", "multiple", "text"
QUESTION_TYPES = (SCALE, SINGLE, MULTIPLE, TEXT)
DRAFT, SUBMITTED = "draft", "submitted"


class ClassTrainer(Model):
    """A trainer of a class (讲师培训班的培训师): an account and/or a faculty-pool profile."""

    __tablename__ = "class_trainer"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the class's
    user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # the trainer's account
    faculty_id = Column(Integer, ForeignKey("faculty_profile.id"), index=True)
    is_lead = Column(Boolean, nullable=False, default=False)  # 主讲 (submits the grade sheet)
    source = Column(String(16), nullable=False, default=SOURCE_CENTER)
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    user = relationship("MalanUser", foreign_keys=[user_id])
    faculty = relationship("FacultyProfile", foreign_keys=[faculty_id])

    __table_args__ = (
        UniqueConstraint("class_id", "user_id", name="ux_class_trainer_user"),
        UniqueConstraint("class_id", "faculty_id", name="ux_class_trainer_faculty"),
    )

    def __repr__(self):
        if self.user is not None:
            return self.user.full_name
        return self.faculty.name if self.faculty is not None else f"#{self.id}"


class ClassTrainee(Model):
    """参训学员: one person on one class, as the institution imported it, with its account."""

    __tablename__ = "class_trainee"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    name = Column(String(64), nullable=False)
    gender = Column(String(1), nullable=False)  # M / F
    id_number = Column(String(18), nullable=False, index=True)
    mobile = Column(String(20), nullable=False)
    employer = Column(String(128), nullable=False)
    position = Column(String(64))
    city = Column(String(64))  # 所在地市, as written
    years = Column(Integer)  # 从事创业培训年限
    certificates = Column(String(255))  # 已获证书
    added_at = Column(DateTime, nullable=False)
    added_by_id = Column(Integer, ForeignKey("ab_user.id"))
    withdrawn_at = Column(DateTime)
    withdrawn_by_id = Column(Integer, ForeignKey("ab_user.id"))

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    user = relationship("MalanUser", foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("class_id", "id_number", name="ux_class_trainee_person"),)

    def __repr__(self):
        return self.name


class NeedsAnalysis(Model):
    """培训需求分析: one per trainer and class, filled before the start."""

    __tablename__ = "needs_analysis"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    background = Column(Text, nullable=False)  # the trainees' background (drawn from the import)
    needs = Column(Text, nullable=False)
    adjustments = Column(Text, nullable=False)  # adjustments to the teaching plan
    submitted_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    user = relationship("MalanUser", foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("class_id", "user_id", name="ux_needs_analysis"),)


class Questionnaire(Model):
    """One version of an evaluation form. A version is never edited: the center makes a new one,
    and a class keeps the version in force when it started. ``questions`` is JSON: a list of
    {key, type, text, options, required, per_trainer}."""

    __tablename__ = "questionnaire"

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    version = Column(Integer, nullable=False)
    title = Column(String(64), nullable=False)
    questions = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    __table_args__ = (UniqueConstraint("kind", "version", name="ux_questionnaire_version"),)

    def __repr__(self):
        return f"{self.title} v{self.version}"


class EvaluationSubmission(Model):
    """A trainee's form of one kind for one day: a draft, then submitted once. The unique key
    (class, trainee account, kind, day) makes a second submission impossible in the database."""

    __tablename__ = "evaluation_submission"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    trainee_id = Column(Integer, ForeignKey("class_trainee.id"), nullable=False)
    questionnaire_id = Column(Integer, ForeignKey("questionnaire.id"), nullable=False)
    kind = Column(String(16), nullable=False)
    day = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default=DRAFT)
    saved_at = Column(DateTime, nullable=False)
    submitted_at = Column(DateTime)

    questionnaire = relationship("Questionnaire", foreign_keys=[questionnaire_id])

    __table_args__ = (
        UniqueConstraint("class_id", "user_id", "kind", "day", name="ux_evaluation_once"),
        Index("ix_evaluation_class_day", "class_id", "kind", "day"),
    )


class EvaluationAnswer(Model):
    """One answer of a submission; a per-trainer question has one answer per trainer."""

    __tablename__ = "evaluation_answer"

    id = Column(Integer, primary_key=True)
    submission_id = Column(
        Integer, ForeignKey("evaluation_submission.id"), nullable=False, index=True
    )
    question = Column(String(16), nullable=False)  # the question's key in its questionnaire
    trainer_id = Column(Integer, ForeignKey("ab_user.id"))  # per-trainer questions
    score = Column(Integer)  # scale: 1..5
    choice = Column(String(255))  # single: "2"; multiple: "1;3" (1-based option numbers)
    text = Column(Text)
