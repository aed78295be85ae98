"""Accounts: FAB's user extended with its org, plus server-side sessions and password history."""

from datetime import datetime

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .sealed import Sealed

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
    # Raised by every event that must end the account's sessions and API tokens (logout, password
    # change or reset, lock, disabling, second-factor reset); JWTs and sessions carry the value
    # they were issued under and die when it moves on (security.sessions.revoke_all).
    token_version = Column(Integer, nullable=False, default=0, server_default="0")
    # TOTP second factor (security.two_factor): the base32 secret, set at enrolment and in force
    # from totp_enabled_at; totp_last_step is the last accepted time step (a code is used once).
    # The secret is sealed at rest (`models.sealed`): a database dump alone yields no codes.
    totp_secret = Column(Sealed("totp-secret"))
    totp_enabled_at = Column(DateTime)
    totp_last_step = Column(Integer)
    # 三员分立 (issue 17 point 2): who reset the password (proposer, approver), told to the owner
    # at its next sign-in and then cleared.
    reset_notice = Column(String(300))
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


class RecoveryCode(Model):
    """One of the ten single-use recovery codes of a second factor, kept as a keyed hash."""

    __tablename__ = "recovery_code"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    code_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime)
