"""师资库批量导入 (the center only): template, upload → every row checked → preview → confirm,
and the uploaded file back with an error column. No menu entry: the pool's list links to
``FacultyImportView.upload``. Thin: the unit of work is `app.services.faculty_import`, the rules `reports.faculty_import`."""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app import clock
from app.services import faculty_import as service
from app.services import files
from app.services.errors import DomainError, NotAllowed
from reports import faculty_import as report
from reports.xlsx import download_name
from security import permissions
from views.base import xlsx_download

SHOWN_ERRORS = 200  # on the page; the error file holds them all


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
        return xlsx_download(report.template_xlsx(), download_name("师资库导入模板"))

    @expose("/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        if request.method == "GET":
            return self._upload_page()
        upload = request.files.get("file")
        data = upload.read(report.MAX_BYTES + 1) if upload else b""
        filename = files.clean_filename(upload.filename if upload else "") or "import.xlsx"
        return self._outcome_page(service.upload(data, filename, g.user, clock.now()), filename)

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        now = clock.now()
        try:
            staged = service.claim(request.form.get("token", ""), g.user, now)
        except NotAllowed:
            abort(403)
        except DomainError as exc:  # already confirmed (a double click), expired
            flash(str(exc), "warning")
            return redirect(url_for(".upload"))
        try:
            outcome = service.confirm(staged, g.user, now)
        except DomainError as exc:
            flash(str(exc), "danger")
            return self._upload_page(400)
        if not isinstance(outcome, int):  # the file no longer passes the checks
            return self._outcome_page(outcome, staged.filename)
        flash(
            _("%(n)d trainer profiles were imported into the faculty pool.", n=outcome), "success"
        )
        return redirect(url_for("FacultyView.list"))

    @expose("/errors/<token>")
    @has_access
    def error_file(self, token):
        found = service.error_file(token, g.user, clock.now())
        if found is None:
            flash(_("The error file has expired; upload the file again."), "warning")
            return redirect(url_for(".upload"))
        return xlsx_download(*found)

    # ------------------------------------------------------------ helpers

    def _upload_page(self, status=200):
        return self.render_template(
            "faculty_import/upload.html",
            max_rows=report.MAX_ROWS,
            max_mb=report.MAX_BYTES // (1024 * 1024),
        ), status

    def _outcome_page(self, outcome, filename):
        if outcome.refused:
            flash(outcome.refused, "danger")
            return self._upload_page(400)
        checked = outcome.checked
        return self.render_template(
            "faculty_import/preview.html",
            filename=filename,
            checked=checked,
            errors=checked.errors[:SHOWN_ERRORS],
            error_token=outcome.error_token,
            token=outcome.token,
            rows=[] if checked.errors else report.preview_rows(checked),
        )


def register(appbuilder) -> None:
    """No menu entry: the faculty pool's list shows the import button (center only)."""
    appbuilder.add_view_no_menu(FacultyImportView)
