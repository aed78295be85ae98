"""Class applications (开班申请, Annex 1 rows 4–7): what review needs of them. The city's step
carries its choice (a line of its approved plan, or 计划外); the center's approval creates the
class (讲师培训班), or updates it after an approved correction (第十条)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.services import review
from models.application import (
    ClassApplication,
    apply_city_choice,
    check_capacity,
    check_lead_time,
    copy_to_class,
    create_class,
    lock_line,
)
from models.org import CITY


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
        label=_l("Class applications"),
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
