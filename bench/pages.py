"""What B1/B2 (and B5) open: the heaviest list pages, as data.

A page names a Flask *endpoint* (not a path), so a page whose module is not built yet is reported
as "missing" instead of failing the run, and a renamed route shows up at once. To add a page,
add a line: ``list_view`` is the FAB ModelView class whose ``psize_<view>`` argument sets its
page size (B2 opens every page at 25 and at 100 rows); None for pages with their own cap.
``args`` may be a function, called in the app context of the database measured (a record's id
differs from one generated database to another).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The generated accounts the bench signs in as (flask malan generate: one account per node,
# usernames by the README's rule): the center, 广东省 (440000), 广州市 (440100), the auditor.
BENCH_USERS = {
    "center": "zx000000001",
    "province": "sf440000001",
    "city": "ds440100001",
    "auditor": "sj000000001",
}
BUSINESS = ("center", "province", "city")


def bench_dispatch(which: str):
    """The arguments of the bench's dispatch page ``which`` (bench/generate.py BENCH_CLASSES)."""

    def args() -> dict:
        from sqlalchemy import select

        from app.extensions import db
        from bench.generate import BENCH_CLASSES
        from models.application import TrainingClass
        from models.dispatch import Dispatch

        return {
            "pk": db.session.scalar(
                select(Dispatch.id)
                .join(TrainingClass, TrainingClass.id == Dispatch.class_id)
                .where(TrainingClass.code == BENCH_CLASSES[which])
            )
        }

    return args


def bench_users() -> dict[str, str]:
    """BENCH_USERS and the institution of the bench's dispatch classes (its first account, by the
    README's username rule), in the app context of the database measured."""
    from sqlalchemy import select

    from app.extensions import db
    from bench.generate import BENCH_CLASSES
    from models.application import TrainingClass
    from models.org import Org

    code = db.session.scalar(
        select(Org.code)
        .join(TrainingClass, TrainingClass.org_id == Org.id)
        .where(TrainingClass.code == BENCH_CLASSES["draft"])
    )
    return BENCH_USERS | ({"institution": f"jg{code}001"} if code else {})


EQUALS = 3  # index of FAB's FilterEqual among a string column's filters (`_flt_3_<col>`)


@dataclass(frozen=True)
class Page:
    name: str
    endpoint: str
    roles: tuple[str, ...] = BUSINESS
    args: dict | Callable[[], dict] = field(default_factory=dict)
    list_view: str | None = None
    method: str = "GET"  # POST: a form's action, measured as posted (CSRF token, no redirect)


PAGES = [
    Page(
        "institutions",
        "OrgView.list",
        args={f"_flt_{EQUALS}_kind": "institution"},
        list_view="OrgView",
    ),
    Page("trainers", "FacultyView.list", list_view="FacultyView"),
    Page(
        "applications (pending SYB)",
        "ApplicationView.list",
        args={f"_flt_{EQUALS}_status": "pending", f"_flt_{EQUALS}_course_type": "SYB"},
        list_view="ApplicationView",
    ),
    Page("mentor pool (shared)", "MentorPoolView.search"),
    Page("course library (shared)", "CourseLibraryView.list"),
    Page("notices", "NoticeView.list"),
    Page("accounts", "UserView.list", list_view="UserView"),
    Page("audit log", "AuditLogView.list", roles=("auditor",), list_view="AuditLogView"),
    Page(
        "audit log (one user)",
        "AuditLogView.list",
        roles=("auditor",),
        args={f"_flt_{EQUALS}_username": "ds440100001"},
        list_view="AuditLogView",
    ),
    Page("plan summary (national)", "PlanSummaryView.national", roles=("center",)),
    Page("plan summary (province)", "PlanSummaryView.province", roles=("province",)),
    # 统计汇总 and the home page's dashboard (issue 16 points 5, 6): aggregated by the database,
    # a fixed number of statements whatever the country holds.
    Page("home (dashboard)", "HomeView.index"),
    Page("statistical summary", "SummaryView.index"),
    # 派遣 (issue 12): a class's recommendation as its institution enters criteria, and the
    # center's choice (candidates beside the system's list). The recommendation is a stored run
    # (one mechanism for both pages):
    # computing it (重新计算, also on saving the criteria) reads the whole pool — O(pool) by
    # nature, measured on its own line, first, so the page after it shows a fresh run; the page
    # reads the stored run.
    Page(
        "dispatch recommendation compute (POST)",
        "DispatchView.recompute",
        roles=("institution",),
        args=bench_dispatch("draft"),
        method="POST",
    ),
    Page(
        "dispatch recommendation",
        "DispatchView.show",
        roles=("institution",),
        args=bench_dispatch("draft"),
    ),
    # The center's page reads the same stored run: its 重新计算 (the pool's rules) first, then
    # the page.
    Page(
        "dispatch choice compute (center, POST)",
        "DispatchView.recompute",
        roles=("center",),
        args=bench_dispatch("proposed"),
        method="POST",
    ),
    Page(
        "dispatch choice (center)",
        "DispatchView.show",
        roles=("center",),
        args=bench_dispatch("proposed"),
    ),
]

# B5's mixed set: one request of each, for the province user (the median case of scope).
LOAD_PAGES = (
    "institutions",
    "trainers",
    "applications (pending SYB)",
    "notices",
    "accounts",
    "plan summary (province)",
)
LOAD_ROLE = "province"
