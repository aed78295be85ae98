"""Class applications (开班申请, Annex 1 rows 4–7): what review needs of them. The city's step
carries its choice (a line of its approved plan, or 计划外); the center's approval creates the
class (讲师培训班), or updates it after an approved correction (第十条)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app import audit
from app.extensions import db
from app.services import classroom, fields, review
from app.services.errors import Conflict, InvalidValue
from models.application import (
    CLASS_CODE_PREFIX,
    LEAD_DAYS,
    ClassApplication,
    TrainingClass,
)
from models.org import CITY, Org
from models.plan import PlanLine, TrainingPlan
from models.review import REJECTED
from models.vocabulary import COURSE_TYPE, check_code

CONTACT_FIELDS = (fields.Field("contact_phone", _l("Contact phone"), fields.telephone),)


def _chain(app: ClassApplication) -> str:
    return "application_extra" if app.is_extra else "application_in_plan"


def _before_submit(app: ClassApplication, actor, now: datetime) -> None:
    check_lead_time(app, now.date())


def _before_approve(app: ClassApplication, task, actor, now: datetime, params: dict) -> None:
    """At the city's step: ``params`` holds the choice made on the record page; a bulk approval
    keeps a choice made earlier (a resubmitted record)."""
    if task.level != CITY:
        return
    if "choice" in params:
        extra, line_id = params["choice"] == "extra", params.get("plan_line_id")
    else:
        extra, line_id = bool(app.is_extra), app.plan_line_id
    in_force = app.plan_line_id, app.is_extra
    apply_city_choice(app, line_id, extra)
    if review.is_correction(app):  # the choice waits in the revision; the row keeps its values
        chosen = {"plan_line_id": app.plan_line_id, "is_extra": app.is_extra}
        app.plan_line_id, app.is_extra = in_force
        review.propose(app, chosen)


def _on_approved(app: ClassApplication, actor, now: datetime) -> None:
    """Recount the plan line under lock, then create (or update) the class."""
    if app.plan_line_id is not None:
        check_capacity(app, lock_line(app.plan_line_id))
    if app.training_class is None:
        app.training_class = create_class(app, now)
    else:
        copy_to_class(app, app.training_class)


APPLICATION = review.register(
    review.Kind(
        name="application",
        model=ClassApplication,
        label=_l("Class application"),
        record_page="ApplicationView",
        chain=_chain,
        fields=(
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
        ),
        before_submit=_before_submit,
        before_approve=_before_approve,
        on_approved=_on_approved,
    )
)


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
        raise InvalidValue(
            _("Course type: choose one of %(types)s.", types=", ".join(types)), field="course_type"
        )
    app.contact_phone = fields.validate(
        CONTACT_FIELDS, {"contact_phone": app.contact_phone}, InvalidValue
    )["contact_phone"]
    if app.start_date is None or app.end_date is None:
        raise InvalidValue(
            _("Start date and end date are required."),
            field="end_date" if app.start_date else "start_date",
        )
    if app.start_date < today:
        raise InvalidValue(
            _("Start date %(date)s is in the past.", date=app.start_date.isoformat()),
            field="start_date",
        )
    if app.end_date < app.start_date:
        raise InvalidValue(
            _(
                "End date %(end)s is before the start date %(start)s.",
                end=app.end_date.isoformat(),
                start=app.start_date.isoformat(),
            ),
            field="end_date",
        )
    if app.expected_trainees is None or app.expected_trainees < 1:
        raise InvalidValue(_("Expected trainees must be at least 1."), field="expected_trainees")


def check_lead_time(app: ClassApplication, today: date) -> None:
    """The 14-day rule, unless the center allowed this application to be late."""
    check_dates(app, today)
    latest = app.start_date - timedelta(days=LEAD_DAYS)
    if today > latest and not app.late_reason:
        raise InvalidValue(
            _(
                "Start date %(start)s is less than %(days)d days away: the application had to be "
                "submitted by %(latest)s. Only the center can allow a late application.",
                start=app.start_date.isoformat(),
                days=LEAD_DAYS,
                latest=latest.isoformat(),
            ),
            field="start_date",
        )


def lead_time_warning(app: ClassApplication, today: date) -> str | None:
    """What the 14-day rule will say at submission, said when the application is saved (the
    institution learns it while it can still move the date)."""
    if app.start_date is None or app.late_reason:
        return None
    latest = app.start_date - timedelta(days=LEAD_DAYS)
    if today <= latest:
        return None
    return _(
        "Start date %(start)s is less than %(days)d days away: the application can only be "
        "submitted if the center allows a late application. Move the start date to %(earliest)s "
        "or later, or ask the center.",
        start=app.start_date.isoformat(),
        days=LEAD_DAYS,
        earliest=(today + timedelta(days=LEAD_DAYS)).isoformat(),
    )


def allow_late(
    app: ClassApplication, actor, reason: str, now: datetime, expected_version=None
) -> None:
    """The center lets a late application be submitted; the reason is kept on the record and
    in the audit log."""
    if expected_version is not None and str(expected_version) != str(app.version):
        raise Conflict(_("This record has changed since you opened it. Reload the page."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidValue(_("Give the reason for allowing a late application."))
    if app.status not in ("draft", "returned"):
        raise InvalidValue(_("Only an application not yet submitted can be allowed late."))
    app.late_reason = reason[:2000]
    app.late_allowed_at, app.late_allowed_by_id = now, actor.id
    audit.record(
        db.session,
        "application_allow_late",
        object_type="ClassApplication",
        object_id=app.id,
        user=actor,
        now=now,
        summary=app.late_reason,
    )


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
        raise InvalidValue(_("Plan line: the selected line does not exist."), field="plan_line_id")
    if used_classes(line, exclude_id=app.id) >= line.classes:
        raise InvalidValue(
            _(
                "Plan line %(line)s: no classes left (%(n)d planned, all taken).",
                line=str(line),
                n=line.classes,
            ),
            field="plan_line_id",
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
        raise InvalidValue(
            _(
                "Plan line: choose a line of your approved plan, or mark the "
                "application as additional (out of plan)."
            ),
            field="plan_line_id",
        )
    try:
        line = lock_line(int(line_id))
    except (TypeError, InvalidValue):
        line = None
    if line is None:
        raise InvalidValue(_("Plan line: the selected line does not exist."), field="plan_line_id")
    plan = db.session.get(TrainingPlan, line.plan_id)
    if line.org_id != city_of(app) or plan.org_id != city_of(app):
        raise InvalidValue(
            _("Plan line: this line belongs to another city's plan."), field="plan_line_id"
        )
    if plan.in_force_revision is None:
        raise InvalidValue(
            _("Plan line: the plan of this line is not approved."), field="plan_line_id"
        )
    if line.course_type != app.course_type:
        raise InvalidValue(
            _(
                "Plan line: the line is for %(line)s, the application for %(app)s.",
                line=line.course_type,
                app=app.course_type,
            ),
            field="plan_line_id",
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
    classroom.class_opened(klass, now)  # the institution's "import the trainee list" to-do
    return klass
