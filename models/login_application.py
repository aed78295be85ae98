"""Login applications (登录申请, 第六条(二)): a person without an account asks for one on a
public page; the province of the chosen city reviews the applicant's qualification, then the
center allocates the account exactly as for a roster (one account per person, 第十一条).

The applicant never signs in, so the record enters review at once (`review.enter_review`) and
is never returned to anyone: a province that finds it wanting rejects it with its opinion.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import relationship

from app.extensions import db

from .base import Model, ScopeColumns
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
    def has_account(self) -> bool:
        """Whether the mobile already belongs to an account: shown to reviewers only, never to
        the public page (checked unscoped on purpose, like `accounts.check_mobile_free`)."""
        return existing_account_id(self.mobile) is not None


def existing_account_id(mobile) -> int | None:
    with db.session.no_autoflush:
        return db.session.scalar(select(MalanUser.id).where(MalanUser.mobile == mobile))
