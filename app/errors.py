"""Clear Chinese pages for 4xx errors and a CSRF failure; never a bare stack trace."""

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


def too_many_message(error) -> str:
    """The 429 page states the limit that was hit: how many attempts per which window."""
    item = getattr(getattr(error, "limit", None), "limit", None)
    unit = WINDOW_UNITS.get(getattr(getattr(item, "GRANULARITY", None), "name", None))
    if unit is None:
        return MESSAGES[429]()
    return _(
        "Too many attempts: at most %(n)d per %(window)s are accepted from one network. "
        "Please try again later.",
        n=item.amount,
        window=str(unit) % {"n": item.multiples},
    )


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
    app.register_error_handler(429, lambda e: _page(429, too_many_message(e)))

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
