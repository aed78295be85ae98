"""After a class (Annex 1 rows 20–21). Thin: the rules are in `app.services.activity_reports`
and `app.services.trainer_feedback`.

- `ActivityReportView`: 讲师培训班活动报告 — the finished classes the user may see, each class's
  report (the lead trainer writes, attaches photos, submits and corrects; the center reviews).
- `TrainerFeedbackView`: 培训师授课意见反馈表 — the forms of the classes the user may see (the
  institution fills them; a trainer reads its own scores).
A class or a form the user may not see answers 404, whatever the endpoint.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import activity_reports as reports
from app.services import classroom, files, review
from app.services import trainer_feedback as feedback
from app.services.errors import DomainError
from app.services.evaluations import FORM_LABELS
from models.after_class import ActivityReport, TrainerFeedback
from models.application import TrainingClass
from models.user import TRAINER
from security import permissions
from security.scope import in_scope
from views.base import attempt
from views.review import ACTION_LABELS, status_label

LIST_LIMIT = 100


def _finished_classes(user, today, model=None):
    """The classes whose last day has come that the user may see, latest first."""
    if user.role_kind == TRAINER:
        return [k for k in classroom.classes_taught(user) if k.end_date <= today][:LIST_LIMIT]
    query = (
        select(TrainingClass)
        .where(TrainingClass.end_date <= today)
        .order_by(TrainingClass.end_date.desc(), TrainingClass.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(db.session.scalars(in_scope(query, TrainingClass)))


class ActivityReportView(BaseView):
    """讲师培训班活动报告 of the classes the user may see."""

    route_base = "/activity_report"
    default_view = "list"
    class_permission_name = permissions.ACTIVITY_REPORT
    method_permission_name = {
        "list": "read",
        "page": "read",
        "show": "read",
        "review_action": "read",  # who may act is decided by the review chain
        "save": "write",
        "submit": "write",
        "photo": "write",
    }
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        classes = _finished_classes(g.user, clock.now().date())
        found = {
            r.class_id: r
            for r in db.session.scalars(
                select(ActivityReport).where(ActivityReport.class_id.in_([k.id for k in classes]))
            )
        }
        return self.render_template(
            "after_class/reports.html", classes=classes, reports=found, status_label=status_label
        )

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        """The record page of the review kind (to-do items link here)."""
        report = db.session.get(ActivityReport, pk)
        if report is None or reports.visible_class(g.user, report.class_id) is None:
            abort(404)
        return redirect(url_for(".page", class_id=report.class_id))

    @expose("/class/<int:class_id>")
    @has_access
    def page(self, class_id):
        return self._page(self._class(class_id))

    @staticmethod
    def _class(class_id) -> TrainingClass:
        klass = reports.visible_class(g.user, class_id)
        if klass is None:
            abort(404)
        return klass

    def _page(self, klass, errors=None, typed=None, status=200):
        user = g.user
        report = reports.report_of(klass)
        current = reports.values(report)
        if typed:
            current = dict(current, **{k: typed.get(k) for k in reports.SECTIONS})
        teaching = reports.teaching_of(klass, current)
        if typed:
            teaching = [(d, typed.get(f"day_{d.isoformat()}", "")) for d, _c in teaching]
        return self.render_template(
            "after_class/report.html",
            klass=klass,
            report=report,
            current=current,
            teaching=teaching,
            performance=reports.performance(klass),
            evaluation=reports.evaluation(klass),
            form_labels=FORM_LABELS,
            photos=reports.photos(report),
            may_write=reports.is_lead(user, klass)
            and (report is None or review.editable(report))
            and not reports.closed(klass),
            actions=reports.actions(klass, report, user),
            action_labels=ACTION_LABELS,
            status_label=status_label,
            correcting=report is not None and review.is_correction(report),
            history=review.history(report) if report else [],
            task=review.open_task(report) if report else None,
            due=reports.due_after_end(klass),
            role_label=role_label,
            errors=errors or {},
        ), status

    def _refused(self, klass, exc: DomainError, typed):
        """The page again with the message next to its field (or on top), what was typed kept."""
        return self._page(klass, {exc.field or "_": str(exc)}, typed, 400)

    @expose("/class/<int:class_id>/save", methods=["POST"])
    @has_access
    def save(self, class_id):
        klass = self._class(class_id)
        typed = request.form.to_dict()
        exc = attempt(lambda: reports.save(klass, g.user, typed, clock.now()))
        if exc is not None:
            return self._refused(klass, exc, typed)
        flash(_("The activity report was saved."), "success")
        return redirect(url_for(".page", class_id=klass.id))

    @expose("/class/<int:class_id>/submit", methods=["POST"])
    @has_access
    def submit(self, class_id):
        klass = self._class(class_id)
        version = request.form.get("version") or None
        exc = attempt(lambda: reports.submit(klass, g.user, clock.now(), version))
        if exc is not None:
            return self._refused(klass, exc, {})
        flash(_("The activity report was submitted to the center."), "success")
        return redirect(url_for(".page", class_id=klass.id))

    @expose("/class/<int:class_id>/photo", methods=["POST"])
    @has_access
    def photo(self, class_id):
        klass = self._class(class_id)
        upload = request.files.get("photo")
        if upload is None or not upload.filename:
            return self._refused(klass, DomainError(_("Choose a file."), field="photo"), {})
        exc = attempt(lambda: reports.add_photo(klass, g.user, upload, clock.now()))
        if exc is not None:
            return self._refused(klass, exc, {})
        flash(_("The file was attached to the report."), "success")
        return redirect(url_for(".page", class_id=klass.id))

    @expose("/class/<int:class_id>/review", methods=["POST"])
    @has_access
    def review_action(self, class_id):
        klass = self._class(class_id)
        report = reports.report_of(klass)
        if report is None:
            abort(404)
        name = request.form.get("action", "")
        opinion = request.form.get("opinion", "")[:2000]
        version = request.form.get("version")
        now = clock.now()
        if name == review.CORRECT:
            call = lambda: reports.correct(report, g.user, now, version)  # noqa: E731
        else:
            call = lambda: reports.decide(report, g.user, name, now, opinion, version)  # noqa: E731
        exc = attempt(call)
        if exc is not None:
            return self._refused(klass, exc, {"opinion": opinion})
        flash(str(_l("Done: %(action)s.", action=ACTION_LABELS.get(name, name))), "success")
        return redirect(url_for(".page", class_id=klass.id))


class TrainerFeedbackView(BaseView):
    """培训师授课意见反馈表 of the classes the user may see."""

    route_base = "/trainer_feedback"
    default_view = "list"
    class_permission_name = permissions.TRAINER_FEEDBACK
    method_permission_name = {"list": "read", "show": "read", "form": "read", "fill": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        query = (
            select(TrainerFeedback)
            .join(TrainingClass, TrainingClass.id == TrainerFeedback.class_id)
            .order_by(TrainingClass.end_date.desc(), TrainerFeedback.id)
            .limit(LIST_LIMIT)
        )
        if g.user.role_kind == TRAINER:  # its own forms, whoever wrote them
            query = query.where(TrainerFeedback.trainer_user_id == g.user.id)
        else:
            query = in_scope(query, TrainerFeedback)
        return self.render_template(
            "after_class/feedback_list.html", records=list(db.session.scalars(query))
        )

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        """The record page of the to-do kind."""
        return self.form(pk)

    @expose("/form/<int:pk>")
    @has_access
    def form(self, pk):
        return self._form(self._record(pk))

    @staticmethod
    def _record(pk) -> TrainerFeedback:
        record = feedback.visible_record(g.user, pk)
        if record is None:
            abort(404)
        return record

    def _form(self, record, errors=None, typed=None, status=200):
        klass = record.training_class
        user = g.user
        may_fill = (
            user.role_kind == "institution"
            and user.org_id == klass.org_id
            and record.submitted_at is None
        )
        return self.render_template(
            "after_class/feedback_form.html",
            record=record,
            klass=klass,
            form=feedback.form_of(record, user, typed),
            may_fill=may_fill,
            due=reports.due_after_end(klass),
            errors=errors or {},
        ), status

    @expose("/form/<int:pk>", methods=["POST"])
    @has_access
    def fill(self, pk):
        record = self._record(pk)
        typed = {k: request.form.getlist(k) for k in request.form if k != "csrf_token"}
        exc = attempt(lambda: feedback.submit(record, g.user, typed, clock.now()))
        if exc is not None:
            return self._form(record, {exc.field or "_": str(exc)}, typed, 400)
        flash(
            _("The feedback on %(name)s was submitted.", name=record.trainer.full_name), "success"
        )
        return redirect(url_for(".form", pk=record.id))


def _report_file_owner(owner_id):
    """A report's photos follow the report (files.register_owner)."""
    report = db.session.get(ActivityReport, owner_id)
    if report is None or reports.visible_class(g.user, report.class_id) is None:
        return None
    return report


def register(appbuilder) -> None:
    files.register_owner(ActivityReport.__tablename__, _report_file_owner)


__all__ = ["ActivityReportView", "TrainerFeedbackView", "register"]
