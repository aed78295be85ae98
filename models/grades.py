"""Trial lectures and grades (Annex 1 row 19): the scheme the center keeps, each trainer's
《试讲评分表》 of each trainee, and the class's 《成绩单》 reviewed by the center.

Tables only; the rules are in `app.services.grades`. Rows of a class carry the class's
institution (``org_id``) so that the one scope mechanism applies.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin


class GradeScheme(Model):
    """成绩评定方案, one version: the 试讲评分表's criteria with their weights, the weights of the
    total (试讲 and 笔试), the pass line and the attendance required. A version is never edited:
    the center makes a new one, and a class keeps the version in force when it started.
    ``criteria`` is JSON: a list of {key, label, weight} (weights in percent, summing to 100)."""

    __tablename__ = "grade_scheme"

    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False, unique=True)
    title = Column(String(64), nullable=False)
    criteria = Column(Text, nullable=False)
    scale_max = Column(Integer, nullable=False)  # each criterion and the written test: 0..max
    trial_weight = Column(Integer, nullable=False)  # percent of the total
    written_weight = Column(Integer, nullable=False)  # percent of the total
    pass_line = Column(Integer, nullable=False)  # total at or above it passes
    min_attendance = Column(Integer, nullable=False)  # percent of the class days
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    def __repr__(self):
        return f"{self.title} v{self.version}"


class TrialScore(Model):
    """One trainer's 试讲评分表 of one trainee: a score per criterion and their weighted sum."""

    __tablename__ = "trial_score"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    trainee_id = Column(Integer, ForeignKey("class_trainee.id"), nullable=False, index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)  # the trainer
    scores = Column(Text, nullable=False)  # JSON {criterion key: number}
    total = Column(Float, nullable=False)
    updated_at = Column(DateTime, nullable=False)

    __table_args__ = (UniqueConstraint("trainee_id", "user_id", name="ux_trial_score_trainer"),)


class GradeSheet(ReviewableMixin, Model):
    """成绩单 of one class, submitted by its lead trainer and reviewed by the center. What review
    keeps of a revision is ``entries``: every trainee's line, so a correction (第十条) waits in
    its revision until approved while the lines in force stay in `GradeEntry`."""

    __tablename__ = "grade_sheet"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, unique=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the class's
    # The org of the submitting (lead) trainer's account: where review's submitter step sits.
    submitter_org_id = Column(Integer, ForeignKey("org.id"), nullable=False)
    scheme_id = Column(Integer, ForeignKey("grade_scheme.id"), nullable=False)
    created_at = Column(DateTime, nullable=False)

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    scheme = relationship("GradeScheme", foreign_keys=[scheme_id])
    entry_rows = relationship(
        "GradeEntry",
        cascade="all, delete-orphan",
        order_by="GradeEntry.trainee_id",
        back_populates="sheet",
    )

    def __repr__(self):
        return f"成绩单 {self.training_class.code}" if self.training_class else f"#{self.id}"

    @property
    def entries(self) -> dict:
        """{trainee id (text): its line}: the values a revision holds."""
        return {str(row.trainee_id): row.values() for row in self.entry_rows}

    @entries.setter
    def entries(self, value: dict) -> None:
        value = value or {}
        rows = {str(row.trainee_id): row for row in self.entry_rows}
        for key, row in rows.items():
            if key not in value:
                self.entry_rows.remove(row)
        for key, line in value.items():
            row = rows.get(key)
            if row is None:
                row = GradeEntry(trainee_id=int(key))
                self.entry_rows.append(row)
            row.set_values(line)


class GradeEntry(Model):
    """One trainee's line of the grade sheet in force."""

    __tablename__ = "grade_entry"

    id = Column(Integer, primary_key=True)
    sheet_id = Column(Integer, ForeignKey("grade_sheet.id"), nullable=False, index=True)
    trainee_id = Column(Integer, ForeignKey("class_trainee.id"), nullable=False)
    attendance = Column(Integer, nullable=False, default=0)  # days attended
    attendance_marked = Column(Boolean, nullable=False, default=False)  # by the institution
    trial = Column(Float)  # mean of the trainers' 试讲 scores
    trial_count = Column(Integer, nullable=False, default=0)  # trainers who scored
    written = Column(Float)  # 笔试
    total = Column(Float)
    passed = Column(Boolean)

    sheet = relationship("GradeSheet", back_populates="entry_rows")
    trainee = relationship("ClassTrainee", foreign_keys=[trainee_id])

    __table_args__ = (UniqueConstraint("sheet_id", "trainee_id", name="ux_grade_entry_trainee"),)

    FIELDS = (
        "attendance",
        "attendance_marked",
        "trial",
        "trial_count",
        "written",
        "total",
        "passed",
    )

    def values(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    def set_values(self, line: dict) -> None:
        for name in self.FIELDS:
            setattr(self, name, line.get(name))
