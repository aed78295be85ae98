"""Vocabularies the center configures (讲师级别, 课程类型): one table, one row per term.

The libraries offer these as choices and validate imports against them. A term is retired
(``active`` false), never deleted, so that old profiles and resources keep a readable value.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, Integer, String, UniqueConstraint, select

from .base import Model

TRAINER_LEVEL, COURSE_TYPE = "trainer_level", "course_type"
KINDS = {TRAINER_LEVEL: _l("Trainer level"), COURSE_TYPE: _l("Course type")}
# What a new database starts with (the migration inserts them; tests seed them).
DEFAULT_TERMS = (
    (TRAINER_LEVEL, "lecturer", "讲师"),
    (TRAINER_LEVEL, "trainer", "培训师"),
    (COURSE_TYPE, "GYB", "GYB（产生你的企业想法）"),
    (COURSE_TYPE, "SYB", "SYB（创办你的企业）"),
    (COURSE_TYPE, "IYB", "IYB（改善你的企业）"),
    (COURSE_TYPE, "EYB", "EYB（扩大你的企业）"),
)


class Term(Model):
    __tablename__ = "vocabulary_term"

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    code = Column(String(32), nullable=False)  # what records store (stable)
    label = Column(String(64), nullable=False)  # what users read (may be reworded)
    position = Column(Integer, nullable=False, default=0)
    active = Column(Boolean, nullable=False, default=True)

    __table_args__ = (UniqueConstraint("kind", "code", name="ux_vocabulary_term"),)

    def __repr__(self):
        return self.label


def active_codes(session, kind: str) -> list[str]:
    """The codes a new value may take: the active terms, in the center's order. A retired code
    stays valid on the records that already hold it (the callers pass it along)."""
    query = select(Term.code).where(Term.kind == kind, Term.active.is_(True))
    return list(session.scalars(query.order_by(Term.position, Term.id)))


def check_code(session, kind: str, value, held=()) -> list[str]:
    """[] when ``value`` is an active code or one the record already ``held``; else the active
    codes, for the message."""
    codes = active_codes(session, kind)
    return [] if value in codes or (value and value in held) else codes
