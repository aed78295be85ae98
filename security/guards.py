"""Request guards: forced password change, url_for keywords in the query, security headers, CSP nonce."""

import secrets

from flask import abort, current_app, flash, g, jsonify, request
from flask_babel import gettext as _

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
