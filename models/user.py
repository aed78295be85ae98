"""Accounts: FAB's user extended with its org, plus server-side sessions and password history."""

from datetime import datetime

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns

# Role kinds (one per account). Business roles follow the tree; the three administrators are
# the separated duties 等保 asks for.
CENTER, PROVINCE, CITY, INSTITUTION = "center", "province", "city", "institution"
TRAINER, TRAINEE = "trainer", "trainee"
SYSADMIN, SECADMIN, AUDITOR = "sysadmin", "secadmin", "auditor"
ROLE_KINDS = (CENTER, PROVINCE, CITY, INSTITUTION, TRAINER, TRAINEE, SYSADMIN, SECADMIN, AUDITOR)
ADMIN_KINDS = (SYSADMIN, SECADMIN, AUDITOR)


class MalanUser(User):
    """One account per person (第十一条). Single-table extension of FAB's ``ab_user``."""

    __tablename__ = "ab_user"
    __scope__ = ScopeColumns(org="org_id", owner="id")

    org_id = Column(Integer, ForeignKey("org.id"), index=True)
    mobile = Column(String(20), unique=True)
    must_change_password = Column(Boolean, nullable=False, default=True)
    password_changed_at = Column(DateTime)
    locked_until = Column(DateTime)
    is_demo = Column(Boolean, nullable=False, default=False)
    # A trainee's class period, until the class modules exist: notices reach a trainee only while
    # its class runs (from two days before the start to the end).
    class_start = Column(Date)
    class_end = Column(Date)

    org = relationship("Org", foreign_keys=[org_id])

    @property
    def role_kind(self) -> str | None:
        for role in self.roles:
            if role.name in ROLE_KINDS:
                return role.name
        return None

    @property
    def full_name(self) -> str:
        # Chinese names are kept whole in first_name; FAB's last_name stays empty.
        return f"{self.first_name}{self.last_name or ''}"

    def is_locked(self, now: datetime) -> bool:
        return bool(self.locked_until and self.locked_until > now)


class LoginSession(Model):
    """A server-side session: logout, idle/absolute timeouts and disabling end it here, so a
    copied cookie stops working at once."""

    __tablename__ = "login_session"

    id = Column(Integer, primary_key=True)
    token = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime)
    end_reason = Column(String(32))
    ip = Column(String(64))


class PasswordHistory(Model):
    """Hashes of the last passwords of a user, so none is reused."""

    __tablename__ = "password_history"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    password_hash = Column(String(256), nullable=False)
    created_at = Column(DateTime, nullable=False)
