"""The review chains of Annex 1, as data: who submits, which level reviews after which, by when.

A step names the org *level* that acts; the acting org is resolved from the record (the city of
this institution, the province above it), never "everyone with the role". ``days`` is the
"N日内" of Annex 1, counted by `app.services.deadlines`.
"""

from dataclasses import dataclass

from app.labels import N_
from models.org import CENTER, CITY, INSTITUTION, PROVINCE
from models.user import SECADMIN, SYSADMIN, TRAINER


@dataclass(frozen=True)
class Step:
    level: str  # org kind (and role kind) of the reviewer
    days: int
    label: str  # what the step is, for lists and history (an English msgid)


@dataclass(frozen=True)
class Chain:
    name: str
    submitter: str  # org kind (and role kind) that submits and corrects
    steps: tuple[Step, ...]
    resubmit_days: int = 2  # (decision) a returned record is due back within 2 days


CHAINS = {
    # SPEC §7 rows 1–3: the city's trainer-training plan.
    "plan": Chain(
        "plan",
        CITY,
        (
            Step(PROVINCE, 2, N_("Provincial review of the city plan")),
            Step(CENTER, 3, N_("Center review of the provincial plan")),
        ),
    ),
    # Rows 4–7, in-plan: the city links the application to a line of its approved plan.
    "application_in_plan": Chain(
        "application_in_plan",
        INSTITUTION,
        (
            Step(CITY, 2, N_("City links the plan line and submits")),
            Step(PROVINCE, 2, N_("Provincial review")),
            Step(CENTER, 3, N_("Center approval")),
        ),
    ),
    # Rows 4, 5', 6, 7: out-of-plan (计划外), submitted upward as an additional (新增) application.
    "application_extra": Chain(
        "application_extra",
        INSTITUTION,
        (
            Step(CITY, 2, N_("City review of the additional application")),
            Step(PROVINCE, 2, N_("Provincial review")),
            Step(CENTER, 3, N_("Center approval")),
        ),
    ),
    # Annex 2 / 第十二条: a province's liaison roster (first or change roster), recorded by the center.
    "roster": Chain(
        "roster",
        PROVINCE,
        (Step(CENTER, 3, N_("Center records the roster and allocates accounts")),),
    ),
    # 第六条(二): the province reviews a login application; the center then allocates the account.
    "login_application": Chain(
        "login_application",
        PROVINCE,
        (
            Step(PROVINCE, 2, N_("Provincial review of the applicant")),
            Step(CENTER, 3, N_("Center allocates the account")),
        ),
    ),
    # The libraries (第六条): no Annex-1 deadline applies; (decision) 3 days, like the center's steps.
    # A trainer's own profile and its later corrections are reviewed by the center.
    "faculty": Chain(
        "faculty", TRAINER, (Step(CENTER, 3, N_("Center review of the trainer profile")),)
    ),
    # A mentor entered by a city is reviewed by its province; one entered by a province, by the center.
    "mentor_city": Chain(
        "mentor_city", CITY, (Step(PROVINCE, 3, N_("Provincial review of the mentor")),)
    ),
    "mentor_province": Chain(
        "mentor_province", PROVINCE, (Step(CENTER, 3, N_("Center review of the mentor")),)
    ),
    # Course resources: a trainer's by the center, the others' by the next level up.
    "course_trainer": Chain(
        "course_trainer", TRAINER, (Step(CENTER, 3, N_("Center review of the course resource")),)
    ),
    "course_institution": Chain(
        "course_institution",
        INSTITUTION,
        (Step(CITY, 3, N_("City review of the course resource")),),
    ),
    "course_city": Chain(
        "course_city", CITY, (Step(PROVINCE, 3, N_("Provincial review of the course resource")),)
    ),
    "course_province": Chain(
        "course_province", PROVINCE, (Step(CENTER, 3, N_("Center review of the course resource")),)
    ),
    # Row 19: the lead trainer submits the class's grade sheet (成绩单); the center reviews it,
    # and a correction of the approved sheet (第十条) is reviewed again.
    "grade_sheet": Chain(
        "grade_sheet", TRAINER, (Step(CENTER, 3, N_("Center review of the grade sheet")),)
    ),
    # Row 20: the lead trainer submits the class's activity report (讲师培训班活动报告) within 3
    # days after the end; the center reviews it, and a correction after approval is reviewed again.
    "activity_report": Chain(
        "activity_report",
        TRAINER,
        (Step(CENTER, 3, N_("Center review of the class activity report")),),
    ),
    # Rows 22–23: the class's province enters the certificates of its qualified lecturers and
    # submits them; the center, within 10 days, enters them into the faculty pool (its approval,
    # `app.services.pool_entry`), which closes the class.
    "certificates": Chain(
        "certificates",
        PROVINCE,
        (Step(CENTER, 10, N_("Center enters the qualified lecturers into the faculty pool")),),
    ),
    # 三员分立 (issue 17 point 2): what an administrator proposes on an account of the center or a
    # province (a password or second-factor reset, a new account, a role) takes effect when the
    # security administrator approves it — never the proposer (review refuses its own). One
    # chain per proposing role; the step sits at the center, where the administrators are.
    "account_request_sysadmin": Chain(
        "account_request_sysadmin",
        SYSADMIN,
        (Step(SECADMIN, 1, N_("Security administrator approves the account change")),),
    ),
    "account_request_secadmin": Chain(
        "account_request_secadmin",
        SECADMIN,
        (Step(SECADMIN, 1, N_("Security administrator approves the account change")),),
    ),
}
