"""师资库导出: the pool in the exporter's scope (with the list's filters) → xlsx.

One SELECT of plain columns with the region and its province joined once (no ORM objects, no
lazy loads), read in chunks (a server-side cursor on PostgreSQL); each chunk becomes a small
DataFrame for the labels and the masking, and its rows go straight to the safe streaming writer
of reports/xlsx.py (constant_memory, formulas neutralised). Memory stays flat at 100,000 rows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import case, select
from sqlalchemy.orm import aliased

from app.labels import N_
from app.services import vocabulary
from app.services.masking import mask_email, mask_id_number, mask_mobile
from models.faculty import FACULTY_STATUSES, GENDERS, FacultyProfile
from models.org import CITY, PROVINCE, Org
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from reports.faculty_import import FIELDS as TEMPLATE_FIELDS
from reports.xlsx import Column, write_table

FIELDS = (  # (key, English header msgid, width, number)
    ("name", N_("Name"), 12, False),
    ("gender", N_("Gender"), 6, False),
    ("birth_year", N_("Birth year"), 8, True),
    ("id_number", N_("ID number"), 21, False),
    ("mobile", N_("Mobile"), 14, False),
    ("email", N_("Email"), 22, False),
    ("province", N_("Province"), 12, False),
    ("city", N_("City"), 12, False),
    ("employer", N_("Work unit"), 24, False),
    ("level", N_("Level"), 10, False),
    ("certificate_no", N_("Certificate number"), 18, False),
    ("certificate_date", N_("Certificate date"), 12, False),
    ("certificate_expiry", N_("Certificate expiry"), 12, False),
    ("course_types", N_("Course types"), 24, False),
    ("languages", N_("Teaching languages/dialects"), 16, False),
    ("years_experience", N_("Years of experience"), 8, True),
    ("service_status", N_("Service status"), 8, False),
    ("biography", N_("Biography"), 40, False),
)


CHUNK = 5000


def pool_query(ids):
    """The profiles whose id is in ``ids`` (a SELECT of ids: scoped and filtered by the caller),
    ordered by region and name, with province and city names."""
    region = aliased(Org)
    parent = aliased(Org)
    p = FacultyProfile
    stmt = (
        select(
            p.name,
            p.gender,
            p.birth_year,
            p.id_number,
            p.mobile,
            p.email,
            case((region.kind == PROVINCE, region.name), else_=parent.name).label("province"),
            case((region.kind == CITY, region.name), else_=None).label("city"),
            p.employer,
            p.level,
            p.certificate_no,
            p.certificate_date,
            p.certificate_expiry,
            p.course_types,
            p.languages,
            p.years_experience,
            p.service_status,
            p.biography,
        )
        .join(region, region.id == p.org_id)
        .outerjoin(parent, parent.id == region.province_id)
        .where(p.id.in_(ids))
        .order_by(region.code, p.name, p.id)
    )
    return stmt


def pool_frame(session, ids) -> pd.DataFrame:
    """The whole selection as one DataFrame (small selections, tests)."""
    result = session.execute(pool_query(ids))
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def pool_chunks(session, ids, chunk: int = CHUNK):
    """The selection as DataFrames of ``chunk`` rows, read from a streaming cursor."""
    result = session.execute(pool_query(ids).execution_options(yield_per=chunk))
    keys = list(result.keys())
    for rows in result.partitions(chunk):
        yield pd.DataFrame(rows, columns=keys)


def prepare(frame: pd.DataFrame, mask: bool) -> pd.DataFrame:
    """Codes to labels, dates to text, personal data masked unless ``mask`` is False."""
    if frame.empty:
        return frame
    levels = vocabulary.labels(TRAINER_LEVEL)
    courses = vocabulary.labels(COURSE_TYPE)
    genders = {k: str(v) for k, v in GENDERS.items()}
    statuses = {k: str(v) for k, v in FACULTY_STATUSES.items()}
    out = frame.copy()
    out["gender"] = out["gender"].map(lambda v: genders.get(v, v))
    out["level"] = out["level"].map(lambda v: levels.get(v, v) if v else v)
    out["course_types"] = out["course_types"].map(
        lambda v: "、".join(courses.get(c, c) for c in v.split()) if v else v
    )
    out["service_status"] = out["service_status"].map(lambda v: statuses.get(v, v))
    for col in ("certificate_date", "certificate_expiry"):
        out[col] = out[col].map(lambda d: d.isoformat() if isinstance(d, date) else d)
    if mask:
        out["id_number"] = out["id_number"].map(mask_id_number)
        out["mobile"] = out["mobile"].map(mask_mobile)
        out["email"] = out["email"].map(lambda v: mask_email(v) if v else v)
    return out


def columns() -> list[Column]:
    """The import template's headers (姓名, 手机号, 城市, 级别 …) wherever the template has the
    field, so an export can be edited and imported again; the rest under their own label."""
    template = {key: header for key, header, *_rest in TEMPLATE_FIELDS}
    return [
        Column(template.get(key) or _(header), width, number)
        for key, header, width, number in FIELDS
    ]


def export_xlsx(
    session, ids, *, mask: bool, title: str | None = None, today: date | None = None
) -> tuple[bytes, int]:
    """xlsx bytes and the number of rows."""
    keys = [key for key, *_rest in FIELDS]
    count = 0

    def rows():
        nonlocal count
        for frame in pool_chunks(session, ids):
            frame = prepare(frame, mask).reindex(columns=keys)
            frame = frame.astype(object).where(frame.notna(), None)
            count += len(frame)
            yield from frame.itertuples(index=False, name=None)

    if today is not None and title:
        title = f"{title}（{today.isoformat()}）"
    return write_table(columns(), rows(), sheet=_("Faculty pool"), title=title), count
