"""账号变更申请 (三员分立, issue 17 point 2): what one administrator proposes and the security
administrator must approve before it takes effect (two-person rule) — a password reset of an
account of the center or a province, a new account with such a role, a grant of such a role,
a second-factor reset. Reviewed through `app.services.review` like every reviewable record.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

RESET_PASSWORD = "reset_password"
CREATE_ACCOUNT = "create_account"
GRANT_ROLE = "grant_role"
RESET_SECOND_FACTOR = "reset_second_factor"
OPERATIONS = {
    RESET_PASSWORD: _l("Reset password"),
    CREATE_ACCOUNT: _l("Create account"),
    GRANT_ROLE: _l("Change role"),
    RESET_SECOND_FACTOR: _l("Reset second factor"),
}


class AccountRequest(ReviewableMixin, Model):
    """One proposal; ``org_id`` is the proposer's org (the center, where the administrators
    sit): the review chain starts there and the security administrator's step is resolved
    from it."""

    __tablename__ = "account_request"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    operation = Column(String(24), nullable=False)
    proposer_kind = Column(String(16), nullable=False)  # the proposer's role: picks the chain
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    target_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # None: a new account
    role_kind = Column(String(16))  # the new account's role, or the role granted
    name = Column(String(64))  # the new account's
    mobile = Column(String(20))
    account_org_id = Column(Integer, ForeignKey("org.id"))  # where the new account sits
    created_at = Column(DateTime, nullable=False)
    done_at = Column(DateTime)  # when the approval carried it out

    org = relationship("Org", foreign_keys=[org_id])
    account_org = relationship("Org", foreign_keys=[account_org_id])
    target = relationship("MalanUser", foreign_keys=[target_id])

    def __repr__(self):
        who = self.target.username if self.target is not None else self.name
        return f"{OPERATIONS.get(self.operation, self.operation)}：{who}"
