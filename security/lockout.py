"""Failed sign-ins counted in the database, atomically (issue 17 point 1).

Each failure is one ``UPDATE … SET fail_login_count = fail_login_count + 1 … RETURNING``: the
database orders concurrent failures (PostgreSQL row lock, SQLite's single writer), so the account
locks on exactly the LOCKOUT_THRESHOLD-th failure however many arrive at once, through the form,
the second-factor step or the API login. A success is one UPDATE too, refused while locked.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, or_, select, update

from app.extensions import db
from models.user import MalanUser

_user = MalanUser.__table__


@dataclass(frozen=True)
class Failure:
    count: int  # this failure's number since the last success (0 when the account was locked)
    locked_until: datetime | None  # set when the account is locked (by this failure or before)
    locks_now: bool  # this very failure locked the account


def _not_locked(now: datetime):
    return or_(_user.c.locked_until.is_(None), _user.c.locked_until <= now)


def _forget(user_id: int, *names: str) -> None:
    """The row changed under the ORM: its loaded object must read the columns again."""
    from sqlalchemy.orm.util import identity_key

    user = db.session.identity_map.get(identity_key(MalanUser, user_id))
    if user is not None:
        db.session.expire(user, list(names))


def locked_until(user_id: int, now: datetime) -> datetime | None:
    until = db.session.scalar(select(_user.c.locked_until).where(_user.c.id == user_id))
    return until if until is not None and until > now else None


def record_failure(user_id: int, now: datetime) -> Failure:
    """Count one failed attempt; lock the account when it reaches the threshold. Caller commits."""
    cfg = current_app.config
    threshold = cfg["LOCKOUT_THRESHOLD"]
    count = func.coalesce(_user.c.fail_login_count, 0) + 1
    reaches = count >= threshold
    until = now + timedelta(minutes=cfg["LOCKOUT_MINUTES"])
    row = db.session.execute(
        update(_user)
        .where(_user.c.id == user_id, _not_locked(now))
        .values(
            fail_login_count=case((reaches, 0), else_=count),
            locked_until=case((reaches, until), else_=_user.c.locked_until),
        )
        .returning(_user.c.fail_login_count, _user.c.locked_until)
    ).first()
    _forget(user_id, "fail_login_count", "locked_until")
    if row is None:  # locked already (maybe by a concurrent failure a moment ago)
        return Failure(0, locked_until(user_id, now), False)
    if row.locked_until is not None and row.locked_until > now:
        return Failure(threshold, row.locked_until, True)
    return Failure(row.fail_login_count, None, False)


def record_success(user_id: int, now: datetime) -> bool:
    """Reset the count and note the login, unless the account is locked. Caller commits."""
    done = db.session.execute(
        update(_user)
        .where(_user.c.id == user_id, _not_locked(now))
        .values(
            fail_login_count=0,
            login_count=func.coalesce(_user.c.login_count, 0) + 1,
            last_login=now,
        )
        .returning(_user.c.id)
    ).first()
    _forget(user_id, "fail_login_count", "login_count", "last_login")
    return done is not None
