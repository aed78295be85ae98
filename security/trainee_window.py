"""A trainee account works only around its class (SPEC §9): from two days before the start until
``TRAINEE_ACCOUNT_DAYS_AFTER`` days (30 by default) after the end.

The class's dates are kept on the account (``MalanUser.class_start/class_end``) by
`app.services.classroom` whenever a trainee is imported, added, moved to a later class or
withdrawn: they are derived from the class, never typed. The sign-in (`security.manager`) and
every signed-in request read them here. A trainee account without class dates (made before the
class module, e.g. by an administrator) is not limited.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, has_app_context

from models.user import TRAINEE

LEAD_DAYS = 2  # Annex 1 row 15: the accounts open two days before the class
DEFAULT_DAYS_AFTER = 30


def days_after() -> int:
    if has_app_context():
        return int(current_app.config.get("TRAINEE_ACCOUNT_DAYS_AFTER", DEFAULT_DAYS_AFTER))
    return DEFAULT_DAYS_AFTER


def window(start: date, end: date, after: int | None = None) -> tuple[date, date]:
    """The first and last day a trainee of a class running ``start``–``end`` may sign in."""
    after = days_after() if after is None else after
    return start - timedelta(days=LEAD_DAYS), end + timedelta(days=after)


def is_open(user, today: date) -> bool:
    """False for a trainee account outside its class's window; True for every other account."""
    if user.role_kind != TRAINEE or not (user.class_start and user.class_end):
        return True
    first, last = window(user.class_start, user.class_end)
    return first <= today <= last
