"""越权访问看板 (security administrator): who was refused another region's records, how often,
when last and where — read from the audit log's ``access_refused`` entries (`app.audit.
record_refusals`), in the same scope as the audit log itself."""

from dataclasses import dataclass
from datetime import datetime

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.labels import role_label
from models.audit import AuditLog
from security import permissions
from security.scope import in_scope

EVENT = "access_refused"
PAGE_SIZE = 50


@dataclass(frozen=True)
class RefusalRow:
    username: str
    role: str
    org_name: str
    count: int
    last_at: datetime
    last_path: str


def refusal_rows(page: int, page_size: int = PAGE_SIZE) -> tuple[list[RefusalRow], bool]:
    """One row per user, most recent first; and whether a next page exists."""
    a = AuditLog
    query = (
        select(
            a.username,
            func.count().label("n"),
            func.max(a.at).label("last_at"),
            func.max(a.id).label("last_id"),
        )
        .where(a.event == EVENT)
        .group_by(a.username)
    )
    query = in_scope(query, a)
    found = db.session.execute(
        query.order_by(func.max(a.at).desc(), a.username)
        .limit(page_size + 1)
        .offset((page - 1) * page_size)
    ).all()
    last = {
        e.id: e
        for e in db.session.execute(
            select(a.id, a.summary, a.role, a.org_name).where(
                a.id.in_([r.last_id for r in found[:page_size]])
            )
        )
    }
    rows = [
        RefusalRow(
            r.username or "",
            role_label(last[r.last_id].role),
            last[r.last_id].org_name or "",
            r.n,
            r.last_at,
            last[r.last_id].summary or "",
        )
        for r in found[:page_size]
    ]
    return rows, len(found) > page_size


class RefusalBoardView(BaseView):
    route_base = "/refusals"
    default_view = "board"
    class_permission_name = permissions.SECURITY_BOARD
    method_permission_name = {"board": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def board(self):
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        rows, has_next = refusal_rows(page)
        return self.render_template(
            "audit/refusals.html",
            rows=rows,
            page=page,
            has_next=has_next,
            title=_("Refused access"),
        )
