"""发放文书: the issued documents (the dispatch's notices, the certificates) in scope, their PDF,
and the addressee's confirmation or objection; the public verify page is `views.verify`.

A document is read through a scoped datamodel (the class's institution and the authorities
above it; a trainer its own notice): a guessed id of another region answers 404, the PDF too.
Who may confirm or object is the service's rule (`app.services.dispatch_notices`).
"""

from __future__ import annotations

import io

from flask import g, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit, clock
from app.extensions import db
from app.services import dispatch_notices as notices
from app.services import documents
from app.services.tx import transaction
from models.dispatch import NOTIFIED, Dispatch
from models.document import (
    CERTIFICATE,
    DISPATCH_NOTICE,
    TASK_NOTICE,
    VALID,
    WITHDRAWN,
    IssuedDocument,
)
from models.user import INSTITUTION
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, perform
from views.list_export import ListExportMixin

STATUS_LABELS = {VALID: _l("Valid"), WITHDRAWN: _l("Withdrawn")}
KIND_LABELS = notices.KIND_LABELS | {CERTIFICATE: _l("Qualified lecturer certificate")}


def kind_label(value) -> str:
    return str(KIND_LABELS.get(value, value))


def status_label(value) -> str:
    return str(STATUS_LABELS.get(value, value))


class IssuedDocumentView(ListExportMixin, ScopedModelView):
    """The issued documents (dispatch and task notices, certificates): list, page (with a preview
    of the PDF), download, confirm, object. Each reader sees those of its area or addressed to it."""

    datamodel = ScopedSQLAInterface(IssuedDocument, eager=("training_class",))
    class_permission_name = permissions.ISSUED_DOCUMENT
    method_permission_name = {
        "list": "read",
        "show": "read",
        "download": "read",
        "confirm": "write",
        "object": "write",
    }
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"list", "show", "download", "confirm", "object"}
    list_title = show_title = add_title = edit_title = _l("Notices and certificates")
    label_columns = {
        "number": _l("Document number"),
        "kind": _l("Document kind"),
        "subject_code": _l("Class code"),
        "status": _l("Status"),
        "issued_at": _l("Issued at"),
        "confirmed_at": _l("Confirmed at"),
    }
    list_columns = show_columns = add_columns = edit_columns = [
        "number",
        "kind",
        "subject_code",
        "status",
        "issued_at",
        "confirmed_at",
    ]
    search_columns = ["number", "subject_code", "status"]
    base_order = ("id", "desc")
    formatters_columns = {"kind": kind_label, "status": status_label}

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        doc = self.get_or_404(pk)
        user = g.user
        d = db.session.scalar(select(Dispatch).where(Dispatch.class_id == doc.class_id))
        pending = doc.status == VALID and doc.confirmed_at is None
        addressee = (doc.kind == DISPATCH_NOTICE and doc.owner_user_id == user.id) or (
            doc.kind == TASK_NOTICE
            and user.role_kind == INSTITUTION
            and user.org_id == doc.org_id
            and d is not None
            and d.status == NOTIFIED
        )
        seats = []
        if doc.kind == TASK_NOTICE and d is not None:
            seats = [s for s in d.seats if s.status in notices.HELD_AFTER_NOTICE]
        return self.render_template(
            "documents/show.html",
            doc=doc,
            d=d,
            blocks=documents.preview(doc),
            verify_url=documents.verify_url(doc.code),
            may_confirm=pending and addressee,
            may_object=pending and addressee and doc.kind == TASK_NOTICE,
            seats=seats,
            kind_label=kind_label,
            status_label=status_label,
            title=f"{doc.title} {doc.number}",
        )

    @expose("/download/<pk>")
    @has_access
    def download(self, pk):
        doc = self.get_or_404(pk)
        body = db.session.scalar(select(IssuedDocument.pdf).where(IssuedDocument.id == doc.id))
        with transaction():  # every download of a notice leaves an audit entry
            audit.record(
                db.session,
                "document_download",
                object_type="IssuedDocument",
                object_id=doc.id,
                summary=doc.number,
            )
        response = send_file(
            io.BytesIO(body),
            mimetype="application/pdf",
            as_attachment=True,
            download_name=doc.filename,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def _back(self, pk):
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    @expose("/confirm/<pk>", methods=["POST"])
    @has_access
    def confirm(self, pk):
        doc = self.get_or_404(pk)
        perform(lambda: notices.confirm(doc, g.user, clock.now()), _l("Notice confirmed."))
        return self._back(pk)

    @expose("/object/<pk>", methods=["POST"])
    @has_access
    def object(self, pk):
        doc = self.get_or_404(pk)
        reason = request.form.get("reason", "")
        seat = request.form.get("seat", "")
        seat_id = int(seat) if seat.isdigit() else None
        perform(
            lambda: notices.object_to(doc, g.user, reason, seat_id, clock.now()),
            _l("Objection sent to the center."),
        )
        return self._back(pk)
