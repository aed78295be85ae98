"""The mentor pool (创业导师库): entered by a city or a province, reviewed one level up.

A city's entry is reviewed by its province, a province's by the center (第六条); the center's own
entries need no review. ``chain`` is fixed when the entry is created, from the entering org.
Approved entries are a shared resource (资源共享): every business user may find them, but the
contact is shown only inside the viewer's scope.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

# Entering org kind -> review chain. The center's own entries are approved at entry
# (app.services.mentors.approve_center_entry); they carry the chain whose reviewer is the center.
MENTOR_CHAINS = {"city": "mentor_city", "province": "mentor_province", "center": "mentor_province"}


class MentorProfile(ReviewableMixin, Model):
    __tablename__ = "mentor_profile"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    chain = Column(String(32), nullable=False)  # review chain name (MENTOR_CHAINS)
    org_id = Column(
        Integer, ForeignKey("org.id"), nullable=False, index=True
    )  # entering city/province
    name = Column(String(64), nullable=False, index=True)
    gender = Column(String(1))
    employer = Column(String(128))
    title = Column(String(64))  # 职称/职务
    industry = Column(String(64), index=True)
    expertise = Column(String(255))  # fields of expertise, separated by 、or spaces
    mobile = Column(String(20))
    email = Column(String(128))
    biography = Column(Text)
    availability = Column(String(255))
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    org = relationship("Org", foreign_keys=[org_id])

    def __repr__(self):
        return self.name
