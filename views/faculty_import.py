"""师资库批量导入 (the center only): template, upload → every row checked → preview → confirm,
and the uploaded file back with an error column. No menu entry: the pool's list links to
``FacultyImportView.upload``. Thin: every rule is in `reports.faculty_import`."""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit, clock
from app.extensions import db
from app.services import files, staging
from app.services.errors import DomainError, NotAllowed
from app.services.tx import transaction
from reports import faculty_import as report
from reports.imports import ImportRefused, RowError
from security import permissions
from views.base import xlsx_download

OBJECT_TYPE = "FacultyProfile"
SHOWN_ERRORS = 200  # on the page; the error file holds them all
# Its two kinds of staged upload (app.services.staging): a clean file waiting for its confirm,
# and a file with errors kept for the error-file download.
READY, ERRORS = "faculty_import", "faculty_import_errors"


class FacultyImportView(BaseView):
    route_base = "/faculty_import"
    class_permission_name = permissions.FACULTY
    method_permission_name = {
        "upload": "manage",
        "template": "manage",
        "confirm": "manage",
        "error_file": "manage",
    }
    base_permissions = ["can_manage"]
    default_view = "upload"

    @expose("/template.xlsx")
    @has_access
    def template(self):
        return xlsx_download(report.template_xlsx(), "师资库导入模板.xlsx")

    @expose("/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        if request.method == "GET":
            return self._upload_page()
        upload = request.files.get("file")
        data = upload.read(report.MAX_BYTES + 1) if upload else b""
        filename = files.clean_filename(upload.filename if upload else "") or "import.xlsx"
        return self._checked_page(data, filename)

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        try:
            staged = staging.take(request.form.get("token", ""), g.user.id, READY, clock.now())
        except NotAllowed:
            abort(403)
        except DomainError as exc:  # already confirmed (a double click), expired
            flash(str(exc), "warning")
            return redirect(url_for(".upload"))
        # Checked again: the pool may have changed since the preview (another import, a form).
        return self._checked_page(staged.data, staged.filename, write=True)

    @expose("/errors/<token>")
    @has_access
    def error_file(self, token):
        staged = staging.peek(token, g.user.id, ERRORS, clock.now())
        if staged is None:
            flash(_("The error file has expired; upload the file again."), "warning")
            return redirect(url_for(".upload"))
        meta = staged.meta
        errors = [RowError(*e) for e in meta["errors"]]
        out = report.error_workbook(staged.data, errors, meta["sheet"], meta["header_row"])
        stem = staged.filename.rsplit(".", 1)[0]
        return xlsx_download(out, f"{stem}-错误说明.xlsx")

    # ------------------------------------------------------------ helpers

    def _upload_page(self, status=200):
        return self.render_template(
            "faculty_import/upload.html",
            max_rows=report.MAX_ROWS,
            max_mb=report.MAX_BYTES // (1024 * 1024),
        ), status

    def _refused(self, message, filename, now):
        db.session.rollback()
        audit.record_import(db.session, OBJECT_TYPE, 0, errors=1, filename=filename, now=now)
        db.session.commit()
        flash(message, "danger")
        return self._upload_page(400)

    def _checked_page(self, data: bytes, filename: str, write: bool = False):
        now = clock.now()
        try:
            checked = report.check(data, now.date())
        except ImportRefused as exc:
            return self._refused(str(exc), filename, now)
        if checked.errors:
            with transaction():  # the error file kept and the refused import audited, together
                token = staging.stage(
                    ERRORS,
                    g.user.id,
                    now,
                    filename=filename,
                    data=data,
                    meta={
                        "sheet": checked.sheet,
                        "header_row": checked.header_row,
                        "errors": [[e.row, e.column, e.header, e.message] for e in checked.errors],
                    },
                )
                audit.record_import(
                    db.session,
                    OBJECT_TYPE,
                    checked.total,
                    errors=len(checked.errors),
                    filename=filename,
                    now=now,
                )
            return self.render_template(
                "faculty_import/preview.html",
                filename=filename,
                checked=checked,
                errors=checked.errors[:SHOWN_ERRORS],
                error_token=token,
                token=None,
                rows=[],
            )
        if not write:
            token = staging.stage(READY, g.user.id, now, filename=filename, data=data)
            return self.render_template(
                "faculty_import/preview.html",
                filename=filename,
                checked=checked,
                errors=[],
                error_token=None,
                token=token,
                rows=report.preview_rows(checked),
            )
        try:
            count = report.create_profiles(checked.rows, g.user, now, filename)
            db.session.commit()
        except IntegrityError:  # a profile with the same ID number or mobile saved meanwhile
            return self._refused(
                _(
                    "A profile with one of these ID numbers or mobile numbers was "
                    "saved meanwhile; nothing was imported. Upload the file again."
                ),
                filename,
                now,
            )
        flash(_("%(n)d trainer profiles were imported into the faculty pool.", n=count), "success")
        return redirect(url_for("FacultyView.list"))


def register(appbuilder) -> None:
    """No menu entry: the faculty pool's list shows the import button (center only)."""
    appbuilder.add_view_no_menu(FacultyImportView)
