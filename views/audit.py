"""审计日志: read-only for the auditor — filterable list and xlsx export; nobody edits or deletes."""

from flask import current_app, request
from flask_appbuilder import expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app import audit, clock
from app.audit_text import change_rows, field_word, not_internal_clause, summary_text
from app.extensions import db
from app.labels import event_label, object_label
from app.services.tx import transaction
from models.audit import AuditLog
from reports.audit import audit_xlsx, yes_no
from reports.xlsx import download_name
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, xlsx_download
from views.users import role_label


def _event(code):
    # The code stays visible on hover: it is what the list's event filter matches.
    return Markup('<span title="{}">{}</span>').format(code, event_label(code))


def _blank_none(value):
    return "" if value is None else value


def show_internal() -> bool:
    """The list shows internal bookkeeping rows only when asked (its toggle: ?internal=1)."""
    return request.args.get("internal") == "1"


class HideInternal(BaseFilter):
    """Base filter of the list and its export: internal bookkeeping rows (`app.audit_text`)
    are left out unless asked for. An entry's own page is always reachable."""

    name = "hide internal"
    arg_name = "hide_internal"

    def apply(self, query, value):
        if show_internal() or (request.endpoint or "").endswith(".show"):
            return query
        return query.filter(not_internal_clause())


def field_labels(object_type: str) -> dict:
    """The labels the views of this kind of row give its columns (what users saw in the form)."""
    labels = {}
    for view in current_app.appbuilder.baseviews:
        model = getattr(getattr(view, "datamodel", None), "obj", None)
        if model is not None and model.__name__ == object_type:
            for key, label in (getattr(view, "label_columns", None) or {}).items():
                labels.setdefault(key, label)
    return labels


class AuditLogView(ScopedModelView):
    # Millions of entries: the list counts at most 10,000 of them (shown "10000+"; narrow the
    # filters or export), instead of counting the whole log on every page.
    datamodel = ScopedSQLAInterface(AuditLog, count_cap=10_000)
    class_permission_name = permissions.AUDIT
    base_permissions = ["can_read", "can_export"]
    list_title = _l("Audit log")
    show_title = _l("Audit entry")
    label_columns = {
        "at": _l("Time"),
        "username": _l("Username"),
        "ip": _l("IP"),
        "role": _l("Role"),
        "org_name": _l("Organisation"),
        "event": _l("Event"),
        "object_type": _l("Object type"),
        "object_id": _l("Object id"),
        "summary": _l("Summary"),
        "changes": _l("Changes"),
        "success": _l("Success"),
    }
    list_columns = [
        "at",
        "username",
        "ip",
        "role",
        "org_name",
        "event",
        "object_type",
        "object_id",
        "summary",
        "success",
    ]
    show_columns = list_columns  # the changes as a before → after table below (audit/show.html)
    show_template = "audit/show.html"
    base_filters = [["id", HideInternal, None]]
    search_columns = ["at", "username", "ip", "event", "object_type", "object_id", "success"]
    order_columns = ["at"]
    base_order = ("at", "desc")
    formatters_columns = {
        "role": role_label,
        "event": _event,
        "object_type": object_label,
        "summary": summary_text,
        "success": yes_no,
        **{c: _blank_none for c in ("username", "ip", "org_name", "object_id")},
    }
    list_template = "audit/list.html"

    # Append-only (等保): ModelView's write endpoints are not routed at all here, whatever the
    # permission matrix says. Overriding without @expose removes the route.
    def add(self):
        raise NotImplementedError

    def edit(self, pk):
        raise NotImplementedError

    def delete(self, pk):
        raise NotImplementedError

    def action(self, name, pk):
        raise NotImplementedError

    def action_post(self):
        raise NotImplementedError

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        widgets = self._show(pk)
        entry = self.datamodel.get(pk, self._base_filters)
        labels = field_labels(entry.object_type or "")
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            changes=change_rows(entry.changes, lambda key: field_word(key, labels)),
        )

    @expose("/export")
    @has_access
    def export(self):
        """The current filtered list as xlsx (same filters, order and scope as the list page)."""
        query, described = self.list_query(db.session.query(AuditLog), ("at", "desc"))
        data, count = audit_xlsx(query, role_label)
        now = clock.now()
        with transaction():
            audit.record_export(db.session, "AuditLog", count, described, now=now)
        return xlsx_download(data, download_name(_l("Audit log"), when=now))
