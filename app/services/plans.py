"""Trainer-training plans (讲师培训计划, Annex 1 rows 1–3): what review needs of a city's plan and
of a plan round, whose opening puts "submit your plan" into every city's to-do list."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import fields, review
from app.services.applications import CONTACT_FIELDS, used_classes
from app.services.errors import InvalidValue, NotAllowed
from models.org import CITY, Org
from models.plan import _DATE_FIELDS, LINE_FIELDS, ROUND_MONTHS, PlanLine, PlanRound, TrainingPlan
from models.review import DRAFT, RETURNED, ReviewTask
from models.vocabulary import COURSE_TYPE, check_code


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


def withdraw_round(round_: PlanRound, actor, now: datetime) -> None:
    """The center withdraws a round opened by mistake: only while no city has entered a plan
    for it. The round and its "submit your plan" to-do items go; the audit log keeps the act."""
    with db.session.no_autoflush:
        used = db.session.scalar(
            select(func.count(TrainingPlan.id)).where(TrainingPlan.round_id == round_.id)
        )
    if used:
        raise NotAllowed(
            _(
                "Round %(round)s cannot be withdrawn: %(n)d city plan(s) were entered for it.",
                round=str(round_),
                n=used,
            )
        )
    db.session.execute(
        delete(ReviewTask)
        .where(ReviewTask.record_type == ROUND.name, ReviewTask.record_id == round_.id)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        db.session,
        "withdraw_round",
        object_type="PlanRound",
        object_id=round_.id,
        summary=str(round_),
        user=actor,
        now=now,
    )
    db.session.delete(round_)


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
        label=_l("Plan"),
        record_page="PlanView",
        chain="plan",
        fields=("contact_name", "contact_phone", "note", "lines_data"),
        before_submit=_before_submit,
    )
)


# ---------------------------------------------------------------- rules


def check_round(round_: PlanRound, today: date, session) -> None:
    """A round is a year (this one or a coming one: never a past year), January or June, once;
    its deadline lies in the future."""
    if round_.year is None or not today.year <= round_.year <= today.year + 5:
        raise InvalidValue(
            _(
                "Year: enter a year between %(low)d and %(high)d.",
                low=today.year,
                high=today.year + 5,
            ),
            field="year",
        )
    if round_.month not in ROUND_MONTHS:
        raise InvalidValue(_("Round: choose the January or the June round."), field="month")
    if round_.deadline is None or round_.deadline <= today:
        raise InvalidValue(
            _("Deadline: choose a date after today (%(today)s).", today=today.isoformat()),
            field="deadline",
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
        raise InvalidValue(
            _(
                "Round: the %(year)d round of month %(month)d is already open.",
                year=round_.year,
                month=round_.month,
            ),
            field="month",
        )


def check_line(data: dict, city: Org, today: date, session) -> None:
    """One plan line (as values): refused with a message naming the field."""
    held = ()  # a retired type stays valid on the line that holds it (corrections too)
    if data.get("id"):
        with session.no_autoflush:
            held = (session.scalar(select(PlanLine.course_type).where(PlanLine.id == data["id"])),)
    types = check_code(session, COURSE_TYPE, data.get("course_type"), held)
    if types:
        raise InvalidValue(
            _("Course type: choose one of %(types)s.", types=", ".join(types)), field="course_type"
        )
    fields.validate(CONTACT_FIELDS, {"contact_phone": data.get("contact_phone")}, InvalidValue)
    if not isinstance(data.get("classes"), int) or data["classes"] < 1:
        raise InvalidValue(_("Number of classes must be at least 1."), field="classes")
    if not isinstance(data.get("trainees_per_class"), int) or data["trainees_per_class"] < 1:
        raise InvalidValue(_("Trainees per class must be at least 1."), field="trainees_per_class")
    start_from, start_to = (_as_date(data.get(f)) for f in _DATE_FIELDS)
    if start_from is None or start_to is None:
        raise InvalidValue(
            _("Expected start window: both dates are required."),
            field="start_to" if start_from else "start_from",
        )
    if start_from < today:
        raise InvalidValue(
            _("Earliest start %(date)s is in the past.", date=start_from.isoformat()),
            field="start_from",
        )
    if start_to < start_from:
        raise InvalidValue(
            _(
                "Latest start %(end)s is before the earliest start %(start)s.",
                end=start_to.isoformat(),
                start=start_from.isoformat(),
            ),
            field="start_to",
        )
    venue = session.get(Org, data["venue_city_id"]) if data.get("venue_city_id") else None
    if venue is None or venue.kind != CITY or venue.province_id != city.province_id:
        raise InvalidValue(
            _("Venue city: choose a city of your own province."), field="venue_city_id"
        )


def check_contact(plan: TrainingPlan) -> None:
    """The plan's contact phone (a mobile or a landline), normalised in place."""
    plan.contact_phone = fields.validate(
        CONTACT_FIELDS, {"contact_phone": plan.contact_phone}, InvalidValue
    )["contact_phone"]


def check_plan_lines(plan: TrainingPlan, lines: list[dict], today: date, session) -> None:
    """Before submitting: at least one line, every line valid."""
    if not lines:
        raise InvalidValue(_("Plan lines: a plan needs at least one line."))
    city = session.get(Org, plan.org_id)
    for number, data in enumerate(lines, start=1):
        try:
            check_line(data, city, today, session)
        except InvalidValue as exc:
            raise InvalidValue(_("Plan line %(n)d: %(error)s", n=number, error=str(exc))) from None


def check_new_plan(plan: TrainingPlan, city: Org | None, session) -> None:
    """One plan per city per round, entered by the city itself."""
    if city is None or city.kind != CITY:
        raise InvalidValue(_("Plans are entered by a city authority."))
    if plan.round_id is None and plan.round is None:
        raise InvalidValue(_("Plan round: choose the round."), field="round")
    round_id = plan.round_id or plan.round.id
    with session.no_autoflush:
        taken = (
            session.query(TrainingPlan.id)
            .filter(TrainingPlan.round_id == round_id, TrainingPlan.org_id == city.id)
            .first()
        )
    if taken:
        raise InvalidValue(
            _("Plan round: your city already has a plan for this round."), field="round"
        )


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value)
    return value


# ---------------------------------------------------------------- a plan's lines


def check_editable(plan: TrainingPlan | None) -> None:
    """Lines change with their plan: a draft or a returned plan, or a correction (staged)."""
    if plan is None:
        raise InvalidValue(_("Plan: choose the plan."), field="plan")
    if plan.status not in (DRAFT, RETURNED):
        raise InvalidValue(
            _(
                "Plan: the plan is under review or approved; to change it, use "
                "“Correct” on the plan."
            )
        )


def check_line_change(line: PlanLine, today: date) -> None:
    """A line added or edited on a plan: it belongs to its plan's city, whatever was posted."""
    check_editable(line.plan)
    line.org_id = line.plan.org_id
    with db.session.no_autoflush:
        check_line(line.as_dict(), db.session.get(Org, line.plan.org_id), today, db.session)


def stage_line(line: PlanLine, operation: str) -> None:
    """第十条: while a correction of an approved plan is prepared, adding, editing or deleting a
    line changes the correction's revision only; the approved lines stay in force (in the rows)
    until the revision is approved. ``operation``: add, edit or delete."""
    plan, data = line.plan, line.as_dict()
    with db.session.no_autoflush:
        if operation == "add":  # the new row is never written, only its values
            if line in plan.lines:
                plan.lines.remove(line)
            if line in db.session:
                db.session.expunge(line)
        elif operation == "edit":
            db.session.expire(line)  # drop the form's values from the row in force
        lines = review.proposed_values(plan).get("lines_data", [])
    if operation == "add":
        lines = lines + [data]
    elif operation == "edit":
        lines = [data if old["id"] == data["id"] else old for old in lines]
    else:
        lines = [old for old in lines if old["id"] != data["id"]]
    review.propose(plan, {"lines_data": lines})


def _line_values(raw: dict) -> dict:
    """A row of the plan page's table as typed (strings) -> a line's values; a number or a date
    that is not one is refused with the field's name."""
    values = {f: (raw.get(f) or "").strip() or None for f in LINE_FIELDS}
    for name, label in (
        ("classes", _("Number of classes")),
        ("trainees_per_class", _("Trainees per class")),
        ("venue_city_id", _("Venue city")),
    ):
        if values[name] is not None:
            try:
                values[name] = int(values[name])
            except ValueError:
                raise InvalidValue(
                    _("%(field)s: enter a whole number.", field=label), field=name
                ) from None
    for name in _DATE_FIELDS:
        if values[name] is not None:
            try:
                values[name] = date.fromisoformat(values[name])
            except ValueError:
                raise InvalidValue(
                    _("%(value)s is not a date (YYYY-MM-DD).", value=values[name]), field=name
                ) from None
    return values


def add_lines(plan: TrainingPlan, rows: list[dict], today: date) -> int:
    """Several lines added at once on the plan's page (rows as typed; blank rows are skipped):
    each checked like a line added alone, all of them saved or none (the refusal names its row).
    During a correction they go into the correction's revision (第十条)."""
    filled = [(n, row) for n, row in enumerate(rows, start=1) if any(v for v in row.values())]
    if not filled:
        raise InvalidValue(_("Plan lines: fill in at least one row."))
    for number, raw in filled:
        try:
            line = PlanLine(plan=plan, **_line_values(raw))
            check_line_change(line, today)
        except InvalidValue as exc:
            raise InvalidValue(
                _("Plan line %(n)d: %(error)s", n=number, error=str(exc)),
                field=f"{exc.field}-{number - 1}" if exc.field else None,  # the row's field
            ) from None
        if review.is_correction(plan):
            stage_line(line, "add")
        else:
            db.session.add(line)
    return len(filled)


def editable_lines(plan: TrainingPlan) -> list[dict]:
    """The lines the plan's page offers to edit: those under preparation (a correction's
    proposed lines, else the rows), each with its id."""
    return [d for d in review.proposed_values(plan).get("lines_data", []) if d.get("id")]


def edit_lines(plan: TrainingPlan, rows: dict, removed: set, today: date) -> int:
    """Several existing lines edited and/or removed at once on the plan's page (``rows``: line
    id -> the row as typed; ``removed``: ids of lines to remove). A changed line is checked like
    a line edited alone; all the changes are saved or none, and a refusal names the row and its
    field (``field-e<id>``). During a correction they go into the correction's revision (第十条).
    Returns how many lines changed."""
    check_editable(plan)
    current = editable_lines(plan)
    known = {d["id"] for d in current}
    if not set(rows) | set(removed) <= known:
        raise InvalidValue(_("Plan lines: a row is not a line of this plan."))
    city = db.session.get(Org, plan.org_id)
    proposed, changed = [], 0
    for number, old in enumerate(current, start=1):
        if old["id"] in removed:
            changed += 1
            continue
        raw = rows.get(old["id"])
        data = old
        if raw is not None:
            try:
                values = _line_values(raw)
                new = {"id": old["id"], **_as_stored(values)}
                if new != old:
                    with db.session.no_autoflush:
                        check_line({"id": old["id"], **values}, city, today, db.session)
                    data, changed = new, changed + 1
            except InvalidValue as exc:
                raise InvalidValue(
                    _("Plan line %(n)d: %(error)s", n=number, error=str(exc)),
                    field=f"{exc.field}-e{old['id']}" if exc.field else None,
                ) from None
        proposed.append(data)
    if review.is_correction(plan):
        staged_new = [d for d in review.proposed_values(plan)["lines_data"] if not d.get("id")]
        review.propose(plan, {"lines_data": proposed + staged_new})
        return changed
    by_id = {line.id: line for line in plan.lines}
    for line_id in removed:
        plan.lines.remove(by_id[line_id])
        db.session.delete(by_id[line_id])  # explicit: an orphan's delete would escape the audit
    for data in proposed:
        line = by_id[data["id"]]
        if line.as_dict() != data:
            line.apply(data)
    return changed


def _as_stored(values: dict) -> dict:
    """A line's values as a revision stores them (dates as ISO text)."""
    return {f: v.isoformat() if isinstance(v, date) else v for f, v in values.items()}
