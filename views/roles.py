"""角色与权限 (security administrator): the permission matrix as it is, and role assignment.

Permissions themselves are never edited here: they come from `security.permissions` through
`flask malan sync-roles` at deploy (the page does not say so: its readers are not developers). What the security administrator decides is which role an account has,
including the three administrator roles that the account screens cannot grant.
"""

from flask import abort, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app import clock
from app.extensions import db
from app.services import account_requests
from models.user import ROLE_KINDS, MalanUser
from security.permissions import (
    ROLE,
    ROLE_MATRIX,
    expanded_matrix,
    menu_entries,
    resource_label,
)
from security.scope import in_scope
from views.base import METHOD_PERMISSIONS, perform
from views.users import ROLE_LABELS, role_label


class AssignRoleForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=128)])
    role_kind = SelectField(choices=[(k, k) for k in ROLE_KINDS], validators=[DataRequired()])


PERMISSION_LABELS = {
    "can_read": _l("View"),
    "can_write": _l("Edit"),
    "can_delete": _l("Delete"),
    "can_export": _l("Export"),
    "can_manage": _l("Manage accounts"),
    "can_review": _l("Review"),
    "menu_access": _l("Menu entry"),  # FAB's permission to show an entry (a page of its own)
}


class RoleMatrixView(BaseView):
    route_base = "/roles"
    default_view = "matrix"
    class_permission_name = ROLE
    method_permission_name = {**METHOD_PERMISSIONS, "matrix": "read", "assign": "write"}

    @expose("/")
    @has_access
    def matrix(self):
        form = AssignRoleForm()
        form.role_kind.choices = [(k, str(ROLE_LABELS[k])) for k in ROLE_KINDS]
        # In the order of the menu, then the resources without a menu entry.
        granted = {res for grants in ROLE_MATRIX.values() for _a, res in grants}
        menu_order = [e.resource for _c, e in menu_entries() if e.resource in granted]
        resources = list(dict.fromkeys(menu_order + sorted(granted)))
        return self.render_template(
            "roles/matrix.html",
            roles=list(ROLE_MATRIX),
            role_label=role_label,
            resources=resources,
            matrix=expanded_matrix(),
            form=form,
            resource_label=resource_label,  # its menu entry's label
            permission_label=lambda p: str(PERMISSION_LABELS.get(p, p)),
        )

    @expose("/assign", methods=["POST"])
    @has_access
    def assign(self):
        form = AssignRoleForm()
        if not form.validate_on_submit():
            flash(_("Enter a username and a role."), "danger")
            return redirect(url_for(".matrix"))
        query = db.session.query(MalanUser).filter(MalanUser.username == form.username.data.strip())
        user = in_scope(query, MalanUser).one_or_none()
        if user is None:
            abort(404)
        role_kind = form.role_kind.data
        proposed = []
        if perform(
            lambda: proposed.append(
                account_requests.grant_role(g.user, user, role_kind, clock.now())
            )
        ):
            if proposed[0] is not None:  # 三员分立: another security administrator approves
                message = _(
                    "Role %(r)s for %(u)s proposed: it takes effect when another security "
                    "administrator approves it.",
                    u=user.username,
                    r=role_label(role_kind),
                )
            else:
                message = _(
                    "%(u)s now has the role %(r)s.", u=user.username, r=role_label(role_kind)
                )
            flash(message, "success")
        return redirect(url_for(".matrix"))
