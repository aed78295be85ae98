"""What review knows about one record: its org, its values, its tasks, history and revisions,
and who may act on it now. Read-only; the transitions are in `transitions`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.services.deadlines import CALENDAR
from app.services.review.kinds import chain_of, kind_of, record_type, review_fields
from models.org import CENTER, CITY, PROVINCE, Org
from models.review import (
    APPROVED,
    DRAFT,
    PENDING,
    RETURNED,
    ReviewEvent,
    ReviewRevision,
    ReviewTask,
)
from models.user import ADMIN_KINDS

APPROVE, RETURN, REJECT = "approve", "return", "reject"
SUBMIT, CORRECT = "submit", "correct"
# The center keeping its own library entries: in force at once (`record_in_force`).
ENTER, CHANGE = "enter", "change"
SUBMITTER_STEP = -1  # the task of a returned record (or a plain to-do item), for its submitter


def record_org(record) -> Org:
    return db.session.get(Org, getattr(record, kind_of(record).org_field))


def org_at_level(org: Org, level: str) -> Org | None:
    """The org of ``level`` above (or at) ``org``."""
    if org.kind == level:
        return org
    if level == CENTER or level in ADMIN_KINDS:  # the administrators sit at the center
        return db.session.scalar(select(Org).where(Org.kind == CENTER))
    target_id = {PROVINCE: org.province_id, CITY: org.city_id}.get(level)
    return db.session.get(Org, target_id) if target_id else None


def _deadline_mode() -> str:
    return current_app.config.get("DEADLINE_MODE", CALENDAR)


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
        and user.org_id == getattr(record, kind_of(record).org_field)
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
        and user.org_id == getattr(record, kind_of(record).org_field)
    )


def allowed_actions(record, user) -> list[str]:
    actions = []
    if may_submit(record, user):
        actions.append(SUBMIT)
    if may_decide(record, user):
        actions += [APPROVE, RETURN, REJECT] if kind_of(record).returnable else [APPROVE, REJECT]
    if may_correct(record, user):
        actions.append(CORRECT)
    return actions
