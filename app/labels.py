"""Labels of the role kinds and org levels, shared by views, services and reports."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "center": _l("Ministry center"),
    "province": _l("Provincial authority"),
    "city": _l("City authority"),
    "institution": _l("Training institution"),
    "trainer": _l("Trainer"),
    "trainee": _l("Trainee"),
    "sysadmin": _l("System administrator"),
    "secadmin": _l("Security administrator"),
    "auditor": _l("Auditor"),
}


def role_label(kind) -> str:
    return str(ROLE_LABELS.get(kind, kind or ""))
