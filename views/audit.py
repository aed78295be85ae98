"""审计日志: read-only for the auditor — filterable list and xlsx export; nobody edits or deletes."""

from flask import Response
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import lazy_gettext as _l

from app import audit, clock
from app.extensions import db
from models.audit import AuditLog
from reports.audit import audit_xlsx
from reports.xlsx import XLSX_MIME
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView


class AuditLogView(ScopedModelView):
    datamodel = ScopedSQLAInterface(AuditLog)
    class_permission_name = "AuditLog"
    base_permissions = ["can_read", "can_export"]
    list_title = _l("Audit log")
    show_title = _l("Audit entry")
    label_columns = {
        "at": _l("Time"), "username": _l("Username"), "ip": _l("IP"), "role": _l("Role"),
        "org_name": _l("Organisation"), "event": _l("Event"), "object_type": _l("Object type"),
        "object_id": _l("Object id"), "summary": _l("Summary"), "changes": _l("Changes"),
        "success": _l("Success"),
    }
    list_columns = ["at", "username", "ip", "role", "org_name", "event", "object_type",
                    "object_id", "summary", "success"]
    show_columns = list_columns + ["changes"]
    search_columns = ["at", "username", "ip", "event", "object_type", "object_id", "success"]
    order_columns = ["at"]
    base_order = ("at", "desc")
    list_template = "audit/list.html"

    @expose("/export")
    @has_access
    def export(self):
        """The current filtered list as xlsx (same filters as the list page)."""
        get_filter_args(self._filters)
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("at", "desc"))
        query = self.datamodel.apply_all(db.session.query(AuditLog), self._filters,
                                         order_column or "at", order_direction or "desc")
        data, count = audit_xlsx(query)
        audit.record(db.session, "export", object_type="AuditLog",
                     summary=f"{count} rows", now=clock.now())
        db.session.commit()
        filename = f"audit-{clock.now():%Y%m%d-%H%M%S}.xlsx"
        return Response(data, mimetype=XLSX_MIME,
                        headers={"Content-Disposition": f"attachment; filename={filename}"})
