"""Mentor-pool export (创业导师库导出): rows already chosen by the caller (scoped or shared) →
DataFrame → xlsx. The contact goes through the same rule as the pages
(`app.services.mentors.contact_of`): whole inside the exporter's scope, masked outside it."""

import pandas as pd
from flask_babel import gettext as _

from app.services import mentors as service
from reports.xlsx import Column, dataframe_to_xlsx

FIELDS = [
    "name",
    "gender",
    "province",
    "city",
    "employer",
    "title",
    "industry",
    "expertise",
    "mobile",
    "email",
    "availability",
    "biography",
    "status",
]


def columns() -> list[Column]:
    labels = {
        **{k: str(v) for k, v in service.LABELS.items()},
        "province": _("Province"),
        "city": _("City"),
        "status": _("Status"),
    }
    widths = {
        "name": 12,
        "gender": 6,
        "employer": 24,
        "expertise": 30,
        "mobile": 14,
        "email": 24,
        "availability": 24,
        "biography": 40,
        "industry": 24,
    }
    return [Column(labels[f], widths.get(f, 14)) for f in FIELDS]


def frame(mentors, user, status_label=str) -> pd.DataFrame:
    """One row per mentor, contact as ``user`` may read it."""
    rows = []
    for m in mentors:
        province, city = service.region_of(m)
        mobile, email = service.contact_of(user, m)
        rows.append(
            {
                "name": m.name,
                "gender": service.gender_label(m.gender),
                "province": province,
                "city": city,
                "employer": m.employer,
                "title": m.title,
                "industry": service.industry_label(m.industry),
                "expertise": m.expertise,
                "mobile": mobile,
                "email": email,
                "availability": m.availability,
                "biography": m.biography,
                "status": status_label(m.status),
            }
        )
    return pd.DataFrame(rows, columns=FIELDS)


def mentors_xlsx(mentors, user, status_label=str) -> tuple[bytes, int]:
    data = frame(mentors, user, status_label)
    return dataframe_to_xlsx(data, columns(), sheet=_("Mentor pool")), len(data)
