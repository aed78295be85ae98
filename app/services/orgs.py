"""组织机构: what may be written to a node of the tree through the organisation screens and API.

Provinces and cities come from the GB/T 2260 file (`app.services.tree`); the screens add only
training institutions, under a city, with a code the platform allocates.
"""

from __future__ import annotations

from flask_babel import gettext as _
from stdnum.cn import uscc

from app.services.errors import InvalidValue
from app.services.tree import next_institution_code
from models.org import CITY, INSTITUTION, Org


def clean_credit_code(value: str | None) -> str | None:
    """统一社会信用代码: compacted, checked (its check character too); None for a blank one
    (the column is unique: blanks must not collide)."""
    if value is None or not str(value).strip():
        return None
    value = uscc.compact(value)
    if not uscc.is_valid(value):
        raise InvalidValue(_("Invalid unified social credit code."), field="credit_code")
    return value


def add_institution(org: Org) -> None:
    """A new node filled by the add form (or the API): always an institution, under a city,
    with the next code of that city."""
    org.kind = INSTITUTION
    if org.parent is None or org.parent.kind != CITY:
        raise InvalidValue(_("Choose the city the institution belongs to."), field="parent")
    org.credit_code = clean_credit_code(org.credit_code)
    org.code = next_institution_code(org.parent)


def update_org(org: Org) -> None:
    """An edited node (name, contact data, credit code, active)."""
    org.credit_code = clean_credit_code(org.credit_code)
