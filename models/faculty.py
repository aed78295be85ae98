"""The faculty pool (创业培训师资库): one profile per trainer/lecturer.

The row's columns hold the values IN FORCE (approved by the center, or entered by it). A trainer
edits its own profile through the review chain "faculty": a first profile is a draft until the
center approves it; later changes are corrections (`review.start_correction`) whose values wait
in their revision while the pool keeps showing the approved ones (第六条, 第十条).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

GENDERS = {"M": _l("Male"), "F": _l("Female")}
ACTIVE, SUSPENDED, RETIRED = "active", "suspended", "retired"
# The trainer's standing in the pool (在岗/暂停/退出). Not ``status``: that column belongs to the
# review state of `ReviewableMixin` (draft/pending/approved…), which a column of the same name
# here would silently replace.
FACULTY_STATUSES = {ACTIVE: _l("In the pool"), SUSPENDED: _l("Suspended"), RETIRED: _l("Retired")}


class FacultyProfile(ReviewableMixin, Model):
    __tablename__ = "faculty_profile"
    # Region = a province or city org; the trainer (owner) sees its own profile only.
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    user_id = Column(
        Integer, ForeignKey("ab_user.id"), unique=True
    )  # the trainer's account, if any
    name = Column(String(64), nullable=False, index=True)
    gender = Column(String(1))
    birth_year = Column(Integer)
    id_number = Column(
        String(18), nullable=False, unique=True
    )  # 居民身份证号, normalised (X upper)
    mobile = Column(String(20), nullable=False, unique=True)
    email = Column(String(128))
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # province or city
    employer = Column(String(128))
    level = Column(String(32), index=True)  # vocabulary_term code (trainer_level)
    certificate_no = Column(String(64))
    certificate_date = Column(Date)
    certificate_expiry = Column(Date, index=True)
    course_types = Column(String(255))  # vocabulary codes (course_type), space-separated
    languages = Column(String(128))  # teaching languages/dialects, free text
    years_experience = Column(Integer)
    biography = Column(Text)
    service_status = Column(String(16), nullable=False, default=ACTIVE, index=True)
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    # Read-only: the columns are what forms and imports set. (A trainer's write is checked on the
    # row's owner; its region is an org outside an owner scope, which `check_write` would refuse
    # as a related record if the relationship were writable.)
    org = relationship("Org", foreign_keys=[org_id], viewonly=True)
    user = relationship("MalanUser", foreign_keys=[user_id], viewonly=True)

    def __repr__(self):
        return self.name

    @property
    def course_type_codes(self) -> list[str]:
        return (self.course_types or "").split()
