"""Attachments (附件): one table for the files of every kind of record (notices, messages, pools).

A row points at its owner by table name and id, not by a foreign key, so that any record can own
files; `app.services.files` keeps rows and files on disk in step. It carries no ``__scope__``:
whether a user may see a file is whether it may see the owner (the owner registry decides).
"""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Integer, String

from .base import Model


class Attachment(Model):
    __tablename__ = "attachment"

    id = Column(Integer, primary_key=True)
    owner_type = Column(String(64), nullable=False)  # the owner's __tablename__
    owner_id = Column(Integer, nullable=False)
    # Several uses per owner: "attachment", "photo", a pending replacement awaiting review, …
    purpose = Column(String(32), nullable=False, default="attachment")
    filename = Column(String(255), nullable=False)  # the original name, Chinese kept
    stored_name = Column(String(64), nullable=False, unique=True)  # random, under FILES_DIR
    content_type = Column(String(128), nullable=False)  # from the content, never from the client
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    def __repr__(self):
        return self.filename
