"""Clear Chinese pages for 4xx errors and a CSRF failure; never a bare stack trace."""

import math
import time

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError

MESSAGES = {
    400: lambda: _("The request was not understood."),
    403: lambda: _("You do not have permission for this."),
    404: lambda: _("Not found, or outside your area of responsibility."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("The upload is too large."),
    429: lambda: _("Too many attempts. Please wait a minute and try again."),
}


# A rate limit's window in words ("5 per hour": 1 小时), so a refused visitor knows how long.
WINDOW_UNITS = {
    "second": _l("%(n)d second(s)"),
    "minute": _l("%(n)d minute(s)"),
    "hour": _l("%(n)d hour(s)"),
    "day": _l("%(n)d day(s)"),
    "month": _l("%(n)d month(s)"),
    "year": _l("%(n)d year(s)"),
}


# The sign-in budgets counted per account (security.throttle): the message names the account,
# not the network, so a classroom knows its neighbours are not the cause.
ACCOUNT_SCOPES = ("malan-sign-in-account", "malan-sign-in-ip-account")


def wait_words(seconds: int) -> str:
    """A wait in words: seconds under a minute, else whole minutes rounded up (2 分钟)."""
    if seconds < 60:
        return str(WINDOW_UNITS["second"]) % {"n": seconds}
    return str(WINDOW_UNITS["minute"]) % {"n": -(-seconds // 60)}


def too_many_message(error) -> str:
    """The 429 page states the limit that was hit (how many attempts per which window) and how
    long to wait before the next attempt goes through."""
    limit = getattr(error, "limit", None)
    item = getattr(limit, "limit", None)
    unit = WINDOW_UNITS.get(getattr(getattr(item, "GRANULARITY", None), "name", None))
    if unit is None:
        return MESSAGES[429]()
    if getattr(limit, "scope", None) in ACCOUNT_SCOPES:
        message = _(
            "Too many sign-in attempts for this account: at most %(n)d per %(window)s.",
            n=item.amount,
            window=str(unit) % {"n": item.multiples},
        )
    else:
        message = _(
            "Too many attempts: at most %(n)d per %(window)s are accepted from one network. "
            "Please try again later.",
            n=item.amount,
            window=str(unit) % {"n": item.multiples},
        )
    current = current_app.extensions.get("limiter")
    seconds = _seconds_to_wait(current)
    if seconds is not None:
        message += " " + _("Please wait %(wait)s before trying again.", wait=wait_words(seconds))
    return message


def _seconds_to_wait(limiters) -> int | None:
    """Seconds until the limit just hit lets the next attempt through (at least 1)."""
    for limiter in limiters if isinstance(limiters, (set, list, tuple)) else [limiters]:
        current = getattr(limiter, "current_limit", None)
        if current is not None and current.breached:
            return max(1, math.ceil(current.reset_at - time.time()))
    return None


def _too_many(error):
    message = too_many_message(error)
    auth = getattr(current_app.appbuilder.sm, "auth_view", None)
    signing_in = auth is not None and request.endpoint in (
        f"{auth.endpoint}.login",
        f"{auth.endpoint}.code",
    )
    if signing_in:  # the sign-in form again, with the wait, so nobody is left on a dead end
        if "user" not in g:
            g.user = current_user
        return auth.throttled(message), 429
    return _page(429, message)


def _page(code, message):
    if request.path.startswith("/api/"):
        return jsonify(message=message), code
    appbuilder = current_app.appbuilder
    if "user" not in g:  # a CSRF failure stops the request before FAB sets g.user for the navbar
        g.user = current_user
    return render_template(
        "error.html",
        code=code,
        message=message,
        appbuilder=appbuilder,
        base_template=appbuilder.base_template,
    ), code


def _rollback():
    from app.extensions import db

    db.session.rollback()


def register(app) -> None:
    for code, message in MESSAGES.items():
        app.register_error_handler(code, lambda e, c=code, m=message: _page(c, m()))
    app.register_error_handler(429, _too_many)

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return _page(
            400,
            _(
                "The form has expired or was not sent from this site. Please reload the page and try again."
            ),
        )

    @app.errorhandler(DataError)
    @app.errorhandler(
        OverflowError
    )  # SQLite's driver refuses an id beyond 64 bits before the query
    def data_error(_e):
        # The database refused a value (too long, out of range, malformed id): nothing is kept.
        _rollback()
        return _page(400, _("A value is too long or not valid. Nothing was saved."))

    @app.errorhandler(500)
    def server_error(_e):
        _rollback()
        return _page(
            500, _("Something went wrong on our side; nothing was saved. Please try again later.")
        )
