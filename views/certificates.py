"""合格讲师证书信息 and 入师资库 (Annex 1 rows 22–23). Thin: the rules are in
`app.services.certificates` (the province's entry) and `app.services.pool_entry` (the center's
one action, which closes the class). The issued certificates themselves (page, PDF) are on the
issued documents' pages (`views.documents`); the public check is `views.verify`.
A class the user may not see answers 404, whatever the endpoint.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import certificates, classroom, pool_entry, review, vocabulary
from app.services.errors import DomainError
from app.services.masking import mask_id_number
from models.application import TrainingClass
from models.certificate import CertificateBatch
from models.user import CENTER
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from security import permissions
from security.scope import in_scope
from views.base import attempt
from views.review import ACTION_LABELS, status_label

LIST_LIMIT = 100


def _class_or_404(class_id) -> TrainingClass:
    klass = certificates.visible_class(g.user, class_id)
    if klass is None:
        abort(404)
    return klass


class CertificateView(BaseView):
    """The classes whose certificates are entered or pooled; one class's page; the pool entry."""

    route_base = "/certificates"
    default_view = "list"
    class_permission_name = permissions.CERTIFICATE
    method_permission_name = {
        "list": "read",
        "show": "read",
        "batch": "read",
        "pool": "read",  # the page is read; its POST is the center's (the service decides)
        "save": "write",
        "submit": "write",
        "send_back": "write",
    }
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        query = (
            select(CertificateBatch)
            .join(TrainingClass, TrainingClass.id == CertificateBatch.class_id)
            .order_by(TrainingClass.end_date.desc(), CertificateBatch.id.desc())
            .limit(LIST_LIMIT)
        )
        batches = list(db.session.scalars(in_scope(query, CertificateBatch)))
        return self.render_template(
            "certificates/list.html", batches=batches, status_label=status_label
        )

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        """The record page of the review kind (to-do items link here)."""
        batch = db.session.get(CertificateBatch, pk)
        if batch is None or not certificates.may_see(g.user, batch.training_class):
            abort(404)
        return redirect(url_for(".batch", class_id=batch.class_id))

    @expose("/class/<int:class_id>")
    @has_access
    def batch(self, class_id):
        return self._page(_class_or_404(class_id))

    def _page(self, klass, errors=None, typed=None, status=200):
        user = g.user
        batch = certificates.batch_of(klass)
        passed = certificates.passed_ids(klass)
        listed = {line.trainee_id for line in batch.lines} if batch else set()
        addable = [t for t in classroom.trainees_of(klass) if t.id in passed and t.id not in listed]
        return self.render_template(
            "certificates/batch.html",
            klass=klass,
            batch=batch,
            sheet_approved=certificates.approved_sheet(klass) is not None,
            may_enter=certificates.may_enter(user, batch),
            may_pool=pool_entry.may_enter(user, batch),
            addable=addable,
            levels=vocabulary.choices(TRAINER_LEVEL),
            level_label=vocabulary.labels(TRAINER_LEVEL),
            course_label=vocabulary.labels(COURSE_TYPE),
            id_of=(lambda t: t.id_number)
            if user.role_kind == CENTER
            else (lambda t: mask_id_number(t.id_number)),
            history=review.history(batch) if batch else [],
            task=review.open_task(batch) if batch else None,
            role_label=role_label,
            status_label=status_label,
            action_labels=ACTION_LABELS,
            errors=errors or {},
            typed=typed or {},
        ), status

    def _refused(self, klass, exc: DomainError, typed):
        """The page again with the message next to its field (or on top), what was typed kept."""
        return self._page(klass, {exc.field or "_": str(exc)}, typed, 400)

    def _batch_or_404(self, klass) -> CertificateBatch:
        batch = certificates.batch_of(klass)
        if batch is None:
            abort(404)
        return batch

    @expose("/class/<int:class_id>/save", methods=["POST"])
    @has_access
    def save(self, class_id):
        klass = _class_or_404(class_id)
        typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
        batch = certificates.batch_of(klass)
        now = clock.now()
        if batch is None:  # before the grade sheet is approved: refused at the number field
            exc = attempt(lambda: certificates.open_entry(klass, now))
        else:
            exc = attempt(lambda: certificates.save(batch, g.user, typed, now))
        if exc is not None:
            return self._refused(klass, exc, typed)
        flash(_("The certificate information was saved."), "success")
        return redirect(url_for(".batch", class_id=klass.id))

    @expose("/class/<int:class_id>/submit", methods=["POST"])
    @has_access
    def submit(self, class_id):
        klass = _class_or_404(class_id)
        batch = self._batch_or_404(klass)
        version = request.form.get("version") or None
        exc = attempt(lambda: certificates.submit(batch, g.user, clock.now(), version))
        if exc is not None:
            return self._refused(klass, exc, {})
        flash(_("The certificate information was submitted to the center."), "success")
        return redirect(url_for(".batch", class_id=klass.id))

    @expose("/class/<int:class_id>/pool", methods=["GET", "POST"])
    @has_access
    def pool(self, class_id):
        """The center's confirmation page, and its one action."""
        klass = _class_or_404(class_id)
        batch = self._batch_or_404(klass)
        errors, status = {}, 200
        if request.method == "POST":
            version = request.form.get("version") or None
            exc = attempt(lambda: pool_entry.enter_pool(batch, g.user, clock.now(), version))
            if exc is None:
                flash(
                    _("The qualified lecturers are in the faculty pool; the class is closed."),
                    "success",
                )
                return redirect(url_for(".batch", class_id=klass.id))
            db.session.expire_all()
            batch = certificates.batch_of(klass)
            errors, status = {"_": str(exc)}, 400
        return self.render_template(
            "certificates/pool.html",
            klass=klass,
            batch=batch,
            rows=pool_entry.preview(batch),
            may_pool=pool_entry.may_enter(g.user, batch),
            course_label=vocabulary.labels(COURSE_TYPE),
            errors=errors,
        ), status

    @expose("/class/<int:class_id>/return", methods=["POST"])
    @has_access
    def send_back(self, class_id):
        klass = _class_or_404(class_id)
        batch = self._batch_or_404(klass)
        opinion = request.form.get("opinion", "")[:2000]
        version = request.form.get("version") or None
        exc = attempt(lambda: pool_entry.return_batch(batch, g.user, opinion, clock.now(), version))
        if exc is not None:
            return self._refused(klass, exc, {"opinion": opinion})
        flash(_("The certificate information was returned to the province."), "success")
        return redirect(url_for(".batch", class_id=klass.id))


__all__ = ["CertificateView"]
