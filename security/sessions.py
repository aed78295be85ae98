"""Server-side login sessions: idle and absolute timeouts, logout and disabling end them.

The Flask cookie only carries a random token; the row in ``login_session`` decides whether it
is still valid, so a copied or old cookie is worthless once the row is ended. The cookie also
carries the account's token version it was started under: `revoke_all` moves the version on and
every session and API token of the account dies with it (issue 17 point 4).
"""

import secrets
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import update
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from models.user import LoginSession, MalanUser

SESSION_KEY = "malan_sid"
VERSION_KEY = "malan_ver"  # the account's token_version this session was started under
TOUCH_EVERY = timedelta(seconds=60)  # write last_seen at most once a minute


def start(user, now: datetime) -> None:
    session.clear()  # a fresh session at login: no fixation
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            token=token, user_id=user.id, created_at=now, last_seen_at=now, ip=request.remote_addr
        )
    )
    session[SESSION_KEY] = token
    session[VERSION_KEY] = user.token_version or 0
    session.permanent = True


def _limits():
    cfg = current_app.config
    return (
        timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
        timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]),
    )


def check(user, now: datetime) -> str | None:
    """Why the cookie's session is not alive for ``user`` (None: it is alive).

    ``idle``, ``absolute`` and ``revoked`` end the row, so the same cookie never comes back.
    """
    token = session.get(SESSION_KEY)
    if not token:
        return "missing"
    row = db.session.query(LoginSession).filter_by(token=token).one_or_none()
    if row is None or row.user_id != user.id or row.ended_at is not None:
        session.pop(SESSION_KEY, None)
        return "ended"
    idle, absolute = _limits()
    reason = (
        "revoked"
        if session.get(VERSION_KEY) != (user.token_version or 0)
        else "idle"
        if now - row.last_seen_at > idle
        else "absolute"
        if now - row.created_at > absolute
        else None
    )
    if reason:
        row.ended_at, row.end_reason = now, reason
        db.session.commit()
        session.pop(SESSION_KEY, None)
        return reason
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return None


def end_current(now: datetime, reason: str = "logout") -> None:
    token = session.pop(SESSION_KEY, None)
    if token:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.token == token, LoginSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )


def end_all(user_id: int, now: datetime, reason: str) -> None:
    """End every open session of a user (disabled, password reset); the caller commits."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def revoke_all(user_id: int, now: datetime, reason: str, *, keep_current: bool = False) -> int:
    """End every session and API token of the account (logout, password change or reset, lock,
    disabling, second-factor reset): the token version moves on, so a JWT or a session cookie
    issued before stops working on its next request. ``keep_current`` keeps this request's own
    session (the user who just changed the password). Returns the new version; caller commits."""
    version = db.session.execute(
        update(MalanUser.__table__)
        .where(MalanUser.__table__.c.id == user_id)
        .values(token_version=MalanUser.__table__.c.token_version + 1)
        .returning(MalanUser.__table__.c.token_version)
    ).scalar_one()
    user = db.session.identity_map.get(identity_key(MalanUser, user_id))
    if user is not None:
        db.session.expire(user, ["token_version"])
    if keep_current and session.get(SESSION_KEY):
        end_others(user_id, now, reason)
        session[VERSION_KEY] = version
    else:
        end_all(user_id, now, reason)
    return version


def end_others(user_id: int, now: datetime, reason: str) -> None:
    """End every session of a user but this one (after a password change); the caller commits."""
    db.session.execute(
        update(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.ended_at.is_(None),
            LoginSession.token != session.get(SESSION_KEY, ""),
        )
        .values(ended_at=now, end_reason=reason)
    )


def cap_lifetimes(config) -> None:
    """Neither Flask's permanent-session cookie, a remember-me cookie nor an API refresh token
    may outlive the absolute limit: they expire with it, and remember-me is off."""
    absolute = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, timedelta):  # Flask also accepts seconds
        lifetime = timedelta(seconds=lifetime)
    config["PERMANENT_SESSION_LIFETIME"] = min(lifetime, absolute)
    config["REMEMBER_COOKIE_DURATION"] = timedelta(seconds=0)
    refresh = config.get("JWT_REFRESH_TOKEN_EXPIRES")
    if not isinstance(refresh, timedelta) or refresh > absolute:  # the API's refresh token too
        config["JWT_REFRESH_TOKEN_EXPIRES"] = absolute


class CookieInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when configured so or when the request came over HTTPS
    (behind a proxy that needs ProxyFix to tell)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(
            app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure)
        )
