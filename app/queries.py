"""Helpers for the hand-written lists (FAB's lists count through their own interface)."""

from sqlalchemy import Select, func, inspect, select

from app.extensions import db


def count_rows(query: Select) -> int:
    """How many rows ``query`` finds, counted over its primary keys without its ORDER BY: a count
    over the query as it stands carries every column and the sort, and SQLite then sorts every
    row just to count them (21 ms for the 20,000 mentors of the national bench, 3 ms this way).
    Joins, DISTINCT, GROUP BY, LIMIT and OFFSET keep their meaning: the ids are a subquery."""
    entity = query.column_descriptions[0].get("entity") if query.column_descriptions else None
    mapper = inspect(entity, raiseerr=False) if entity is not None else None
    query = query.order_by(None)
    if mapper is not None and getattr(mapper, "primary_key", None):
        query = query.with_only_columns(*mapper.primary_key)
    return db.session.scalar(select(func.count()).select_from(query.subquery()))
