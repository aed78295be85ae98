"""Audit: one append-only log for every security event and every data change.

`record()` is called for events that are not row changes (logins, exports, imports, reviews).
`install()` hooks the session so that every create/update/delete of every model is logged in
the same transaction as the change itself — nothing changes without its entry, and a rolled
back change leaves no entry.
"""

import json
import re
from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import delete, event, func, inspect, select, text
from sqlalchemy.orm import Session

from app import audit_chain, clock
from app.memo import memo
from models.audit import AuditLog

# Row tables that are themselves logs or FAB's permission bookkeeping.
NOT_AUDITED = {
    "audit_log",
    "audit_chain",
    "login_session",
    "password_history",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_permission_view_role",
    "ab_register_user",
    # Bulk data: thousands of answer rows at a class day's end; their submission is audited.
    "evaluation_answer",
}
# Bookkeeping columns whose change alone is not an event (a login touches them).
IGNORED_FIELDS = {
    "last_login",
    "login_count",
    "fail_login_count",
    "changed_on",
    "created_on",
    "changed_by_fk",
    "created_by_fk",
}
# Values of these never reach the log, only the fact that they changed.
SECRET = re.compile(r"password|passwd|secret|token|api_key|_hash$", re.IGNORECASE)
MASK = "******"
MAX_VALUE = 200


def _actor():
    user = getattr(g, "user", None) if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def _who(user) -> dict:
    if user is None:
        return dict(
            user_id=None,
            username=None if has_request_context() else "system",
            role=None,
            org_id=None,
            org_name=None,
        )
    org = user.org
    return dict(
        user_id=user.id,
        username=user.username,
        role=user.role_kind,
        org_id=getattr(org, "id", None),
        org_name=getattr(org, "name", None),
    )


def _current_who() -> dict:
    """Who is acting in this request, computed once per request and user (`app.memo`)."""
    if not has_request_context():
        return _who(None)
    user = _actor()
    return dict(memo("audit_actor", lambda: _who(user), on=user))


def _entry(event_name, *, user=None, username=None, now=None, success=True, who=None, **fields):
    who = dict(who) if who is not None else _who(user) if user is not None else _current_who()
    if username:
        who["username"] = username
    return dict(
        at=now or clock.now(),
        ip=request.remote_addr if has_request_context() else None,
        event=event_name,
        success=success,
        **who,
        **fields,
    )


def record(
    session: Session,
    event_name: str,
    *,
    object_type=None,
    object_id=None,
    summary="",
    changes=None,
    success=True,
    user=None,
    username=None,
    now: datetime | None = None,
):
    """Add one audit entry to ``session``; it is written with the caller's commit."""
    if changes:
        changes = {
            k: [_show(k, v) for v in pair] if isinstance(pair, (list, tuple)) else _show(k, pair)
            for k, pair in changes.items()
        }
    session.add(
        AuditLog(
            **_entry(
                event_name,
                user=user,
                username=username,
                now=now,
                success=success,
                object_type=object_type,
                object_id=None if object_id is None else str(object_id),
                summary=(summary or "")[:512],
                changes=json.dumps(changes, ensure_ascii=False, default=str) if changes else None,
            )
        )
    )


def record_export(
    session: Session, object_type: str, rows: int, filters: str = "", *, now: datetime | None = None
) -> None:
    """Every download of data leaves an entry: what, how many rows, under which filters."""
    summary = f"{rows} rows" + (f"; {filters}" if filters else "")
    record(session, "export", object_type=object_type, summary=summary, now=now)


def record_import(
    session: Session,
    object_type: str,
    rows: int,
    *,
    errors: int = 0,
    filename: str = "",
    now: datetime | None = None,
) -> None:
    """Every import leaves an entry, a refused one too: record it after rolling the rows back."""
    summary = (
        f"{filename}: {rows} rows, {errors} errors" if filename else f"{rows} rows, {errors} errors"
    )
    record(
        session, "import", object_type=object_type, summary=summary, success=errors == 0, now=now
    )


def record_refusals(response):
    """After a request refused with 403/404 because an id it named lies outside the user's scope
    (noted by `security.scope.ScopedSQLAInterface.get`): one entry, with the path. Anything the
    refused request left in the session is dropped first, as a refusal keeps nothing."""
    refusals = g.pop("malan_scope_refusals", None)
    if not refusals or response.status_code not in (403, 404) or _actor() is None:
        return response
    from app.extensions import db

    db.session.rollback()
    object_type, object_id = refusals[0]
    path = request.full_path.rstrip("?")
    record(
        db.session,
        "access_refused",
        object_type=object_type,
        object_id=object_id,
        summary=f"{request.method} {path}"[:512],
        success=False,
    )
    db.session.commit()
    return response


def purge(session: Session, cutoff: datetime, *, now: datetime | None = None) -> int:
    """Delete the entries older than ``cutoff`` that open the chain (its prefix: an old entry
    written after a younger one waits for a later purge), and record the purge with the hash of
    the last entry removed — the anchor from which `audit_chain.verify` checks the rest.
    Run as the schema's owner: the web app's role may not delete from the log at all."""
    log = AuditLog.__table__
    first_kept = session.scalar(select(func.min(log.c.id)).where(log.c.at >= cutoff))
    last = select(log.c.id, log.c.row_hash).order_by(log.c.id.desc()).limit(1)
    if first_kept is not None:
        last = last.where(log.c.id < first_kept)
    last = session.execute(last).first()
    purged = 0
    if last is not None:
        if session.get_bind().dialect.name == "postgresql":  # the append-only trigger's switch
            session.execute(text("SET LOCAL malan.audit_purge = 'on'"))
        purged = session.execute(delete(AuditLog).where(AuditLog.id <= last.id)).rowcount
    record(
        session,
        audit_chain.CHECKPOINT_EVENT,
        summary=f"{purged} entries before {cutoff:%Y-%m-%d}",
        changes=(
            {"purged": purged, "through_entry": last.id, audit_chain.ANCHOR: last.row_hash}
            if last is not None
            else None
        ),
        now=now,
    )
    return purged


def _show(key, value):
    if SECRET.search(key):
        return MASK if value else None
    if isinstance(value, (list, tuple, set)):
        value = [str(v) for v in value]
    text = value if value is None or isinstance(value, (int, float, bool)) else str(value)
    return text[:MAX_VALUE] if isinstance(text, str) else text


def _changes(obj, kind):
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED_FIELDS:
            continue
        value = getattr(obj, key, None)
        if kind == "create" and value is not None:
            out[key] = [None, _show(key, value)]
        elif kind == "delete" and value is not None:
            out[key] = [_show(key, value), None]
        elif kind == "update":
            hist = state.attrs[key].history
            if hist.has_changes():
                before = hist.deleted[0] if hist.deleted else None
                after = hist.added[0] if hist.added else None
                # A form turning an empty NULL into "" is not a change anyone made.
                if before != after and not (before in (None, "") and after in (None, "")):
                    out[key] = [_show(key, before), _show(key, after)]
    if kind == "update":  # many-to-many collections such as a user's roles
        for rel in state.mapper.relationships:
            if rel.secondary is None or rel.viewonly:
                continue
            hist = state.attrs[rel.key].history
            if hist.added or hist.deleted:
                out[rel.key] = [[str(v) for v in hist.deleted], [str(v) for v in hist.added]]
    return out


def _before_flush(session, _ctx, _instances):
    # Entries added by `record()` take their place in the chain before they are inserted, in the
    # order they were added (the order the flush inserts them).
    entries = [obj for obj in session.new if isinstance(obj, AuditLog)]
    if entries:
        entries.sort(key=lambda obj: inspect(obj).insert_order)
        audit_chain.seal(session.connection(), entries)
    pending = session.info.setdefault("audit_pending", [])
    for kind, objs in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objs:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in NOT_AUDITED:
                continue
            if kind == "update" and not session.is_modified(obj, include_collections=True):
                continue
            # A new row's foreign keys and id are only known after the flush: read it then.
            changes = None if kind == "create" else _changes(obj, kind)
            if kind == "update" and not changes:
                continue
            pending.append((kind, obj, changes))
    if pending and "audit_who" not in session.info:
        # Resolved here, not while flushing: the actor's org may need a lazy load.
        session.info["audit_who"] = _current_who()


def _after_flush(session, _ctx):
    pending = session.info.pop("audit_pending", [])
    who = session.info.pop("audit_who", None)
    if not pending:
        return
    rows = []
    for kind, obj, changes in pending:
        changes = _changes(obj, kind) if changes is None else changes
        # Not `identity`: a new row gets its identity key only after this hook.
        pk = inspect(obj).mapper.primary_key_from_instance(obj)
        rows.append(
            _entry(
                kind,
                who=who,
                object_type=type(obj).__name__,
                object_id=None if None in pk else ",".join(str(p) for p in pk),
                summary=str(obj)[:512],
                changes=json.dumps(changes, ensure_ascii=False, default=str),
            )
        )
    connection = session.connection()
    audit_chain.seal(connection, rows)
    connection.execute(AuditLog.__table__.insert(), rows)


def _after_rollback(session):
    session.info.pop("audit_pending", None)
    session.info.pop("audit_who", None)


def install(session_factory) -> None:
    """Hook the audit listeners on the app's session class (idempotent)."""
    if not event.contains(session_factory, "before_flush", _before_flush):
        event.listen(session_factory, "before_flush", _before_flush)
        event.listen(session_factory, "after_flush", _after_flush)
        event.listen(session_factory, "after_soft_rollback", lambda s, _t: _after_rollback(s))
