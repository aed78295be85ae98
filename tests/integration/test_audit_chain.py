"""Issue 17 point 3: the audit log is a hash chain; `flask malan audit-verify` finds the first
entry that was deleted, altered or inserted behind the application's back (done here as the
owner of the table, on SQLite and on PostgreSQL), and the 180-day purge leaves a chain that
still verifies from its anchor. Writers on PostgreSQL append one after the other."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import audit, audit_chain, clock
from app.extensions import db
from models.audit import AuditChainHead, AuditLog


@pytest.fixture()
def chain(world):
    """An empty log and a fresh chain, then five entries A..E written by the application."""
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(AuditLog.__table__.delete())
        conn.execute(AuditChainHead.__table__.delete())
    ids = {}
    for marker in "ABCDE":
        audit.record(db.session, "login", summary=f"entry-{marker}")
        db.session.commit()
        ids[marker] = db.session.scalar(
            select(AuditLog.id).where(AuditLog.summary == f"entry-{marker}")
        )
    return ids


def as_owner(sql, **params):
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def verify(app):
    result = app.test_cli_runner().invoke(args=["malan", "audit-verify"])
    return result.exit_code, result.output


def test_point3_every_entry_links_to_the_one_before(chain):
    rows = db.session.execute(
        select(AuditLog.prev_hash, AuditLog.row_hash).order_by(AuditLog.id)
    ).all()
    assert rows[0].prev_hash == audit_chain.GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.row_hash and len(after.row_hash) == 64
    head = db.session.scalar(select(AuditChainHead.head_hash))
    assert head == rows[-1].row_hash


def test_point3_intact_chain_verifies_and_the_check_is_logged(app, chain):
    code, output = verify(app)
    assert code == 0, output
    assert "intact: 5 entries" in output
    [logged] = db.session.scalars(select(AuditLog).where(AuditLog.event == "audit_verify")).all()
    assert logged.success
    assert verify(app)[0] == 0, "the check's own entry is part of the chain"


@pytest.mark.parametrize(
    "column,value",
    [("summary", "'entry-forged'"), ("username", "'someone'"), ("success", "false")],
)
def test_point3_verify_reports_an_altered_entry(app, chain, column, value):
    as_owner(f"UPDATE audit_log SET {column} = {value} WHERE id = :id", id=chain["C"])
    code, output = verify(app)
    assert code == 1
    assert f"entry #{chain['C']} was altered" in output


def test_point3_verify_reports_an_altered_time(app, chain):
    as_owner(
        "UPDATE audit_log SET at = :at WHERE id = :id",
        at=clock.now() - timedelta(days=3),
        id=chain["B"],
    )
    code, output = verify(app)
    assert code == 1 and f"entry #{chain['B']} was altered" in output


def test_point3_verify_reports_a_deleted_entry(app, chain):
    as_owner("DELETE FROM audit_log WHERE id = :id", id=chain["C"])
    code, output = verify(app)
    assert code == 1
    assert f"entries deleted before entry #{chain['D']}" in output


def test_point3_verify_reports_deleted_first_and_last_entries(app, chain):
    as_owner("DELETE FROM audit_log WHERE id = :id", id=chain["E"])
    code, output = verify(app)
    assert code == 1 and f"deleted at the end of the log (after entry #{chain['D']})" in output

    as_owner("DELETE FROM audit_log WHERE id = :id", id=chain["A"])
    code, output = verify(app)
    assert code == 1 and f"entries deleted before entry #{chain['B']}" in output


def _forge(prev_hash, row_hash):
    as_owner(
        "INSERT INTO audit_log (at, event, success, summary, prev_hash, row_hash) "
        "VALUES (:at, 'login', true, 'forged', :prev, :row)",
        at=clock.now(),
        prev=prev_hash,
        row=row_hash,
    )
    return db.session.scalar(select(AuditLog.id).where(AuditLog.summary == "forged"))


@pytest.mark.parametrize("hashes", ["none", "made_up"])
def test_point3_verify_reports_an_inserted_entry(app, chain, hashes):
    head = db.session.scalar(select(AuditChainHead.head_hash))
    forged = _forge(*((None, None) if hashes == "none" else (head, "f" * 64)))
    code, output = verify(app)  # the forged entry is the last one
    assert code == 1 and f"entry #{forged} was inserted" in output

    audit.record(db.session, "login", summary="after the forgery")  # the app appends after it
    db.session.commit()
    code, output = verify(app)
    assert code == 1 and f"entry #{forged} was inserted" in output


def test_point3_purge_leaves_an_anchored_chain_that_verifies(app, world):
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(AuditLog.__table__.delete())
        conn.execute(AuditChainHead.__table__.delete())
    now = clock.now()
    for days in (400, 300, 200, 10, 0):
        audit.record(db.session, "login", summary=f"{days}-days", now=now - timedelta(days=days))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["malan", "purge-audit", "--older-than-days", "250"])
    assert result.exit_code == 0, result.output
    left = db.session.scalars(select(AuditLog.summary).order_by(AuditLog.id)).all()
    assert left[:3] == ["200-days", "10-days", "0-days"] and len(left) == 4
    code, output = verify(app)
    assert code == 0, output
    assert "1 purge anchor" in output

    # Without the purge's anchor the same gap is a deletion.
    as_owner("DELETE FROM audit_log WHERE event = 'purge_audit'")
    code, output = verify(app)
    assert code == 1 and "deleted" in output


def test_point3_purge_removes_only_the_chains_oldest_prefix(app, world):
    """An old entry written after a young one (a back-dated record) waits: removing it would
    cut the chain in the middle."""
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(AuditLog.__table__.delete())
        conn.execute(AuditChainHead.__table__.delete())
    now = clock.now()
    for days in (400, 0, 400):
        audit.record(db.session, "login", summary=f"{days}-days", now=now - timedelta(days=days))
    db.session.commit()
    with app.app_context():
        purged = audit.purge(db.session, now - timedelta(days=365), now=now)
        db.session.commit()
    assert purged == 1
    assert verify(app)[0] == 0


@pytest.mark.postgres
def test_point3_concurrent_writers_keep_one_chain_on_postgres(app, chain):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises every write; PostgreSQL writers run in parallel")
    start = threading.Barrier(4)
    errors = []

    def writer(n):
        try:
            with app.app_context(), Session(db.engine) as session:
                start.wait()
                for i in range(8):
                    audit.record(session, "login", summary=f"thread-{n}-{i}")
                    session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    code, output = verify(app)
    assert code == 0, output
    assert "intact: 37 entries" in output
