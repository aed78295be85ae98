"""Trainer-training plans (讲师培训计划, Annex 1 rows 1–3): rounds, city plans, plan lines."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

COURSE_TYPES = ("GYB", "SYB", "IYB", "EYB")  # course types of the trainer classes


class PlanRound(Model):
    """A plan round opened by the center: a year and the January or June round, with a deadline."""

    __tablename__ = "plan_round"

    id = Column(Integer, primary_key=True)
    year = Column(Integer, nullable=False)
    month = Column(Integer, nullable=False)  # 1 (January round) or 6 (June round)
    deadline = Column(Date, nullable=False)
    notice = Column(Text)
    opened_at = Column(DateTime, nullable=False)
    opened_by_id = Column(Integer, ForeignKey("ab_user.id"))

    __table_args__ = (UniqueConstraint("year", "month", name="ux_plan_round"),)

    def __repr__(self):
        return f"{self.year}年{self.month}月"


class TrainingPlan(ReviewableMixin, Model):
    """A city's plan for one round, reviewed by its province, then the center."""

    __tablename__ = "training_plan"
    __scope__ = ScopeColumns(org="org_id")
    __review_type__ = "plan"
    __review_fields__ = ("contact_name", "contact_phone", "note", "lines_data")
    review_chain_name = "plan"

    id = Column(Integer, primary_key=True)
    round_id = Column(Integer, ForeignKey("plan_round.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the city
    contact_name = Column(String(64))
    contact_phone = Column(String(32))
    note = Column(Text)

    round = relationship("PlanRound")
    org = relationship("Org")
    lines = relationship("PlanLine", back_populates="plan", cascade="all, delete-orphan",
                         order_by="PlanLine.id")

    __table_args__ = (UniqueConstraint("round_id", "org_id", name="ux_plan_round_org"),)

    def __repr__(self):
        return f"{self.round} {self.org.name if self.org else ''}"


class PlanLine(Model):
    """One planned class type of a city plan: how many classes, how many trainees, when, where."""

    __tablename__ = "plan_line"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("training_plan.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # = plan's city
    course_type = Column(String(16), nullable=False)
    classes = Column(Integer, nullable=False)
    trainees_per_class = Column(Integer, nullable=False)
    start_from = Column(Date, nullable=False)
    start_to = Column(Date, nullable=False)
    venue_city_id = Column(Integer, ForeignKey("org.id"))
    contact_name = Column(String(64))
    contact_phone = Column(String(32))

    plan = relationship("TrainingPlan", back_populates="lines")
    venue_city = relationship("Org", foreign_keys=[venue_city_id])

    def __repr__(self):
        return f"{self.course_type} × {self.classes}"
