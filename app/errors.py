"""Clear Chinese pages for 4xx errors and a CSRF failure; never a bare stack trace."""

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
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
