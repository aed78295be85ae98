"""The whole menu, top to bottom. `register()` is called once by `create_app`."""

from flask_babel import lazy_gettext as _l

from views import (
    applications,
    courses,
    faculty,
    faculty_import,
    files,
    login_applications,
    mentors,
    messages,
    notices,
    plans,
    rosters,
    security_board,
    todo,
    vocabulary,
)
from views.audit import AuditLogView
from views.orgs import OrgApi, OrgView
from views.roles import RoleMatrixView
from views.users import UserView


def register(appbuilder) -> None:
    todo.register(appbuilder)  # 工作台: 我的待办, 逾期督办
    notices.register(appbuilder)  # 基础管理: 通知公告
    messages.register(appbuilder)  # 基础管理: 信息沟通交流
    files.register(appbuilder)  # attachment downloads (no menu)
    plans.register(appbuilder)  # 讲师培训管理: 计划轮次, 培训计划, 计划汇总
    applications.register(appbuilder)  # 讲师培训管理: 开班申请, 讲师培训班
    # 资源库: 师资库, 创业导师库, 创业培训课程库 (each entry names the category and its label).
    faculty.register(appbuilder)  # 师资库 (+ its list export and profile page)
    faculty_import.register(appbuilder)  # 师资库批量导入 (no menu: a button on the pool)
    mentors.register(appbuilder)  # 创业导师库
    courses.register(appbuilder)  # 创业培训课程库 (+ preview and download)
    vocabulary.register(appbuilder)  # 讲师级别、课程类型
    appbuilder.add_view(
        OrgView,
        "Orgs",
        label=_l("Organisations"),
        icon="fa-sitemap",
        category="Organisation",
        category_label=_l("Organisation management"),
        category_icon="fa-building",
    )
    appbuilder.add_view(
        UserView,
        "Users",
        label=_l("Accounts"),
        icon="fa-users",
        category="System",
        category_label=_l("System"),
        category_icon="fa-cogs",
    )
    appbuilder.add_view(
        RoleMatrixView,
        "Roles",
        label=_l("Roles and permissions"),
        icon="fa-user-shield",
        category="System",
    )
    appbuilder.add_view(
        AuditLogView, "Audit log", label=_l("Audit log"), icon="fa-list-alt", category="System"
    )
    security_board.register(appbuilder)  # 系统管理: 越权访问看板 (security administrator)
    rosters.register(appbuilder)  # 账号分配: 联络员信息汇总表
    login_applications.register(appbuilder)  # 账号分配: 登录申请 (+ the public form)
    appbuilder.add_api(OrgApi)
