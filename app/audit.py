"""Audit: one append-only log for every security event and every data change.

`record()` is called for events that are not row changes (logins, exports, imports, reviews).
`install()` hooks the session so that every create/update/delete of every model is logged in
the same transaction as the change itself — nothing changes without its entry, and a rolled
back change leaves no entry.
"""

import json
from datetime import datetime

from flask import g, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app import clock
from models.audit import AuditLog

# Row tables that are themselves logs or FAB's permission bookkeeping.
NOT_AUDITED = {
    "audit_log",
    "login_session",
    "password_history",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_permission_view_role",
    "ab_register_user",
}
# Bookkeeping columns whose change alone is not an event (a login touches them).
IGNORED_FIELDS = {"last_login", "login_count", "fail_login_count", "changed_on", "created_on",
                  "changed_by_fk", "created_by_fk"}
SECRET_FIELDS = {"password", "password_hash"}
MAX_VALUE = 200


def _actor():
    user = getattr(g, "user", None) if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def _who(user) -> dict:
    if user is None:
        return dict(user_id=None, username=None if has_request_context() else "system",
                    role=None, org_id=None, org_name=None)
    org = user.org
    return dict(user_id=user.id, username=user.username, role=user.role_kind,
                org_id=getattr(org, "id", None), org_name=getattr(org, "name", None))


def _entry(event_name, *, user=None, username=None, now=None, success=True, **fields):
    if user is None and has_request_context():
        # Cached per request: the flush hooks must not lazy-load while flushing.
        if "audit_actor" not in g:
            g.audit_actor = _who(_actor())
        who = dict(g.audit_actor)
    else:
        who = _who(user)
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


def record(session: Session, event_name: str, *, object_type=None, object_id=None, summary="",
           changes=None, success=True, user=None, username=None, now: datetime | None = None):
    """Add one audit entry to ``session``; it is written with the caller's commit."""
    session.add(AuditLog(**_entry(
        event_name, user=user, username=username, now=now, success=success,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        summary=(summary or "")[:512],
        changes=json.dumps(changes, ensure_ascii=False, default=str) if changes else None,
    )))


def _show(key, value):
    if key in SECRET_FIELDS:
        return "******" if value else None
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
                if before != after:
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
    pending = session.info.setdefault("audit_pending", [])
    for kind, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            table = getattr(obj, "__tablename__", None)
            if table is None or table in NOT_AUDITED:
                continue
            if kind == "update" and not session.is_modified(obj, include_collections=True):
                continue
            changes = _changes(obj, kind)
            if kind == "update" and not changes:
                continue
            pending.append((kind, obj, changes))


def _after_flush(session, _ctx):
    pending = session.info.pop("audit_pending", [])
    if not pending:
        return
    rows = []
    for kind, obj, changes in pending:
        pk = inspect(obj).identity
        rows.append(_entry(
            kind,
            object_type=type(obj).__name__,
            object_id=None if pk is None else ",".join(str(p) for p in pk),
            summary=str(obj)[:512],
            changes=json.dumps(changes, ensure_ascii=False, default=str),
        ))
    session.connection().execute(AuditLog.__table__.insert(), rows)


def _after_rollback(session):
    session.info.pop("audit_pending", None)


def install(session_factory) -> None:
    """Hook the audit listeners on the app's session class (idempotent)."""
    if not event.contains(session_factory, "before_flush", _before_flush):
        event.listen(session_factory, "before_flush", _before_flush)
        event.listen(session_factory, "after_flush", _after_flush)
        event.listen(session_factory, "after_soft_rollback", lambda s, _t: _after_rollback(s))
