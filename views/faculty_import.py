"""师资库批量导入 (the center only): template, upload → every row checked → preview → confirm,
and the uploaded file back with an error column. No menu entry: the pool's list links to
``FacultyImportView.upload``. Thin: every rule is in `reports.faculty_import`."""

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit, clock
from app.extensions import db
from app.services import files
from reports import faculty_import as report
from reports.imports import ImportRefused, RowError
from security import permissions
from views.base import xlsx_download

OBJECT_TYPE = "FacultyProfile"
SHOWN_ERRORS = 200  # on the page; the error file holds them all
READY, ERRORS = "ready", "errors"


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
        staged = report.claim(request.form.get("token", ""), g.user.id, READY)
        if staged is None:
            flash(
                _(
                    "This import was already confirmed or has expired: nothing more was created. "
                    "Upload the file again if needed."
                ),
                "warning",
            )
            return redirect(url_for(".upload"))
        data, meta = staged
        # Checked again: the pool may have changed since the preview (another import, a form).
        return self._checked_page(data, meta["filename"], write=True)

    @expose("/errors/<token>")
    @has_access
    def error_file(self, token):
        staged = report.peek(token, g.user.id)
        if staged is None or staged[1].get("kind") != ERRORS:
            flash(_("The error file has expired; upload the file again."), "warning")
            return redirect(url_for(".upload"))
        data, meta = staged
        errors = [RowError(*e) for e in meta["errors"]]
        out = report.error_workbook(data, errors, meta["sheet"], meta["header_row"])
        stem = meta["filename"].rsplit(".", 1)[0]
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
        meta = {
            "user": g.user.id,
            "filename": filename,
            "sheet": checked.sheet,
            "header_row": checked.header_row,
        }
        if checked.errors:
            token = report.stage(
                data,
                {
                    **meta,
                    "kind": ERRORS,
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
            db.session.commit()
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
            token = report.stage(data, {**meta, "kind": READY})
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
