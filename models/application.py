"""Class applications (开班申请, Annex 1 rows 4–7) and the trainer-training classes they create.

An institution applies at least 14 days before the start (the center may allow a late one, with
a reason). The city either links the application to a line of its approved plan (in-plan) or
marks it additional (计划外, 新增); province and center review; the center's approval creates the
class (讲师培训班). The rules of this kind of record are in `app.services.applications`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    exists,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import object_session, relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

LEAD_DAYS = 14  # an application reaches the city at least 14 days before the class starts
CLASS_CODE_PREFIX = "JS"  # 讲师培训班


class ClassApplication(ReviewableMixin, Model):
    """开班申请: an institution asks for a trainer-training class."""

    __tablename__ = "class_application"
    __scope__ = ScopeColumns(org="org_id")  # the institution

    id = Column(Integer, primary_key=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    course_type = Column(String(32), nullable=False)  # vocabulary_term code (course_type)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    venue = Column(String(255), nullable=False)
    expected_trainees = Column(Integer, nullable=False)
    contact_name = Column(String(64), nullable=False)
    contact_phone = Column(String(32), nullable=False)
    trainer_criteria = Column(Text)  # requested trainer criteria, free text
    # Set by the city at its step: a line of its approved plan, or 计划外 (新增).
    plan_line_id = Column(Integer, ForeignKey("plan_line.id"), index=True)
    is_extra = Column(Boolean, nullable=False, default=False)
    # A late application (< 14 days before the start) allowed by the center, and why.
    late_reason = Column(Text)
    late_allowed_at = Column(DateTime)
    late_allowed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    # The class created on approval. use_alter: the class points back at its application.
    class_id = Column(
        Integer, ForeignKey("training_class.id", use_alter=True, name="fk_class_application_class")
    )

    org = relationship("Org", foreign_keys=[org_id])
    plan_line = relationship("PlanLine", foreign_keys=[plan_line_id])
    training_class = relationship("TrainingClass", foreign_keys=[class_id], post_update=True)

    def __repr__(self):
        who = self.org.name if self.org else ""
        return f"{who} {self.course_type} {self.start_date}".strip()


class _SeatHolder(Comparator):
    """``TrainingClass.seat_holder == user_id``: the user is one of the class's trainers — asked
    for a seat (dispatch) or assigned to it (the class's trainers, `class_trainer`)."""

    def __eq__(self, user_id):
        from .classroom import ClassTrainer  # noqa: PLC0415  (both point back at the class)
        from .dispatch import DispatchSeat  # noqa: PLC0415

        return or_(
            exists().where(
                DispatchSeat.class_id == self.expression, DispatchSeat.trainer_user_id == user_id
            ),
            exists().where(
                ClassTrainer.class_id == self.expression, ClassTrainer.user_id == user_id
            ),
        )


class _Holders(frozenset):
    """A loaded class's seat holders; ``== user_id`` asks membership, as the SQL side does."""

    def __eq__(self, user_id):
        return user_id in self

    __hash__ = frozenset.__hash__


class TrainingClass(Model):
    """讲师培训班: created by the approval of its application; read-only afterwards."""

    __tablename__ = "training_class"
    # The institution that runs it; a trainer sees the classes it was asked to teach (its seat).
    __scope__ = ScopeColumns(org="org_id", owner="seat_holder")

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    application_id = Column(
        Integer, ForeignKey("class_application.id"), nullable=False, unique=True
    )
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    course_type = Column(String(32), nullable=False)  # vocabulary_term code (course_type)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    venue = Column(String(255))
    expected_trainees = Column(Integer)
    plan_line_id = Column(Integer, ForeignKey("plan_line.id"), index=True)
    is_extra = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)
    # 已结班: its qualified lecturers are in the faculty pool (row 23); read-only from then on
    # (`app.services.closed_class`).
    closed_at = Column(DateTime)
    closed_by_id = Column(Integer, ForeignKey("ab_user.id"))

    application = relationship("ClassApplication", foreign_keys=[application_id])
    org = relationship("Org", foreign_keys=[org_id])
    plan_line = relationship("PlanLine", foreign_keys=[plan_line_id])

    def __repr__(self):
        return self.code

    @hybrid_property
    def seat_holder(self):
        from .classroom import ClassTrainer  # noqa: PLC0415
        from .dispatch import DispatchSeat  # noqa: PLC0415

        session = object_session(self)
        seats = select(DispatchSeat.trainer_user_id).where(DispatchSeat.class_id == self.id)
        assigned = select(ClassTrainer.user_id).where(ClassTrainer.class_id == self.id)
        return _Holders([*session.scalars(seats), *session.scalars(assigned)])

    @seat_holder.comparator
    def seat_holder(cls):
        return _SeatHolder(cls.id)
