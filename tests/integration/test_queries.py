"""app.queries.count_rows counts what the query finds, whatever its shape (the lists' totals)."""

from sqlalchemy import select

from app.queries import count_rows
from models.org import CENTER, CITY, Org
from models.user import MalanUser


def test_count_rows_keeps_filters_sort_limit_offset_joins_and_distinct(world):
    assert count_rows(select(Org)) == 9
    cities = select(Org).where(Org.kind == CITY).order_by(Org.name.desc())
    assert count_rows(cities) == 3
    assert count_rows(cities.limit(2)) == 2 and count_rows(cities.offset(2)) == 1
    at_center = select(Org).join(MalanUser, MalanUser.org_id == Org.id).where(Org.kind == CENTER)
    assert count_rows(at_center) == 4  # the center's four accounts
    assert count_rows(at_center.distinct()) == 1
    assert count_rows(select(Org).where(Org.code == "nothing")) == 0
