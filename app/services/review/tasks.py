"""Review's rows seen from outside one record: to-do lists, the overdue board, the to-do items of
kinds without a chain (a plan round's "submit your plan"), and row builders for bulk writers (the
faculty import, the bench generator) — so that nothing outside review builds its rows by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update

from app.extensions import db
from app.labels import N_
from app.services.review.kinds import KINDS, Kind
from app.services.review.records import ENTER, SUBMITTER_STEP, _jsonable
from models.review import APPROVED, ReviewEvent, ReviewRevision, ReviewTask

RESUBMIT_LABEL = N_("Revise and resubmit")  # the submitter's step


# ---------------------------------------------------------------- to-do and overdue


def todo_tasks(user):
    """Open tasks waiting for the user: those of its own org and role, and those assigned to it
    by name (a trainer's request or needs analysis). An assigned item shows to its assignee only;
    its org is the one on whose overdue board it appears."""
    return (
        select(ReviewTask)
        .where(
            ReviewTask.done_at.is_(None),
            or_(
                and_(
                    ReviewTask.assignee_id.is_(None),
                    ReviewTask.reviewer_org_id == user.org_id,
                    ReviewTask.level == user.role_kind,
                ),
                ReviewTask.assignee_id == user.id,
            ),
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


def step_label(kind: Kind | None, record, task: ReviewTask) -> str:
    """The step's English msgid (callers translate it)."""
    if kind is not None and kind.todo_label is not None:
        return kind.todo_label(task)
    if task.step == SUBMITTER_STEP:
        return RESUBMIT_LABEL
    if kind is None or record is None or not kind.reviewed:
        return task.level
    steps = kind.chain_of(record).steps
    return steps[task.step].label if 0 <= task.step < len(steps) else task.level


@dataclass(frozen=True)
class TaskItem:
    task: ReviewTask
    kind: Kind | None
    record: object | None
    step_label: str  # English msgid


def task_items(tasks) -> list[TaskItem]:
    """Tasks with their records, loaded with one query per kind of record (not per task)."""
    tasks = list(tasks)
    wanted: dict[str, set[int]] = {}
    for task in tasks:
        wanted.setdefault(task.record_type, set()).add(task.record_id)
    records = {}
    for name, ids in wanted.items():
        kind = KINDS.get(name)
        if kind is not None:
            model = kind.model
            for rec in db.session.scalars(select(model).where(model.id.in_(ids))):
                records[name, rec.id] = rec
    items = []
    for task in tasks:
        kind = KINDS.get(task.record_type)
        rec = records.get((task.record_type, task.record_id))
        items.append(TaskItem(task, kind, rec, step_label(kind, rec, task)))
    return items


# ---------------------------------------------------------------- to-do items without a chain


def open_todos(
    kind: Kind,
    record_id: int,
    level: str,
    org_ids,
    now: datetime,
    due: datetime,
    assignee_id: int | None = None,
) -> int:
    """Put one item per org into the to-do lists of ``level`` (a round's "submit your plan");
    with ``assignee_id``, into that one user's list only (a trainer's request)."""
    org_ids = list(org_ids)
    db.session.add_all(
        ReviewTask(
            record_type=kind.name,
            record_id=record_id,
            revision=1,
            step=SUBMITTER_STEP,
            level=level,
            reviewer_org_id=org_id,
            entered_at=now,
            due_at=due,
            assignee_id=assignee_id,
        )
        for org_id in org_ids
    )
    return len(org_ids)


def move_todos(kind: Kind, record_id: int, due: datetime) -> None:
    """A changed deadline moves the open items with it."""
    db.session.execute(
        update(ReviewTask)
        .where(
            ReviewTask.record_type == kind.name,
            ReviewTask.record_id == record_id,
            ReviewTask.done_at.is_(None),
        )
        .values(due_at=due)
        .execution_options(synchronize_session=False)
    )


def close_todo(
    kind: Kind, record_id: int, org_id: int, actor, now: datetime, decision: str
) -> None:
    """The org did what its item asked: the item is done."""
    db.session.execute(
        update(ReviewTask)
        .where(
            ReviewTask.record_type == kind.name,
            ReviewTask.record_id == record_id,
            ReviewTask.reviewer_org_id == org_id,
            ReviewTask.done_at.is_(None),
        )
        .values(done_at=now, decision=decision, done_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- rows for bulk writers


def revision_row(kind: Kind, record_id, revision, status, values: dict, at, by_id) -> dict:
    """A `ReviewRevision` row (for a Core bulk INSERT) holding the kind's fields of ``values``."""
    data = {f: _jsonable(values.get(f)) for f in kind.fields}
    return {
        "record_type": kind.name,
        "record_id": record_id,
        "revision": revision,
        "status": status,
        "data": json.dumps(data, ensure_ascii=False, default=str),
        "created_at": at,
        "created_by_id": by_id,
    }


def event_row(
    kind: Kind,
    record_id,
    revision,
    step,
    action,
    from_status,
    to_status,
    actor: dict,
    at,
    opinion=None,
) -> dict:
    """A `ReviewEvent` row. ``actor``: id, name, role, org_id, org_name (see `actor_fields`)."""
    return {
        "record_type": kind.name,
        "record_id": record_id,
        "revision": revision,
        "step": step,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "actor_id": actor.get("id"),
        "actor_name": actor.get("name"),
        "role": actor.get("role"),
        "org_id": actor.get("org_id"),
        "org_name": actor.get("org_name"),
        "at": at,
        "opinion": opinion,
    }


def actor_fields(user) -> dict:
    """How a user appears in the history: name (username), role, org."""
    org = user.org
    return {
        "id": user.id,
        "name": f"{user.full_name}（{user.username}）",
        "role": user.role_kind,
        "org_id": org.id if org else None,
        "org_name": org.name if org else None,
    }


def task_row(
    kind: Kind,
    record_id,
    revision,
    step,
    level,
    org_id,
    entered,
    due,
    done=None,
    decision=None,
    done_by_id=None,
) -> dict:
    """A `ReviewTask` row: one step entered at ``entered``, due at ``due``, done or open."""
    return {
        "record_type": kind.name,
        "record_id": record_id,
        "revision": revision,
        "step": step,
        "level": level,
        "reviewer_org_id": org_id,
        "entered_at": entered,
        "due_at": due,
        "done_at": done,
        "decision": decision,
        "done_by_id": done_by_id,
    }


def bulk_enter(kind: Kind, records: list[tuple[int, dict]], actor, now: datetime, opinion=None):
    """`transitions.record_in_force` for many new records at once (an import): for each
    (id, values) an approved revision 1 and an "entered" history entry, in two Core INSERTs
    (no ORM objects: 5,000 rows must stay fast). The caller's transaction keeps them."""
    if not records:
        return
    who = actor_fields(actor)
    db.session.execute(
        ReviewRevision.__table__.insert(),
        [revision_row(kind, pk, 1, APPROVED, values, now, actor.id) for pk, values in records],
    )
    db.session.execute(
        ReviewEvent.__table__.insert(),
        [
            event_row(kind, pk, 1, None, ENTER, None, APPROVED, who, now, opinion)
            for pk, _ in records
        ],
    )
