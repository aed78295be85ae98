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

from app import clock
from app.extensions import db
from app.memo import memo
from app.services import todo
from app.services.deadlines import days_left
from models.org import Org
from models.review import ReviewTask
from reports.xlsx import download_name
from security import permissions
from views.base import xlsx_download
from views.review import kind_label, record_url, todo_url

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


def _rows(items, now: datetime, url=None) -> list[Row]:
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
                url(t) if url else record_url(t.record_type, t.record_id),
                kind_label(t.record_type),
                _(item.step_label),
                org.name if org else "",
                days_left(t.due_at, now),
                t.due_at < now,
            )
        )
    return rows


def todo_rows(user, now: datetime, limit: int | None = None) -> list[Row]:
    return _rows(todo.todo_items(user, limit), now, url=todo_url)  # the action itself


def todo_count() -> int:
    """The menu badge: one COUNT per page, remembered for the rest of the request."""
    user = getattr(g, "user", None)
    if not todo.has_steps(user):
        return 0
    return memo("todo_count", lambda: todo.todo_count(user), on=user)


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
    rows = _rows(todo.overdue_items(now, include_pending), now)
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
        data = todo.overdue_file(overdue_rows(now, include_pending), include_pending, now)
        return xlsx_download(data, download_name(_("Overdue board"), when=now))


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    current_app.jinja_env.globals["todo_count"] = todo_count  # the navbar badge
