"""通知公告: notices published downward, their audience, versions and read receipts.

Who may see a notice is not a region column (``__scope__``) but its audience: a set of orgs (each
including its subtree) narrowed by role groups. `app.services.notices.visible_clause` is the one
place that turns this into SQL; every page, count, attachment and export goes through it.
"""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .base import Model

NOTICE, ANNOUNCEMENT, DOCUMENT, OTHER = "notice", "announcement", "document", "other"
CATEGORIES = (NOTICE, ANNOUNCEMENT, DOCUMENT, OTHER)  # 通知, 公告, 文件, 其他

# Role groups of the audience -> the role kinds they hold.
AUTHORITIES, INSTITUTIONS, TRAINERS, TRAINEES = (
    "authorities",
    "institutions",
    "trainers",
    "trainees",
)
ROLE_GROUPS = {
    AUTHORITIES: ("center", "province", "city"),
    INSTITUTIONS: ("institution",),
    TRAINERS: ("trainer",),
    TRAINEES: ("trainee",),
}


class Notice(Model):
    """One notice. Corrections edit it in place and leave a `NoticeRevision` per version."""

    __tablename__ = "notice"

    id = Column(Integer, primary_key=True)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False, default="")  # sanitised HTML (nh3), never raw input
    category = Column(String(16), nullable=False, default=NOTICE)
    publisher_org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    created_at = Column(DateTime, nullable=False)
    publish_at = Column(DateTime, nullable=False, index=True)
    expires_at = Column(DateTime)
    pinned = Column(Boolean, nullable=False, default=False)
    to_authorities = Column(Boolean, nullable=False, default=True)
    to_institutions = Column(Boolean, nullable=False, default=True)
    to_trainers = Column(Boolean, nullable=False, default=False)
    to_trainees = Column(Boolean, nullable=False, default=False)
    version = Column(Integer, nullable=False, default=1)
    withdrawn_at = Column(DateTime)
    withdrawn_by_id = Column(Integer, ForeignKey("ab_user.id"))

    publisher_org = relationship("Org", foreign_keys=[publisher_org_id])
    created_by = relationship("MalanUser", foreign_keys=[created_by_id])
    audience = relationship(
        "NoticeAudience", cascade="all, delete-orphan", order_by="NoticeAudience.org_id"
    )
    revisions = relationship(
        "NoticeRevision", cascade="all, delete-orphan", order_by="NoticeRevision.version"
    )

    @property
    def groups(self) -> list[str]:
        return [g for g in ROLE_GROUPS if getattr(self, f"to_{g}")]

    def __repr__(self):
        return self.title


class NoticeAudience(Model):
    """One addressed org; it stands for itself and everything below it."""

    __tablename__ = "notice_audience"

    notice_id = Column(Integer, ForeignKey("notice.id", ondelete="CASCADE"), primary_key=True)
    org_id = Column(Integer, ForeignKey("org.id"), primary_key=True, index=True)

    org = relationship("Org")

    def __repr__(self):
        return f"{self.notice_id}→{self.org_id}"


class NoticeRevision(Model):
    """The content of one version of a notice, who wrote it and when (version 1 = as published)."""

    __tablename__ = "notice_revision"
    __table_args__ = (UniqueConstraint("notice_id", "version"),)

    id = Column(Integer, primary_key=True)
    notice_id = Column(
        Integer, ForeignKey("notice.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version = Column(Integer, nullable=False)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False, default="")
    category = Column(String(16), nullable=False)
    expires_at = Column(DateTime)
    pinned = Column(Boolean, nullable=False, default=False)
    note = Column(String(500))  # why it was corrected
    changed_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    changed_at = Column(DateTime, nullable=False)

    changed_by = relationship("MalanUser")

    def __repr__(self):
        return f"{self.notice_id} v{self.version}"


class NoticeRead(Model):
    """A read receipt: the first time a user opened the notice."""

    __tablename__ = "notice_read"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id = Column(Integer, primary_key=True)
    notice_id = Column(
        Integer, ForeignKey("notice.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    read_at = Column(DateTime, nullable=False)

    def __repr__(self):
        return f"{self.notice_id}:{self.user_id}"
