"""The review chain's tables (谁审核，谁负责): what is waiting for whom, and what was decided.

A reviewable record (a plan, an application, …) mixes in `ReviewableMixin` and names its chain
in ``__review_chain__``; `app.services.review` moves it. Everything here is generic: the to-do
list, the overdue board and the history read these tables, whatever the kind of record.
"""

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import declared_attr

from .base import Model, ScopeColumns

DRAFT, PENDING, RETURNED, APPROVED, REJECTED = (
    "draft",
    "pending",
    "returned",
    "approved",
    "rejected",
)
STATUSES = (DRAFT, PENDING, RETURNED, APPROVED, REJECTED)


class ReviewableMixin:
    """Review state carried by every reviewable record.

    ``revision`` is the revision being prepared or reviewed; ``in_force_revision`` the approved
    one whose values are in the row's columns (None until the first approval). A correction of
    approved data (第十条) keeps its proposed values in `ReviewRevision.data` until approved.
    ``version`` is the optimistic lock: every transition bumps it, and SQLAlchemy refuses to
    write over a version it did not read.
    """

    status = Column(String(16), nullable=False, default=DRAFT, index=True)
    step = Column(Integer)
    revision = Column(Integer, nullable=False, default=1)
    in_force_revision = Column(Integer)
    version = Column(Integer, nullable=False, default=1)
    submitted_at = Column(DateTime)

    @declared_attr
    def submitted_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"))

    @declared_attr
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


class ReviewTask(Model):
    """One step a record has entered: who must act (an org of a level), by when, and the outcome."""

    __tablename__ = "review_task"
    # Visible to the reviewer org and everything above it (the overdue board of a province);
    # an item assigned to one person (a trainer's request) is that person's too.
    __scope__ = ScopeColumns(org="reviewer_org_id", owner="assignee_id")

    id = Column(Integer, primary_key=True)
    record_type = Column(String(32), nullable=False)
    record_id = Column(Integer, nullable=False)
    revision = Column(Integer, nullable=False)
    step = Column(Integer, nullable=False)
    level = Column(String(16), nullable=False)
    reviewer_org_id = Column(Integer, ForeignKey("org.id"), nullable=False)
    entered_at = Column(DateTime, nullable=False)
    due_at = Column(DateTime, nullable=False)
    done_at = Column(DateTime)
    decision = Column(String(16))
    done_by_id = Column(Integer, ForeignKey("ab_user.id"))
    # None: every user of the org at that level; else only this user (a trainer's own request:
    # a trainer's org is its city, shared with every other trainer of the city).
    assignee_id = Column(Integer, ForeignKey("ab_user.id"), index=True)

    __table_args__ = (
        Index("ix_review_task_open", "reviewer_org_id", "done_at", "due_at"),
        Index("ix_review_task_record", "record_type", "record_id"),
    )


class ReviewEvent(Model):
    """One transition, for the history shown on the record's page (and mirrored in the audit log)."""

    __tablename__ = "review_event"

    id = Column(Integer, primary_key=True)
    record_type = Column(String(32), nullable=False)
    record_id = Column(Integer, nullable=False)
    revision = Column(Integer, nullable=False)
    step = Column(Integer)
    action = Column(String(16), nullable=False)
    from_status = Column(String(16))
    to_status = Column(String(16), nullable=False)
    actor_id = Column(Integer, ForeignKey("ab_user.id"))
    actor_name = Column(String(128))
    role = Column(String(32))
    org_id = Column(Integer, ForeignKey("org.id"))
    org_name = Column(String(128))
    at = Column(DateTime, nullable=False)
    opinion = Column(Text)

    __table_args__ = (Index("ix_review_event_record", "record_type", "record_id", "at"),)


class ReviewRevision(Model):
    """The values of one revision of a record, for corrections and the differences between them."""

    __tablename__ = "review_revision"

    id = Column(Integer, primary_key=True)
    record_type = Column(String(32), nullable=False)
    record_id = Column(Integer, nullable=False)
    revision = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False)
    data = Column(Text, nullable=False)  # JSON {field: value}
    created_at = Column(DateTime, nullable=False)
    created_by_id = Column(Integer, ForeignKey("ab_user.id"))

    __table_args__ = (
        Index("ux_review_revision", "record_type", "record_id", "revision", unique=True),
    )
