"""The whole menu, top to bottom. `register()` is called once by `create_app`."""

from flask_babel import lazy_gettext as _l

from views import applications, plans, todo
from views.audit import AuditLogView
from views.orgs import OrgApi, OrgView
from views.roles import RoleMatrixView
from views.users import UserView


def register(appbuilder) -> None:
    todo.register(appbuilder)  # 工作台: 我的待办, 逾期督办
    plans.register(appbuilder)  # 讲师培训管理: 计划轮次, 培训计划, 计划汇总
    applications.register(appbuilder)  # 讲师培训管理: 开班申请, 讲师培训班
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
