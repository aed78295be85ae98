"""The permission matrix (第七条 + 等保 separation of duties), as data.

Resources are the ``class_permission_name`` of our views and APIs; actions are the FAB
permissions their methods map to (see `views.base.METHOD_PERMISSIONS`). Menu access is derived:
a role sees a menu entry exactly when it may read the resource behind it. `flask malan
sync-roles` makes the database equal to this table; a test checks that it does.
"""

from models.user import (
    AUDITOR,
    CENTER,
    CITY,
    INSTITUTION,
    PROVINCE,
    SECADMIN,
    SYSADMIN,
    TRAINEE,
    TRAINER,
)

# Actions
READ, WRITE, DELETE, EXPORT, MANAGE = (
    "can_read",
    "can_write",
    "can_delete",
    "can_export",
    "can_manage",
)
REVIEW = "can_review"  # bulk review actions; who may act on a step is decided by the review chain
MENU = "menu_access"

# Resources
ORG = "Org"  # 组织机构
USER = "User"  # 用户账号 (create, disable, unlock, reset password)
ROLE = "Role"  # 角色与权限 (the matrix page; granting administrator roles)
AUDIT = "AuditLog"  # 审计日志
SECURITY_BOARD = "SecurityBoard"  # 越权访问看板 (refused cross-region requests, per user)
TODO = "Todo"  # 我的待办
OVERDUE = "Overdue"  # 逾期督办 (pending steps of the subordinate orgs)
PLAN_ROUND = "PlanRound"  # 计划轮次 (opened by the center)
PLAN = "Plan"  # 讲师培训计划 (a city's plan and its lines)
PLAN_SUMMARY = "PlanSummary"  # 计划汇总 (provincial and national)
APPLICATION = "Application"  # 开班申请
TRAINING_CLASS = "TrainingClass"  # 讲师培训班
NOTICE = "Notice"  # 通知公告 (read: the audience; write: publishers)
MESSAGE = "Message"  # 信息沟通交流 (messages between levels; comments on reviewable records)
ROSTER = "Roster"  # 联络员信息汇总表 (Annex 2): upload, review, allocation, account sheet
LOGIN_APPLICATION = "LoginApplication"  # 登录申请 (public form; province reviews, center allocates)
VOCABULARY = "Vocabulary"  # 讲师级别、课程类型 (configured by the center)
FACULTY = "Faculty"  # 师资库 (MANAGE: the bulk import)
MENTOR = "Mentor"  # 创业导师库
COURSE = "Course"  # 创业培训课程库 (MANAGE: mark resources for trainees)

# Menu entries (FAB menu names): name -> (category, resource whose READ shows the entry).
MENU_ITEMS = {
    "My to-do": ("Workbench", TODO),
    "Notices": ("Basic management", NOTICE),
    "Messages": ("Basic management", MESSAGE),
    "Liaison rosters": ("Account allocation", ROSTER),
    "Login applications": ("Account allocation", LOGIN_APPLICATION),
    "Overdue board": ("Workbench", OVERDUE),
    "Plan rounds": ("Trainer training", PLAN_ROUND),
    "Plans": ("Trainer training", PLAN),
    "Plan summary": ("Trainer training", PLAN_SUMMARY),
    "Applications": ("Trainer training", APPLICATION),
    "Classes": ("Trainer training", TRAINING_CLASS),
    "Faculty pool": ("Libraries", FACULTY),
    "Mentor pool": ("Libraries", MENTOR),
    "Course library": ("Libraries", COURSE),
    "Levels and course types": ("Libraries", VOCABULARY),
    "Orgs": ("Organisation", ORG),
    "Users": ("System", USER),
    "Roles": ("System", ROLE),
    "Audit log": ("System", AUDIT),
    "Refused access": ("System", SECURITY_BOARD),
}

# Built up level by level, as 第七条 lists them.
_WORKBENCH = [(READ, TODO), (READ, NOTICE), (READ, MESSAGE), (WRITE, MESSAGE)]
# The libraries: approved mentors and published course resources are shared with every business
# user (资源共享); the faculty pool is seen by region (center all, province/city their own).
_LIBRARY_READER = [(READ, MENTOR), (READ, COURSE)]
_LIBRARY_UPLOADER = _LIBRARY_READER + [(WRITE, COURSE), (DELETE, COURSE)]
_MENTOR_KEEPER = [(WRITE, MENTOR), (DELETE, MENTOR), (EXPORT, MENTOR)]
_PUBLISHER = [(WRITE, NOTICE), (DELETE, NOTICE)]  # 第七条: center, province, city publish downward
_SUPERVISOR = [(READ, OVERDUE), (EXPORT, OVERDUE)]  # the overdue board of the orgs below
_INSTITUTION = (
    _WORKBENCH
    + _LIBRARY_UPLOADER
    + [
        (READ, ORG),
        (READ, APPLICATION),
        (WRITE, APPLICATION),
        (DELETE, APPLICATION),
        (READ, TRAINING_CLASS),
    ]
)
_CITY = (
    _WORKBENCH
    + _PUBLISHER
    + _LIBRARY_UPLOADER
    + _MENTOR_KEEPER
    + [
        (READ, FACULTY),
        (EXPORT, FACULTY),
        (REVIEW, COURSE),
        (READ, ORG),
        (READ, USER),
        (READ, PLAN_ROUND),
        (READ, PLAN),
        (WRITE, PLAN),
        (DELETE, PLAN),
        (READ, APPLICATION),
        (REVIEW, APPLICATION),
        (READ, TRAINING_CLASS),
    ]
)
_PROVINCE = (
    _WORKBENCH
    + _SUPERVISOR
    + _PUBLISHER
    + _LIBRARY_UPLOADER
    + _MENTOR_KEEPER
    + [
        (READ, FACULTY),
        (EXPORT, FACULTY),
        (REVIEW, MENTOR),
        (REVIEW, COURSE),
        (READ, ROSTER),
        (WRITE, ROSTER),
        (READ, LOGIN_APPLICATION),
        (REVIEW, LOGIN_APPLICATION),
        (READ, ORG),
        (READ, USER),
        (READ, PLAN_ROUND),
        (READ, PLAN),
        (REVIEW, PLAN),
        (READ, PLAN_SUMMARY),
        (EXPORT, PLAN_SUMMARY),
        (READ, APPLICATION),
        (REVIEW, APPLICATION),
        (READ, TRAINING_CLASS),
    ]
)
_CENTER = (
    _WORKBENCH
    + _SUPERVISOR
    + _PUBLISHER
    + _LIBRARY_UPLOADER
    + _MENTOR_KEEPER
    + [
        (READ, FACULTY),
        (WRITE, FACULTY),
        (DELETE, FACULTY),
        (EXPORT, FACULTY),
        (REVIEW, FACULTY),
        (MANAGE, FACULTY),
        (REVIEW, MENTOR),
        (REVIEW, COURSE),
        (MANAGE, COURSE),
        (READ, VOCABULARY),
        (WRITE, VOCABULARY),
        (READ, ROSTER),
        (REVIEW, ROSTER),
        (EXPORT, ROSTER),
        (READ, LOGIN_APPLICATION),
        (REVIEW, LOGIN_APPLICATION),
        (READ, ORG),
        (WRITE, ORG),
        (READ, USER),
        (WRITE, USER),
        (MANAGE, USER),
        (READ, PLAN_ROUND),
        (WRITE, PLAN_ROUND),
        (READ, PLAN),
        (REVIEW, PLAN),
        (READ, PLAN_SUMMARY),
        (EXPORT, PLAN_SUMMARY),
        (READ, APPLICATION),
        (REVIEW, APPLICATION),
        (READ, TRAINING_CLASS),
    ]
)

ROLE_MATRIX: dict[str, list[tuple[str, str]]] = {
    # 部中心: every business function; accounts are allocated by the center (第十二条).
    CENTER: _CENTER,
    PROVINCE: _PROVINCE,
    CITY: _CITY,
    INSTITUTION: _INSTITUTION,
    # Own profile (edits reviewed by the center), course uploads, the shared libraries.
    TRAINER: _WORKBENCH + _LIBRARY_UPLOADER + [(READ, FACULTY), (WRITE, FACULTY)],
    # Only notices addressed to trainees while their class runs, and the resources marked for them.
    TRAINEE: [(READ, NOTICE), (READ, COURSE)],
    # The three separated administrators: none can do another's job.
    SYSADMIN: [(READ, ORG), (WRITE, ORG), (READ, USER), (WRITE, USER), (MANAGE, USER)],
    SECADMIN: [(READ, USER), (READ, ROLE), (WRITE, ROLE), (READ, SECURITY_BOARD)],
    AUDITOR: [(READ, AUDIT), (EXPORT, AUDIT), (READ, NOTICE)],  # incl. withdrawn notices
}

PUBLIC_ROLE = "Public"


def expanded_matrix() -> dict[str, set[tuple[str, str]]]:
    """Every role's full permission set, menu access included (what the database must hold)."""
    full = {}
    for role, grants in ROLE_MATRIX.items():
        perms = set(grants)
        for menu, (category, resource) in MENU_ITEMS.items():
            if (READ, resource) in perms:
                perms |= {(MENU, menu), (MENU, category)}
        full[role] = perms
    full[PUBLIC_ROLE] = set()
    return full
