"""The append-only audit log (等保: who did what, when, from where, with what result)."""

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Text

from .base import Model, ScopeColumns


class AuditLog(Model):
    """Never updated or deleted by the application; on PostgreSQL a trigger enforces it and
    lets `flask malan purge-audit` remove only entries older than the retention period."""

    __tablename__ = "audit_log"
    # An auditor below the center sees the entries of its own subtree.
    __scope__ = ScopeColumns(org="org_id")

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    user_id = Column(Integer, index=True)  # no FK: the log outlives accounts
    username = Column(String(128))
    ip = Column(String(64))
    role = Column(String(32))
    org_id = Column(Integer, index=True)
    org_name = Column(String(128))
    event = Column(String(32), nullable=False)
    object_type = Column(String(64))
    object_id = Column(String(64))
    summary = Column(String(512))
    changes = Column(Text)  # JSON: {field: [before, after]}
    success = Column(Boolean, nullable=False, default=True)
    # The hash chain (app/audit_chain.py): HMAC of this entry's content and of the previous
    # entry's hash. NULL only for entries written before the chain existed (migration 0007).
    prev_hash = Column(String(64))
    row_hash = Column(String(64))

    __table_args__ = (
        Index("ix_audit_object", "object_type", "object_id"),
        Index("ix_audit_event_at", "event", "at"),
        # "What did this account do?" — the auditor's usual question; without it
        # a username filter scans the whole log (bench B1: 6.3 s at 5M entries).
        Index("ix_audit_username_at", "username", "at"),
    )


class AuditChainHead(Model):
    """One row: the hash of the last entry of the chain. Every writer locks it (UPDATE) before
    reading it, so concurrent transactions append one after the other, never on the same link;
    `flask malan audit-verify` also compares it with the last entry (entries cut off the end)."""

    __tablename__ = "audit_chain"

    id = Column(Integer, primary_key=True, autoincrement=False)
    head_hash = Column(String(64), nullable=False)
