"""工作台: 我的待办 (the steps waiting for the user) and 逾期督办 (overdue steps below a province).

Both read `ReviewTask` rows only, whatever the kind of record: the record's page is found through
its kind's record page, its step label through its chain. Nothing here knows a domain.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit, clock
from app.extensions import db
from app.memo import memo
from app.queries import count_rows
from app.services import review
from app.services.deadlines import days_left
from models.org import Org
from models.review import ReviewTask
from reports.overdue import overdue_xlsx
from security import permissions
from security.scope import in_scope
from views.base import xlsx_download
from views.review import kind_label, record_url

REVIEWING_KINDS = ("center", "province", "city", "institution", "trainer")  # roles with steps
HOME_TOP = 5  # to-do items on the home page


@dataclass(frozen=True)
class Row:
    """One pending step as lists show it."""

    task: ReviewTask
    record: str
    url: str | None
    kind: str
    step: str
    org: str
    days_left: int
    overdue: bool


def _rows(items, now: datetime) -> list[Row]:
    orgs = {}
    rows = []
    for item in items:
        t = item.task
        org = orgs.get(t.reviewer_org_id)
        if org is None:
            org = orgs[t.reviewer_org_id] = db.session.get(Org, t.reviewer_org_id)
        rows.append(
            Row(
                t,
                str(item.record) if item.record is not None else f"#{t.record_id}",
                record_url(t.record_type, t.record_id),
                kind_label(t.record_type),
                _(item.step_label),
                org.name if org else "",
                days_left(t.due_at, now),
                t.due_at < now,
            )
        )
    return rows


def todo_query(user):
    """The user's open steps, inside its scope (a moved account never keeps another org's steps)."""
    return in_scope(review.todo_tasks(user), ReviewTask)


def todo_rows(user, now: datetime, limit: int | None = None) -> list[Row]:
    if user is None or user.role_kind not in REVIEWING_KINDS:
        return []
    query = todo_query(user)
    if limit:
        query = query.limit(limit)
    return _rows(review.task_items(db.session.scalars(query)), now)


def todo_count() -> int:
    """The menu badge: one COUNT per page, remembered for the rest of the request."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    if user.role_kind not in REVIEWING_KINDS:
        return 0
    return memo("todo_count", lambda: count_rows(todo_query(user)), on=user)


class TodoView(BaseView):
    """我的待办: every step waiting for the user's org and role, soonest due first."""

    route_base = "/todo"
    default_view = "list"
    class_permission_name = permissions.TODO
    method_permission_name = {"list": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def list(self):
        now = clock.now()
        return self.render_template(
            "todo/list.html", rows=todo_rows(g.user, now), now=now, title=_("My to-do")
        )


def overdue_rows(now: datetime, include_pending: bool = False) -> list[Row]:
    """Open steps of the orgs in the user's scope, grouped by org and kind, oldest first."""
    query = select(ReviewTask).where(ReviewTask.done_at.is_(None))
    if not include_pending:
        query = review.overdue_tasks(now)
    query = in_scope(query, ReviewTask)
    rows = _rows(review.task_items(db.session.scalars(query.order_by(None))), now)
    oldest = {}
    for row in rows:
        key = (row.org, row.kind)
        oldest[key] = min(oldest.get(key, row.task.due_at), row.task.due_at)
    return sorted(
        rows, key=lambda r: (oldest[r.org, r.kind], r.org, r.kind, r.task.due_at, r.task.id)
    )


class OverdueView(BaseView):
    """逾期督办 (province, center): late steps of the orgs below, exportable to Excel."""

    route_base = "/overdue"
    default_view = "board"
    class_permission_name = permissions.OVERDUE
    method_permission_name = {"board": "read", "export": "export"}
    base_permissions = ["can_read", "can_export"]

    @expose("/")
    @has_access
    def board(self):
        now = clock.now()
        include_pending = request.args.get("all") == "1"
        rows = overdue_rows(now, include_pending)
        groups = {}
        for row in rows:
            groups.setdefault((row.org, row.kind), []).append(row)
        return self.render_template(
            "todo/overdue.html",
            groups=groups,
            now=now,
            include_pending=include_pending,
            title=_("Overdue board"),
        )

    @expose("/export")
    @has_access
    def export(self):
        now = clock.now()
        include_pending = request.args.get("all") == "1"
        rows = overdue_rows(now, include_pending)
        data = overdue_xlsx(rows, now)
        audit.record_export(
            db.session,
            "ReviewTask",
            len(rows),
            "all pending" if include_pending else "overdue",
            now=now,
        )
        db.session.commit()
        return xlsx_download(data, f"overdue-{now:%Y%m%d-%H%M%S}.xlsx")


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    current_app.jinja_env.globals["todo_count"] = todo_count  # the navbar badge
