"""The permission matrix (第七条 + 等保 separation of duties) and the menu, as data.

Resources are the ``class_permission_name`` of our views and APIs; actions are the FAB
permissions their methods map to (see `views.base.METHOD_PERMISSIONS`). `MENU_TABLE` is the whole
menu; menu access is derived from it: a role sees a menu entry exactly when it may read the
resource behind it. `flask malan sync-roles` makes the database equal to this table; a test
checks that it does.
"""

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

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
SECURITY_BOARD = "SecurityBoard"  # 越权访问看板 (refused cross-region requests, per user)
TODO = "Todo"  # 我的待办
OVERDUE = "Overdue"  # 逾期督办 (pending steps of the subordinate orgs)
PLAN_ROUND = "PlanRound"  # 计划轮次 (opened by the center)
PLAN = "Plan"  # 讲师培训计划 (a city's plan and its lines)
PLAN_SUMMARY = "PlanSummary"  # 计划汇总 (provincial and national)
SUMMARY = "Summary"  # 统计汇总 (classes, trainees, pass rates, evaluations, overdue steps)
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
ACCOUNT_REQUEST = "AccountRequest"  # 账号变更申请 (三员分立: proposed, approved by the secadmin)
SECOND_FACTOR = "SecondFactor"  # 双因素认证 (MANAGE: reset another user's second factor)
# [classroom] running a class (Annex 1 rows 15–17)
CLASS_TRAINEE = (
    "ClassTrainee"  # 参训学员 (READ: the class page's list; WRITE: import, add, withdraw)
)
CLASS_TRAINER = "ClassTrainer"  # a class's trainers (WRITE: the center assigns them)
NEEDS_ANALYSIS = "NeedsAnalysis"  # 培训需求分析 (WRITE: the class's trainers)
TEACHING = "Teaching"  # 我的授课班 (a trainer's classes)
EVALUATION = "Evaluation"  # 评估表填写 (a trainee's own forms)
QUESTIONNAIRE = "Questionnaire"  # 评估问卷 (kept by the center)
# 评估结果 (READ: results of a class's forms; WRITE: remind a trainee, respond to a day's feedback)
EVALUATION_RESULT = "EvaluationResult"
AVAILABILITY = "Availability"  # 授课档期 (a trainer writes its own; authorities read their region)
DISPATCH = "Dispatch"  # 派遣 (institution: criteria and candidates; center: the choice)
DISPATCH_REQUEST = "DispatchRequest"  # 派遣请求 (the trainer answers its own)
# 派遣通知书 / 执行任务通知书 (later certificates): read and download in scope; WRITE: the
# addressee confirms (a trainer its own notice; the institution its task notice or objects).
ISSUED_DOCUMENT = "IssuedDocument"
# [grades] row 19: 试讲评分表 and 成绩单 (WRITE: the class's trainers score, its institution marks
# attendance; who may act on a sheet is decided by `app.services.grades` and the review chain)
GRADE_SHEET = "GradeSheet"
GRADE_SCHEME = "GradeScheme"  # 成绩评定方案 (kept by the center, in versions)
# Rows 20–21, after the class: 讲师培训班活动报告 (WRITE: the lead trainer; the center reviews it)
# and 培训师授课意见反馈表 (WRITE: the class's institution; a trainer reads its own scores).
ACTIVITY_REPORT = "ActivityReport"
TRAINER_FEEDBACK = "TrainerFeedback"


# [certs] rows 22–23: 合格讲师证书信息 (WRITE: the class's province enters and submits it; the
# center enters the lecturers into the faculty pool — who acts is decided by the review chain)
CERTIFICATE = "Certificate"
HELP = "Help"  # 用户手册 (第十四条): every role reads every chapter

# The menu, top to bottom as the navbar shows it: one row per entry, under its category. It is
# the one source of the menu: `views.register()` adds each row's view (named "module.Class" under
# `views/`, so this module imports no view), `expanded_matrix()` derives the menu permissions and
# the role matrix page labels each resource with its entry's label. A role sees an entry exactly
# when it may READ the entry's resource; the entry's view has that resource as its
# `class_permission_name` (a test checks it). Views without an entry (sub-pages, APIs, the public
# form) are registered by their module's `register()`.


@dataclass(frozen=True)
class MenuEntry:
    name: str  # FAB's menu name: the view-menu of its `menu_access` permission, never shown
    label: LazyString  # what the user sees
    icon: str
    resource: str  # READ on it shows the entry
    view: str  # "module.Class" under views/


@dataclass(frozen=True)
class MenuCategory:
    name: str
    label: LazyString
    icon: str
    entries: tuple[MenuEntry, ...]


MENU_TABLE = (
    MenuCategory(
        "Workbench",
        _l("Workbench"),
        "fa-briefcase",
        (
            MenuEntry("My to-do", _l("My to-do"), "fa-tasks", TODO, "todo.TodoView"),
            MenuEntry(
                "Overdue board",
                _l("Overdue board"),
                "fa-exclamation-triangle",
                OVERDUE,
                "todo.OverdueView",
            ),
        ),
    ),
    MenuCategory(
        "Basic management",
        _l("Basic management"),
        "fa-th-list",
        (
            MenuEntry("Notices", _l("Notices"), "fa-bullhorn", NOTICE, "notices.NoticeView"),
            MenuEntry("Messages", _l("Messages"), "fa-comments", MESSAGE, "messages.MessageView"),
        ),
    ),
    MenuCategory(
        "Trainer training",
        _l("Trainer training"),
        "fa-graduation-cap",
        (
            MenuEntry(
                "Plan rounds", _l("Plan round"), "fa-calendar", PLAN_ROUND, "plans.PlanRoundView"
            ),
            MenuEntry("Plans", _l("Plan"), "fa-list-alt", PLAN, "plans.PlanView"),
            MenuEntry(
                "Plan summary",
                _l("Plan summary"),
                "fa-table",
                PLAN_SUMMARY,
                "plans.PlanSummaryView",
            ),
            MenuEntry(
                "Summary",
                _l("Statistical summary"),
                "fa-chart-bar",
                SUMMARY,
                "summaries.SummaryView",
            ),
            MenuEntry(
                "Applications",
                _l("Class application"),
                "fa-file-signature",
                APPLICATION,
                "applications.ApplicationView",
            ),
            MenuEntry(
                "Classes",
                _l("Trainer-training class"),
                "fa-chalkboard",
                TRAINING_CLASS,
                "applications.TrainingClassView",
            ),
            # [classroom]
            MenuEntry(
                "Teaching",
                _l("My classes"),
                "fa-chalkboard-teacher",
                TEACHING,
                "classroom.TeachingView",
            ),
            MenuEntry(
                "Evaluations",
                _l("My evaluation forms"),
                "fa-edit",
                EVALUATION,
                "evaluations.EvaluationView",
            ),
            MenuEntry(
                "Questionnaires",
                _l("Evaluation questionnaires"),
                "fa-list-ol",
                QUESTIONNAIRE,
                "evaluations.QuestionnaireView",
            ),
            # [grades]
            MenuEntry(
                "GradeSheets",
                _l("Grade sheets"),
                "fa-award",
                GRADE_SHEET,
                "grades.GradeSheetView",
            ),
            # rows 20–21
            MenuEntry(
                "ActivityReports",
                _l("Class activity reports"),
                "fa-file-alt",
                ACTIVITY_REPORT,
                "after_class.ActivityReportView",
            ),
            MenuEntry(
                "TrainerFeedback",
                _l("Feedback on trainers"),
                "fa-comments",
                TRAINER_FEEDBACK,
                "after_class.TrainerFeedbackView",
            ),
            # [certs]
            MenuEntry(
                "Certificates",
                _l("Lecturer certificates"),
                "fa-certificate",
                CERTIFICATE,
                "certificates.CertificateView",
            ),
            MenuEntry(
                "GradeSchemes",
                _l("Grade scheme"),
                "fa-balance-scale",
                GRADE_SCHEME,
                "grades.GradeSchemeView",
            ),
            # [dispatch]
            MenuEntry(
                "Availability",
                _l("Trainer availability"),
                "fa-calendar-check",
                AVAILABILITY,
                "dispatch.AvailabilityView",
            ),
            MenuEntry(
                "Dispatch",
                _l("Trainer dispatch"),
                "fa-user-check",
                DISPATCH,
                "dispatch.DispatchView",
            ),
            MenuEntry(
                "Dispatch requests",
                _l("Dispatch request"),
                "fa-envelope-open-text",
                DISPATCH_REQUEST,
                "dispatch.DispatchSeatView",
            ),
            MenuEntry(
                "Issued documents",
                _l("Notices and certificates"),
                "fa-file-signature",
                ISSUED_DOCUMENT,
                "documents.IssuedDocumentView",
            ),
        ),
    ),
    MenuCategory(
        "Libraries",
        _l("Resource libraries"),
        "fa-book",
        (
            MenuEntry(
                "Faculty pool", _l("Faculty pool"), "fa-users", FACULTY, "faculty.FacultyView"
            ),
            # One entry, the shared pool; keepers reach their own entries from it and from the
            # to-do list (FAB's navbar would ignore a menu_cond).
            MenuEntry(
                "Mentor pool", _l("Mentor pool"), "fa-users", MENTOR, "mentors.MentorPoolView"
            ),
            MenuEntry(
                "Course library",
                _l("Course library"),
                "fa-film",
                COURSE,
                "courses.CourseLibraryView",
            ),
            MenuEntry(
                "Levels and course types",
                _l("Levels and course types"),
                "fa-tags",
                VOCABULARY,
                "vocabulary.VocabularyView",
            ),
        ),
    ),
    MenuCategory(
        "Organisation",
        _l("Organisation management"),
        "fa-building",
        (MenuEntry("Orgs", _l("Organisation"), "fa-sitemap", ORG, "orgs.OrgView"),),
    ),
    MenuCategory(
        "System",
        _l("System"),
        "fa-cogs",
        (
            MenuEntry("Users", _l("Account"), "fa-users", USER, "users.UserView"),
            MenuEntry(
                "Account changes",
                _l("Account change"),
                "fa-user-check",
                ACCOUNT_REQUEST,
                "account_requests.AccountRequestView",
            ),
            MenuEntry(
                "Roles", _l("Roles and permissions"), "fa-user-shield", ROLE, "roles.RoleMatrixView"
            ),
            MenuEntry("Audit log", _l("Audit log"), "fa-list-alt", AUDIT, "audit.AuditLogView"),
            MenuEntry(
                "Refused access",
                _l("Refused access"),
                "fa-ban",
                SECURITY_BOARD,
                "security_board.RefusalBoardView",
            ),
        ),
    ),
    MenuCategory(
        "Account allocation",
        _l("Account allocation"),
        "fa-id-card",
        (
            MenuEntry(
                "Liaison rosters",
                _l("Liaison roster"),
                "fa-address-book",
                ROSTER,
                "rosters.RosterView",
            ),
            MenuEntry(
                "Login applications",
                _l("Login application"),
                "fa-id-card",
                LOGIN_APPLICATION,
                "login_applications.LoginApplicationView",
            ),
        ),
    ),
    MenuCategory(
        "Help",
        _l("Help"),
        "fa-question-circle",
        (MenuEntry("Manual", _l("User manual"), "fa-book", HELP, "manual.ManualView"),),
    ),
)


def menu_entries() -> list[tuple[MenuCategory, MenuEntry]]:
    """Every entry with its category, in menu order."""
    return [(category, entry) for category in MENU_TABLE for entry in category.entries]


# Resources that no menu entry names (parts of a page, a step of the sign-in): their label in the
# permission matrix.
RESOURCE_LABELS = {
    CLASS_TRAINEE: _l("Trainee"),
    CLASS_TRAINER: _l("Class trainers"),
    EVALUATION_RESULT: _l("Evaluation results"),
    NEEDS_ANALYSIS: _l("Training needs analysis"),
    SECOND_FACTOR: _l("Two-factor authentication"),
}


def resource_label(resource: str) -> str:
    """A resource in the user's language: the label of its (first) menu entry, else its own."""
    for _category, entry in menu_entries():
        if entry.resource == resource:
            return str(entry.label)
    return str(RESOURCE_LABELS.get(resource, resource))


# [classroom] Who sees a class sees its trainees and its trainers' needs analyses (第七条: the
# province views every class's trainees, the city and the institution their classes); the
# institution keeps its trainee list; the center assigns trainers and keeps the questionnaires.
_CLASS_READER = [(READ, CLASS_TRAINEE), (READ, NEEDS_ANALYSIS), (READ, EVALUATION_RESULT)]
# Row 18: the institution and the class's trainers remind and respond (the class decides who).
_CLASS_ANSWERER = [(WRITE, EVALUATION_RESULT)]
# [grades] Who sees a class sees its grade sheet and exports it.
_GRADES_READER = [(READ, GRADE_SHEET), (EXPORT, GRADE_SHEET)]
# Rows 20–21: who sees a class reads its activity report and the feedback on its trainers.
_AFTER_CLASS_READER = [(READ, ACTIVITY_REPORT), (READ, TRAINER_FEEDBACK)]


# [certs] The authorities above a class see its certificates; the province and the center act.
_CERTIFICATE_READER = [(READ, CERTIFICATE)]
_CERTIFICATE_WRITER = [(READ, CERTIFICATE), (WRITE, CERTIFICATE)]

# Built up level by level, as 第七条 lists them.
_WORKBENCH = [(READ, TODO), (READ, NOTICE), (READ, MESSAGE), (WRITE, MESSAGE)]
# The libraries: approved mentors and published course resources are shared with every business
# user (资源共享); the faculty pool is seen by region (center all, province/city their own).
_LIBRARY_READER = [(READ, MENTOR), (READ, COURSE)]
_LIBRARY_UPLOADER = _LIBRARY_READER + [(WRITE, COURSE), (DELETE, COURSE)]
_MENTOR_KEEPER = [(WRITE, MENTOR), (DELETE, MENTOR), (EXPORT, MENTOR)]
_PUBLISHER = [(WRITE, NOTICE), (DELETE, NOTICE)]  # 第七条: center, province, city publish downward
_SUPERVISOR = [(READ, OVERDUE), (EXPORT, OVERDUE)]  # the overdue board of the orgs below
# 统计汇总: the center nationally, a province its own, a city its own (SPEC §8).
_SUMMARY = [(READ, SUMMARY), (EXPORT, SUMMARY)]
_INSTITUTION = (
    _WORKBENCH
    + _LIBRARY_UPLOADER
    + [
        (READ, ORG),
        (READ, APPLICATION),
        (WRITE, APPLICATION),
        (DELETE, APPLICATION),
        (READ, TRAINING_CLASS),
        (READ, DISPATCH),  # criteria and candidates of its classes
        (WRITE, DISPATCH),
        (READ, DISPATCH_REQUEST),
        (READ, ISSUED_DOCUMENT),
        (WRITE, ISSUED_DOCUMENT),  # confirm the task notice or object
    ]
    + _CLASS_READER
    + _CLASS_ANSWERER
    + [(WRITE, CLASS_TRAINEE)]
    + _GRADES_READER
    + [(WRITE, GRADE_SHEET)]  # attendance
    + _AFTER_CLASS_READER
    + [(WRITE, TRAINER_FEEDBACK)]
    + _CERTIFICATE_READER
)
_CITY = (
    _WORKBENCH
    + _SUMMARY
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
        (READ, AVAILABILITY),  # calendars of the region's trainers
        (READ, DISPATCH),
        (READ, DISPATCH_REQUEST),
        (READ, ISSUED_DOCUMENT),
    ]
    + _CLASS_READER
    + _GRADES_READER
    + _AFTER_CLASS_READER
    + _CERTIFICATE_READER
)
_PROVINCE = (
    _WORKBENCH
    + _SUMMARY
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
        (READ, AVAILABILITY),
        (READ, DISPATCH),
        (READ, DISPATCH_REQUEST),
        (READ, ISSUED_DOCUMENT),
    ]
    + _CLASS_READER
    + _GRADES_READER
    + _AFTER_CLASS_READER
    + _CERTIFICATE_WRITER
)
_CENTER = (
    _WORKBENCH
    + _SUMMARY
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
        (READ, AVAILABILITY),
        (READ, DISPATCH),
        (WRITE, DISPATCH),  # the choice, the requests, the notices, answering objections
        (READ, DISPATCH_REQUEST),
        (READ, ISSUED_DOCUMENT),
    ]
    + _CLASS_READER
    + [(WRITE, CLASS_TRAINER), (READ, QUESTIONNAIRE), (WRITE, QUESTIONNAIRE)]
    + _GRADES_READER
    + [(READ, GRADE_SCHEME), (WRITE, GRADE_SCHEME)]
    + _AFTER_CLASS_READER
    + _CERTIFICATE_WRITER
)
# 第七条: own availability (授课档期), own dispatches, the classes it teaches.
_TRAINER_DISPATCH = [
    (READ, AVAILABILITY),
    (WRITE, AVAILABILITY),
    (READ, DISPATCH_REQUEST),
    (WRITE, DISPATCH_REQUEST),
    (READ, ISSUED_DOCUMENT),  # its own 派遣通知书
    (WRITE, ISSUED_DOCUMENT),  # confirms it
    (READ, TRAINING_CLASS),
]

ROLE_MATRIX: dict[str, list[tuple[str, str]]] = {
    # 部中心: every business function; accounts are allocated by the center (第十二条).
    CENTER: _CENTER,
    PROVINCE: _PROVINCE,
    CITY: _CITY,
    INSTITUTION: _INSTITUTION,
    # Own profile (edits reviewed by the center), course uploads, the shared libraries.
    # [classroom] its classes (trainees, needs analysis).
    TRAINER: _WORKBENCH
    + _LIBRARY_UPLOADER
    + [(READ, FACULTY), (WRITE, FACULTY)]
    + [(READ, TEACHING)]
    + _CLASS_READER
    + _CLASS_ANSWERER
    + [(WRITE, NEEDS_ANALYSIS)]
    + _GRADES_READER
    + [(WRITE, GRADE_SHEET)]  # trial and written scores
    + _AFTER_CLASS_READER
    + [(WRITE, ACTIVITY_REPORT)]  # the lead trainer's report
    + _TRAINER_DISPATCH,
    # Only notices addressed to trainees while their class runs, and the resources marked for them;
    # [classroom] its own evaluation forms.
    # [closing] and its own 合格讲师证书 once the center entered it into the faculty pool.
    TRAINEE: [
        (READ, NOTICE),
        (READ, COURSE),
        (READ, EVALUATION),
        (WRITE, EVALUATION),
        (READ, ISSUED_DOCUMENT),
    ],
    # The three separated administrators: none can do another's job.
    # 三员分立: the system administrator proposes what gives a credential of the center or a
    # province; the security administrator approves (and proposes role grants and second-factor
    # resets, approved by another security administrator).
    SYSADMIN: [
        (READ, ORG),
        (WRITE, ORG),
        (READ, USER),
        (WRITE, USER),
        (MANAGE, USER),
        (READ, ACCOUNT_REQUEST),
        (MANAGE, ACCOUNT_REQUEST),
    ],
    SECADMIN: [
        (READ, USER),
        (READ, ACCOUNT_REQUEST),
        (REVIEW, ACCOUNT_REQUEST),
        (READ, ROLE),
        (WRITE, ROLE),
        (MANAGE, SECOND_FACTOR),
        (READ, SECURITY_BOARD),
    ],
    AUDITOR: [(READ, AUDIT), (EXPORT, AUDIT), (READ, NOTICE)],  # incl. withdrawn notices
}

# 第十四条: the user manual is read by every signed-in role (its own chapter first).
ROLE_MATRIX = {role: [*grants, (READ, HELP)] for role, grants in ROLE_MATRIX.items()}

PUBLIC_ROLE = "Public"


def expanded_matrix() -> dict[str, set[tuple[str, str]]]:
    """Every role's full permission set, menu access included (what the database must hold)."""
    full = {}
    for role, grants in ROLE_MATRIX.items():
        perms = set(grants)
        for category, entry in menu_entries():
            if (READ, entry.resource) in perms:
                perms |= {(MENU, entry.name), (MENU, category.name)}
        full[role] = perms
    full[PUBLIC_ROLE] = set()
    return full
