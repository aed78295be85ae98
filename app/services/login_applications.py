"""Login applications (登录申请, 第六条(二)): what review needs of them, and the account the
center's approval allocates (the same rules as a roster: one account per person, 第十一条).

The applicant never signs in, so the record enters review at once (`review.enter_review`) and is
never returned: a province that finds it wanting rejects it with its opinion.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.services import accounts, fields, review
from app.services.errors import Conflict, InvalidValue
from app.services.tree import next_institution_code
from app.services.tx import transaction
from models.login_application import (
    NAME_MAX,
    REASON_MAX,
    REQUESTABLE_ROLES,
    UNIT_MAX,
    LoginApplication,
    existing_account_id,
)
from models.org import CITY, INSTITUTION, Org

# The public form's fields (`app.services.fields`); lengths are the columns'.
FIELDS = (
    fields.Field(
        "applicant_name", _l("Full name"), fields.Text(NAME_MAX, squash_spaces=True), required=True
    ),
    fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),
    fields.Field("unit", _l("Work unit"), fields.Text(UNIT_MAX), required=True),
    fields.Field(
        "reason", _l("Reason for the application"), fields.Text(REASON_MAX), required=True
    ),
)


def check_role(role_kind: str) -> None:
    """Only a city-authority liaison, an institution liaison or a trainer may be requested."""
    if role_kind not in REQUESTABLE_ROLES:  # a forged value (admin, center …)
        raise InvalidValue(_("This role cannot be requested."), field="role_kind")


def chosen_city(province_id: int | None, city_id: int | None) -> Org:
    """The active city the applicant chose, which must belong to the chosen province."""
    city = db.session.get(Org, city_id) if city_id else None
    if city is None or city.kind != CITY or not city.active:
        raise InvalidValue(_("Choose the city."), field="city_id")
    if city.province_id != province_id:
        raise InvalidValue(_("The city does not belong to the chosen province."), field="city_id")
    return city


def apply(values: dict, ip: str | None, now: datetime) -> LoginApplication:
    """The public form's application (第六条(二)): checked, stored and put before the province's
    reviewer at once (the applicant has no account to submit with). Nothing here reads the
    existing accounts: the answer is the same whatever the mobile (see the view's docstring)."""
    check_role(values.get("role_kind"))
    city = chosen_city(values.get("province_id"), values.get("city_id"))
    cleaned = fields.validate(FIELDS, values)
    record = LoginApplication(
        applicant_name=cleaned["applicant_name"],
        mobile=cleaned["mobile"],
        unit=cleaned["unit"],
        role_kind=values["role_kind"],
        org_id=city.id,
        reason=cleaned["reason"],
        created_at=now,
        ip=(ip or "")[:64],
    )
    with transaction() as session:
        session.add(record)
        review.enter_review(record, now)
    return record


def check_not_duplicate(record: LoginApplication) -> None:
    """第十一条: a person with an account gets no second one."""
    if existing_account_id(record.mobile) is not None:
        raise Conflict(
            _(
                "Mobile number %(m)s already has an account: one account per person. "
                "No account was created; reject the application or reset that "
                "account's password instead.",
                m=record.mobile,
            )
        )


def placement(record: LoginApplication, now: datetime) -> Org:
    """Where the account sits: the city itself (city liaison, trainer) or the institution named
    by the applicant under that city, created if the city has none of that name."""
    city = db.session.get(Org, record.org_id)
    if record.role_kind != INSTITUTION:
        return city
    unit = record.unit.strip()
    existing = db.session.scalar(
        select(Org).where(Org.parent_id == city.id, Org.kind == INSTITUTION, Org.name == unit)
    )
    if existing is not None:
        return existing
    org = Org(kind=INSTITUTION, code=next_institution_code(city), name=unit, parent=city)
    db.session.add(org)
    db.session.flush()
    return org


def allocate(record: LoginApplication, now: datetime) -> str:
    """Create the account; returns its initial password (to be changed at first login)."""
    check_not_duplicate(record)
    check_role(record.role_kind)
    user, password = accounts.create_account(
        name=record.applicant_name,
        role_kind=record.role_kind,
        org=placement(record, now),
        now=now,
        mobile=record.mobile,
    )
    db.session.flush()
    record.account_id = user.id
    return password


def cities_by_province() -> list[tuple[Org, list[Org]]]:
    """Active provinces with their active cities, for the public form."""
    cities = db.session.scalars(
        select(Org).where(Org.kind == CITY, Org.active.is_(True)).order_by(Org.code)
    ).all()
    provinces = {
        p.id: p
        for p in db.session.scalars(
            select(Org).where(Org.id.in_({c.province_id for c in cities}), Org.active.is_(True))
        )
    }
    grouped: dict[int, list[Org]] = {}
    for city in cities:
        if city.province_id in provinces:
            grouped.setdefault(city.province_id, []).append(city)
    return [
        (provinces[pid], grouped[pid]) for pid in sorted(grouped, key=lambda i: provinces[i].code)
    ]


def _applicant_name(record: LoginApplication) -> str:
    return f"{record.applicant_name}（{_('applicant')}）"


def _before_approve(record: LoginApplication, task, actor, now: datetime, params: dict) -> None:
    if record.step == 1:  # the center's step allocates: a second account is refused here
        check_not_duplicate(record)


def _on_approved(record: LoginApplication, actor, now: datetime) -> None:
    # Shown once to the approving center user by the view, stored nowhere.
    record.allocated_password = allocate(record, now)


LOGIN_APPLICATION = review.register(
    review.Kind(
        name="login_application",
        model=LoginApplication,
        label=_l("Login application"),
        record_page="LoginApplicationView",
        chain="login_application",
        fields=("applicant_name", "mobile", "unit", "role_kind", "org_id", "reason"),
        before_approve=_before_approve,
        on_approved=_on_approved,
        applicant_name=_applicant_name,
        returnable=False,
    )
)
