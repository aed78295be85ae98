"""工作台: whose open review steps a user sees — 我的待办 (its own org and role) and 逾期督办
(every open step of the orgs in its scope) — and the audited export of the overdue board.

Only `ReviewTask` rows are read, whatever the kind of record; the pages (views.todo) turn them
into rows with the record's page and label.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.queries import count_rows
from app.services import review
from app.services.tx import transaction
from models.review import ReviewTask
from reports.overdue import overdue_xlsx
from security.scope import in_scope

# Roles that can have a step (a trainer: its own items, e.g. a class's needs analysis).
REVIEWING_KINDS = ("center", "province", "city", "institution", "trainer")


def has_steps(user) -> bool:
    """Whether review steps can wait for ``user`` at all (the roles of the review chains)."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role_kind in REVIEWING_KINDS
    )


def todo_query(user):
    """The user's open steps, inside its scope (a moved account never keeps another org's steps;
    a trainer's scope is the items assigned to it)."""
    return in_scope(review.todo_tasks(user), ReviewTask)


def todo_items(user, limit: int | None = None) -> list:
    """The user's open steps with their records, soonest due first."""
    if not has_steps(user):
        return []
    query = todo_query(user)
    if limit:
        query = query.limit(limit)
    return review.task_items(db.session.scalars(query))


def todo_count(user) -> int:
    return count_rows(todo_query(user)) if has_steps(user) else 0


def overdue_items(now: datetime, include_pending: bool = False) -> list:
    """Open steps of the orgs in the viewer's scope: those past due, or every open one."""
    query = (
        select(ReviewTask).where(ReviewTask.done_at.is_(None))
        if include_pending
        else review.overdue_tasks(now)
    )
    query = in_scope(query, ReviewTask)
    return review.task_items(db.session.scalars(query.order_by(None)))


def overdue_file(rows, include_pending: bool, now: datetime) -> bytes:
    """The board's rows (as the page shows them) as a workbook; the export is audited."""
    data = overdue_xlsx(rows, now)
    with transaction() as session:
        audit.record_export(
            session,
            "ReviewTask",
            len(rows),
            "all pending" if include_pending else "overdue",
            now=now,
        )
    return data
