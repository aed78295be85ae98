"""Audit-log export (审计日志导出) — streamed, in the auditor's scope — and the labels shared with
the list page, so both read the same in Chinese."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from reports.xlsx import Column, write_table

EVENT_LABELS = {
    "login": _l("Login"),
    "login_failed": _l("Login failed"),
    "login_locked": _l("Login while locked"),
    "lockout": _l("Account locked"),
    "logout": _l("Logout"),
    "password_change": _l("Password changed"),
    "password_reset": _l("Password reset"),
    "role_change": _l("Role changed"),
    "sync_roles": _l("Roles synchronised"),
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "export": _l("Export"),
    "import": _l("Import"),
    "purge_audit": _l("Audit log purged"),
}
OBJECT_LABELS = {
    "Org": _l("Organisation"),
    "MalanUser": _l("Account"),
    "Role": _l("Role"),
    "AuditLog": _l("Audit log"),
}


def event_label(code) -> str:
    """Known events in the user's language; others (e.g. review_* of later modules) as coded."""
    return str(EVENT_LABELS.get(code, code or ""))


def object_label(name) -> str:
    return str(OBJECT_LABELS.get(name, name or ""))


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
