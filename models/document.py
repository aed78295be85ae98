"""Issued documents (发放文书): one row per PDF the platform issues and vouches for.

Generic on purpose: the dispatch's 《派遣通知书》 and 《培训师执行任务通知书》 today, a trainer's
certificate later. Each has a public document number, an unguessable verification code (the
QR code and `/verify/<code>` read it), a status (valid / withdrawn: a withdrawn document stays,
it is never deleted) and its PDF bytes. Scope: the org it concerns (a class's institution, and
the authorities above it) and, for a document addressed to one person, that person.
The rules are in `app.services.documents`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import deferred, relationship

from .base import Model, ScopeColumns

VALID, WITHDRAWN = "valid", "withdrawn"
DISPATCH_NOTICE, TASK_NOTICE = "dispatch_notice", "task_notice"  # 派遣通知书, 执行任务通知书
CERTIFICATE = "certificate"  # 合格讲师证书


class IssuedDocument(Model):
    """One issued document; its PDF is built once, at issue, and never rewritten."""

    __tablename__ = "issued_document"
    __scope__ = ScopeColumns(org="org_id", owner="owner_user_id")

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False, index=True)
    number = Column(String(40), nullable=False, unique=True)  # 文号, printed on the document
    code = Column(String(32), nullable=False, unique=True)  # verification code (QR, /verify)
    status = Column(String(16), nullable=False, default=VALID)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    owner_user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # addressed to
    class_id = Column(Integer, ForeignKey("training_class.id"), index=True)
    seat_id = Column(Integer, ForeignKey("dispatch_seat.id"))
    # Shown on the verify page without reading the class (a certificate has no class).
    subject_code = Column(String(64))  # the class code
    start_date = Column(Date)
    end_date = Column(Date)
    title = Column(String(64), nullable=False)  # the kind's name as printed
    filename = Column(String(128), nullable=False)
    pdf = deferred(Column(LargeBinary, nullable=False))
    text = deferred(Column(Text, nullable=False))  # the rendered template (the page's preview)
    issued_at = Column(DateTime, nullable=False)
    issued_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    issuer_name = Column(String(128), nullable=False)
    confirmed_at = Column(DateTime)  # its addressee confirmed receipt
    confirmed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    withdrawn_at = Column(DateTime)
    withdrawn_by_id = Column(Integer, ForeignKey("ab_user.id"))
    withdraw_reason = Column(Text)
    version = Column(Integer, nullable=False, default=1)

    training_class = relationship("TrainingClass", foreign_keys=[class_id], viewonly=True)
    owner = relationship("MalanUser", foreign_keys=[owner_user_id], viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self):
        return f"{self.title} {self.number}"
