"""What every list/page over a reviewable record shares: buttons, bulk actions, history, revisions.

A domain view subclasses `ReviewableModelView` and declares nothing more about review: the chain
comes from the model, the allowed buttons from `app.services.review.allowed_actions`, and every
action goes through the same endpoint, scoped like any other read.
"""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import messages, review
from views.base import METHOD_PERMISSIONS, ScopedModelView

STATUS_LABELS = {
    "draft": _l("Draft"),
    "pending": _l("Under review"),
    "returned": _l("Returned for revision"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}
ACTION_LABELS = {
    "submit": _l("Submit"),
    "resubmit": _l("Resubmit"),
    "approve": _l("Approve"),
    "return": _l("Return for revision"),
    "reject": _l("Reject"),
    "correct": _l("Correct"),
    "enter": _l("Entered by the center"),
    "change": _l("Changed by the center"),
}


def status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status or ""))


def record_pages(appbuilder) -> dict[str, "ReviewableModelView"]:
    """``__review_type__`` → the registered view whose show page is that record's page.

    Read from the views the app registered, so the to-do list and the overdue board link to any
    reviewable record without knowing its domain. A second view over the same model (a summary)
    sets ``record_page = False``."""
    pages = appbuilder.__dict__.get("_malan_record_pages")
    if pages is None:
        pages = {}
        views = [
            v
            for v in appbuilder.baseviews
            if isinstance(v, ModelView) and getattr(v, "record_page", True)
        ]
        # A reviewable record's own page first, then any list of a model with a __task_type__.
        views.sort(key=lambda v: not isinstance(v, ReviewableModelView))
        for view in views:
            kind = review.task_type(view.datamodel.obj)
            if kind:
                pages.setdefault(kind, view)
        appbuilder._malan_record_pages = pages
    return pages


def record_url(appbuilder, record_type: str, record_id) -> str | None:
    view = record_pages(appbuilder).get(record_type)
    return url_for(f"{view.endpoint}.show", pk=record_id) if view else None


def kind_label(appbuilder, record_type: str) -> str:
    """What kind of record it is, for lists: the model's ``__review_label__``, else its page's title."""
    model = review.reviewable_models().get(record_type)
    label = getattr(model, "__review_label__", None)
    view = record_pages(appbuilder).get(record_type)
    if label is None and view is not None:
        label = view.list_title
    return str(label or record_type)


class ReviewableModelView(ScopedModelView):
    """Base for views over a model with `ReviewableMixin`. Reviewing needs only read access to
    the record plus the review permission; who may act is decided by the review service."""

    # Commenting needs only read access: whoever sees the record may discuss it.
    method_permission_name = {
        **METHOD_PERMISSIONS,
        "review_action": "read",
        "comment": "read",
        "bulk_approve": "review",
    }
    show_template = "review/show.html"

    # Labels of the ReviewableMixin columns, so every reviewable list reads the same.
    REVIEW_LABELS = {
        "status": _l("Status"),
        "step": _l("Step"),
        "revision": _l("Revision"),
        "in_force_revision": _l("Revision in force"),
        "version": _l("Version"),
        "submitted_at": _l("Submitted at"),
        "submitted_by_id": _l("Submitted by"),
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.label_columns = {**cls.REVIEW_LABELS, **cls.__dict__.get("label_columns", {})}

    record_page = True  # its show page is where to-do lists link (see record_pages)
    formatters_columns = {"status": status_label}

    def _record_or_404(self, pk):
        record = self.datamodel.get(pk)
        if record is None:
            abort(404)
        return record

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        record = self._record_or_404(pk)
        widgets = self._show(pk)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            record=record,
            actions=self.review_actions(record),
            action_labels=ACTION_LABELS,
            status_label=status_label,
            revisions=review.revisions_with_changes(record),
            in_correction=review.is_correction(record),
            task=review.open_task(record),
            label_columns=self.label_columns,
            now=clock.now(),
            role_label=role_label,
            comments=messages.comments_of(record),
            **self.show_extras(record),
        )

    def review_actions(self, record) -> list[str]:
        """The buttons the current user gets on the record page."""
        return review.allowed_actions(record, g.user)

    def show_extras(self, record) -> dict:
        """What a kind of record adds to its page template (files, links)."""
        return {}

    @expose("/comment/<pk>", methods=["POST"])
    @has_access
    def comment(self, pk):
        """Add to the record's comment thread; the record is loaded through the scoped datamodel."""
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        try:
            messages.add_comment(g.user, record, request.form.get("comment", ""), clock.now())
            db.session.commit()
        except messages.MessageError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(str(_l("Comment added.")), "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk, _anchor="record-comments"))

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review_action(self, pk):
        """One endpoint for every button: submit, approve, return, reject, correct."""
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        name = request.form.get("action", "")
        opinion = request.form.get("opinion", "")[:2000]
        version = request.form.get("version")
        now = clock.now()
        try:
            if name == review.SUBMIT:
                self.before_submit(record, now)
                review.submit(record, g.user, now, expected_version=version)
            elif name in (review.APPROVE, review.RETURN, review.REJECT):
                if name == review.APPROVE:
                    self.before_approve(record, now)
                review.decide(record, g.user, name, now, opinion=opinion, expected_version=version)
            elif name == review.CORRECT:
                review.start_correction(record, g.user, now, expected_version=version)
            else:
                abort(400)
        except review.ReviewError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        except ValueError as exc:  # a domain rule of before_submit/before_approve
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(str(_l("Done: %(action)s.", action=ACTION_LABELS.get(name, name))), "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    @action(
        "bulk_approve",
        _l("Approve selected"),
        _l("Approve all selected records?"),
        "fa-check",
        single=False,
    )
    def bulk_approve(self, items):
        """Approve several pending steps at once; each one is checked like a single approval."""
        now = clock.now()
        done, refused = 0, []
        for record in items if isinstance(items, list) else [items]:
            try:
                self.before_approve(record, now)
                review.decide(record, g.user, review.APPROVE, now)
                done += 1
            except (review.ReviewError, ValueError) as exc:
                db.session.rollback()
                refused.append(f"#{record.id}: {exc}")
        if done:
            flash(str(_l("%(n)d record(s) approved.", n=done)), "success")
        for message in refused:
            flash(message, "danger")
        return redirect(self.get_redirect())

    def prefill_form(self, form, pk):
        """During a correction the form shows the proposed values, not the ones in force."""
        record = self.datamodel.get(pk)
        if record is None or not review.is_correction(record):
            return
        for field, value in review.proposed_values(record).items():
            if field in form and field in type(record).__table__.columns:
                form[field].data = review.restore_value(record, field, value)

    def pre_update(self, item):
        review.stage_edit(item)

    def pre_delete(self, item):
        if item.status != "draft" or item.in_force_revision is not None:
            raise review.ReviewError(
                str(_l("Only a draft that was never submitted can be deleted."))
            )

    # Domain hooks: raise ValueError with a user message to refuse.
    def before_submit(self, record, now):
        pass

    def before_approve(self, record, now):
        pass
