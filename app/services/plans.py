"""Trainer-training plans (讲师培训计划, Annex 1 rows 1–3): what review needs of a city's plan and
of a plan round, whose opening puts "submit your plan" into every city's to-do list."""

from __future__ import annotations

from datetime import datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.labels import N_
from app.services import review
from app.services.errors import InvalidValue
from models.application import used_classes
from models.org import CITY, Org
from models.plan import PlanRound, TrainingPlan, check_plan_lines, check_round


def _submit_your_plan(task) -> str:
    return N_("Submit your city's plan for this round")


# Not reviewed itself: a round's to-do items ask every city for its plan.
ROUND = review.register(
    review.Kind(
        name="plan_round",
        model=PlanRound,
        label=_l("Plan round"),
        record_page="PlanRoundView",
        todo_label=_submit_your_plan,
    )
)


def _round_due(round_: PlanRound) -> datetime:
    return datetime.combine(round_.deadline, time(23, 59, 59))


def open_round(round_: PlanRound, actor, now: datetime) -> int:
    """The center opens a round: checked, saved, and an item in every active city's to-do list,
    due at the end of the deadline day (Annex 1 row 1: the round's notice sets the deadline)."""
    check_round(round_, now.date(), db.session)
    round_.opened_at, round_.opened_by_id = now, actor.id
    db.session.add(round_)
    db.session.flush()  # the to-do items point at the round's id
    cities = db.session.scalars(select(Org.id).where(Org.kind == CITY, Org.active.is_(True)))
    return review.open_todos(ROUND, round_.id, CITY, cities, now, _round_due(round_))


def change_round(round_: PlanRound, now: datetime) -> None:
    """A changed deadline moves the open to-do items with it."""
    check_round(round_, now.date(), db.session)
    review.move_todos(ROUND, round_.id, _round_due(round_))


def _keep_taken_lines(plan: TrainingPlan, lines: list[dict]) -> None:
    """A correction may not drop or shrink a line below the classes already applied for."""
    proposed = {line["id"]: line for line in lines if line.get("id")}
    for line in plan.lines:
        taken = used_classes(line)
        if taken and proposed.get(line.id, {}).get("classes", 0) < taken:
            raise InvalidValue(
                _(
                    "Plan line %(line)s: %(n)d classes are already applied for on it.",
                    line=str(line),
                    n=taken,
                )
            )


def _before_submit(plan: TrainingPlan, actor, now: datetime) -> None:
    lines = review.proposed_values(plan)["lines_data"]
    check_plan_lines(plan, lines, now.date(), db.session)
    _keep_taken_lines(plan, lines)
    review.close_todo(ROUND, plan.round_id, plan.org_id, actor, now, review.SUBMIT)


PLAN = review.register(
    review.Kind(
        name="plan",
        model=TrainingPlan,
        label=_l("Plans"),
        record_page="PlanView",
        chain="plan",
        fields=("contact_name", "contact_phone", "note", "lines_data"),
        before_submit=_before_submit,
    )
)
