"""What every list/page over a reviewable record shares: buttons, bulk actions, history, revisions.

A domain view subclasses `ReviewableModelView` and declares nothing more about review: the chain
comes from the model, the allowed buttons from `app.services.review.allowed_actions`, and every
action goes through the same endpoint, scoped like any other read.
"""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import messages, review
from app.services.errors import DomainError
from security.scope import current_scope, row_in_scope
from views.base import METHOD_PERMISSIONS, ScopedModelView, perform

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


def record_url(record_type: str, record_id) -> str | None:
    """The record's page, as its kind declares it (`app.services.review.Kind.record_page`)."""
    kind = review.KINDS.get(record_type)
    if kind is None or kind.record_page is None:
        return None
    return url_for(f"{kind.record_page}.show", pk=record_id)


# A kind whose to-do item asks for something else than its record page (a plan round asks each
# city for its plan): record_type -> (task) -> the URL of the action, or None for the record page.
# Filled by the domain's view module (views.plans).
TODO_TARGETS: dict = {}


def todo_url(task) -> str | None:
    """Where a to-do item leads: the exact action it asks for, else the record's page."""
    target = TODO_TARGETS.get(task.record_type)
    url = target(task) if target is not None else None
    return url or record_url(task.record_type, task.record_id)


def kind_label(record_type: str) -> str:
    """What kind of record it is, for lists."""
    kind = review.KINDS.get(record_type)
    return str(kind.label) if kind is not None else record_type


# Fields of the record page's review form; a refusal about any other field (or none) is shown
# above the form's buttons.
REVIEW_FORM_FIELDS = ("opinion", "plan_line_id", "choice")


def review_errors(refusal) -> dict:
    """A refused decision as {field of the review form or "": [message]}."""
    if refusal is None:
        return {}
    field = refusal.field if refusal.field in REVIEW_FORM_FIELDS else ""
    return {field: [str(refusal)]}


class ReviewableModelView(ScopedModelView):
    """Base for views over a model with `ReviewableMixin`. Reviewing needs only read access to
    the record plus the review permission; who may act is decided by the review service."""

    # Commenting needs only read access: whoever sees the record may discuss it.
    method_permission_name = {
        **METHOD_PERMISSIONS,
        "review_action": "read",
        "comment": "read",
        "bulk_approve": "review",
        "bulk_review": "review",
        # Like the single 报送 (review_action): who may submit is the review service's call.
        "bulk_submit": "read",
        "submit_all": "read",
    }
    show_template = "review/show.html"

    # Labels of the ReviewableMixin columns, so every reviewable list reads the same.
    REVIEW_LABELS = {
        "status": _l("Status"),
        "step": _l("Step"),
        "revision": _l("Revision"),
        "in_force_revision": _l("Revision in force"),
        "version": _l("Lock version"),
        "submitted_at": _l("Submitted at"),
        "submitted_by_id": _l("Submitted by"),
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.label_columns = {**cls.REVIEW_LABELS, **cls.__dict__.get("label_columns", {})}

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
        return self._show_page(pk, self._record_or_404(pk))

    def _show_page(self, pk, record, typed=None, refusal=None):
        """The record page; after a refused decision, with what was typed (``typed``: the
        posted form, e.g. the opinion and the city's choice) and the refusal beside its field."""
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
            typed=typed or {},
            review_errors=review_errors(refusal),
            edit_url=self._edit_url(record, pk),
            **self.show_extras(record),
        )

    def _edit_url(self, record, pk) -> str | None:
        """编辑 on the record page exactly when the edit form would accept the save: a draft or
        returned record, the write permission, and the row inside the user's writable scope."""
        if not review.editable(record):
            return None
        if not self.appbuilder.sm.has_access("can_write", self.class_permission_name):
            return None
        if not row_in_scope(record, current_scope(), for_write=True):
            return None
        return url_for(f"{self.endpoint}.edit", pk=pk)

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
        body = request.form.get("comment", "")
        perform(
            lambda: messages.add_comment(g.user, record, body, clock.now()),
            success=_l("Comment added."),
        )
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
                review.submit(record, g.user, now, expected_version=version)
            elif name in (review.APPROVE, review.RETURN, review.REJECT):
                review.decide(
                    record,
                    g.user,
                    name,
                    now,
                    opinion=opinion,
                    expected_version=version,
                    params=self.approval_params(),
                )
            elif name == review.CORRECT:
                review.start_correction(record, g.user, now, expected_version=version)
            else:
                abort(400)
        except DomainError as exc:
            # the page again, with the opinion and the choices as typed: nothing is lost
            db.session.rollback()
            record = self._record_or_404(self._deserialize_pk_if_composite(pk))
            return self._show_page(record.id, record, typed=request.form, refusal=exc)
        flash(str(_l("Done: %(action)s.", action=ACTION_LABELS.get(name, name))), "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    @action(
        "bulk_approve",
        _l("Approve selected"),
        "",  # no browser prompt: the confirmation page lists the records and takes the opinion
        "fa-check",
        single=False,
    )
    def bulk_approve(self, items):
        """The confirmation page of a bulk approval: the chosen records (each read through the
        scoped datamodel: a foreign id is not found) and one opinion for all of them."""
        records = items if isinstance(items, list) else [items]
        if not records or any(r is None for r in records):
            abort(404)
        return self._bulk_page(records, review.APPROVE)

    def _bulk_page(self, records, decision, opinion="", status=200):
        return (
            self.render_template(
                "review/bulk_confirm.html",
                title=str(_l("Confirm: %(action)s", action=ACTION_LABELS[decision])),
                records=records,
                decision=decision,
                action_label=ACTION_LABELS[decision],
                status_label=status_label,
                opinion=opinion,
                post_url=url_for(f"{self.endpoint}.bulk_review"),
                back_url=url_for(f"{self.endpoint}.list"),
            ),
            status,
        )

    @expose("/bulk_review", methods=["POST"])
    @has_access
    def bulk_review(self):
        """The confirmed bulk decision: all the listed records change, with the one opinion,
        or none of them (the refusal is shown on the confirmation page again)."""
        decision = request.form.get("decision", "")
        if decision != review.APPROVE:
            abort(400)
        pks = request.form.getlist("rowid")
        records = [self.datamodel.get(self._deserialize_pk_if_composite(pk)) for pk in pks]
        if not records or any(r is None for r in records):
            abort(404)
        opinion = request.form.get("opinion", "")[:2000]
        done = perform(
            lambda: review.decide_all(records, g.user, decision, clock.now(), opinion=opinion),
            success=_l("%(n)d record(s) approved.", n=len(records)),
        )
        if not done:
            records = [self.datamodel.get(self._deserialize_pk_if_composite(pk)) for pk in pks]
            return self._bulk_page(records, decision, opinion, 400)
        return redirect(url_for(f"{self.endpoint}.list"))

    @action(
        "bulk_submit",
        _l("Submit selected"),
        "",  # no browser prompt: the confirmation page lists the records
        "fa-paper-plane",
        single=False,
    )
    def bulk_submit(self, items):
        """批量报送, its confirmation page: the chosen drafts (read through the scoped datamodel)
        and, for any that cannot be submitted, why; nothing is submitted yet."""
        records = items if isinstance(items, list) else [items]
        if not records or any(r is None for r in records):
            abort(404)
        return self._submit_page([r.id for r in records])

    def _submit_page(self, pks, status=200):
        probe = [self.datamodel.get(pk) for pk in pks]
        refusals = review.submit_refusals(probe, g.user, clock.now())
        records = [self.datamodel.get(pk) for pk in pks]  # reloaded: the trial was undone
        return (
            self.render_template(
                "review/bulk_confirm.html",
                title=str(_l("Confirm: %(action)s", action=ACTION_LABELS[review.SUBMIT])),
                records=records,
                decision=review.SUBMIT,
                action_label=ACTION_LABELS[review.SUBMIT],
                status_label=status_label,
                refusals=refusals,
                post_url=url_for(f"{self.endpoint}.submit_all"),
                back_url=url_for(f"{self.endpoint}.list"),
            ),
            status,
        )

    @expose("/submit_all", methods=["POST"])
    @has_access
    def submit_all(self):
        """The confirmed bulk submission: all the listed records are submitted, or none (the
        confirmation page again, naming the record that could not go and why)."""
        pks = [self._deserialize_pk_if_composite(pk) for pk in request.form.getlist("rowid")]
        records = [self.datamodel.get(pk) for pk in pks]
        if not records or any(r is None for r in records):
            abort(404)
        done = perform(
            lambda: review.submit_all(records, g.user, clock.now()),
            success=_l("%(n)d record(s) submitted.", n=len(records)),
        )
        if not done:
            return self._submit_page(pks, 400)
        return redirect(url_for(f"{self.endpoint}.list"))

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

    def approval_params(self) -> dict:
        """What the reviewer chose on the record page for its kind's ``before_approve`` (a
        kind whose page asks for a choice overrides this); a bulk approval passes none."""
        return {}
