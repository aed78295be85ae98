"""开班申请 and 讲师培训班: institutions apply, the city links its plan (or marks 计划外), the
province and the center review; the center's approval creates the class.

The rules are in `app.services.applications`; the review in `app.services.review`. These views only read
the city's choice and the center's late allowance from the record page and map refusals to
messages.
"""

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired

from app import clock
from app.services import dispatch as dispatch_svc
from app.services import dispatch_notices as notices_svc
from app.services import review, vocabulary
from app.services.applications import (
    APPLICATION,
    allow_late,
    check_dates,
    lead_time_warning,
    lines_for,
)
from app.services.errors import NotAllowed
from models.application import ClassApplication, TrainingClass
from models.org import CENTER, CITY, INSTITUTION
from models.user import TRAINER
from models.vocabulary import COURSE_TYPE
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, blank, perform, yes_no
from views.classroom import class_section
from views.list_export import ListExportMixin
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
    "application": _l("Class application"),
    "created_at": _l("Created at"),
}
# What the institution enters: the reviewed fields but the city's choice (plan line, 计划外).
FORM_COLUMNS = [f for f in APPLICATION.fields if f not in ("plan_line_id", "is_extra")]


def _course_type_field():
    # The center's active course types (+ the stored one on an edit form: `prefill_form`);
    # `check_dates` decides, keeping a retired type valid on the application that holds it.
    return SelectField(
        _l("Course type"),
        choices=lambda: vocabulary.choices(COURSE_TYPE),
        validators=[DataRequired()],
        validate_choice=False,
    )


class ApplicationView(ListExportMixin, ReviewableModelView):
    # Listed relationships, loaded once per page (not per row).
    datamodel = ScopedSQLAInterface(ClassApplication, eager=("org", "plan_line", "training_class"))
    class_permission_name = permissions.APPLICATION
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "allow_late_action": "review",
    }
    list_title = _l("Class application")
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
            raise NotAllowed(_l("Only a training institution can apply for a class."))
        item.org_id = g.user.org_id
        check_dates(item, clock.now().date())

    def pre_update(self, item):
        check_dates(item, clock.now().date())
        super().pre_update(item)

    def form_warnings(self, item) -> list[str]:
        warning = lead_time_warning(item, clock.now().date())
        return [warning] if warning else []

    def approval_params(self) -> dict:
        """The city's choice on the record page: a plan line, or 计划外."""
        if "choice" not in request.form:
            return {}
        return {"choice": request.form["choice"], "plan_line_id": request.form.get("plan_line_id")}

    def prefill_form(self, form, pk):
        """The stored course type (the one in force and the one proposed) stays offered, even
        a type the center retired."""
        super().prefill_form(form, pk)
        record = self.datamodel.get(pk)
        if record is not None:
            form.course_type.choices = vocabulary.choices(
                COURSE_TYPE, keep=(record.course_type, form.course_type.data)
            )

    @expose("/allow_late/<pk>", methods=["POST"])
    @has_access
    def allow_late_action(self, pk):
        """The center lets an application be submitted less than 14 days before its start."""
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        if g.user.role_kind != CENTER:
            abort(403)
        perform(
            lambda: allow_late(
                record,
                g.user,
                request.form.get("late_reason", ""),
                clock.now(),
                expected_version=request.form.get("version"),
            ),
            success=_l("Late application allowed."),
        )
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


class TrainingClassView(ListExportMixin, ScopedModelView):
    """讲师培训班: read-only; its page shows the whole history of the application behind it."""

    datamodel = ScopedSQLAInterface(TrainingClass)
    class_permission_name = permissions.TRAINING_CLASS
    base_permissions = ["can_read"]
    list_title = _l("Trainer-training class")
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
    search_columns = ["code", "org", "course_type", "start_date", "end_date"]
    base_order = ("code", "asc")
    formatters_columns = {"is_extra": yes_no, "plan_line": blank, "venue": blank}
    # Opening the dispatch needs only read access: the service lets the class's institution only.
    method_permission_name = {**ScopedModelView.method_permission_name, "open_dispatch": "read"}

    def render_template(self, template, **kwargs):
        if template == self.show_template and "pk" in kwargs:
            klass = self.datamodel.get(kwargs["pk"])
            if klass is not None:
                trainer = g.user.role_kind == TRAINER  # its own seat only, no review history
                kwargs.update(
                    history=[] if trainer else review.history(klass.application),
                    show_history=not trainer,
                    status_label=status_label,
                    action_labels=ACTION_LABELS,
                    dispatch=dispatch_page(klass, g.user),
                )
                kwargs.update(class_section(klass))  # [classroom] trainers, trainees
        return super().render_template(template, **kwargs)

    @expose("/open_dispatch/<pk>", methods=["POST"])
    @has_access
    def open_dispatch(self, pk):
        """The institution starts choosing trainers for its class: to the dispatch page."""
        klass = self._scoped_rows([pk])[0]
        opened = []
        if perform(lambda: opened.append(dispatch_svc.open_dispatch(klass, g.user, clock.now()))):
            return redirect(url_for("DispatchView.show", pk=opened[0].id))
        return redirect(url_for(f"{self.endpoint}.show", pk=pk))


def dispatch_page(klass, user) -> dict:
    """The class page's dispatch part: every seat with its history (a trainer: its own)."""
    d = dispatch_svc.dispatch_of(klass)
    if d is None:
        return {
            "d": None,
            "may_open": user.role_kind == INSTITUTION and user.org_id == klass.org_id,
        }
    seats = list(d.seats)
    mine = user.role_kind == TRAINER
    if mine:
        seats = [s for s in seats if s.trainer_user_id == user.id]
    events = {}
    for e in dispatch_svc.history(d):
        if not mine or e.seat_id in {s.id for s in seats}:
            events.setdefault(e.seat_id, []).append(e)
    return {
        "d": d,
        "seats": seats,
        "events": events,
        "show_record": not mine,
        "notices": {s.id: notices_svc.notice_of_seat(s) for s in seats},
        "status_label": lambda v: str(dispatch_svc.STATUS_LABELS.get(v, v)),
        "action_labels": dispatch_svc.ACTION_LABELS,
    }
