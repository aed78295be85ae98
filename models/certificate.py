"""合格讲师证书信息 (Annex 1 rows 22–23): the certificates of a class's qualified lecturers.

One `CertificateBatch` per class: the province enters it (pre-filled from the PASSED lines of
the approved grade sheet) and submits it to the center (review kind ``certificates``); the
center's approval is the entry of the lecturers into the faculty pool, which closes the class.
One `Certificate` per qualified trainee; once issued it points at its `IssuedDocument` (the PDF
and the public verify page) and at the faculty profile it was attached to.
Tables only; the rules are in `app.services.certificates` and `app.services.pool_entry`.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin


class CertificateBatch(ReviewableMixin, Model):
    """合格讲师证书信息 of one class, entered by its province and submitted to the center."""

    __tablename__ = "certificate_batch"
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, unique=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the class's
    province_org_id = Column(Integer, ForeignKey("org.id"), nullable=False)  # enters, submits
    created_at = Column(DateTime, nullable=False)
    pooled_at = Column(DateTime)  # the center entered the lecturers into the pool
    pooled_by_id = Column(Integer, ForeignKey("ab_user.id"))

    training_class = relationship("TrainingClass", foreign_keys=[class_id], viewonly=True)
    lines = relationship(
        "Certificate",
        order_by="Certificate.trainee_id",
        back_populates="batch",
        cascade="all, delete-orphan",
    )

    def __repr__(self):
        return f"合格讲师证书 {self.training_class.code}" if self.training_class else f"#{self.id}"


class Certificate(Model):
    """合格讲师证书 of one qualified trainee of the class."""

    __tablename__ = "certificate"
    __scope__ = ScopeColumns(org="org_id", owner="user_id")

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("certificate_batch.id"), nullable=False, index=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)  # the class's
    trainee_id = Column(Integer, ForeignKey("class_trainee.id"), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # the holder's account
    number = Column(String(40), nullable=False, unique=True)  # 证书编号, by the numbering rule
    issued_on = Column(Date, nullable=False)
    valid_until = Column(Date, nullable=False)
    course_type = Column(String(32), nullable=False)  # vocabulary code (course_type)
    level = Column(String(32), nullable=False)  # vocabulary code (trainer_level)
    document_id = Column(Integer, ForeignKey("issued_document.id"), unique=True)  # once issued
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), index=True)  # once pooled

    batch = relationship("CertificateBatch", back_populates="lines")
    trainee = relationship("ClassTrainee", foreign_keys=[trainee_id], viewonly=True)
    document = relationship("IssuedDocument", foreign_keys=[document_id], viewonly=True)

    def __repr__(self):
        return self.number
