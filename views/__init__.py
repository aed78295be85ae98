"""The whole menu, top to bottom. `register()` is called once by `create_app`."""

from flask_babel import lazy_gettext as _l

from views.audit import AuditLogView
from views.orgs import OrgApi, OrgView
from views.roles import RoleMatrixView
from views.users import UserView


def register(appbuilder) -> None:
    appbuilder.add_view(OrgView, "Orgs", label=_l("Organisations"), icon="fa-sitemap",
                        category="Organisation", category_label=_l("Organisation management"),
                        category_icon="fa-building")
    appbuilder.add_view(UserView, "Users", label=_l("Accounts"), icon="fa-users",
                        category="System", category_label=_l("System"), category_icon="fa-cogs")
    appbuilder.add_view(RoleMatrixView, "Roles", label=_l("Roles and permissions"),
                        icon="fa-user-shield", category="System")
    appbuilder.add_view(AuditLogView, "Audit log", label=_l("Audit log"), icon="fa-list-alt",
                        category="System")
    appbuilder.add_api(OrgApi)
