"""Request guards: forced password change, url_for keywords in the query, security headers, CSP nonce."""

import json
import re
import secrets

import prison
from flask import abort, current_app, flash, g, jsonify, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict

from app import clock
from security import passwords
from security.views import redirect_to_change_password

# Endpoints a user whose password must change can still reach.
OPEN_WHILE_FORCED = {
    "ChangePasswordView.change",
    "MalanAuthDBView.logout",
    "MalanAuthDBView.login",
    "LanguageView.index",
}


def must_change_password(user) -> bool:
    return passwords.must_change(user, clock.now())


def force_password_change():
    user = getattr(g, "user", None)
    if user is None or not user.is_authenticated:
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_WHILE_FORCED or endpoint.endswith("static"):
        return None
    if not must_change_password(user):
        return None
    message = _("Please change your password before continuing.")
    if request.path.startswith("/api/"):
        return jsonify(message=message), 403
    flash(message, "warning")
    return redirect_to_change_password()


def accepts_uploads(view_function):
    """Marks a view that takes attachments: only these get the large request-body limit."""
    view_function.accepts_uploads = True
    return view_function


def allow_large_uploads():
    """Runs before every other hook (CSRF reads the form first): a marked view may receive up to
    MAX_UPLOAD_LENGTH; everything else, the public pages included, stays at MAX_CONTENT_LENGTH."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "accepts_uploads", False):
        request.max_content_length = current_app.config["MAX_UPLOAD_LENGTH"]


# url_for's own keywords. Templates (FAB's too) pass the query string on to url_for to build the
# page, sort and export links: an argument with one of these names would make that call fail
# (a 500) or build absolute links on the request's Host header.
URL_FOR_KEYWORDS = frozenset({"endpoint", "_external", "_anchor", "_method", "_scheme"})


def refuse_url_for_keywords():
    if URL_FOR_KEYWORDS.intersection(request.args.keys()):
        abort(400)


# FAB's list arguments: page_<View>, psize_<View> (parsed with int(), anywhere in the name, as
# FAB's own regex does) and _oc_<View> (a column name used to sort).
_PAGE_ARG = re.compile(r"(?:page|psize)_")
_SORT_ARG = re.compile(r"_oc_(.*)")
_NUMBER = re.compile(r"[0-9]{1,9}")


def _views_by_name() -> dict:
    views = current_app.extensions.get("malan_views_by_name")
    if views is None:
        views = current_app.extensions["malan_views_by_name"] = {
            type(v).__name__: v for v in current_app.appbuilder.baseviews
        }
    return views


def bounded_list_args():
    """Every list answers a page of at most MAX_PAGE_SIZE rows, and a malformed page, page size
    or sort column is a 400 instead of FAB's 500 (int("abc"), a division by a page size of 0,
    ordering by an unknown attribute): a page size above the cap is read as the cap."""
    cap = current_app.config["MAX_PAGE_SIZE"]
    capped = False
    args = []
    for name, value in request.args.items(multi=True):
        if _PAGE_ARG.search(name):
            if not _NUMBER.fullmatch(value):
                abort(400)
            if "psize_" in name:
                if int(value) < 1:
                    abort(400)
                if int(value) > cap:
                    value, capped = str(cap), True
        sort = _SORT_ARG.search(name)
        if sort:
            view = _views_by_name().get(sort.group(1))
            if view is not None and value not in (getattr(view, "order_columns", None) or ()):
                abort(400)
        args.append((name, value))
    if capped:
        request.args = ImmutableMultiDict(args)
    if request.path.startswith("/api/") and "q" in request.args:
        _refuse_bad_rison(request.args["q"])


def _refuse_bad_rison(value: str) -> None:
    """The REST API's ``?q=``: FAB answers 400 to most bad rison, but some (``(((((``) send the
    parser into a RecursionError, a 500. Parsed once here, bounded; anything odd is a 400."""
    if len(value) > 4096:
        abort(400)
    try:
        prison.loads(value)
    except Exception:  # noqa: BLE001 - prison raises anything from ParserException to RecursionError
        try:
            json.loads(value)  # FAB also accepts JSON there
        except ValueError:
            abort(400)


def csp_nonce() -> str:
    """Per-request nonce; FAB's templates put it on every <script> they emit."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def security_headers(response):
    nonce = csp_nonce()
    # Nothing of ours may be framed, except a response that says so (the course library's
    # preview of a PDF, framed by our own resource page).
    framing = "'self'" if getattr(response, "frame_same_origin", False) else "'none'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "  # FAB's markup uses style attributes
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {framing}"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN" if framing == "'self'" else "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    config = current_app.config
    if config["SESSION_COOKIE_SECURE"] or request.is_secure:
        response.headers["Strict-Transport-Security"] = f"max-age={config['HSTS_MAX_AGE']}"
    if response.mimetype == "text/html" and _signed_in():
        # A signed-in page (lists, full ID numbers) stays in no cache, the browser's included.
        response.headers["Cache-Control"] = "no-store"
    return response


def _signed_in() -> bool:
    user = g.get("user")
    return user is not None and getattr(user, "is_authenticated", False)
