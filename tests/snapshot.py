"""Put the database back to a saved state quickly: the per-test reset behind the ``world`` fixture.

Building the world (drop and create every table, FAB's roles and permissions, fifteen accounts)
costs ~0.4 s on SQLite and ~1 s on PostgreSQL; a suite of 1,300 tests spent a third of its time
there. The world is built once, its rows are kept in memory, and each later test gets the same
rows back: every table emptied, the rows inserted again with their ids, the id counters set
after them — what a fresh build would leave, timestamps and dates included: they are moved to
"now" as a build at that moment would write them.

On PostgreSQL the restore gives back the saved rows, not their places on disk: DELETE leaves dead
tuples, and later inserts fill the free space wherever it is, so a SELECT without ORDER BY reads
a table in an order that depends on the tests run before (test_faculty's export audit read its
two entries backwards after test_dispatch: ids 71 then 68, heap pages 137 then 138). A test that
means "the last one" orders by id.
"""

from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import Integer, Sequence, inspect, select, text


class Snapshot:
    def __init__(self, engine, taken_at: datetime):
        self.taken_at = taken_at
        self.rows = {}
        with engine.connect() as conn:
            for table in Model.metadata.sorted_tables:
                self.rows[table.name] = [dict(r) for r in conn.execute(select(table)).mappings()]

    def restore(self, engine, now: datetime) -> None:
        """Raises when the schema is not the models' (a test dropped or changed tables): the caller
        then builds the world from scratch."""
        shift = (now - self.taken_at, now.date() - self.taken_at.date())
        tables = Model.metadata.sorted_tables
        with engine.begin() as conn:
            for table in reversed(tables):  # DELETE beats TRUNCATE on small tables
                conn.execute(table.delete())
            if conn.dialect.name == "sqlite" and inspect(conn).has_table("sqlite_sequence"):
                conn.execute(text("DELETE FROM sqlite_sequence"))
            for table in tables:
                rows = self.rows[table.name]
                if rows:
                    conn.execute(table.insert(), [_shifted(row, shift) for row in rows])
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, tables)


def _shifted(row: dict, shift) -> dict:
    return {k: _shift(v, shift) for k, v in row.items()}


def _shift(value, shift):
    moment, days = shift
    if isinstance(value, datetime):
        return value + moment
    if isinstance(value, date):
        return value + days
    return value


def _reset_sequences(conn, tables) -> None:
    """After inserting explicit ids the id counters must continue after the highest one: the
    serial ones, and the named sequences FAB's tables declare."""
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        column = pk[0]
        if isinstance(column.default, Sequence):
            sequence = column.default.name
        else:
            sequence = conn.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": quote(table.name), "c": column.name},
            )
        if sequence:
            conn.execute(
                text(
                    f"SELECT setval(:s, COALESCE((SELECT MAX({quote(column.name)}) "
                    f"FROM {quote(table.name)}), 0) + 1, false)"
                ),
                {"s": sequence},
            )
