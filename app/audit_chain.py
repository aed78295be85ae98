"""The audit log as a hash chain (等保三级: 审计记录的保护) — rewriting it shows.

Every entry stores ``prev_hash``, the ``row_hash`` of the entry before it, and its own
``row_hash``: an HMAC-SHA256 of its content and of ``prev_hash``, keyed by ``AUDIT_CHAIN_KEY``
(by default derived from ``SECRET_KEY``), which the database never sees. So whoever can write to
the database (its owner included) cannot delete, change or insert an entry without
`verify` finding the first place where it happened: a deleted entry breaks the next link, a
changed one its own hash, an inserted one has a hash nobody without the key can compute.

Writers are serialised on the single row of ``audit_chain`` (the head): `seal` locks it with an
UPDATE before reading it (a row lock on PostgreSQL, SQLite's write lock), so concurrent
transactions append one after the other and entry ids follow the chain. The purge
(`flask malan purge-audit`) removes only a prefix of the chain and its own entry records the hash
of the last removed entry (an anchor), from which the rest still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.clock import BEIJING
from models.audit import AuditChainHead, AuditLog

GENESIS = "0" * 64
HEAD_ID = 1
# What an entry's hash covers, in this order (never reorder: old hashes would stop matching).
FIELDS = (
    "at",
    "user_id",
    "username",
    "ip",
    "role",
    "org_id",
    "org_name",
    "event",
    "object_type",
    "object_id",
    "summary",
    "changes",
    "success",
)
# The purge's own entry anchors the chain after the entries it removed.
CHECKPOINT_EVENT = "purge_audit"
ANCHOR = "anchor"

_log = AuditLog.__table__
_head = AuditChainHead.__table__


def chain_key() -> bytes:
    config = current_app.config
    if config.get("AUDIT_CHAIN_KEY"):
        return str(config["AUDIT_CHAIN_KEY"]).encode()
    return hmac.new(str(config["SECRET_KEY"]).encode(), b"malan audit chain", "sha256").digest()


def _value(value):
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BEIJING).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if value is None or isinstance(value, (bool, int)):
        return value
    return str(value)


def digest(entry, prev_hash: str, key: bytes) -> str:
    """``entry``: a mapping or an object with the `FIELDS` as attributes."""
    get = entry.get if isinstance(entry, dict) else lambda name: getattr(entry, name, None)
    payload = json.dumps(
        [prev_hash, *(_value(get(name)) for name in FIELDS)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _lock_head(connection) -> str:
    """The head's hash, locked until the end of the transaction."""
    lock = (
        _head.update()
        .where(_head.c.id == HEAD_ID)
        .values(head_hash=_head.c.head_hash)
        .returning(_head.c.head_hash)
    )
    head = connection.execute(lock).scalar()
    if head is None:  # a database built without migration 0007 (tests' create_all)
        if connection.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        connection.execute(
            insert(_head).values(id=HEAD_ID, head_hash=GENESIS).on_conflict_do_nothing()
        )
        head = connection.execute(lock).scalar()
    return head


def seal(connection, entries: list) -> None:
    """Give ``entries`` (dicts for a Core insert, or pending AuditLog objects), in the order they
    will be inserted, their place in the chain; moves the head past them."""
    if not entries:
        return
    key = chain_key()
    head = _lock_head(connection)
    for entry in entries:
        if isinstance(entry, dict):
            entry.setdefault("success", True)
            entry["prev_hash"] = head
            head = entry["row_hash"] = digest(entry, head, key)
        else:
            if entry.success is None:  # the column default, applied here so the hash covers it
                entry.success = True
            entry.prev_hash = head
            head = entry.row_hash = digest(entry, head, key)
    connection.execute(_head.update().where(_head.c.id == HEAD_ID).values(head_hash=head))


# --- verification ----------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str  # "deleted" | "altered" | "inserted"
    entry_id: int | None
    detail: str

    def __str__(self):
        return self.detail


@dataclass
class Report:
    checked: int = 0
    legacy: int = 0  # entries written before the chain existed (migration 0007)
    anchors: int = 0
    problem: Finding | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _anchors(connection) -> set[str]:
    found = set()
    query = select(_log.c.changes).where(
        _log.c.event == CHECKPOINT_EVENT, _log.c.row_hash.is_not(None)
    )
    for (changes,) in connection.execute(query):
        try:
            anchor = json.loads(changes or "{}").get(ANCHOR)
        except (ValueError, AttributeError):
            continue
        if anchor:
            found.add(anchor)
    return found


def _rows(connection) -> Iterable:
    columns = [_log.c.id, *(_log.c[name] for name in FIELDS), _log.c.prev_hash, _log.c.row_hash]
    query = select(*columns).order_by(_log.c.id)
    # Streamed (a server-side cursor on PostgreSQL) for this statement only: options set on the
    # connection would stay on the session's connection for its later statements.
    return connection.execute(query, execution_options={"yield_per": 2000}).mappings()


def verify(connection) -> Report:
    """Walk the whole log in id order; stop at the first entry that is not where the chain says."""
    key = chain_key()
    report = Report()
    anchors = _anchors(connection)
    report.anchors = len(anchors)
    head = connection.execute(select(_head.c.head_hash).where(_head.c.id == HEAD_ID)).scalar()
    expected = None  # the hash the next entry must link to; None: the chain has not started
    last_id = None
    rows = iter(_rows(connection))
    row = next(rows, None)
    while row is not None:
        following = next(rows, None)
        if expected is None and row["row_hash"] is None and row["prev_hash"] is None:
            report.legacy += 1  # before the chain existed
            last_id, row = row["id"], following
            continue
        if expected is None:  # the first chained entry starts the chain or follows a purge
            target = row["prev_hash"] if row["prev_hash"] in anchors | {GENESIS} else None
        else:
            target = expected
        sound = row["row_hash"] is not None and row["prev_hash"] is not None
        sound = sound and hmac.compare_digest(digest(row, row["prev_hash"], key), row["row_hash"])
        if sound and row["prev_hash"] == target:
            report.checked += 1
            expected, last_id, row = row["row_hash"], row["id"], following
            continue
        entry_id = row["id"]
        if sound:
            report.problem = Finding(
                "deleted",
                entry_id,
                f"entries deleted before entry #{entry_id}"
                + (f" (after entry #{last_id})" if last_id else "")
                + ": its link points to an entry that is no longer there",
            )
        elif target is not None and (
            (following is not None and following["prev_hash"] == target)
            or (following is None and head == target)
        ):
            report.problem = Finding(
                "inserted",
                entry_id,
                f"entry #{entry_id} was inserted: it is not part of the chain "
                "(the next entry links past it)",
            )
        else:
            report.problem = Finding(
                "altered",
                entry_id,
                f"entry #{entry_id} was altered: its content does not match its hash",
            )
        return report
    if head is not None and head != (expected or GENESIS):
        report.problem = Finding(
            "deleted",
            None,
            "entries deleted at the end of the log"
            + (f" (after entry #{last_id})" if last_id else "")
            + ": the chain's head is not the last entry",
        )
    return report
