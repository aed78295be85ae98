"""Upload → preview → confirm: the one place an upload waits between its preview and its
confirmation (the liaison roster, the faculty import, and the error file of a faculty import).

`stage` keeps what the preview showed — the file's bytes, or the checked rows as JSON — for one
user and one kind of import, and returns a short opaque id that the preview page carries.
`take` gives it back to the confirm: only to the same user, only for the same kind, only within
`MAX_AGE`, and exactly once. `peek` reads it without taking it (a file to download again).

Why a table (``staged_upload``) and not files on disk or a signed token:
- Exactly once is decided by the database: `take` is one ``UPDATE … SET consumed_at = now WHERE
  id = … AND user_id = … AND kind = … AND consumed_at IS NULL AND created_at > now - MAX_AGE``.
  Of two confirms at once only one UPDATE matches the row (PostgreSQL makes the second wait for
  the first's row lock, then re-reads the row; SQLite serialises the writes); the other is told
  that the upload was already confirmed. A signed token could be replayed; files needed an atomic
  rename and a folder shared by every worker and host.
- The claim commits on its own, before the import runs: an import of thousands of rows must not
  hold the claim's lock (SQLite would answer the second click "database is locked" instead of
  waiting). So a confirm whose import then fails (the data changed since the preview) has spent
  its upload: the user uploads the file again, which is what the failed re-check asks anyway.
  Never twice is the guarantee; "never lost" costs one more upload in a rare case.
- Taken, a row keeps no data (the rows hold personal data): only the id, the kind, the user and
  the times remain, so that a replayed confirm is told "already confirmed" until the purge.

Purge: every `stage` deletes the rows created more than `MAX_AGE` ago (taken or not), and
``flask malan purge-staged`` does the same for a quiet server (run it daily, like the reminders).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.services.errors import Conflict, DomainError, NotAllowed
from app.services.tx import transaction
from models.staging import StagedUpload

MAX_AGE = timedelta(hours=1)  # a preview confirmed later must be uploaded again
ID_BYTES = 32  # secrets.token_urlsafe(32): 43 characters


class Expired(DomainError):
    """No staged upload of this kind under this id any more: expired, purged, or never made."""


@dataclass(frozen=True)
class Staged:
    id: str
    kind: str
    filename: str
    data: bytes = b""
    meta: dict = field(default_factory=dict)
    created_at: datetime | None = None


def stage(
    kind: str,
    user_id: int,
    now: datetime,
    *,
    filename: str = "",
    data: bytes = b"",
    meta: dict | None = None,
) -> str:
    """Keep an upload (``data``: the file; ``meta``: anything JSON, e.g. the checked rows) for
    ``user_id`` and ``kind``; returns its id. Commits (joins the caller's `transaction()`)."""
    staged_id = secrets.token_urlsafe(ID_BYTES)
    with transaction() as session:
        purge(now)
        session.add(
            StagedUpload(
                id=staged_id,
                kind=kind,
                user_id=user_id,
                filename=(filename or "")[:255],
                data=data or b"",
                meta=json.dumps(meta or {}, ensure_ascii=False, default=str),
                created_at=now,
            )
        )
    return staged_id


def peek(staged_id: str, user_id: int, kind: str, now: datetime) -> Staged | None:
    """The staged upload, left in place: None unless it is this user's, of this kind, in time
    and not yet taken."""
    row = _row(staged_id)
    if (
        row is None
        or (row.kind, row.user_id) != (kind, user_id)
        or row.consumed_at is not None
        or row.created_at <= now - MAX_AGE
    ):
        return None
    return _staged(row)


def take(staged_id: str, user_id: int, kind: str, now: datetime) -> Staged:
    """The staged upload, taken for its one confirmation. Refusals: `NotAllowed` (another
    user's), `Conflict` (already taken, e.g. a double click or a replayed form), `Expired`.

    Call it outside a `transaction()`: the claim then commits at once (see the module's note)."""
    staged_id = str(staged_id or "")[:64]
    claim = (
        update(StagedUpload)
        .where(
            StagedUpload.id == staged_id,
            StagedUpload.user_id == user_id,
            StagedUpload.kind == kind,
            StagedUpload.consumed_at.is_(None),
            StagedUpload.created_at > now - MAX_AGE,
        )
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    )
    try:
        with transaction() as session:
            if session.execute(claim).rowcount == 1:
                row = _row(staged_id)
                staged = _staged(row)
                session.execute(
                    update(StagedUpload)
                    .where(StagedUpload.id == staged_id)
                    .values(data=b"", meta="{}")
                    .execution_options(synchronize_session=False)
                )
                return staged
    except OperationalError:  # SQLite gave up waiting for another writer: nothing was taken
        raise Conflict(_("The server is busy; please confirm again in a moment.")) from None
    raise _refusal(_row(staged_id), user_id, kind)


def purge(now: datetime) -> int:
    """Delete the staged uploads older than `MAX_AGE` (taken or not); how many went."""
    result = db.session.execute(
        delete(StagedUpload)
        .where(StagedUpload.created_at <= now - MAX_AGE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _row(staged_id: str):
    """The row as the database has it now (never a stale object of the session)."""
    return db.session.execute(
        select(
            StagedUpload.id,
            StagedUpload.kind,
            StagedUpload.user_id,
            StagedUpload.filename,
            StagedUpload.data,
            StagedUpload.meta,
            StagedUpload.created_at,
            StagedUpload.consumed_at,
        ).where(StagedUpload.id == str(staged_id or "")[:64])
    ).one_or_none()


def _staged(row) -> Staged:
    return Staged(
        id=row.id,
        kind=row.kind,
        filename=row.filename,
        data=bytes(row.data or b""),
        meta=json.loads(row.meta or "{}"),
        created_at=row.created_at,
    )


def _refusal(row, user_id: int, kind: str) -> DomainError:
    """Why a take found nothing: the first matching reason, in the user's words."""
    if row is None or row.kind != kind:
        return Expired(_("This preview has expired or is unknown: upload the file again."))
    if row.user_id != user_id:
        return NotAllowed(_("This preview belongs to another user."))
    if row.consumed_at is not None:
        return Conflict(
            _(
                "This upload was already confirmed: nothing more was imported. "
                "Upload the file again if needed."
            )
        )
    return Expired(_("This preview has expired or is unknown: upload the file again."))
