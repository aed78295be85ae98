"""The course library (创业培训课程库): demonstration lessons and other course resources.

Uploaded by trainers, institutions, cities and provinces; published only once reviewed (a
trainer's upload by the center, others by the next level up; the center's own need no review).
``chain`` is fixed at creation from the uploader. Once published a resource is visible to every
signed-in user but trainees, who see only those the center marks ``for_trainees``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin

CATEGORIES = {
    "demo": _l("Demonstration lesson"),
    "courseware": _l("Courseware"),
    "handout": _l("Handout"),
    "case": _l("Case"),
    "video": _l("Video"),
    "other": _l("Other"),
}
# uploader role kind -> review chain
COURSE_CHAINS = {
    "trainer": "course_trainer",
    "institution": "course_institution",
    "city": "course_city",
    "province": "course_province",
}


class CourseResource(ReviewableMixin, Model):
    __tablename__ = "course_resource"
    # Unpublished: the uploading org and those above it, or the uploading trainer (owner).
    __scope__ = ScopeColumns(org="org_id", owner="owner_id")

    id = Column(Integer, primary_key=True)
    chain = Column(String(32))  # review chain name (COURSE_CHAINS); None for the center's own
    title = Column(String(200), nullable=False, index=True)
    course_type = Column(String(32), nullable=False, index=True)  # vocabulary code (course_type)
    category = Column(String(16), nullable=False, index=True)
    description = Column(Text)
    tags = Column(String(255))
    author = Column(String(64))
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # uploading org
    owner_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # the uploading user
    for_trainees = Column(Boolean, nullable=False, default=False, index=True)
    download_count = Column(Integer, nullable=False, default=0)
    published_at = Column(DateTime, index=True)
    created_at = Column(DateTime, nullable=False)

    # Read-only: the ids are set by the service from the uploader, never from a form (and a
    # trainer, scoped to its own rows, would otherwise fail the write check on its own org).
    org = relationship("Org", foreign_keys=[org_id], viewonly=True)
    owner = relationship("MalanUser", foreign_keys=[owner_id], viewonly=True)

    def __repr__(self):
        return self.title
