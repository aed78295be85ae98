"""Password policy: complexity, strength, history, minimum and maximum age, random initial
passwords (等保 / ASVS L2)."""

import secrets
import string
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from pypinyin import Style, lazy_pinyin
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

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


# Words an attacker of this platform tries first, beside zxcvbn's own lists of common passwords,
# names and keyboard walks: the platform's names (pinyin, initials, Chinese), the demo password
# (app.services.demo.DEMO_PASSWORD; a unit test keeps the two equal) and common Chinese picks.
CONTEXT_WORDS = (
    "malan",
    "malanhua",
    "马兰花",
    "mlh",
    "mlhpx",
    "chuangye",
    "peixun",
    "chuangyepeixun",
    "马兰花创业培训",
    "Malan@demo2026",
    "woaini",
    "5201314",
    "1314520",
    "zhongguo",
    "beijing",
    "admin",
)
STRENGTH_INPUT_MAX = 100  # zxcvbn's time grows with length; a longer password is strong anyway


def context_words(user: MalanUser | None) -> list[str]:
    """The platform's words and the user's own: username, name (characters, pinyin and its
    initials), org code, mobile."""
    words = list(CONTEXT_WORDS)
    if user is None:
        return words
    words += [w for w in (user.username, user.mobile) if w]
    name = f"{user.first_name or ''}{user.last_name or ''}".strip()
    if name:
        syllables = lazy_pinyin(name)
        initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
        words += [name, "".join(syllables), initials, *syllables]
        if len(syllables) > 1:  # 张三丰: zhang, sanfeng
            words.append("".join(syllables[1:]))
    org = getattr(user, "org", None)
    if org is not None and org.code:
        words.append(org.code)
    return words


def strength_errors(password: str, user: MalanUser | None = None) -> list[str]:
    """Refuse a guessable password: zxcvbn's score (0-4) below PASSWORD_MIN_SCORE."""
    minimum = current_app.config["PASSWORD_MIN_SCORE"]
    result = zxcvbn(password[:STRENGTH_INPUT_MAX], user_inputs=context_words(user))
    if result["score"] >= minimum:
        return []
    return [
        _(
            "This password is too easy to guess (a common password, a name, a keyboard pattern "
            "or the platform's name). Choose a longer, less predictable one."
        )
    ]


def new_password_errors(password: str, user: MalanUser | None = None) -> list[str]:
    """Everything wrong with ``password`` as a new password: complexity, then strength."""
    return policy_errors(password, user) or strength_errors(password, user)


def changed_too_recently(user: MalanUser, now: datetime) -> bool:
    """Its owner changed the password less than PASSWORD_MIN_AGE_DAYS ago (the history of
    PASSWORD_HISTORY could otherwise be cycled in a minute). A forced change (initial, reset or
    expired password) is never held back."""
    days = current_app.config["PASSWORD_MIN_AGE_DAYS"]
    if days <= 0 or must_change(user, now) or user.password_changed_at is None:
        return False
    return now - user.password_changed_at < timedelta(days=days)


def may_change_after(user: MalanUser) -> datetime:
    return user.password_changed_at + timedelta(days=current_app.config["PASSWORD_MIN_AGE_DAYS"])


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
        if not new_password_errors(candidate):
            return candidate
