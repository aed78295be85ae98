"""A class's trainees, trainers and needs analyses (Annex 1 rows 15–16). Thin: every rule is in
`app.services.classroom`; the spreadsheet in `reports.trainee_import`.

- `TraineeView`: the institution's template, upload → preview → confirm (all rows or none), one
  person added or withdrawn; each ends on the one-time account sheet (initial passwords shown
  once, in this response only, never stored).
- `TrainerAssignView`: the center's small form on the class page (until [dispatch] lands).
- `NeedsAnalysisView`: a trainer's 培训需求分析 (its to-do item links here), read by those who see
  the class.
- `TeachingView`: 我的授课班, a trainer's classes and their page.
The class page of the tree's users is `views.applications.TrainingClassView`; both pages include
``classroom/_class_section.html`` with `class_section`.
"""

from __future__ import annotations

import base64

from flask import abort, current_app, flash, g, make_response, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, clock
from app.extensions import db
from app.services import classroom, files, staging
from app.services.errors import DomainError, NotAllowed
from app.services.masking import mask_id_number, mask_mobile
from models.application import TrainingClass
from models.classroom import ClassTrainee, ClassTrainer
from models.user import CENTER, INSTITUTION, TRAINER
from reports import trainee_import as report
from reports.imports import ImportRefused
from reports.xlsx import XLSX_MIME, Column, download_name, write_table
from security import permissions
from security.scope import in_scope
from views.base import perform, xlsx_download

READY = "trainee_import"  # the staged upload's kind (app.services.staging)
SHOWN_ERRORS = 200


def class_url(klass: TrainingClass) -> str:
    """The class's page for this user: a trainer's own page, else the class view."""
    if g.user.role_kind == TRAINER:
        return url_for("TeachingView.show", class_id=klass.id)
    return url_for("TrainingClassView.show", pk=klass.id)


def class_section(klass: TrainingClass) -> dict:
    """What the class page shows of the running class, for this user."""
    user, now = g.user, clock.now()
    full_ids = user.role_kind in (CENTER, INSTITUTION)  # the center, and the org that entered them
    trainees = [
        {
            "row": t,
            "id_number": t.id_number if full_ids else mask_id_number(t.id_number),
            "mobile": t.mobile if full_ids else mask_mobile(t.mobile),
            "username": t.user.username if t.user else "",
        }
        for t in classroom.trainees_of(klass)
    ]
    trainers = classroom.trainers_of(klass)
    needs = {n.user_id: n for n in classroom.needs_analyses(klass)}
    sm = current_sm()
    may_change = False
    try:
        classroom.check_may_change(user, klass, now.date())
        may_change = sm.has_access(permissions.WRITE, permissions.CLASS_TRAINEE)
    except NotAllowed as exc:
        change_refusal = str(exc) if user.role_kind == INSTITUTION else ""
    else:
        change_refusal = ""
    first, last = classroom.account_window(klass)
    return {
        "cr_class": klass,
        "cr_trainees": trainees,
        "cr_trainers": trainers,
        "cr_needs": needs,
        "cr_may_change": may_change,
        "cr_change_refusal": change_refusal,
        "cr_may_assign": user.role_kind == CENTER
        and sm.has_access(permissions.WRITE, permissions.CLASS_TRAINER)
        and not classroom.started(klass, now.date()),
        "cr_window": (first, last),
        "cr_due": classroom.due_before_start(klass),
    }


def current_sm():
    return current_app.appbuilder.sm


def _visible_class(class_id) -> TrainingClass:
    klass = classroom.visible_class(g.user, class_id)
    if klass is None:
        abort(404)
    return klass


def _accounts_page(view, klass, enrolled):
    """The one-time account sheet: shown in this response only (never cached, never stored)."""
    first, last = classroom.account_window(klass)
    rows = [
        (
            n,
            t.name,
            t.mobile,
            t.user.username,
            password or _("(existing account, password unchanged)"),
        )
        for n, (t, password) in enumerate(enrolled, 1)
    ]
    sheet = write_table(
        [
            Column(_("No."), 6),
            Column(_("Name"), 12),
            Column(_("Mobile"), 14),
            Column(_("Username"), 20),
            Column(_("Initial password"), 18),
        ],
        rows,
        sheet="学员账号",
        title=_(
            "%(code)s trainee accounts, valid from %(first)s to %(last)s; change the password at first sign-in",
            code=klass.code,
            first=first.isoformat(),
            last=last.isoformat(),
        ),
    )
    response = make_response(
        view.render_template(
            "classroom/accounts.html",
            klass=klass,
            rows=rows,
            window=(first, last),
            sheet_href=f"data:{XLSX_MIME};base64,{base64.b64encode(sheet).decode()}",
            sheet_name=download_name(klass.code, "学员账号"),
            back=class_url(klass),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


class TraineeView(BaseView):
    """参训学员: the institution's import, one person added or withdrawn, until the start."""

    route_base = "/class_trainees"
    class_permission_name = permissions.CLASS_TRAINEE
    method_permission_name = {
        "template": "write",
        "upload": "write",
        "confirm": "write",
        "add": "write",
        "withdraw": "write",
    }
    base_permissions = ["can_read", "can_write"]

    @expose("/template.xlsx")
    @has_access
    def template(self):
        return xlsx_download(report.template_xlsx(), download_name("参训学员导入模板"))

    @expose("/<int:class_id>/import", methods=["GET", "POST"])
    @has_access
    def upload(self, class_id):
        klass = _visible_class(class_id)
        now = clock.now()
        try:
            classroom.check_may_change(g.user, klass, now.date())
        except NotAllowed as exc:
            flash(str(exc), "danger")
            return redirect(class_url(klass))
        if request.method == "GET":
            return self._upload_page(klass)
        upload = request.files.get("file")
        data = upload.read(report.MAX_BYTES + 1) if upload else b""
        filename = files.clean_filename(upload.filename if upload else "") or "import.xlsx"
        return self._checked(klass, data, filename, now)

    @expose("/<int:class_id>/confirm", methods=["POST"])
    @has_access
    def confirm(self, class_id):
        klass = _visible_class(class_id)
        now = clock.now()
        try:
            staged = staging.take(request.form.get("token", ""), g.user.id, READY, now)
        except NotAllowed:
            abort(403)
        except DomainError as exc:  # already confirmed (a double click), expired
            flash(str(exc), "warning")
            return redirect(class_url(klass))
        if staged.meta.get("class_id") != klass.id:
            abort(404)
        return self._checked(klass, staged.data, staged.filename, now, write=True)

    @expose("/<int:class_id>/add", methods=["POST"])
    @has_access
    def add(self, class_id):
        klass = _visible_class(class_id)
        values = {f.name: request.form.get(f.name, "") for f in classroom.trainee_fields()}
        done = []
        if perform(lambda: done.append(classroom.add_trainee(klass, values, g.user, clock.now()))):
            return _accounts_page(self, klass, done)
        return redirect(class_url(klass))

    @expose("/withdraw/<int:pk>", methods=["POST"])
    @has_access
    def withdraw(self, pk):
        trainee = db.session.scalar(
            in_scope(db.select(ClassTrainee).where(ClassTrainee.id == pk), ClassTrainee)
        )
        if trainee is None or not classroom.may_see_class(g.user, trainee.training_class):
            abort(404)
        perform(
            lambda: classroom.withdraw_trainee(trainee, g.user, clock.now()),
            success=_l("The trainee was withdrawn from the class."),
        )
        return redirect(class_url(trainee.training_class))

    # ------------------------------------------------------------ helpers

    def _upload_page(self, klass, status=200):
        return self.render_template(
            "classroom/import_upload.html",
            klass=klass,
            max_rows=report.MAX_ROWS,
            fields=classroom.trainee_fields(),
            back=class_url(klass),
        ), status

    def _checked(self, klass, data, filename, now, write=False):
        try:
            checked = report.check(data, klass)
        except ImportRefused as exc:
            db.session.rollback()
            audit.record_import(db.session, "ClassTrainee", 0, errors=1, filename=filename, now=now)
            db.session.commit()
            flash(str(exc), "danger")
            return self._upload_page(klass, 400)
        if checked.errors:
            db.session.rollback()
            audit.record_import(
                db.session,
                "ClassTrainee",
                checked.total,
                errors=len(checked.errors),
                filename=filename,
                now=now,
            )
            db.session.commit()
            return self.render_template(
                "classroom/import_preview.html",
                klass=klass,
                filename=filename,
                checked=checked,
                errors=checked.errors[:SHOWN_ERRORS],
                token=None,
                back=class_url(klass),
            ), 400
        if not write:
            token = staging.stage(
                READY, g.user.id, now, filename=filename, data=data, meta={"class_id": klass.id}
            )
            return self.render_template(
                "classroom/import_preview.html",
                klass=klass,
                filename=filename,
                checked=checked,
                errors=[],
                token=token,
                genders=classroom.GENDERS,
                back=class_url(klass),
            )
        done = []
        if not perform(
            lambda: done.extend(classroom.enrol(klass, checked.rows, g.user, now, source=filename))
        ):
            return self._upload_page(klass, 409)
        return _accounts_page(self, klass, done)


class TrainerAssignView(BaseView):
    """The center assigns a class's trainers by hand: a fallback (trainers arranged off-platform);
    a confirmed dispatch fills the same table (`app.services.dispatch_notices`)."""

    route_base = "/class_trainers"
    class_permission_name = permissions.CLASS_TRAINER
    method_permission_name = {"assign": "write", "remove": "write"}
    base_permissions = ["can_write"]

    @expose("/<int:class_id>/assign", methods=["POST"])
    @has_access
    def assign(self, class_id):
        klass = _visible_class(class_id)
        perform(
            lambda: classroom.assign_by_username(
                klass,
                request.form.get("username", ""),
                request.form.get("is_lead") == "1",
                g.user,
                clock.now(),
            ),
            success=_l("The trainer was assigned to the class."),
        )
        return redirect(class_url(klass))

    @expose("/remove/<int:pk>", methods=["POST"])
    @has_access
    def remove(self, pk):
        row = db.session.scalar(
            in_scope(db.select(ClassTrainer).where(ClassTrainer.id == pk), ClassTrainer)
        )
        if row is None:
            abort(404)
        klass = row.training_class
        perform(
            lambda: classroom.remove_trainer(row, g.user, clock.now()),
            success=_l("The trainer was removed from the class."),
        )
        return redirect(class_url(klass))


class NeedsAnalysisView(BaseView):
    """培训需求分析: one per trainer and class (``pk``: the trainer's row on the class)."""

    route_base = "/needs_analysis"
    class_permission_name = permissions.NEEDS_ANALYSIS
    method_permission_name = {"show": "read", "save": "write"}
    base_permissions = ["can_read", "can_write"]

    def _row(self, pk) -> ClassTrainer:
        row = db.session.get(ClassTrainer, pk)
        if row is None or not classroom.may_see_class(g.user, row.training_class):
            abort(404)
        return row

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        return self._page(self._row(pk))

    @expose("/save/<int:pk>", methods=["POST"])
    @has_access
    def save(self, pk):
        row = self._row(pk)
        values = {f.name: request.form.get(f.name, "") for f in classroom.needs_fields()}
        if perform(
            lambda: classroom.submit_needs(row, g.user, values, clock.now()),
            success=_l("The needs analysis was saved."),
        ):
            return redirect(url_for(".show", pk=pk))
        return self._page(row, values, 400)

    def _page(self, row, typed=None, status=200):
        record = classroom.needs_of(row)
        mine = row.user_id == g.user.id and not clock.now().date() > row.training_class.end_date
        values = typed or (
            {
                "background": record.background,
                "needs": record.needs,
                "adjustments": record.adjustments,
            }
            if record
            else {"background": classroom.background_summary(row.training_class)}
        )
        return self.render_template(
            "classroom/needs.html",
            row=row,
            klass=row.training_class,
            record=record,
            editable=mine,
            values=values,
            fields=classroom.needs_fields(),
            limit=classroom.TEXT_LIMIT,
            back=class_url(row.training_class),
        ), status


class TeachingView(BaseView):
    """我的授课班: the classes a trainer teaches, and each one's page."""

    route_base = "/teaching"
    default_view = "list"
    class_permission_name = permissions.TEACHING
    method_permission_name = {"list": "read", "show": "read"}
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    def list(self):
        return self.render_template(
            "classroom/teaching.html", classes=classroom.classes_taught(g.user)
        )

    @expose("/class/<int:class_id>")
    @has_access
    def show(self, class_id):
        klass = _visible_class(class_id)
        return self.render_template("classroom/class.html", klass=klass, **class_section(klass))


def register(appbuilder) -> None:
    """Sub-pages without a menu entry (the class page and the to-do list link to them)."""
    for view in (TraineeView, TrainerAssignView, NeedsAnalysisView):
        appbuilder.add_view_no_menu(view)


__all__ = ["class_section", "TeachingView", "register"]
