"""联络员信息汇总表 (Annex 2, 第十二条): a province's liaison roster, reviewed by the center, which
allocates the accounts on approval.

A roster is written only when the province confirms a file without errors; its rows are kept as
`RosterEntry` (what the file said, and what approval did with it: the account created or matched).

Initial passwords (decision): kept in ``RosterEntry.initial_password`` only between the approval
and the center's single download of the account sheet; the download clears them in the same
transaction and stamps ``sheet_downloaded_at``. Afterwards a password can only be reset. (No
encryption library is a dependency; the window is one step of the center's own work, and the
audit log masks the column by its name.)
"""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns
from .review import ReviewableMixin
from .sealed import Sealed

PROVINCE_LIAISON, CITY_LIAISON, INSTITUTION_LIAISON = "province", "city", "institution"
LIAISON_KINDS = (PROVINCE_LIAISON, CITY_LIAISON, INSTITUTION_LIAISON)
CREATE, MATCH = "create", "match"  # what approval does with a row
# 变更 (point 4): a row of a change roster adds a person (the default), changes the contact data
# of an existing account (the roster entry becomes the current data), or deactivates it.
ADD, CHANGE, DEACTIVATE = "add", "change", "deactivate"


class Roster(ReviewableMixin, Model):
    __tablename__ = "roster"
    __scope__ = ScopeColumns(org="org_id")  # the province that submits it

    id = Column(Integer, primary_key=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    filename = Column(String(255), nullable=False)
    row_count = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))
    allocated_at = Column(DateTime)
    sheet_downloaded_at = Column(DateTime)
    sheet_downloaded_by_id = Column(Integer, ForeignKey("ab_user.id"))

    org = relationship("Org")
    entries = relationship(
        "RosterEntry",
        back_populates="roster",
        cascade="all, delete-orphan",
        order_by="RosterEntry.seq",
    )

    def __repr__(self):
        return f"{self.org.name if self.org else ''} #{self.id}"


class RosterEntry(Model):
    """One liaison of a roster, as confirmed (normalised text), plus the allocation's outcome."""

    __tablename__ = "roster_entry"

    id = Column(Integer, primary_key=True)
    roster_id = Column(
        Integer, ForeignKey("roster.id", ondelete="CASCADE"), nullable=False, index=True
    )
    seq = Column(Integer, nullable=False)  # order in the file
    source_row = Column(Integer)  # row number in the uploaded file
    kind = Column(String(16), nullable=False)  # LIAISON_KINDS
    name = Column(String(64), nullable=False)
    unit = Column(String(128), nullable=False)
    title = Column(String(64))
    office_phone = Column(String(64))
    mobile = Column(String(20), nullable=False)
    wechat = Column(String(64))
    city_id = Column(Integer, ForeignKey("org.id"))
    action = Column(String(16), nullable=False, default=CREATE)  # CREATE or MATCH (at upload)
    change = Column(String(16), nullable=False, default=ADD)  # ADD, CHANGE or DEACTIVATE
    user_id = Column(Integer, ForeignKey("ab_user.id"), index=True)  # created or matched account
    created_account = Column(Integer, nullable=False, default=0)  # 1 when approval created it
    # Until the single download of the account sheet, sealed at rest (`models.sealed`).
    initial_password = Column(Sealed("roster-initial-password"))

    roster = relationship("Roster", back_populates="entries")
    city = relationship("Org", foreign_keys=[city_id])
    user = relationship("MalanUser", foreign_keys=[user_id])
