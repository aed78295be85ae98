"""Trial lectures and the grade sheet (Annex 1 row 19). Thin: every rule is in
`app.services.grades`; the spreadsheet in `reports.grade_sheet`.

- `GradeSheetView`: 成绩单 — the classes the user may see, each class's sheet (the trainers'
  written scores, the institution's attendance, the lead trainer's submission and correction,
  the center's review), a trainer's 试讲评分表 of one trainee, the export.
- `GradeSchemeView`: the versions of the scheme the center keeps (criteria, weights, pass line).
A class the user may not see answers 404, whatever the endpoint.
"""

from __future__ import annotations

import json

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import classroom, grades, review
from app.services.errors import DomainError
from app.services.masking import mask_id_number
from models.application import TrainingClass
from models.grades import GradeSheet
from models.user import CENTER, INSTITUTION, TRAINER
from reports import grade_sheet as report
from security import permissions
from security.scope import in_scope
from views.base import attempt, xlsx_download
from views.review import ACTION_LABELS, status_label

LIST_LIMIT = 100


def _class_or_404(class_id) -> TrainingClass:
    klass = grades.visible_class(g.user, class_id)
    if klass is None:
        abort(404)
    return klass


class GradeSheetView(BaseView):
    """成绩单 and 试讲评分表 of the classes the user may see."""

    route_base = "/grades"
    default_view = "list"
    class_permission_name = permissions.GRADE_SHEET
    method_permission_name = {
        "list": "read",
        "sheet": "read",
        "show": "read",
        "review_action": "read",  # who may act is decided by the review chain
        "export": "export",
        "trial": "write",
        "written": "write",
        "attendance": "write",
        "submit": "write",
    }
    base_permissions = ["can_read", "can_write", "can_export"]

    @expose("/")
    @has_access
    def list(self):
        user, today = g.user, clock.now().date()
        if user.role_kind == TRAINER:
            classes = [k for k in classroom.classes_taught(user) if k.start_date <= today]
        else:
            query = (
                select(TrainingClass)
                .where(TrainingClass.start_date <= today)
                .order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
                .limit(LIST_LIMIT)
            )
            classes = list(db.session.scalars(in_scope(query, TrainingClass)))
        sheets = {
            s.class_id: s
            for s in db.session.scalars(
                select(GradeSheet).where(GradeSheet.class_id.in_([k.id for k in classes]))
            )
        }
        return self.render_template(
            "grades/list.html",
            classes=classes[:LIST_LIMIT],
            sheets=sheets,
            status_label=status_label,
        )

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        """The record page of the review kind (to-do items link here)."""
        sheet = db.session.get(GradeSheet, pk)
        if sheet is None or not grades.may_see(g.user, sheet.training_class):
            abort(404)
        return redirect(url_for(".sheet", class_id=sheet.class_id))

    @expose("/class/<int:class_id>")
    @has_access
    def sheet(self, class_id):
        return self._sheet_page(_class_or_404(class_id))

    def _sheet_page(self, klass, errors=None, typed=None, status=200):
        user, now = g.user, clock.now()
        sheet = grades.sheet_of(klass)
        scheme = sheet.scheme if sheet else grades.scheme_for(klass)
        lines = grades.lines(klass, sheet)
        is_trainer = classroom.trainer_row(user, klass) is not None
        editable = grades.editable(sheet)
        mine = grades.my_trial_scores(klass, user) if is_trainer else {}
        return self.render_template(
            "grades/sheet.html",
            klass=klass,
            sheet=sheet,
            scheme=scheme,
            criteria=grades.criteria(scheme),
            lines=lines,
            id_of=(lambda t: t.id_number)
            if user.role_kind == CENTER
            else (lambda t: mask_id_number(t.id_number)),
            mine=mine,
            days=grades.class_days(klass),
            trainers=classroom.trainers_of(klass),
            may_score=is_trainer and editable and now.date() >= klass.start_date,
            may_mark=user.role_kind == INSTITUTION and user.org_id == klass.org_id and editable,
            actions=grades.actions(klass, sheet, user),
            action_labels=ACTION_LABELS,
            status_label=status_label,
            correcting=sheet is not None and review.is_correction(sheet),
            stats=grades.summary([line.values for line in lines]),
            proposed_stats=grades.summary([line.proposed or {} for line in lines])
            if sheet is not None and review.is_correction(sheet)
            else None,
            history=review.history(sheet) if sheet else [],
            task=review.open_task(sheet) if sheet else None,
            role_label=role_label,
            errors=errors or {},
            typed=typed or {},
        ), status

    def _refused(self, klass, exc: DomainError, typed):
        """The page again with the message next to its field (or on top), what was typed kept."""
        return self._sheet_page(klass, {exc.field or "_": str(exc)}, typed, 400)

    @expose("/class/<int:class_id>/written", methods=["POST"])
    @has_access
    def written(self, class_id):
        klass = _class_or_404(class_id)
        raw = {k: v for k, v in request.form.items() if k.startswith("written_")}
        exc = attempt(lambda: grades.enter_written(klass, g.user, raw, clock.now()))
        if exc is not None:
            return self._refused(klass, exc, raw)
        flash(_("The written-test scores were saved."), "success")
        return redirect(url_for(".sheet", class_id=klass.id))

    @expose("/class/<int:class_id>/attendance", methods=["POST"])
    @has_access
    def attendance(self, class_id):
        klass = _class_or_404(class_id)
        raw = {k: v for k, v in request.form.items() if k.startswith("attendance_")}
        exc = attempt(lambda: grades.mark_attendance(klass, g.user, raw, clock.now()))
        if exc is not None:
            return self._refused(klass, exc, raw)
        flash(_("The attendance was saved."), "success")
        return redirect(url_for(".sheet", class_id=klass.id))

    @expose("/class/<int:class_id>/submit", methods=["POST"])
    @has_access
    def submit(self, class_id):
        klass = _class_or_404(class_id)
        version = request.form.get("version") or None
        exc = attempt(lambda: grades.submit(klass, g.user, clock.now(), version))
        if exc is not None:
            return self._refused(klass, exc, {})
        flash(_("The grade sheet was submitted to the center."), "success")
        return redirect(url_for(".sheet", class_id=klass.id))

    @expose("/class/<int:class_id>/review", methods=["POST"])
    @has_access
    def review_action(self, class_id):
        klass = _class_or_404(class_id)
        sheet = grades.sheet_of(klass)
        if sheet is None:
            abort(404)
        name = request.form.get("action", "")
        opinion = request.form.get("opinion", "")[:2000]
        version = request.form.get("version")
        now = clock.now()
        if name == review.CORRECT:
            call = lambda: grades.correct(sheet, g.user, now, version)  # noqa: E731
        else:
            call = lambda: grades.decide(sheet, g.user, name, now, opinion, version)  # noqa: E731
        exc = attempt(call)
        if exc is not None:
            return self._refused(klass, exc, {"opinion": opinion})
        flash(str(_l("Done: %(action)s.", action=ACTION_LABELS.get(name, name))), "success")
        return redirect(url_for(".sheet", class_id=klass.id))

    @expose("/class/<int:class_id>/trial", methods=["GET", "POST"])
    @has_access
    def trial(self, class_id):
        """A trainer's own 试讲评分表 of one trainee (``?trainee=`` / the form's ``trainee``)."""
        klass = _class_or_404(class_id)
        if classroom.trainer_row(g.user, klass) is None:
            abort(404)
        trainee_id = request.values.get("trainee", "")
        trainee = next((t for t in classroom.trainees_of(klass) if str(t.id) == trainee_id), None)
        if trainee is None:
            abort(404)
        typed, errors, status = {}, {}, 200
        if request.method == "POST":
            typed = {k: v for k, v in request.form.items() if k.startswith("c_")}
            exc = attempt(lambda: grades.score_trial(klass, trainee.id, g.user, typed, clock.now()))
            if exc is None:
                flash(
                    _("Your trial-lecture score of %(name)s was saved.", name=trainee.name),
                    "success",
                )
                return redirect(url_for(".sheet", class_id=klass.id))
            errors, status = {exc.field or "_": str(exc)}, 400
        sheet = grades.sheet_of(klass)
        scheme = sheet.scheme if sheet else grades.scheme_for(klass)
        own = grades.my_trial_scores(klass, g.user).get(trainee.id)
        if not typed and own is not None:
            typed = {f"c_{k}": v for k, v in json.loads(own.scores).items()}
        return self.render_template(
            "grades/trial.html",
            klass=klass,
            trainee=trainee,
            scheme=scheme,
            criteria=grades.criteria(scheme),
            own=own,
            typed=typed,
            errors=errors,
            editable=grades.editable(sheet) and clock.now().date() >= klass.start_date,
        ), status

    @expose("/class/<int:class_id>/export")
    @has_access
    def export(self, class_id):
        klass = _class_or_404(class_id)
        data = report.xlsx(klass, grades.sheet_of(klass), full_ids=g.user.role_kind == CENTER)
        return xlsx_download(data, report.filename(klass))


class GradeSchemeView(BaseView):
    """成绩评定方案: the versions the center keeps; a class keeps the one in force at its start."""

    route_base = "/grade_scheme"
    default_view = "list"
    class_permission_name = permissions.GRADE_SCHEME
    method_permission_name = {"list": "read", "new": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        return self._page()

    @expose("/new", methods=["POST"])
    @has_access
    def new(self):
        typed = {k: request.form.get(k, "") for k in grades.SCHEME_FORM}
        exc = attempt(lambda: grades.new_version(typed, g.user, clock.now()))
        if exc is not None:
            return self._page({exc.field or "_": str(exc)}, typed, 400)
        flash(_("A new version of the grade scheme is in force."), "success")
        return redirect(url_for(".list"))

    def _page(self, errors=None, typed=None, status=200):
        schemes = grades.versions()
        current = schemes[0] if schemes else None
        if typed is None and current is not None:
            typed = grades.scheme_form_values(current)
        return self.render_template(
            "grades/schemes.html",
            schemes=schemes,
            criteria=grades.criteria,
            errors=errors or {},
            typed=typed or {},
        ), status


__all__ = ["GradeSheetView", "GradeSchemeView"]
