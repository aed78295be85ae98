"""信息沟通交流: conversations between two orgs of adjacent levels, and comments on reviewable records.

A `Conversation` has exactly two parties, the org that started it and the org it was sent to
(a trainer, who stands beside the tree, starts one as a person: ``sender_org_id`` is then empty).
It deliberately declares no ``__scope__``: the generic subtree scope would let a province read
what its cities say to their institutions, and the center read everything. Who sees a
conversation is decided in one place, `app.services.messages.visible_clause`.
"""

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from .base import Model

SUBJECT_MAX = 200
BODY_MAX = 5000


class Conversation(Model):
    """One thread between two parties; ``last_message_id`` makes the unread count one query."""

    __tablename__ = "conversation"

    id = Column(Integer, primary_key=True)
    subject = Column(String(SUBJECT_MAX), nullable=False)
    sender_org_id = Column(Integer, ForeignKey("org.id"), index=True)
    sender_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    recipient_org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    last_message_id = Column(Integer)
    last_message_at = Column(DateTime)

    sender_org = relationship("Org", foreign_keys=[sender_org_id])
    sender_user = relationship("MalanUser", foreign_keys=[sender_user_id])
    recipient_org = relationship("Org", foreign_keys=[recipient_org_id])
    messages = relationship(
        "Message",
        back_populates="conversation",
        order_by="Message.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self):
        return self.subject


class Message(Model):
    """One post of a conversation: the first one or a reply. Attachments hang on it
    (`Attachment.owner_type == "message"`)."""

    __tablename__ = "message"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id"), nullable=False, index=True)
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    author_org_id = Column(Integer, ForeignKey("org.id"))
    body = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)

    conversation = relationship("Conversation", back_populates="messages")
    author = relationship("MalanUser", foreign_keys=[author_id])
    author_org = relationship("Org", foreign_keys=[author_org_id])

    def __repr__(self):
        return f"#{self.id}"


class ConversationRead(Model):
    """How far a user has read a conversation (the id of the last message seen)."""

    __tablename__ = "conversation_read"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id"), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    last_read_message_id = Column(Integer, nullable=False)

    __table_args__ = (UniqueConstraint("conversation_id", "user_id"),)


class RecordComment(Model):
    """A comment on a reviewable record (any ``__review_type__``): the submitter and the
    reviewers discuss it. Visible to whoever can load the record through its scoped view."""

    __tablename__ = "record_comment"

    id = Column(Integer, primary_key=True)
    record_type = Column(String(32), nullable=False)
    record_id = Column(Integer, nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    author_org_id = Column(Integer, ForeignKey("org.id"))
    body = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)

    author = relationship("MalanUser", foreign_keys=[author_id])
    author_org = relationship("Org", foreign_keys=[author_org_id])

    __table_args__ = (Index("ix_record_comment_record", "record_type", "record_id"),)

    def __repr__(self):
        return f"{self.record_type}#{self.record_id}"
