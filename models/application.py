"""Class applications (开班申请, Annex 1 rows 4–7) and the trainer-training classes they create.

An institution applies at least 14 days before the start (the center may allow a late one, with
a reason). The city either links the application to a line of its approved plan (in-plan) or
marks it additional (计划外, 新增); province and center review; the center's approval creates the
class (讲师培训班). The review itself is `app.services.review`; the rules of this kind of record
live here, as functions the views and tests call.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import relationship

from app.extensions import db
from app.services import fields

from .base import Model, ScopeColumns
from .org import Org
from .plan import CONTACT_FIELDS, PlanLine, TrainingPlan
from .review import REJECTED, ReviewableMixin
from .vocabulary import COURSE_TYPE, check_code

LEAD_DAYS = 14  # an application reaches the city at least 14 days before the class starts
CLASS_CODE_PREFIX = "JS"  # 讲师培训班


class ClassApplication(ReviewableMixin, Model):
    """开班申请: an institution asks for a trainer-training class."""

    __tablename__ = "class_application"
    __scope__ = ScopeColumns(org="org_id")  # the institution
    __review_type__ = "application"
    __review_fields__ = (
        "course_type",
        "start_date",
        "end_date",
        "venue",
        "expected_trainees",
        "contact_name",
        "contact_phone",
        "trainer_criteria",
        "plan_line_id",
        "is_extra",
    )

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

    @property
    def review_chain_name(self) -> str:
        return "application_extra" if self.is_extra else "application_in_plan"

    def __repr__(self):
        who = self.org.name if self.org else ""
        return f"{who} {self.course_type} {self.start_date}".strip()

    def on_approved(self, actor, now: datetime) -> None:
        """The center's approval: recount the line under lock, then create the class (an
        approved correction, 第十条, updates the class it created before)."""
        if self.plan_line_id is not None:
            check_capacity(self, lock_line(self.plan_line_id))
        if self.training_class is None:
            self.training_class = create_class(self, now)
        else:
            copy_to_class(self, self.training_class)


class TrainingClass(Model):
    """讲师培训班: created by the approval of its application; read-only afterwards."""

    __tablename__ = "training_class"
    __scope__ = ScopeColumns(org="org_id")  # the institution that runs it

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

    application = relationship("ClassApplication", foreign_keys=[application_id])
    org = relationship("Org", foreign_keys=[org_id])
    plan_line = relationship("PlanLine", foreign_keys=[plan_line_id])

    def __repr__(self):
        return self.code


# ---------------------------------------------------------------- rules


def check_dates(app: ClassApplication, today: date) -> None:
    """Bad dates are refused whenever the application is saved or submitted."""
    held = ()  # a retired type stays valid on the application that holds it (resubmitted, corrected)
    if app.id is not None:
        with db.session.no_autoflush:
            held = (
                db.session.scalar(
                    select(ClassApplication.course_type).where(ClassApplication.id == app.id)
                ),
            )
    types = check_code(db.session, COURSE_TYPE, app.course_type, held)
    if types:
        raise ValueError(_("Course type: choose one of %(types)s.", types=", ".join(types)))
    app.contact_phone = fields.validate(
        CONTACT_FIELDS, {"contact_phone": app.contact_phone}, ValueError
    )["contact_phone"]
    if app.start_date is None or app.end_date is None:
        raise ValueError(_("Start date and end date are required."))
    if app.start_date < today:
        raise ValueError(_("Start date %(date)s is in the past.", date=app.start_date.isoformat()))
    if app.end_date < app.start_date:
        raise ValueError(
            _(
                "End date %(end)s is before the start date %(start)s.",
                end=app.end_date.isoformat(),
                start=app.start_date.isoformat(),
            )
        )
    if app.expected_trainees is None or app.expected_trainees < 1:
        raise ValueError(_("Expected trainees must be at least 1."))


def check_lead_time(app: ClassApplication, today: date) -> None:
    """The 14-day rule, unless the center allowed this application to be late."""
    check_dates(app, today)
    latest = app.start_date - timedelta(days=LEAD_DAYS)
    if today > latest and not app.late_reason:
        raise ValueError(
            _(
                "Start date %(start)s is less than %(days)d days away: the application had to be "
                "submitted by %(latest)s. Only the center can allow a late application.",
                start=app.start_date.isoformat(),
                days=LEAD_DAYS,
                latest=latest.isoformat(),
            )
        )


def allow_late(app: ClassApplication, actor, reason: str, now: datetime) -> None:
    """The center lets a late application be submitted; the reason is kept on the record."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError(_("Give the reason for allowing a late application."))
    if app.status not in ("draft", "returned"):
        raise ValueError(_("Only an application not yet submitted can be allowed late."))
    app.late_reason = reason[:2000]
    app.late_allowed_at, app.late_allowed_by_id = now, actor.id


def lock_line(line_id: int) -> PlanLine | None:
    """The plan line, locked until commit (PostgreSQL): two approvals filling the last place of a
    line serialise here and the second one recounts after the first committed."""
    return db.session.scalar(
        select(PlanLine)
        .where(PlanLine.id == line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def used_classes(line: PlanLine, exclude_id: int | None = None) -> int:
    """Applications holding a place on the line: linked and not rejected."""
    query = select(func.count(ClassApplication.id)).where(
        ClassApplication.plan_line_id == line.id, ClassApplication.status != REJECTED
    )
    if exclude_id is not None:
        query = query.where(ClassApplication.id != exclude_id)
    return db.session.scalar(query)


def check_capacity(app: ClassApplication, line: PlanLine | None) -> None:
    if line is None:
        raise ValueError(_("Plan line: the selected line does not exist."))
    if used_classes(line, exclude_id=app.id) >= line.classes:
        raise ValueError(
            _(
                "Plan line %(line)s: no classes left (%(n)d planned, all taken).",
                line=str(line),
                n=line.classes,
            )
        )


def city_of(app: ClassApplication) -> int | None:
    org = db.session.get(Org, app.org_id)
    return org.city_id if org else None


def lines_for(app: ClassApplication) -> list[tuple[PlanLine, int]]:
    """Lines of the city's approved plans for this course type, with the classes left on each."""
    lines = db.session.scalars(
        select(PlanLine)
        .join(TrainingPlan, PlanLine.plan_id == TrainingPlan.id)
        .where(
            PlanLine.org_id == city_of(app),
            TrainingPlan.org_id == city_of(app),
            TrainingPlan.in_force_revision.is_not(None),
            PlanLine.course_type == app.course_type,
        )
        .order_by(PlanLine.start_from, PlanLine.id)
    )
    return [(line, line.classes - used_classes(line, exclude_id=app.id)) for line in lines]


def apply_city_choice(app: ClassApplication, line_id, extra: bool) -> None:
    """The city's step: link a line of its own approved plan (capacity and course type checked
    under lock), or mark the application additional (计划外) for the province."""
    if extra:
        app.is_extra, app.plan_line_id = True, None
        return
    if line_id in (None, ""):
        raise ValueError(
            _(
                "Plan line: choose a line of your approved plan, or mark the "
                "application as additional (out of plan)."
            )
        )
    try:
        line = lock_line(int(line_id))
    except (TypeError, ValueError):
        line = None
    if line is None:
        raise ValueError(_("Plan line: the selected line does not exist."))
    plan = db.session.get(TrainingPlan, line.plan_id)
    if line.org_id != city_of(app) or plan.org_id != city_of(app):
        raise ValueError(_("Plan line: this line belongs to another city's plan."))
    if plan.in_force_revision is None:
        raise ValueError(_("Plan line: the plan of this line is not approved."))
    if line.course_type != app.course_type:
        raise ValueError(
            _(
                "Plan line: the line is for %(line)s, the application for %(app)s.",
                line=line.course_type,
                app=app.course_type,
            )
        )
    check_capacity(app, line)
    app.is_extra, app.plan_line_id = False, line.id


def next_class_code(app: ClassApplication) -> str:
    """JS + year + the province's two-digit GB/T 2260 code + a 4-digit sequence."""
    org = db.session.get(Org, app.org_id)
    province = db.session.get(Org, org.province_id)
    # Serialise code allocation per province (PostgreSQL row lock; SQLite has one writer).
    db.session.execute(select(Org.id).where(Org.id == province.id).with_for_update())
    prefix = f"{CLASS_CODE_PREFIX}{app.start_date.year}{province.code[:2]}"
    last = db.session.scalar(
        select(func.max(TrainingClass.code)).where(TrainingClass.code.like(f"{prefix}%"))
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


def copy_to_class(app: ClassApplication, klass: TrainingClass) -> None:
    for field in (
        "course_type",
        "start_date",
        "end_date",
        "venue",
        "expected_trainees",
        "plan_line_id",
    ):
        setattr(klass, field, getattr(app, field))
    klass.is_extra = bool(app.is_extra)


def create_class(app: ClassApplication, now: datetime) -> TrainingClass:
    klass = TrainingClass(
        code=next_class_code(app), application_id=app.id, org_id=app.org_id, created_at=now
    )
    copy_to_class(app, klass)
    db.session.add(klass)
    db.session.flush()
    return klass
