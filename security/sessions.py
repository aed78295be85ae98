"""Server-side login sessions: idle and absolute timeouts, logout and disabling end them.

The Flask cookie only carries a random token; the row in ``login_session`` decides whether it
is still valid, so a copied or old cookie is worthless once the row is ended.
"""

import secrets
from datetime import datetime, timedelta

from flask import current_app, request, session
from sqlalchemy import update

from app.extensions import db
from models.user import LoginSession

SESSION_KEY = "malan_sid"
TOUCH_EVERY = timedelta(seconds=60)  # write last_seen at most once a minute


def start(user, now: datetime) -> None:
    session.clear()  # a fresh session at login: no fixation
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(token=token, user_id=user.id, created_at=now, last_seen_at=now,
                                ip=request.remote_addr))
    session[SESSION_KEY] = token
    session.permanent = True


def _limits():
    cfg = current_app.config
    return (timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]))


def validate(user_id: int, now: datetime) -> bool:
    """Is the cookie's session alive for ``user_id``? Ends it when a timeout has passed."""
    token = session.get(SESSION_KEY)
    if not token:
        return False
    row = db.session.query(LoginSession).filter_by(token=token).one_or_none()
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return False
    idle, absolute = _limits()
    reason = "idle" if now - row.last_seen_at > idle else "absolute" if now - row.created_at > absolute else None
    if reason:
        row.ended_at, row.end_reason = now, reason
        db.session.commit()
        return False
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return True


def end_current(now: datetime, reason: str = "logout") -> None:
    token = session.pop(SESSION_KEY, None)
    if token:
        db.session.execute(update(LoginSession).where(LoginSession.token == token,
                                                      LoginSession.ended_at.is_(None))
                           .values(ended_at=now, end_reason=reason))


def end_all(user_id: int, now: datetime, reason: str) -> None:
    """End every open session of a user (disabled, password reset); the caller commits."""
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                  LoginSession.ended_at.is_(None))
                       .values(ended_at=now, end_reason=reason))
