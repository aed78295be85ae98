"""联络员信息汇总表 (Annex 2): the template, the province's upload → preview → confirm, the
center's review page (approval allocates the accounts), the one-time account sheet and the
roster export. Thin: every rule is in `app.services.rosters`."""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import clock
from app.services import rosters
from models.org import PROVINCE
from models.roster import Roster
from reports import roster as report
from reports.xlsx import download_name
from security import permissions
from security.scope import ScopedSQLAInterface, current_scope
from views.base import blank, perform, xlsx_download
from views.review import ReviewableModelView, status_label

KIND_LABELS = {
    "province": _l("Provincial liaison"),
    "city": _l("City liaison"),
    "institution": _l("Institution liaison"),
}
CHANGE_LABELS = {
    "add": _l("Add"),
    "change": _l("Change contact data"),
    "deactivate": _l("Disable"),
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
    list_title = _l("Liaison roster")
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
        province = rosters.uploading_province(g.user)
        return self.render_template("rosters/upload.html", province=province)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        return self.show.__wrapped__(self, pk)

    @expose("/template.xlsx")
    @has_access
    def template(self):
        org = g.user.org
        name = org.name if org is not None and org.kind == PROVINCE else ""  # the title only
        return xlsx_download(report.template_xlsx(name), download_name("联络员信息汇总表"))

    def _province(self):
        province = rosters.uploading_province(g.user)
        if province is None:
            abort(403)
        return province

    @expose("/upload", methods=["GET", "POST"])
    @has_access
    def upload(self):
        province = self._province()
        if request.method == "GET":
            return self.render_template("rosters/upload.html", province=province)
        upload = request.files.get("file")
        data = upload.read(rosters.ROSTER_SPEC.max_bytes + 1) if upload else b""
        filename = (upload.filename if upload else "") or "roster.xlsx"
        outcome = rosters.upload(data, filename, province, g.user, clock.now())
        if outcome.refused:
            flash(outcome.refused, "danger")
            return self.render_template("rosters/upload.html", province=province), 400
        return self._preview_page(province, outcome.preview, outcome.token)

    def _preview_page(self, province, preview, token):
        return self.render_template(
            "rosters/preview.html",
            province=province,
            preview=preview,
            token=token,
            kind_labels=KIND_LABELS,
            change_labels=CHANGE_LABELS,
            choices=rosters.choices_for(province),
        )

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        """Two transactions by design (`app.services.staging`): the claim of the staged preview
        commits at once, then the roster is written and submitted."""
        province = self._province()
        now = clock.now()
        token = request.form.get("token", "")
        choices = {
            key.removeprefix("place-"): value
            for key, value in request.form.items()
            if key.startswith("place-")
        }
        unplaced = rosters.unplaced_preview(token, province, g.user, now, choices)
        if unplaced is not None:  # a choice is missing: the same preview again, still confirmable
            flash(unplaced[1], "danger")
            return self._preview_page(province, unplaced[0], token)
        claimed, done = [], []
        if not perform(lambda: claimed.append(rosters.claim_preview(token, province, g.user, now))):
            return redirect(url_for(".upload"))
        if claimed[0] is None:  # another user's preview: as any foreign id
            abort(403)
        if not perform(
            lambda: done.append(
                rosters.confirm_claimed(claimed[0], province, g.user, now, choices)
            ),
            success=_("The roster was submitted to the center."),
        ):
            return redirect(url_for(".upload"))
        return redirect(url_for(".show", pk=done[0].id))

    @expose("/account_sheet/<pk>", methods=["POST"])
    @has_access
    def account_sheet(self, pk):
        """The center's single download of the initial passwords (POST: it changes state)."""
        roster = self._record_or_404(pk)
        sheet = []
        if not perform(lambda: sheet.append(rosters.account_sheet(roster, g.user, clock.now()))):
            return redirect(url_for(".show", pk=pk))
        return xlsx_download(sheet[0], download_name("账号", roster.org.name, roster.id))

    @expose("/person/<int:user_id>")
    @has_access
    def person(self, user_id):
        """Point 4: the roster changes that touched one person (a user within the scope)."""
        user = rosters.person_in_scope(user_id)
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
        data = rosters.export_file(current_scope(), clock.now())
        return xlsx_download(data, download_name("联络员信息汇总表", when=clock.now().date()))
