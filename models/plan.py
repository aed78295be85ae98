"""Trainer-training plans (讲师培训计划, Annex 1 rows 1–3): rounds, city plans, plan lines.

The rules of this kind of record are in `app.services.plans`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

ROUND_MONTHS = (1, 6)  # the January and June rounds
# What a plan line holds, as snapshotted in a revision (`TrainingPlan.lines_data`).
LINE_FIELDS = (
    "course_type",
    "classes",
    "trainees_per_class",
    "start_from",
    "start_to",
    "venue_city_id",
    "contact_name",
    "contact_phone",
)
_DATE_FIELDS = ("start_from", "start_to")


class PlanRound(Model):
    """A plan round opened by the center: a year and the January or June round, with a deadline."""

    __tablename__ = "plan_round"
    # Not reviewed itself: these name the cities' "submit your plan" to-do items (ROUND_TASK).

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

    id = Column(Integer, primary_key=True)
    round_id = Column(Integer, ForeignKey("plan_round.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the city
    contact_name = Column(String(64))
    contact_phone = Column(String(32))
    note = Column(Text)

    round = relationship("PlanRound")
    org = relationship("Org")
    lines = relationship(
        "PlanLine", back_populates="plan", cascade="all, delete-orphan", order_by="PlanLine.id"
    )

    __table_args__ = (UniqueConstraint("round_id", "org_id", name="ux_plan_round_org"),)

    def __repr__(self):
        return f"{self.round} {self.org.name if self.org else ''}"

    @property
    def total_classes(self) -> int:
        return sum(line.classes or 0 for line in self.lines)

    @property
    def total_trainees(self) -> int:
        return sum(line.trainees for line in self.lines)

    @property
    def lines_data(self) -> list[dict]:
        """The lines as plain values (with their ids), so that a revision covers them too."""
        return [line.as_dict() for line in self.lines]

    @lines_data.setter
    def lines_data(self, values: list[dict]) -> None:
        """Apply a snapshot: lines are updated by id, new ones (no id) added, missing ones removed."""
        by_id = {line.id: line for line in self.lines if line.id is not None}
        keep = []
        for data in values or []:
            line = by_id.get(data.get("id")) or PlanLine(org_id=self.org_id)
            line.apply(data)
            keep.append(line)
        self.lines = keep


class PlanLine(Model):
    """One planned class type of a city plan: how many classes, how many trainees, when, where."""

    __tablename__ = "plan_line"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("training_plan.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # = plan's city
    course_type = Column(String(32), nullable=False)  # vocabulary_term code (course_type)
    classes = Column(Integer, nullable=False)
    trainees_per_class = Column(Integer, nullable=False)
    start_from = Column(Date, nullable=False)
    start_to = Column(Date, nullable=False)
    venue_city_id = Column(Integer, ForeignKey("org.id"))
    contact_name = Column(String(64))
    contact_phone = Column(String(32))

    plan = relationship("TrainingPlan", back_populates="lines")
    # viewonly: the venue is another city of the province, outside a city's own scope; it is
    # checked by `check_line`, not by the scope's related-row rule.
    venue_city = relationship("Org", foreign_keys=[venue_city_id], viewonly=True)

    def __repr__(self):
        return f"{self.course_type} × {self.classes}"

    @property
    def trainees(self) -> int:
        return (self.classes or 0) * (self.trainees_per_class or 0)

    def as_dict(self) -> dict:
        data = {"id": self.id}
        for field in LINE_FIELDS:
            value = getattr(self, field)
            data[field] = value.isoformat() if isinstance(value, date) else value
        return data

    def apply(self, data: dict) -> None:
        for field in LINE_FIELDS:
            value = data.get(field)
            if field in _DATE_FIELDS and isinstance(value, str):
                value = date.fromisoformat(value)
            setattr(self, field, value)
