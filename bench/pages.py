"""What B1/B2 (and B5) open: the heaviest list pages, as data.

A page names a Flask *endpoint* (not a path), so a page whose module is not built yet is reported
as "missing" instead of failing the run, and a renamed route shows up at once. To add a page,
add a line: ``list_view`` is the FAB ModelView class whose ``psize_<view>`` argument sets its
page size (B2 opens every page at 25 and at 100 rows); None for pages with their own cap.
"""

from __future__ import annotations

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
EQUALS = 3  # index of FAB's FilterEqual among a string column's filters (`_flt_3_<col>`)


@dataclass(frozen=True)
class Page:
    name: str
    endpoint: str
    roles: tuple[str, ...] = BUSINESS
    args: dict = field(default_factory=dict)
    list_view: str | None = None


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
