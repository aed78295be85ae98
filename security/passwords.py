"""Password policy: complexity, history, expiry, random initial passwords (等保 / ASVS L2)."""

import secrets
import string
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from models.user import MalanUser, PasswordHistory


def policy_errors(password: str, user: MalanUser | None = None) -> list[str]:
    """What is wrong with ``password`` for ``user``, as Chinese-catalog messages."""
    errors = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        errors.append(_("The password must have at least %(n)d characters.", n=minimum))
    classes = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    if classes < 3:
        errors.append(
            _("The password must mix at least 3 of: lower-case, upper-case, digits, symbols.")
        )
    lowered = password.lower()
    if user is not None:
        if user.username and user.username.lower() in lowered:
            errors.append(_("The password must not contain the username."))
        if user.mobile and user.mobile in password:
            errors.append(_("The password must not contain the mobile number."))
    return errors


def was_used_before(user: MalanUser, password: str) -> bool:
    """Is ``password`` one of the user's last PASSWORD_HISTORY passwords (the current included)?"""
    keep = current_app.config["PASSWORD_HISTORY"]
    hashes = [user.password] if user.password else []
    hashes += db.session.scalars(
        select(PasswordHistory.password_hash)
        .where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.id.desc())
        .limit(max(keep - len(hashes), 0))
    ).all()
    return any(check_password_hash(h, password) for h in hashes[:keep])


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["FAB_PASSWORD_HASH_METHOD"])


def set_password(user: MalanUser, password: str, now: datetime, *, must_change: bool) -> None:
    """Store a new password; the previous one goes into the history (caller commits)."""
    if user.password and user.id is not None:
        db.session.add(
            PasswordHistory(user_id=user.id, password_hash=user.password, created_at=now)
        )
    user.password = hash_password(password)
    user.password_changed_at = now
    user.must_change_password = must_change
    user.fail_login_count = 0
    user.locked_until = None


def is_expired(user: MalanUser, now: datetime) -> bool:
    if user.is_demo or user.password_changed_at is None:
        return False
    max_age = timedelta(days=current_app.config["PASSWORD_MAX_AGE_DAYS"])
    return now - user.password_changed_at > max_age


def must_change(user: MalanUser, now: datetime) -> bool:
    """An initial, reset or expired password blocks everything but changing it (demo accounts skip)."""
    if user.is_demo:
        return False
    return bool(user.must_change_password) or is_expired(user, now)


def random_password(length: int = 12) -> str:
    """A random password that satisfies the policy (initial and reset passwords)."""
    alphabet = string.ascii_letters + string.digits + "!@#$%&*"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not policy_errors(candidate):
            return candidate
