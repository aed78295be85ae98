"""登录申请 (第六条(二)): the public form where a person asks for an account, and the list where
the province reviews the applicant and the center allocates the account.

The public page tells nobody whether a mobile number already has an account: every accepted
form gets the same answer, and duplicates are shown to the reviewers and refused at the
center's approval (第十一条). Its POST is rate-limited per client IP with the app's limiter.
"""

from flask import current_app, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from app import clock
from app.services import login_applications
from app.services.login_applications import FIELDS, cities_by_province
from models.login_application import REQUESTABLE_ROLES, LoginApplication
from models.review import APPROVED
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import blank, perform, yes_no
from views.fields import checked
from views.list_export import ListExportMixin
from views.review import ReviewableModelView

DEFAULT_RATE_LIMIT = "5 per hour"  # config LOGIN_APPLICATION_RATE_LIMIT overrides it


def _rate_limit() -> str:
    return current_app.config.get("LOGIN_APPLICATION_RATE_LIMIT", DEFAULT_RATE_LIMIT)


# ---------------------------------------------------------------- the public form


class ApplicationForm(FlaskForm):
    applicant_name = StringField(_l("Full name"), validators=[checked(FIELDS, "applicant_name")])
    mobile = StringField(_l("Mobile"), validators=[checked(FIELDS, "mobile")])
    unit = StringField(_l("Work unit"), validators=[checked(FIELDS, "unit")])
    role_kind = SelectField(
        _l("Role requested"),
        validators=[DataRequired()],
        choices=[("", "—")] + list(REQUESTABLE_ROLES.items()),
    )
    province_id = SelectField(_l("Province"), coerce=int, validate_choice=False)
    city_id = SelectField(_l("City"), coerce=int, validate_choice=False)
    reason = TextAreaField(_l("Reason for the application"), validators=[checked(FIELDS, "reason")])

    def fill_places(self, groups):
        """Provinces, and cities grouped under their province (an <optgroup>: no script needed)."""
        self.province_id.choices = [(0, "—")] + [(p.id, p.name) for p, _cities in groups]
        self.city_id.choices = {"": [(0, "—")]} | {
            p.name: [(c.id, c.name) for c in cities] for p, cities in groups
        }


class LoginApplicationPublicView(BaseView):
    """No login: a stranger applies. Nothing here reads existing accounts."""

    route_base = "/login-application"
    default_view = "apply"

    @expose("/", methods=["GET", "POST"])
    def apply(self):
        form = ApplicationForm()
        form.fill_places(cities_by_province())
        # The role and the city are the service's rules: a refusal is shown beside its field.
        if form.validate_on_submit() and perform(
            lambda: login_applications.apply(form.data, request.remote_addr, clock.now()),
            form=form,
        ):
            return redirect(url_for(f"{self.endpoint}.sent"))
        return self.render_template(
            "login_applications/apply.html", form=form, title=_("Apply for an account")
        )

    @expose("/sent", methods=["GET"])
    def sent(self):
        # The same page whoever applied, with whatever mobile: it reveals nothing about accounts.
        return self.render_template("login_applications/sent.html", title=_("Application received"))


# ---------------------------------------------------------------- review (province, center)

LABELS = {
    "applicant_name": _l("Full name"),
    "mobile": _l("Mobile"),
    "unit": _l("Work unit"),
    "role_kind": _l("Role requested"),
    "org": _l("City"),
    "reason": _l("Reason for the application"),
    "created_at": _l("Applied at"),
    "status": _l("Status"),
    "has_account": _l("Already has an account"),
    "account": _l("Allocated account"),
}


def _role(kind) -> str:
    return str(REQUESTABLE_ROLES.get(kind, kind or ""))


class LoginApplicationView(ListExportMixin, ReviewableModelView):
    """The province reviews the applicant (approve or reject with its opinion; nothing is
    returned: the applicant cannot revise), then the center approves and the account is made."""

    datamodel = ScopedSQLAInterface(LoginApplication)
    class_permission_name = permissions.LOGIN_APPLICATION
    base_permissions = ["can_read"]  # nobody adds or edits: applications come from the public form
    list_title = _l("Login application")
    show_title = _l("Login application")
    label_columns = LABELS
    list_columns = [
        "applicant_name",
        "mobile",
        "unit",
        "role_kind",
        "org",
        "created_at",
        "status",
        "has_account",
    ]
    show_columns = [
        "applicant_name",
        "mobile",
        "unit",
        "role_kind",
        "org",
        "reason",
        "created_at",
        "status",
        "has_account",
        "account",
    ]
    search_columns = ["applicant_name", "mobile", "unit", "status"]
    order_columns = ["created_at", "applicant_name"]
    base_order = ("created_at", "desc")
    formatters_columns = {
        **ReviewableModelView.formatters_columns,
        "role_kind": _role,
        "has_account": yes_no,
        "account": lambda u: u.username if u is not None else "",
        "reason": blank,
    }

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review_action(self, pk):
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        response = super().review_action(pk)  # the same record (the session's identity map)
        if (
            getattr(record, "allocated_password", None)
            and record.status == APPROVED
            and record.account is not None
        ):
            return self._credentials(record)
        return response

    def _credentials(self, record):
        """Shown once, on the answer to the approval itself: the password is stored nowhere
        (only its hash); afterwards it can only be reset."""
        page = self.render_template(
            "login_applications/allocated.html",
            record=record,
            username=record.account.username,
            password=record.allocated_password,
            title=_("Account allocated"),
        )
        response = current_app.make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response

    def bulk_approve(self, items):  # not an action here: each allocation shows its password once
        raise NotImplementedError


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    public = appbuilder.add_view_no_menu(LoginApplicationPublicView())
    appbuilder.sm.limiter.limit(_rate_limit, methods=["POST"])(public.blueprint)
