"""Audit-log export (审计日志导出) — streamed, in the auditor's scope (labels: app/labels.py, shared with
the list page)."""

from flask_babel import gettext as _

from app.labels import event_label, object_label
from reports.xlsx import Column, write_table


def yes_no(value) -> str:
    return _("Yes") if value else _("No")


def audit_columns():
    return [
        Column(_("Time"), 20), Column(_("Username"), 16), Column(_("IP"), 16),
        Column(_("Role"), 12), Column(_("Organisation"), 24), Column(_("Event"), 16),
        Column(_("Object type"), 14), Column(_("Object id"), 10), Column(_("Summary"), 40),
        Column(_("Changes"), 60), Column(_("Success"), 8),
    ]


def audit_xlsx(query, role_label=str) -> tuple[bytes, int]:
    """``query`` is an already scoped and filtered query of AuditLog rows."""
    count = 0

    def rows():
        nonlocal count
        for e in query.yield_per(2000):
            count += 1
            yield [e.at.strftime("%Y-%m-%d %H:%M:%S"), e.username, e.ip,
                   role_label(e.role) if e.role else None, e.org_name, event_label(e.event),
                   object_label(e.object_type), e.object_id, e.summary, e.changes,
                   yes_no(e.success)]

    data = write_table(audit_columns(), rows(), sheet=_("Audit log"))
    return data, count
