"""Services own the transaction: one helper commits a unit of work or rolls all of it back.

``with transaction():`` around a service's writes commits when the block ends and rolls back
when it raises. Blocks nest: only the outermost one commits, so a service that calls another
(a review decision and what its kind does on approval) is still one transaction. A lost
optimistic-lock race (SQLAlchemy's version counter) becomes a `Conflict` with the message the
caller chose, or a generic "changed since you opened it".
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.services.errors import Conflict

_DEPTH = "malan_tx_depth"


@contextmanager
def transaction(on_conflict: Callable[[], Exception] | None = None):
    session = db.session
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except StaleDataError:
        session.rollback()
        if on_conflict is not None:
            raise on_conflict() from None
        raise Conflict(_("This record has changed since you opened it. Reload the page.")) from None
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = depth


def in_transaction() -> bool:
    """True inside a `transaction()` block (a service may then leave the commit to its caller)."""
    return db.session.info.get(_DEPTH, 0) > 0
