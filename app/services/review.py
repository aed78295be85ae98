"""The review mechanism (谁审核，谁负责): submit, approve, return, reject, correct.

Every reviewable record moves only through these functions. Each call checks who may act (the
role *and* the org resolved from the record), records a `ReviewEvent` and an audit entry,
opens/closes `ReviewTask` rows with their due times, and refuses a step that someone else has
already handled ("already handled by X at T") — by the version the user saw, by the open task,
and by SQLAlchemy's version counter for truly simultaneous commits. Services take ``now``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.extensions import db
from app.labels import N_, role_label
from app.services.deadlines import CALENDAR, due_at
from app.services.review_chains import CHAINS, Chain, Step
from models.base import Model
from models.org import CENTER, CITY, PROVINCE, Org
from models.review import (
    APPROVED,
    DRAFT,
    PENDING,
    REJECTED,
    RETURNED,
    ReviewEvent,
    ReviewRevision,
    ReviewTask,
)

APPROVE, RETURN, REJECT = "approve", "return", "reject"
SUBMIT, CORRECT = "submit", "correct"
# The center keeping its own library entries: in force at once (`record_in_force`).
ENTER, CHANGE = "enter", "change"
SUBMITTER_STEP = -1  # the task of a returned record, waiting for its submitter


class ReviewError(Exception):
    """A refused transition; the message is for the user."""


class NotYourStep(ReviewError):
    """The user may not act on this step (wrong role, wrong org, own submission)."""


class AlreadyHandled(ReviewError):
    """Someone acted first (a second reviewer, a double click)."""


# ---------------------------------------------------------------- chain and record helpers


def record_type(record) -> str:
    return type(record).__review_type__


def chain_of(record) -> Chain:
    return CHAINS[record.review_chain_name]


def record_org(record) -> Org:
    return db.session.get(Org, getattr(record, type(record).__scope__.org))


def org_at_level(org: Org, level: str) -> Org | None:
    """The org of ``level`` above (or at) ``org``."""
    if org.kind == level:
        return org
    if level == CENTER:
        return db.session.scalar(select(Org).where(Org.kind == CENTER))
    target_id = {PROVINCE: org.province_id, CITY: org.city_id}.get(level)
    return db.session.get(Org, target_id) if target_id else None


def _deadline_mode() -> str:
    return current_app.config.get("DEADLINE_MODE", CALENDAR)


def review_fields(record) -> tuple[str, ...]:
    return type(record).__review_fields__


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def values_of(record) -> dict:
    return {f: _jsonable(getattr(record, f)) for f in review_fields(record)}


# ---------------------------------------------------------------- queries


def open_task(record) -> ReviewTask | None:
    return db.session.scalar(
        select(ReviewTask)
        .where(
            ReviewTask.record_type == record_type(record),
            ReviewTask.record_id == record.id,
            ReviewTask.done_at.is_(None),
        )
        .order_by(ReviewTask.id.desc())
        .limit(1)
    )


def history(record) -> list[ReviewEvent]:
    return list(
        db.session.scalars(
            select(ReviewEvent)
            .where(
                ReviewEvent.record_type == record_type(record), ReviewEvent.record_id == record.id
            )
            .order_by(ReviewEvent.at, ReviewEvent.id)
        )
    )


def revisions(record) -> list[ReviewRevision]:
    return list(
        db.session.scalars(
            select(ReviewRevision)
            .where(
                ReviewRevision.record_type == record_type(record),
                ReviewRevision.record_id == record.id,
            )
            .order_by(ReviewRevision.revision)
        )
    )


def current_revision(record) -> ReviewRevision | None:
    return db.session.scalar(
        select(ReviewRevision).where(
            ReviewRevision.record_type == record_type(record),
            ReviewRevision.record_id == record.id,
            ReviewRevision.revision == record.revision,
        )
    )


def is_correction(record) -> bool:
    """A later revision of approved data is being prepared or reviewed."""
    # A rejected correction leaves its revision number behind; it is no longer in progress.
    return (
        record.in_force_revision is not None
        and record.revision != record.in_force_revision
        and record.status in (DRAFT, PENDING, RETURNED)
    )


def proposed_values(record) -> dict:
    """The values under preparation/review: a correction's, else the row's own."""
    if is_correction(record):
        return json.loads(current_revision(record).data)
    return values_of(record)


@dataclass(frozen=True)
class RevisionView:
    revision: ReviewRevision
    values: dict
    changes: dict  # field -> (before, after) against the previous revision
    events: list


def revisions_with_changes(record) -> list[RevisionView]:
    """Every revision with its reviews and what changed from the one before (for the record page)."""
    events = history(record)
    views, previous = [], None
    for rev in revisions(record):
        values = json.loads(rev.data)
        changes = (
            {}
            if previous is None
            else {k: (previous.get(k), v) for k, v in values.items() if previous.get(k) != v}
        )
        views.append(
            RevisionView(rev, values, changes, [e for e in events if e.revision == rev.revision])
        )
        previous = values
    return views


# ---------------------------------------------------------------- permissions


def may_submit(record, user) -> bool:
    chain = chain_of(record)
    return (
        record.status in (DRAFT, RETURNED)
        and user.role_kind == chain.submitter
        and user.org_id == getattr(record, type(record).__scope__.org)
    )


def may_decide(record, user, task: ReviewTask | None = None) -> bool:
    if record.status != PENDING:
        return False
    task = task or open_task(record)
    return (
        task is not None
        and task.step >= 0
        and user.role_kind == task.level
        and user.org_id == task.reviewer_org_id
        and user.id != record.submitted_by_id
    )


def may_correct(record, user) -> bool:
    chain = chain_of(record)
    return (
        record.status == APPROVED
        and user.role_kind == chain.submitter
        and user.org_id == getattr(record, type(record).__scope__.org)
    )


def allowed_actions(record, user) -> list[str]:
    actions = []
    if may_submit(record, user):
        actions.append(SUBMIT)
    if may_decide(record, user):
        actions += [APPROVE, RETURN, REJECT]
    if may_correct(record, user):
        actions.append(CORRECT)
    return actions


# ---------------------------------------------------------------- transitions


def _check_version(record, expected_version):
    if expected_version is not None and int(expected_version) != record.version:
        raise _already_handled(record)


def _already_handled(record) -> AlreadyHandled:
    last = db.session.scalar(
        select(ReviewEvent)
        .where(ReviewEvent.record_type == record_type(record), ReviewEvent.record_id == record.id)
        .order_by(ReviewEvent.id.desc())
        .limit(1)
    )
    if last is None:
        return AlreadyHandled(_("This record has changed since you opened it. Reload the page."))
    return AlreadyHandled(
        _(
            "Already handled by %(who)s at %(when)s.",
            who=last.actor_name,
            when=last.at.strftime("%Y-%m-%d %H:%M"),
        )
    )


def _event(record, actor, action, from_status, now, opinion=None, step=None):
    org = actor.org
    db.session.add(
        ReviewEvent(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            step=step,
            action=action,
            from_status=from_status,
            to_status=record.status,
            actor_id=actor.id,
            actor_name=f"{actor.full_name}（{actor.username}）",
            role=actor.role_kind,
            org_id=org.id if org else None,
            org_name=org.name if org else None,
            at=now,
            opinion=opinion,
        )
    )
    audit.record(
        db.session,
        f"review_{action}",
        object_type=type(record).__name__,
        object_id=record.id,
        user=actor,
        now=now,
        summary=f"{from_status} -> {record.status} (rev {record.revision})"
        + (f": {opinion}" if opinion else ""),
    )


def _open_step(record, index: int, now: datetime) -> ReviewTask:
    chain = chain_of(record)
    if index == SUBMITTER_STEP:
        level, days = chain.submitter, chain.resubmit_days
        org = record_org(record)
    else:
        step: Step = chain.steps[index]
        level, days = step.level, step.days
        org = org_at_level(record_org(record), step.level)
    if org is None:
        raise ReviewError(
            _("No organisation of level %(level)s above this record.", level=role_label(level))
        )
    task = ReviewTask(
        record_type=record_type(record),
        record_id=record.id,
        revision=record.revision,
        step=index,
        level=level,
        reviewer_org_id=org.id,
        entered_at=now,
        due_at=due_at(now, days, _deadline_mode()),
    )
    db.session.add(task)
    return task


def _close(task: ReviewTask, actor, decision: str, now: datetime, record) -> None:
    """Close an open task exactly once, even against a concurrent transaction."""
    try:
        result = db.session.execute(
            update(ReviewTask)
            .where(ReviewTask.id == task.id, ReviewTask.done_at.is_(None))
            .values(done_at=now, decision=decision, done_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
    except OperationalError:
        raise _lost_lock(record, task.id) from None
    if result.rowcount != 1:
        raise _already_handled(record)


def _commit(record, task_id: int | None = None):
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(record)
        raise _already_handled(record) from None
    except OperationalError:
        raise _lost_lock(record, task_id) from None


LOCK_WAIT_SECONDS = 5.0


def _lost_lock(record, task_id: int | None) -> ReviewError:
    """SQLite gives up on a write lock another transaction holds ("database is locked") instead
    of waiting for it like PostgreSQL. The other transaction is then, almost surely, the one
    handling this very step: wait for it to finish so that the user hears who handled it."""
    db.session.rollback()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while task_id is not None and time.monotonic() < deadline:
        done = db.session.scalar(select(ReviewTask.done_at).where(ReviewTask.id == task_id))
        db.session.rollback()  # end the read: the next one sees what commits meanwhile
        if done is not None:
            return _already_handled(record)
        time.sleep(0.05)
    return ReviewError(_("The record is busy; please try again in a moment."))


def submit(record, actor, now: datetime, expected_version=None) -> None:
    """Submit a draft, or resubmit a returned record: the chain starts again at its first step
    and every due time is computed afresh from ``now``."""
    _check_version(record, expected_version)
    if record.status not in (DRAFT, RETURNED):
        raise (
            _already_handled(record)
            if record.status == PENDING
            else ReviewError(_("Only a draft or a returned record can be submitted."))
        )
    if not may_submit(record, actor):
        raise NotYourStep(_("You may not submit this record."))
    before = record.status
    waiting = open_task(record)
    if waiting is not None and waiting.step != SUBMITTER_STEP:  # a double click's second submit
        raise _already_handled(record)
    if waiting is not None:  # the returned record's task for its submitter
        _close(waiting, actor, SUBMIT, now, record)
    rev = current_revision(record)
    if rev is None:
        rev = ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=PENDING,
            data="{}",
            created_at=now,
            created_by_id=actor.id,
        )
        db.session.add(rev)
    if not is_correction(record):
        rev.data = json.dumps(values_of(record), ensure_ascii=False)
    rev.status = PENDING
    record.status, record.step = PENDING, 0
    record.submitted_at, record.submitted_by_id = now, actor.id
    db.session.flush()
    _open_step(record, 0, now)
    _event(record, actor, "resubmit" if before == RETURNED else SUBMIT, before, now, step=0)
    _commit(record)


def enter_review(record, now: datetime) -> None:
    """Put a record that nobody signed-in submits (a public login application) straight into
    step 0: its revision, its task and a history entry whose actor is the applicant. The record
    must be in the session; the caller commits."""
    record.status, record.step = PENDING, 0
    record.submitted_at, record.submitted_by_id = now, None
    db.session.flush()  # the record's id names its task, revision and event
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=PENDING,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
        )
    )
    _open_step(record, 0, now)
    name = getattr(record, "review_actor_name", None) or "applicant"
    db.session.add(
        ReviewEvent(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            step=0,
            action=SUBMIT,
            from_status=DRAFT,
            to_status=PENDING,
            actor_name=name[:128],
            role="applicant",
            at=now,
        )
    )
    audit.record(
        db.session,
        f"review_{SUBMIT}",
        object_type=type(record).__name__,
        object_id=record.id,
        username="applicant",
        now=now,
        summary=f"{DRAFT} -> {PENDING} (rev {record.revision})",
    )


def decide(
    record, actor, decision: str, now: datetime, opinion: str | None = None, expected_version=None
) -> None:
    """Approve, return or reject the pending step. Opinion required to return or reject."""
    if decision not in (APPROVE, RETURN, REJECT):
        raise ReviewError(_("Unknown decision."))
    _check_version(record, expected_version)
    task = open_task(record)
    # The record as the user loaded it must still be at the step that is open: a reviewer who
    # lost a race sees the next step's task here, and is told who acted, not "not yours".
    if (
        record.status != PENDING
        or task is None
        or task.step < 0
        or task.step != record.step
        or task.revision != record.revision
    ):
        raise _already_handled(record)
    if not may_decide(record, actor, task):
        if actor.id == record.submitted_by_id:
            raise NotYourStep(_("You cannot review your own submission."))
        raise NotYourStep(_("This step is not yours to review."))
    opinion = (opinion or "").strip() or None
    if decision in (RETURN, REJECT) and not opinion:
        raise ReviewError(_("Please give your opinion when returning or rejecting."))
    _close(task, actor, decision, now, record)
    before, step = record.status, record.step
    rev = current_revision(record)
    chain = chain_of(record)
    if decision == APPROVE and step + 1 < len(chain.steps):
        record.step = step + 1
        _open_step(record, record.step, now)
    elif decision == APPROVE:
        if is_correction(record):
            for field, value in json.loads(rev.data).items():
                setattr(record, field, restore_value(record, field, value))
        record.status, record.step = APPROVED, None
        record.in_force_revision = record.revision
        rev.status = APPROVED
        hook = getattr(record, "on_approved", None)
        if hook:
            hook(actor, now)
    elif decision == RETURN:
        record.status = RETURNED
        rev.status = RETURNED
        _open_step(record, SUBMITTER_STEP, now)
    else:
        rev.status = REJECTED
        # A rejected correction leaves the approved revision in force.
        record.status = APPROVED if record.in_force_revision is not None else REJECTED
        record.step = None
    _event(record, actor, decision, before, now, opinion=opinion, step=step)
    _commit(record, task.id)


def start_correction(record, actor, now: datetime, expected_version=None) -> None:
    """第十条: approved data is corrected through a new revision reviewed again; the approved
    values stay in force (in the row) until the new revision is approved."""
    _check_version(record, expected_version)
    if not may_correct(record, actor):
        raise NotYourStep(_("Only the submitter of approved data may correct it."))
    before = record.status
    last = max((r.revision for r in revisions(record)), default=record.revision)
    record.revision = last + 1
    record.status = DRAFT
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=DRAFT,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
            created_by_id=actor.id,
        )
    )
    _event(record, actor, CORRECT, before, now)
    _commit(record)


def record_in_force(record, actor, now: datetime, opinion: str | None = None) -> None:
    """Values the top of the chain keeps itself (the center's own entries and edits in the
    libraries, 第五条): the row's values become a new approved revision at once, with the same
    history entry and audit line a reviewer's approval leaves — who, when, what. A new record is
    "entered", an existing one "changed". The record must be in the session; the caller commits."""
    before = record.status or DRAFT
    if record.id is None:
        db.session.add(record)
        db.session.flush()  # the revision and the event point at the id
    earlier = revisions(record)
    action = CHANGE if earlier else ENTER
    if earlier:
        record.revision = max(r.revision for r in earlier) + 1
    record.status, record.step = APPROVED, None
    record.in_force_revision = record.revision
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=APPROVED,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
            created_by_id=actor.id,
        )
    )
    _event(record, actor, action, before, now, opinion=opinion)


def stage_edit(record) -> None:
    """Called before an edit is saved. Drafts and returned records change in place; a correction's
    new values go into its revision and the row keeps the values in force. Anything else is
    refused: approved or pending data never changes silently."""
    # No autoflush, even to load the state: that would write the form's values to the row first.
    with db.session.no_autoflush:
        if record.status not in (DRAFT, RETURNED):
            raise ReviewError(
                _(
                    "Approved or pending data cannot be edited; use “Correct” to "
                    "propose a new revision."
                )
            )
        if is_correction(record):
            _stage_correction(record)


def _stage_correction(record) -> None:
    state = inspect(record)
    rev = current_revision(record)
    proposed = json.loads(rev.data)
    in_force = None
    for field in review_fields(record):
        if field in state.attrs:  # a column: its history says whether the form changed it
            hist = state.attrs[field].history
            if hist.has_changes():
                proposed[field] = _jsonable(getattr(record, field))
                if hist.deleted:
                    setattr(record, field, hist.deleted[0])
                else:  # never loaded: let the database give the value in force back
                    db.session.expire(record, [field])
        else:  # a property over child rows: compare with the values in force, then put them back
            if in_force is None:
                in_force = _revision_values(record, record.in_force_revision)
            value = _jsonable(getattr(record, field))
            if value != in_force.get(field):
                proposed[field] = value
                setattr(record, field, in_force.get(field))
    rev.data = json.dumps(proposed, ensure_ascii=False)


def _revision_values(record, number) -> dict:
    rev = db.session.scalar(
        select(ReviewRevision).where(
            ReviewRevision.record_type == record_type(record),
            ReviewRevision.record_id == record.id,
            ReviewRevision.revision == number,
        )
    )
    return json.loads(rev.data) if rev is not None else {}


def restore_value(record, field, value):
    """JSON value back to the column's Python type (dates)."""
    column = type(record).__table__.columns.get(field)
    if value is not None and column is not None:
        python_type = getattr(column.type, "python_type", None)
        if python_type is date:
            return date.fromisoformat(value)
        if python_type is datetime:
            return datetime.fromisoformat(value)
    return value


# ---------------------------------------------------------------- to-do and overdue


def todo_tasks(user):
    """Open tasks waiting for the user's own org and role (the to-do list)."""
    return (
        select(ReviewTask)
        .where(
            ReviewTask.done_at.is_(None),
            ReviewTask.reviewer_org_id == user.org_id,
            ReviewTask.level == user.role_kind,
        )
        .order_by(ReviewTask.due_at)
    )


def overdue_tasks(now: datetime):
    """Open tasks past their due time (callers scope it: the overdue board, the CLI)."""
    return (
        select(ReviewTask)
        .where(ReviewTask.done_at.is_(None), ReviewTask.due_at < now)
        .order_by(ReviewTask.due_at)
    )


def task_type(model) -> str | None:
    """The ``ReviewTask.record_type`` of a model: a reviewable one's ``__review_type__``, or the
    ``__task_type__`` of a model that only puts items in to-do lists (e.g. a plan round)."""
    return getattr(model, "__review_type__", None) or getattr(model, "__task_type__", None)


def reviewable_models() -> dict[str, type]:
    """Task record type → model class, read from the mapped models (no registry to keep)."""
    found = {}
    for mapper in Model.registry.mappers:
        kind = task_type(mapper.class_)
        if kind:
            found.setdefault(kind, mapper.class_)
    return found


RESUBMIT_LABEL = N_("Revise and resubmit")  # the submitter's step


def step_label(record, task: ReviewTask) -> str:
    """The step's English msgid (callers translate it)."""
    own = getattr(record, "todo_label", None)  # a model's own wording of its to-do item
    if callable(own):
        return own(task)
    if task.step == SUBMITTER_STEP:
        return RESUBMIT_LABEL
    if record is None or not hasattr(record, "review_chain_name"):
        return task.level
    steps = chain_of(record).steps
    return steps[task.step].label if 0 <= task.step < len(steps) else task.level


@dataclass(frozen=True)
class TaskItem:
    task: ReviewTask
    record: object | None
    step_label: str  # English msgid


def task_items(tasks) -> list[TaskItem]:
    """Tasks with their records, loaded with one query per kind of record (not per task)."""
    tasks = list(tasks)
    models = reviewable_models()
    wanted: dict[str, set[int]] = {}
    for task in tasks:
        wanted.setdefault(task.record_type, set()).add(task.record_id)
    records = {}
    for kind, ids in wanted.items():
        model = models.get(kind)
        if model is not None:
            for rec in db.session.scalars(select(model).where(model.id.in_(ids))):
                records[kind, rec.id] = rec
    items = []
    for task in tasks:
        rec = records.get((task.record_type, task.record_id))
        items.append(TaskItem(task, rec, step_label(rec, task)))
    return items
