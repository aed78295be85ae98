"""统计汇总表: classes, trainees, pass rates, evaluation scores and overdue steps of a period,
one sheet per level of the tree under the exporter's org, and one by course type.

The center's file: a 全国 sheet by province, then one sheet per province by city. A province's
file: its sheet by city. A city's file: its sheet by institution. Every sheet ends with its
totals row (rates recomputed from the sums, never averaged). The figures come from
`app.services.statistics` (the home page's dashboard reads the same), rolled up with pandas.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.services.statistics import CHILD_LEVEL, Figures, by_course_type, by_level, totals
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from reports.xlsx import Column, Sheet, write_sheets

NUMBERS = (
    "classes",
    "upcoming",
    "running",
    "ended",
    "trainees",
    "graded",
    "passed",
    "pass_rate",
    "mean_score",
)


def _number_columns() -> list[Column]:
    return [
        Column(_("Classes"), 8, True),
        Column(_("Not started"), 8, True),
        Column(_("Running"), 8, True),
        Column(_("Ended"), 8, True),
        Column(_("Trainees"), 10, True),
        Column(_("Graded trainees"), 10, True),
        Column(_("Passed"), 8, True),
        Column(_("Pass rate (%)"), 10, True),
        Column(_("Mean evaluation score"), 12, True),
    ]


def level_label(level: str) -> str:
    return {
        PROVINCE: _("Province"),
        CITY: _("City"),
        INSTITUTION: _("Training institution"),
    }[level]


def row_name(row: dict, within: Org | None) -> str:
    """An org's name; the row without an org holds the steps of ``within`` itself."""
    if row["org"] is not None:
        return row["org"].name
    return _("%(org)s (own level)", org=within.name) if within is not None else _("Own level")


def _region_sheet(fig: Figures, name: str, level: str, within: Org, title: str) -> Sheet:
    rows = by_level(fig, level, within)
    columns = [
        Column(level_label(level), 20),
        *_number_columns(),
        Column(_("Overdue steps still open"), 12, True),
        Column(_("Steps done late"), 12, True),
    ]
    t = totals(rows)
    return Sheet(
        name,
        columns,
        [
            [row_name(r, within), *(r[n] for n in NUMBERS), r["overdue_open"], r["done_late"]]
            for r in rows
        ],
        title=title,
        totals=[_("Total"), *(t[n] for n in NUMBERS), t["overdue_open"], t["done_late"]],
    )


def _course_type_sheet(fig: Figures, title: str) -> Sheet:
    rows = by_course_type(fig)
    t = totals(rows)
    return Sheet(
        _("By course type"),
        [Column(_("Course type"), 16), *_number_columns()],
        [[r["label"], *(r[n] for n in NUMBERS)] for r in rows],
        title=title,
        totals=[_("Total"), *(t[n] for n in NUMBERS)],
    )


def title_of(root: Org, fig: Figures) -> str:
    return _(
        "Summary of %(org)s, %(start)s to %(end)s",
        org=root.name,
        start=fig.period.start.isoformat(),
        end=fig.period.end.isoformat(),
    )


def sheets(fig: Figures, root: Org) -> list[Sheet]:
    """The sheets of ``root``'s file (center, province or city), top level first."""
    title = title_of(root, fig)
    if root.kind == CENTER:
        out = [_region_sheet(fig, _("National"), PROVINCE, root, title)]
        for row in by_level(fig, PROVINCE, root):
            province = row["org"]
            if province is not None:
                out.append(_region_sheet(fig, province.name, CITY, province, title))
    else:
        out = [_region_sheet(fig, root.name, CHILD_LEVEL[root.kind], root, title)]
    return [*out, _course_type_sheet(fig, title)]


def summary_xlsx(fig: Figures, root: Org) -> bytes:
    return write_sheets(sheets(fig, root))
