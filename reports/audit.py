"""Audit-log export (审计日志导出) — streamed, in the auditor's scope (labels: app/labels.py, shared with
the list page)."""

from flask_babel import gettext as _

from app.audit_text import changes_text, summary_text
from app.labels import event_label, object_label
from models.audit import AuditLog as a
from reports.xlsx import Column, write_table


def yes_no(value) -> str:
    return _("Yes") if value else _("No")


def audit_columns():
    return [
        Column(_("Time"), 20),
        Column(_("Username"), 16),
        Column(_("IP"), 16),
        Column(_("Role"), 12),
        Column(_("Organisation"), 24),
        Column(_("Event"), 16),
        Column(_("Object type"), 14),
        Column(_("Object id"), 10),
        Column(_("Summary"), 40),
        Column(_("Changes"), 60),
        Column(_("Success"), 8),
    ]


def _memo(label):
    """A label function answered once per distinct code: a translated label costs a catalog
    lookup, and 100,000 rows hold a handful of codes (bench B3: ~2x faster)."""
    seen = {}

    def cached(code):
        if code not in seen:
            seen[code] = label(code)
        return seen[code]

    return cached


def audit_xlsx(query, role_label=str) -> tuple[bytes, int]:
    """``query`` is an already scoped and filtered query of AuditLog rows."""
    count = 0
    role, event, object_type, success = (
        _memo(role_label),
        _memo(event_label),
        _memo(object_label),
        _memo(yes_no),
    )
    # Plain columns of the same query (its scope, filters and order), not ORM objects: no
    # identity map and no per-row object construction for what is only written out (bench B3).
    rows_query = query.with_entities(
        a.at,
        a.username,
        a.ip,
        a.role,
        a.org_name,
        a.event,
        a.object_type,
        a.object_id,
        a.summary,
        a.changes,
        a.success,
    )

    def rows():
        nonlocal count
        for (
            at,
            username,
            ip,
            role_kind,
            org_name,
            code,
            obj,
            obj_id,
            summary,
            changes,
            ok,
        ) in rows_query.yield_per(2000):
            count += 1
            yield [
                at.strftime("%Y-%m-%d %H:%M:%S"),
                username,
                ip,
                role(role_kind) if role_kind else None,
                org_name,
                event(code),
                object_type(obj),
                obj_id,
                summary_text(summary),
                changes_text(changes),
                success(ok),
            ]

    data = write_table(audit_columns(), rows(), sheet=_("Audit log"))
    return data, count
