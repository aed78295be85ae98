"""用户管理: accounts in the administrator's scope — create, disable, unlock, reset password."""

import re

from flask import abort, flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import DataRequired

from app import clock
from app.labels import ROLE_LABELS, role_label  # noqa: F401  (re-exported)
from app.services import account_requests, accounts
from models.account_request import AccountRequest
from models.user import MalanUser
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import METHOD_PERMISSIONS, ScopedModelView, blank, perform, yes_no
from views.list_export import ListExportMixin
from views.org_pick_field import OrgPickField


class UserView(ListExportMixin, ScopedModelView):
    # role_kind reads the roles: both relationships load once per page, not once per row.
    datamodel = ScopedSQLAInterface(MalanUser, eager=("roles", "org"))
    class_permission_name = permissions.USER
    show_template = "users/show.html"
    method_permission_name = {
        **METHOD_PERMISSIONS,
        "disable": "manage",
        "enable": "manage",
        "unlock": "manage",
        "reset_password": "manage",
    }
    base_permissions = ["can_read", "can_write", "can_manage"]
    list_title = _l("Account")
    show_title = _l("Account")
    add_title = _l("Create account")
    edit_title = _l("Edit account")
    label_columns = {
        "username": _l("Username"),
        "first_name": _l("Full name"),
        "role_kind": _l("Role"),
        "org": _l("Organisation"),
        "mobile": _l("Mobile"),
        "email": _l("Email"),
        "active": _l("Active"),
        "locked_until": _l("Locked until"),
        "last_login": _l("Last login"),
        "must_change_password": _l("Must change password"),
        "is_demo": _l("Demo account"),
    }
    list_columns = [
        "username",
        "first_name",
        "role_kind",
        "org",
        "mobile",
        "active",
        "locked_until",
    ]
    show_columns = [
        "username",
        "first_name",
        "role_kind",
        "org",
        "mobile",
        "email",
        "active",
        "locked_until",
        "last_login",
        "must_change_password",
        "is_demo",
    ]
    add_columns = ["first_name", "role_kind", "org", "mobile"]
    edit_columns = ["first_name", "org", "mobile"]
    search_columns = ["username", "first_name", "org", "mobile", "active"]
    # The org filter is the searchable org picker (select2 over /orgs/pick/, the administrator's
    # scope), not a select of every org: the tree has 10,000 institutions (bench B1).
    search_form_extra_fields = {"org": OrgPickField(_l("Organisation"))}
    order_columns = ["username"]  # sorting only on an indexed column (150,000 accounts)
    base_order = ("username", "asc")
    formatters_columns = {
        "role_kind": role_label,
        "org": blank,
        "mobile": blank,
        "email": blank,
        "active": yes_no,
        "must_change_password": yes_no,
        "is_demo": yes_no,
        "locked_until": blank,
        "last_login": blank,
    }
    add_form_extra_fields = {
        "role_kind": SelectField(
            _l("Role"),
            validators=[DataRequired()],
            choices=[(k, ROLE_LABELS[k]) for k in accounts.BUSINESS_KINDS],
        ),
        # A searchable picker offering the orgs in scope that fit the chosen role.
        "org": OrgPickField(_l("Organisation"), validators=[DataRequired()], role_from="role_kind"),
    }
    edit_form_extra_fields = {
        # The account's role is fixed here: the picker offers only the orgs that fit it.
        "org": OrgPickField(
            _l("Organisation"), validators=[DataRequired()], role=lambda: g.get("edited_role")
        ),
    }

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        account = self.datamodel.get(self._deserialize_pk_if_composite(pk))
        g.edited_role = account.role_kind if account is not None else None
        return super().edit(pk)

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        """The org filter in use shows its org (the picker's select holds only the chosen
        option); an org outside the scope is not shown, and the scoped list is empty anyway."""
        if form is not None and "org" in form:
            wanted = next(
                (v for k, v in request.args.items() if re.fullmatch(r"_flt_\d+_org", k)), None
            )
            form.org.process_formdata([wanted] if wanted else [])
        return super()._get_search_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)

    def process_form(self, form, is_created):
        # role_kind is not a column (a user's role is its FAB role): take it out of the form
        # before FAB copies the form onto the row, and hand it to the account service.
        if is_created and "role_kind" in form:
            g.new_role_kind = form.role_kind.data
            del form["role_kind"]

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The account, with the Annex-2 roster rows that touched this person (issue 6 point 4)."""
        from app.services.rosters import roster_history
        from views.review import status_label
        from views.rosters import CHANGE_LABELS

        pk = self._deserialize_pk_if_composite(pk)
        account = self.datamodel.get(pk)
        if account is None:
            abort(404)
        may_read_rosters = self.appbuilder.sm.has_access("can_read", "Roster")
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=self._show(pk),
            related_views=self._related_views,
            status_label=status_label,
            change_labels=CHANGE_LABELS,
            roster_entries=roster_history(account.id) if may_read_rosters else None,
        )

    def pre_add(self, item):
        _user, password = accounts.create_account(
            name=item.first_name,
            role_kind=g.pop("new_role_kind", ""),
            org=item.org,
            mobile=item.mobile,
            now=clock.now(),
            user=item,
            actor=g.user,  # an administrator proposes a center or provincial account instead
        )
        g.initial_password = password

    def post_add(self, item):
        flash(
            str(
                _l(
                    "Account %(u)s created. Initial password (shown once): %(p)s",
                    u=item.username,
                    p=g.pop("initial_password", ""),
                )
            ),
            "success",
        )

    def pre_update(self, item):
        accounts.update_account(g.user, item)

    def _apply(self, items, operation, message, run=accounts.manage):
        items = items if isinstance(items, list) else [items]
        done = []
        if perform(lambda: done.extend(run(g.user, items, operation, clock.now()))):
            for user, result in done:
                flash(str(message(user, result)), "success")
        return redirect(self.get_redirect())

    @action("disable", _l("Disable"), _l("Disable the selected accounts?"), "fa-ban")
    def disable(self, items):
        return self._apply(
            items, "disable", lambda u, _r: _l("Account %(u)s disabled.", u=u.username)
        )

    @action("enable", _l("Enable"), _l("Enable the selected accounts?"), "fa-check")
    def enable(self, items):
        return self._apply(
            items, "enable", lambda u, _r: _l("Account %(u)s enabled.", u=u.username)
        )

    @action("unlock", _l("Unlock"), _l("Unlock the selected accounts?"), "fa-unlock")
    def unlock(self, items):
        return self._apply(
            items, "unlock", lambda u, _r: _l("Account %(u)s unlocked.", u=u.username)
        )

    @action(
        "reset_password",
        _l("Reset password"),
        _l("Reset the password of the selected accounts?"),
        "fa-key",
    )
    def reset_password(self, items):
        return self._apply(
            items,
            "reset_password",
            _reset_message,
            run=lambda actor, users, _op, now: account_requests.propose_password_resets(
                actor, users, now
            ),
        )


def _reset_message(user, result):
    """A password reset at once shows the new password; one of an account of the center or a
    province was proposed (三员分立): the approver will see it, not the proposer."""
    if isinstance(result, AccountRequest):
        return _l(
            "Password reset of %(u)s proposed: it takes effect when the security "
            "administrator approves it.",
            u=user.username,
        )
    return _l(
        "New password of %(u)s (shown once, must be changed at first login): %(p)s",
        u=user.username,
        p=result,
    )
