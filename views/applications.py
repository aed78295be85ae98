"""开班申请 and 讲师培训班: institutions apply, the city links its plan (or marks 计划外), the
province and the center review; the center's approval creates the class.

The rules are in `models.application`; the review in `app.services.review`. These views only read
the city's choice and the center's late allowance from the record page and map refusals to
messages.
"""

import json

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired

from app import audit, clock
from app.extensions import db
from app.services import review, vocabulary
from models.application import (
    ClassApplication,
    TrainingClass,
    allow_late,
    apply_city_choice,
    check_dates,
    check_lead_time,
    lines_for,
)
from models.org import CENTER, CITY, INSTITUTION
from models.vocabulary import COURSE_TYPE
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, blank, yes_no
from views.review import ACTION_LABELS, ReviewableModelView, status_label

LABELS = {
    "org": _l("Training institution"),
    "course_type": _l("Course type"),
    "start_date": _l("Start date"),
    "end_date": _l("End date"),
    "venue": _l("Venue"),
    "expected_trainees": _l("Expected trainees"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "trainer_criteria": _l("Requested trainer criteria"),
    "plan_line": _l("Plan line"),
    "plan_line_id": _l("Plan line"),
    "is_extra": _l("Additional (out of plan)"),
    "late_reason": _l("Late application allowed because"),
    "late_allowed_at": _l("Late application allowed at"),
    "training_class": _l("Class"),
    "status": _l("Status"),
    "code": _l("Class code"),
    "application": _l("Application"),
    "created_at": _l("Created at"),
}
FORM_COLUMNS = [
    "course_type",
    "start_date",
    "end_date",
    "venue",
    "expected_trainees",
    "contact_name",
    "contact_phone",
    "trainer_criteria",
]


def _course_type_field():
    # The center's active course types (+ the stored one on an edit form: `prefill_form`);
    # `check_dates` decides, keeping a retired type valid on the application that holds it.
    return SelectField(
        _l("Course type"),
        choices=lambda: vocabulary.choices(COURSE_TYPE),
        validators=[DataRequired()],
        validate_choice=False,
    )


class ApplicationView(ReviewableModelView):
    # Listed relationships, loaded once per page (not per row).
    datamodel = ScopedSQLAInterface(ClassApplication, eager=("org", "plan_line", "training_class"))
    class_permission_name = "Application"
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "allow_late_action": "review",
    }
    list_title = _l("Class applications")
    show_title = _l("Class application")
    add_title = _l("New class application")
    edit_title = _l("Edit class application")
    show_template = "applications/show.html"
    label_columns = LABELS
    list_columns = [
        "org",
        "course_type",
        "start_date",
        "end_date",
        "expected_trainees",
        "is_extra",
        "plan_line",
        "status",
        "training_class",
    ]
    show_columns = (
        ["org"]
        + FORM_COLUMNS
        + ["plan_line", "is_extra", "late_reason", "late_allowed_at", "training_class", "status"]
    )
    add_columns = edit_columns = FORM_COLUMNS
    # No institution dropdown: at national scale it lists 10,000 institutions on every page
    # (bench B1); a city or province narrows by status, course type and dates.
    search_columns = ["course_type", "start_date", "status", "is_extra"]
    add_form_extra_fields = edit_form_extra_fields = {"course_type": _course_type_field()}
    base_order = ("start_date", "desc")
    formatters_columns = {
        **ReviewableModelView.formatters_columns,
        "is_extra": yes_no,
        "plan_line": blank,
        "late_reason": blank,
        "late_allowed_at": blank,
        "training_class": blank,
        "trainer_criteria": blank,
    }

    def pre_add(self, item):
        if g.user.role_kind != INSTITUTION or g.user.org_id is None:
            raise ValueError(_l("Only a training institution can apply for a class."))
        item.org_id = g.user.org_id
        check_dates(item, clock.now().date())

    def pre_update(self, item):
        check_dates(item, clock.now().date())
        super().pre_update(item)

    def prefill_form(self, form, pk):
        """The stored course type (the one in force and the one proposed) stays offered, even
        a type the center retired."""
        super().prefill_form(form, pk)
        record = self.datamodel.get(pk)
        if record is not None:
            form.course_type.choices = vocabulary.choices(
                COURSE_TYPE, keep=(record.course_type, form.course_type.data)
            )

    def before_submit(self, record, now):
        check_lead_time(record, now.date())

    def before_approve(self, record, now):
        """The city's step carries its choice: a plan line, or 计划外. Only checked for the one
        who may act — anyone else is refused by the review service with its own message."""
        task = review.open_task(record)
        if task is None or task.level != CITY or not review.may_decide(record, g.user, task):
            return
        if "choice" in request.form:  # the record page
            extra = request.form.get("choice") == "extra"
            line_id = request.form.get("plan_line_id")
        else:  # a bulk approval keeps a choice made earlier (a resubmitted record)
            extra, line_id = bool(record.is_extra), record.plan_line_id
        if not review.is_correction(record):
            apply_city_choice(record, line_id, extra)
            return
        # A correction's values wait in its revision; the row keeps the values in force.
        in_force = record.plan_line_id, record.is_extra
        apply_city_choice(record, line_id, extra)
        revision = review.current_revision(record)
        data = json.loads(revision.data)
        data.update(plan_line_id=record.plan_line_id, is_extra=record.is_extra)
        revision.data = json.dumps(data, ensure_ascii=False)
        record.plan_line_id, record.is_extra = in_force

    @expose("/allow_late/<pk>", methods=["POST"])
    @has_access
    def allow_late_action(self, pk):
        """The center lets an application be submitted less than 14 days before its start."""
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        if g.user.role_kind != CENTER:
            abort(403)
        now = clock.now()
        try:
            if request.form.get("version") not in (None, str(record.version)):
                raise ValueError(
                    _l("This record has changed since you opened it. Reload the page.")
                )
            allow_late(record, g.user, request.form.get("late_reason", ""), now)
            audit.record(
                db.session,
                "application_allow_late",
                object_type="ClassApplication",
                object_id=record.id,
                user=g.user,
                now=now,
                summary=record.late_reason,
            )
            db.session.commit()
        except (ValueError, review.ReviewError) as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(str(_l("Late application allowed.")), "success")
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))

    def render_template(self, template, **kwargs):
        record = kwargs.get("record")
        if template == self.show_template and record is not None:
            kwargs.update(self._page_extras(record))
        return super().render_template(template, **kwargs)

    def _page_extras(self, record) -> dict:
        task = review.open_task(record)
        city_step = (
            task is not None and task.level == CITY and review.may_decide(record, g.user, task)
        )
        return {
            "city_lines": lines_for(record) if city_step else None,
            "may_allow_late": (
                g.user.role_kind == CENTER and record.status in ("draft", "returned")
            ),
        }


class TrainingClassView(ScopedModelView):
    """讲师培训班: read-only; its page shows the whole history of the application behind it."""

    datamodel = ScopedSQLAInterface(TrainingClass)
    class_permission_name = "TrainingClass"
    base_permissions = ["can_read"]
    list_title = _l("Trainer-training classes")
    show_title = _l("Trainer-training class")
    show_template = "applications/class_show.html"
    label_columns = LABELS
    list_columns = [
        "code",
        "org",
        "course_type",
        "start_date",
        "end_date",
        "expected_trainees",
        "is_extra",
    ]
    show_columns = [
        "code",
        "org",
        "course_type",
        "start_date",
        "end_date",
        "venue",
        "expected_trainees",
        "plan_line",
        "is_extra",
        "application",
        "created_at",
    ]
    search_columns = ["code", "org", "course_type", "start_date"]
    base_order = ("code", "asc")
    formatters_columns = {"is_extra": yes_no, "plan_line": blank, "venue": blank}

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            klass = self.datamodel.get(kwargs["pk"])
            if klass is not None:
                kwargs.update(
                    history=review.history(klass.application),
                    status_label=status_label,
                    action_labels=ACTION_LABELS,
                )
        return super().render_template(template, **kwargs)


def register(appbuilder) -> None:
    """Add this module's views to the menu (called by views.register)."""
    appbuilder.add_view(
        ApplicationView,
        "Applications",
        label=_l("Class applications"),
        icon="fa-file-signature",
        category="Trainer training",
        category_label=_l("Trainer training"),
        category_icon="fa-chalkboard-teacher",
    )
    appbuilder.add_view(
        TrainingClassView,
        "Classes",
        label=_l("Trainer-training classes"),
        icon="fa-chalkboard",
        category="Trainer training",
        category_label=_l("Trainer training"),
    )
