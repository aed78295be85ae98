"""账号变更申请 (三员分立, issue 17 point 2): the proposals of the administrators and the security
administrator's approval. A new password is shown once, on the answer to the approval itself,
to the approver; the proposer never sees it."""

from flask import current_app, g, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app import clock
from app.extensions import db
from app.labels import role_label
from app.services import account_requests, accounts
from models.account_request import CREATE_ACCOUNT, OPERATIONS, AccountRequest
from models.org import Org
from models.review import APPROVED
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import blank, perform
from views.list_export import ListExportMixin
from views.review import ReviewableModelView


class ProposeAccountForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=64)])
    role_kind = SelectField(_l("Role"), validators=[DataRequired()])
    org_id = SelectField(_l("Organisation"), coerce=int, validate_choice=False)
    mobile = StringField(_l("Mobile"), validators=[Length(max=32)])


def _operation(value) -> str:
    return str(OPERATIONS.get(value, value or ""))


class AccountRequestView(ListExportMixin, ReviewableModelView):
    """The list of proposals; the record page carries the security administrator's approve and
    reject buttons (review decides who may: a security administrator, never the proposer)."""

    datamodel = ScopedSQLAInterface(AccountRequest)
    class_permission_name = permissions.ACCOUNT_REQUEST
    # Nobody writes a proposal through FAB's forms (no can_write): `propose_account` and the
    # account pages' actions go through `app.services.account_requests`.
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "propose_account": "manage",
    }
    base_permissions = ["can_read", "can_manage", "can_review"]
    list_title = _l("Account change")
    show_title = _l("Account change")
    label_columns = {
        "operation": _l("Operation"),
        "target": _l("Account"),
        "role_kind": _l("Role"),
        "name": _l("Full name"),
        "mobile": _l("Mobile"),
        "account_org": _l("Organisation"),
        "created_at": _l("Proposed at"),
        "done_at": _l("Carried out at"),
        "status": _l("Status"),
    }
    list_columns = ["operation", "target", "name", "role_kind", "created_at", "status"]
    show_columns = [
        "operation",
        "target",
        "name",
        "role_kind",
        "account_org",
        "mobile",
        "created_at",
        "status",
        "done_at",
    ]
    search_columns = ["operation", "status"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {
        **ReviewableModelView.formatters_columns,
        "operation": _operation,
        "role_kind": lambda k: role_label(k) if k else "",
        "target": lambda u: u.username if u is not None else "",
        "name": blank,
        "mobile": blank,
        "account_org": blank,
        "done_at": blank,
    }

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review_action(self, pk):
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        response = super().review_action(pk)  # the same record (the session's identity map)
        if getattr(record, "allocated_password", None) and record.status == APPROVED:
            return self._credentials(record)
        return response

    def _credentials(self, record):
        """Shown once, to the approver, on the answer to the approval: stored nowhere (only its
        hash); afterwards the password can only be reset again."""
        page = self.render_template(
            "account_requests/credentials.html",
            record=record,
            password=record.allocated_password,
            title=_("Account change"),
        )
        response = current_app.make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response

    def bulk_approve(self, items):  # not an action here: each approval shows its password once
        raise NotImplementedError

    @expose("/propose-account", methods=["GET", "POST"])
    @has_access
    def propose_account(self):
        """An account of the center or a province: proposed, created on approval."""
        form = ProposeAccountForm()
        form.role_kind.choices = [(k, role_label(k)) for k in accounts.GUARDED_KINDS]
        orgs = db.session.scalars(
            select(Org).where(Org.kind.in_(accounts.GUARDED_KINDS)).order_by(Org.code)
        )
        form.org_id.choices = [(o.id, o.name) for o in orgs]
        if form.validate_on_submit() and perform(
            lambda: account_requests.propose(
                g.user,
                CREATE_ACCOUNT,
                clock.now(),
                name=form.name.data,
                role_kind=form.role_kind.data,
                mobile=form.mobile.data,
                account_org=db.session.get(Org, form.org_id.data),
            ),
            _l(
                "Proposed: it takes effect when the security administrator approves it.",
            ),
            form=form,
        ):
            return redirect(url_for(f"{self.endpoint}.list"))
        return self.render_template(
            "account_requests/propose.html", form=form, title=_("Create account")
        )
