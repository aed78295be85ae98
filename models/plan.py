"""Trainer-training plans (讲师培训计划, Annex 1 rows 1–3): rounds, city plans, plan lines.

The rules of this kind of record live here as functions taking ``today``/``now`` (time is a
parameter); views and tests call them. Messages name the field they are about.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import relationship

from app.labels import N_
from app.services import fields

from .base import Model, ScopeColumns
from .org import CITY, Org
from .review import ReviewableMixin, ReviewTask
from .vocabulary import COURSE_TYPE, check_code

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
CONTACT_FIELDS = (fields.Field("contact_phone", _l("Contact phone"), fields.telephone),)
ROUND_TASK = "plan_round"  # = PlanRound.__review_type__; ReviewTask.record_type of a city's "submit your plan" to-do item
SUBMITTER_STEP = -1  # as in app.services.review: a task waiting for the submitter, not a reviewer


class PlanRound(Model):
    """A plan round opened by the center: a year and the January or June round, with a deadline."""

    __tablename__ = "plan_round"
    # Not reviewed itself: these name the cities' "submit your plan" to-do items (ROUND_TASK).
    __review_type__ = "plan_round"
    __review_label__ = _l("Plan round")

    def todo_label(self, task) -> str:
        """A city's to-do item for an open round (an English msgid, translated by the list)."""
        return N_("Submit your city's plan for this round")

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


# ---------------------------------------------------------------- rules


def check_round(round_: PlanRound, today: date, session) -> None:
    """A round is a year, January or June, once; its deadline lies in the future."""
    if round_.year is None or not today.year - 1 <= round_.year <= today.year + 5:
        raise ValueError(
            _(
                "Year: enter a year between %(low)d and %(high)d.",
                low=today.year - 1,
                high=today.year + 5,
            )
        )
    if round_.month not in ROUND_MONTHS:
        raise ValueError(_("Round: choose the January or the June round."))
    if round_.deadline is None or round_.deadline <= today:
        raise ValueError(
            _("Deadline: choose a date after today (%(today)s).", today=today.isoformat())
        )
    with session.no_autoflush:
        taken = (
            session.query(PlanRound.id)
            .filter(
                PlanRound.year == round_.year,
                PlanRound.month == round_.month,
                PlanRound.id != (round_.id or 0),
            )
            .first()
        )
    if taken:
        raise ValueError(
            _(
                "Round: the %(year)d round of month %(month)d is already open.",
                year=round_.year,
                month=round_.month,
            )
        )


def check_line(data: dict, city: Org, today: date, session) -> None:
    """One plan line (as values): refused with a message naming the field."""
    held = ()  # a retired type stays valid on the line that holds it (corrections too)
    if data.get("id"):
        with session.no_autoflush:
            held = (session.scalar(select(PlanLine.course_type).where(PlanLine.id == data["id"])),)
    types = check_code(session, COURSE_TYPE, data.get("course_type"), held)
    if types:
        raise ValueError(_("Course type: choose one of %(types)s.", types=", ".join(types)))
    fields.validate(CONTACT_FIELDS, {"contact_phone": data.get("contact_phone")}, ValueError)
    if not isinstance(data.get("classes"), int) or data["classes"] < 1:
        raise ValueError(_("Number of classes must be at least 1."))
    if not isinstance(data.get("trainees_per_class"), int) or data["trainees_per_class"] < 1:
        raise ValueError(_("Trainees per class must be at least 1."))
    start_from, start_to = (_as_date(data.get(f)) for f in _DATE_FIELDS)
    if start_from is None or start_to is None:
        raise ValueError(_("Expected start window: both dates are required."))
    if start_from < today:
        raise ValueError(_("Earliest start %(date)s is in the past.", date=start_from.isoformat()))
    if start_to < start_from:
        raise ValueError(
            _(
                "Latest start %(end)s is before the earliest start %(start)s.",
                end=start_to.isoformat(),
                start=start_from.isoformat(),
            )
        )
    venue = session.get(Org, data["venue_city_id"]) if data.get("venue_city_id") else None
    if venue is None or venue.kind != CITY or venue.province_id != city.province_id:
        raise ValueError(_("Venue city: choose a city of your own province."))


def check_contact(plan: TrainingPlan) -> None:
    """The plan's contact phone (a mobile or a landline), normalised in place."""
    plan.contact_phone = fields.validate(
        CONTACT_FIELDS, {"contact_phone": plan.contact_phone}, ValueError
    )["contact_phone"]


def check_plan_lines(plan: TrainingPlan, lines: list[dict], today: date, session) -> None:
    """Before submitting: at least one line, every line valid."""
    if not lines:
        raise ValueError(_("Plan lines: a plan needs at least one line."))
    city = session.get(Org, plan.org_id)
    for number, data in enumerate(lines, start=1):
        try:
            check_line(data, city, today, session)
        except ValueError as exc:
            raise ValueError(_("Plan line %(n)d: %(error)s", n=number, error=str(exc))) from None


def check_new_plan(plan: TrainingPlan, city: Org | None, session) -> None:
    """One plan per city per round, entered by the city itself."""
    if city is None or city.kind != CITY:
        raise ValueError(_("Plans are entered by a city authority."))
    if plan.round_id is None and plan.round is None:
        raise ValueError(_("Plan round: choose the round."))
    round_id = plan.round_id or plan.round.id
    with session.no_autoflush:
        taken = (
            session.query(TrainingPlan.id)
            .filter(TrainingPlan.round_id == round_id, TrainingPlan.org_id == city.id)
            .first()
        )
    if taken:
        raise ValueError(_("Plan round: your city already has a plan for this round."))


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value


# ---------------------------------------------------------------- the cities' to-do items


def open_round_tasks(round_: PlanRound, session, now: datetime) -> int:
    """Opening a round puts "submit your plan" into every active city's to-do list, due at the
    end of the deadline day (Annex 1 row 1: the round's notice sets the deadline)."""
    due = datetime.combine(round_.deadline, time(23, 59, 59))
    cities = session.query(Org.id).filter(Org.kind == CITY, Org.active.is_(True)).all()
    session.add_all(
        ReviewTask(
            record_type=ROUND_TASK,
            record_id=round_.id,
            revision=1,
            step=SUBMITTER_STEP,
            level=CITY,
            reviewer_org_id=city_id,
            entered_at=now,
            due_at=due,
        )
        for (city_id,) in cities
    )
    return len(cities)


def move_round_deadline(round_: PlanRound, session) -> None:
    """A changed deadline moves the open to-do items with it."""
    due = datetime.combine(round_.deadline, time(23, 59, 59))
    session.query(ReviewTask).filter(
        ReviewTask.record_type == ROUND_TASK,
        ReviewTask.record_id == round_.id,
        ReviewTask.done_at.is_(None),
    ).update({"due_at": due}, synchronize_session=False)


def close_round_task(plan: TrainingPlan, actor, session, now: datetime) -> None:
    """The city submitted its plan for the round: its to-do item is done."""
    session.query(ReviewTask).filter(
        ReviewTask.record_type == ROUND_TASK,
        ReviewTask.record_id == plan.round_id,
        ReviewTask.reviewer_org_id == plan.org_id,
        ReviewTask.done_at.is_(None),
    ).update(
        {"done_at": now, "decision": "submit", "done_by_id": actor.id}, synchronize_session=False
    )
