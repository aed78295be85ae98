"""Login applications (登录申请, 第六条(二)): a person without an account asks for one on a
public page; the province of the chosen city reviews the applicant's qualification, then the
center allocates the account exactly as for a roster (one account per person, 第十一条).

The applicant never signs in, so the record enters review at once (`review.enter_review`) and
is never returned to anyone: a province that finds it wanting rejects it with its opinion.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import relationship

from app.extensions import db

from .base import Model, ScopeColumns
from .org import CITY, INSTITUTION, Org
from .review import ReviewableMixin
from .user import MalanUser

# Roles a stranger may ask for, with where the account is placed. Never the center, a province
# (its liaison is row 1 of the province's own roster) or an administrator; trainees are enrolled
# through their class.
REQUESTABLE_ROLES = {
    "city": _l("City authority liaison"),
    "institution": _l("Training institution liaison"),
    "trainer": _l("Trainer"),
}
NAME_MAX, UNIT_MAX, REASON_MAX = 64, 128, 1000


class LoginApplication(ReviewableMixin, Model):
    """登录申请: one person's request for an account, seen by the province above its city."""

    __tablename__ = "login_application"
    __scope__ = ScopeColumns(org="org_id")  # the chosen city: its province and the center see it
    __review_type__ = "login_application"
    __review_label__ = _l("Login application")
    __review_fields__ = ("applicant_name", "mobile", "unit", "role_kind", "org_id", "reason")
    review_chain_name = "login_application"

    id = Column(Integer, primary_key=True)
    applicant_name = Column(String(NAME_MAX), nullable=False)
    mobile = Column(String(20), nullable=False, index=True)
    unit = Column(String(UNIT_MAX), nullable=False)
    role_kind = Column(String(16), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the city
    reason = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    ip = Column(String(64))
    account_id = Column(Integer, ForeignKey("ab_user.id"))  # the account allocated on approval

    org = relationship("Org", foreign_keys=[org_id])
    account = relationship("MalanUser", foreign_keys=[account_id])

    def __repr__(self):
        return f"{self.applicant_name}（{self.unit}）"

    @property
    def review_actor_name(self) -> str:
        """How the applicant appears in the review history (`review.enter_review`)."""
        return f"{self.applicant_name}（{_('applicant')}）"

    @property
    def has_account(self) -> bool:
        """Whether the mobile already belongs to an account: shown to reviewers only, never to
        the public page (checked unscoped on purpose, like `accounts.check_mobile_free`)."""
        return existing_account_id(self.mobile) is not None

    def on_approved(self, actor, now: datetime) -> None:
        """The center's approval allocates the account (same rules as a roster)."""
        self.allocated_password = allocate(self, now)


def existing_account_id(mobile) -> int | None:
    with db.session.no_autoflush:
        return db.session.scalar(select(MalanUser.id).where(MalanUser.mobile == mobile))


def check_not_duplicate(record: LoginApplication) -> None:
    """第十一条: a person with an account gets no second one."""
    if existing_account_id(record.mobile) is not None:
        raise ValueError(
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
    from app.services.tree import next_institution_code

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
    from app.services import accounts

    check_not_duplicate(record)
    if record.role_kind not in REQUESTABLE_ROLES:
        raise ValueError(_("This role cannot be requested."))
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
