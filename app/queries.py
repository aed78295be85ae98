"""Helpers for the hand-written lists (FAB's lists count through their own interface)."""

from sqlalchemy import Select, func

from app.extensions import db


def count_rows(query: Select) -> int:
    """How many rows ``query`` finds. Counts the matching ids only: a count over the query as a
    subquery would carry its columns and its ORDER BY, and SQLite then sorts every row just to
    count them (21 ms for the 20,000 mentors of the national bench, 0.3 ms this way)."""
    entity = query.column_descriptions[0]["entity"]
    counted = query.with_only_columns(func.count(entity.id)).order_by(None)
    return db.session.scalar(counted)
