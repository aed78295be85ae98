"""成绩单 of one class, as the official spreadsheet: the class's code, dates, institution and
trainers above, one row per trainee, the means and the pass rate below. Chinese headers, numbers
as numbers, ID numbers masked for everyone but the center (`app.services.masking`).

Pure over what the caller may see: the view has already checked the class is in the user's scope.
"""

from __future__ import annotations

import pandas as pd
from flask_babel import gettext as _

from app.labels import N_
from app.services import grades
from app.services.masking import mask_id_number
from models.application import TrainingClass
from models.grades import GradeSheet
from reports.xlsx import Column, dataframe_to_xlsx, download_name

GENDER_WORDS = {"M": "男", "F": "女"}
NUMBERS = ("attendance", "trial", "written", "total")


def frame(klass: TrainingClass, sheet: GradeSheet | None, full_ids: bool) -> pd.DataFrame:
    """One row per trainee, in the sheet's order (the lines in force, or live before submission)."""
    rows = []
    for n, line in enumerate(grades.lines(klass, sheet), 1):
        t, v = line.trainee, line.values
        passed = v.get("passed")
        rows.append(
            {
                "no": n,
                "name": t.name,
                "gender": GENDER_WORDS.get(t.gender, t.gender),
                "id_number": t.id_number if full_ids else mask_id_number(t.id_number),
                "employer": t.employer,
                "attendance": v.get("attendance"),
                "trial": v.get("trial"),
                "written": v.get("written"),
                "total": v.get("total"),
                "passed": "" if passed is None else (_("Pass") if passed else _("Fail")),
            }
        )
    columns = ["no", "name", "gender", "id_number", "employer", *NUMBERS, "passed"]
    return pd.DataFrame(rows, columns=columns)


def columns() -> list[Column]:
    return [
        Column(_("No."), 6, number=True),
        Column(_("Full name"), 12),
        Column(_("Gender"), 6),
        Column(_("ID number"), 22),
        Column(_("Work unit"), 24),
        Column(_("Days attended"), 10, number=True),
        Column(_("Trial lecture score"), 12, number=True),
        Column(_("Written test score"), 12, number=True),
        Column(_("Total score"), 10, number=True),
        Column(_("Result"), 8),
    ]


def trainers_text(klass: TrainingClass) -> str:
    names = []
    for row in grades.classroom.trainers_of(klass):
        name = str(row)
        names.append(_("%(name)s (lead)", name=name) if row.is_lead else name)
    return "、".join(names)


def xlsx(klass: TrainingClass, sheet: GradeSheet | None, full_ids: bool) -> bytes:
    data = frame(klass, sheet, full_ids)
    values = [
        {k: r[k] for k in (*NUMBERS, "passed")}
        | {"passed": r["passed"] == _("Pass") if r["passed"] else None}
        for r in data.to_dict("records")
    ]
    stats = grades.summary(values)
    attendance = [v["attendance"] for v in values if v["attendance"] is not None]
    status = sheet.status if sheet is not None else "draft"
    preamble = [
        _("Class code: %(code)s", code=klass.code),
        _(
            "Training dates: %(start)s to %(end)s (%(days)d days)",
            start=klass.start_date.isoformat(),
            end=klass.end_date.isoformat(),
            days=grades.class_days(klass),
        ),
        _("Institution: %(name)s", name=klass.org.name if klass.org else ""),
        _("Trainers: %(names)s", names=trainers_text(klass)),
        _(
            "Grade sheet: revision %(rev)s, %(status)s",
            rev=(sheet.in_force_revision or sheet.revision) if sheet else 1,
            status=_(STATUS_WORDS.get(status, status)),
        ),
    ]
    totals = [
        _("Mean"),
        None,
        None,
        None,
        None,
        grades.mean_of(attendance),
        stats["trial"],
        stats["written"],
        stats["total"],
        None,
    ]
    footer = [
        [_("Trainees"), stats["count"]],
        [_("Passed"), stats["passed"]],
        [_("Pass rate (%)"), grades.round1(stats["rate"] * 100) if stats["count"] else None],
    ]
    return dataframe_to_xlsx(
        data,
        columns(),
        sheet=_("Grade sheet"),
        title=_("Grade sheet of trainer-training class %(code)s", code=klass.code),
        preamble=preamble,
        totals=totals,
        footer=footer,
    )


STATUS_WORDS = {
    "draft": N_("Draft"),
    "pending": N_("Under review"),
    "returned": N_("Returned for revision"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}


def filename(klass: TrainingClass) -> str:
    """JS2026110001-成绩单.xlsx"""
    return download_name(klass.code, _("Grade sheet"))
