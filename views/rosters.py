"""联络员信息汇总表 (Annex 2): the template, the province's upload → preview → confirm, the
center's review page (approval allocates the accounts), the one-time account sheet and the
roster export. Thin: every rule is in `app.services.rosters`."""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, clock
from app.extensions import db
from app.services import review, rosters
from app.services.errors import DomainError, NotAllowed
from models.org import PROVINCE
from models.roster import Roster
from reports import roster as report
from reports.imports import ImportRefused
from security import permissions
from security.scope import ScopedSQLAInterface, current_scope, in_scope
from views.base import blank, xlsx_download
from views.review import ReviewableModelView, status_label

KIND_LABELS = {
    "province": _l("Provincial liaison"),
    "city": _l("City liaison"),
    "institution": _l("Institution liaison"),
}
CHANGE_LABELS = {
    "add": _l("Add"),
    "change": _l("Change contact data"),
    "deactivate": _l("Deactivate"),
}


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


class RosterView(ReviewableModelView):
    """Rosters of the user's scope: a province's own, every province's for the center."""

    datamodel = ScopedSQLAInterface(Roster)
    class_permission_name = permissions.ROSTER
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "template": "read",
        "upload": "write",
        "confirm": "write",
        "account_sheet": "review",
        # Point 6: a province exports its own roster; the scope decides what is in the file.
        "export_xlsx": "read",
        "person": "read",
    }
    base_permissions = ["can_read", "can_write", "can_review", "can_export"]
    list_title = _l("Liaison rosters")
    show_title = _l("Liaison roster")
    add_title = _l("Upload a roster")
    edit_title = _l("Liaison roster")
    label_columns = {
        "org": _l("Province"),
        "filename": _l("File"),
        "row_count": _l("Rows"),
        "status": _l("Status"),
        "submitted_at": _l("Submitted at"),
        "allocated_at": _l("Accounts allocated at"),
        "sheet_downloaded_at": _l("Account sheet downloaded at"),
    }
    list_columns = [
        "org",
        "filename",
        "row_count",
        "status",
        "submitted_at",
        "allocated_at",
        "sheet_downloaded_at",
    ]
    show_columns = list_columns
    search_columns = ["org", "status", "submitted_at"]
    add_columns = edit_columns = [
        "filename"
    ]  # unused: add is the upload page, edit shows the roster
    base_order = ("id", "desc")
    formatters_columns = {
        **ReviewableModelView.formatters_columns,
        "submitted_at": _when,
        "allocated_at": _when,
        "sheet_downloaded_at": _when,
        "filename": blank,
    }
    show_template = "rosters/show.html"
    list_template = "rosters/list.html"

    # No add/edit forms: a roster is a confirmed file. "Add" is the upload page; a roster is
    # never edited (a corrected file is a new roster), so "edit" shows it.
    @expose("/add", methods=["GET"])
    @has_access
    def add(self):
        org = g.user.org
        province = (
            org
            if org is not None and org.kind == PROVINCE and g.user.role_kind == PROVINCE
            else None
        )
        return self.render_template("rosters/upload.html", province=province)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return self.show.__wrapped__(self, pk)

    @expose("/template.xlsx")
    @has_access
    def template(self):
        org = g.user.org
        name = org.name if org is not None and org.kind == PROVINCE else ""
        return xlsx_download(report.template_xlsx(name), "联络员信息汇总表.xlsx")

    def _province(self):
        org = g.user.org
        if org is None or org.kind != PROVINCE or g.user.role_kind != PROVINCE:
            abort(403)
        return org

    @expose("/upload", methods=["GET", "POST"])
    @has_access
    def upload(self):
        province = self._province()
        if request.method == "GET":
            return self.render_template("rosters/upload.html", province=province)
        upload = request.files.get("file")
        data = upload.read(rosters.ROSTER_SPEC.max_bytes + 1) if upload else b""
        filename = (upload.filename if upload else "") or "roster.xlsx"
        now = clock.now()
        try:
            result = rosters.preview(data, filename, province)
        except ImportRefused as exc:
            audit.record_import(db.session, "Roster", 0, errors=1, filename=filename, now=now)
            db.session.commit()
            flash(str(exc), "danger")
            return self.render_template("rosters/upload.html", province=province), 400
        token = None
        if not result.errors and result.rows:
            token = rosters.stage_preview(result, province, g.user, now)
        else:
            audit.record_import(
                db.session,
                "Roster",
                len(result.rows),
                errors=len(result.errors),
                filename=filename,
                now=now,
            )
            db.session.commit()
        return self.render_template(
            "rosters/preview.html",
            province=province,
            preview=result,
            token=token,
            kind_labels=KIND_LABELS,
            change_labels=CHANGE_LABELS,
        )

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        province = self._province()
        try:
            roster = rosters.confirm_staged(
                request.form.get("token", ""), province, g.user, clock.now()
            )
        except NotAllowed:
            abort(403)
        except (DomainError, rosters.RosterError, review.ReviewError) as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".upload"))
        flash(_("The roster was submitted to the center."), "success")
        return redirect(url_for(".show", pk=roster.id))

    @expose("/account_sheet/<pk>", methods=["POST"])
    @has_access
    def account_sheet(self, pk):
        """The center's single download of the initial passwords (POST: it changes state)."""
        roster = self._record_or_404(pk)
        try:
            rows = rosters.take_account_sheet(roster, g.user, clock.now())
        except rosters.RosterError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        data = report.account_sheet_xlsx(
            rows,
            _("Accounts of %(province)s (roster #%(id)d)", province=roster.org.name, id=roster.id),
        )
        db.session.commit()
        return xlsx_download(data, f"账号-{roster.org.name}-{roster.id}.xlsx")

    @expose("/person/<int:user_id>")
    @has_access
    def person(self, user_id):
        """Point 4: the roster changes that touched one person (a user within the scope)."""
        from sqlalchemy import select

        from models.user import MalanUser

        user = db.session.scalar(
            in_scope(select(MalanUser).where(MalanUser.id == user_id), MalanUser)
        )
        if user is None:
            abort(404)
        return self.render_template(
            "rosters/person.html",
            person=user,
            entries=rosters.roster_history(user.id),
            change_labels=CHANGE_LABELS,
            status_label=status_label,
        )

    @expose("/export.xlsx")
    @has_access
    def export_xlsx(self):
        records, provinces = rosters.current_liaisons(current_scope())
        data = report.export_xlsx(report.roster_frame(records), provinces)
        audit.record_export(
            db.session, "Roster", len(records), "provinces=" + ",".join(provinces), now=clock.now()
        )
        db.session.commit()
        return xlsx_download(data, "联络员信息汇总表.xlsx")
