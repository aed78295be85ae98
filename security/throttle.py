"""Sign-in throttling for shared networks (issue 15 point 8).

A classroom of trainees or an office behind one NAT address shares one IP: a tight per-IP budget
locks the whole room out. So attempts are counted per account and per (IP, account), with the
database lockout (`security.lockout`) behind them for wrong passwords, and per IP only against a
ceiling far above what a classroom needs. The budgets are settings:

- ``SIGN_IN_LIMIT_PER_ACCOUNT`` (60 per hour): one account, from anywhere;
- ``SIGN_IN_LIMIT_PER_IP_ACCOUNT`` (10 per minute): one account from one address;
- ``AUTH_RATE_LIMIT`` (600 per hour): everything from one address.

Counted in the ``RATELIMIT_STORAGE_URI`` store, so every worker sees the same counts.
"""

from flask import current_app, request, session
from flask_limiter.util import get_remote_address

PENDING_KEY = "malan_2fa"  # security.views: the right password was given, the code is due


def account_key() -> str:
    """The account an attempt is for: the typed username (form or JSON), or the account whose
    second factor is due. Case and spaces do not make a new account."""
    name = request.form.get("username")
    if name is None and request.is_json:
        payload = request.get_json(silent=True)
        name = payload.get("username") if isinstance(payload, dict) else None
    if isinstance(name, str) and name.strip():
        return "name:" + name.strip().lower()[:128]
    pending = session.get(PENDING_KEY)
    if isinstance(pending, dict) and pending.get("uid") is not None:
        return f"uid:{pending['uid']}"
    return ""


def ip_account_key() -> str:
    return f"{get_remote_address()}|{account_key()}"


def _no_account() -> bool:
    # A post without an account name checks no password: only the per-IP ceiling applies.
    return account_key() == ""


def apply(limiter, blueprints, logout_endpoint: str) -> None:
    """Put the three budgets on the sign-in doors (POST only; signing out is not an attempt)."""

    def signing_out() -> bool:
        return request.endpoint == logout_endpoint

    budgets = (
        ("AUTH_RATE_LIMIT", "malan-sign-in", None, signing_out),
        (
            "SIGN_IN_LIMIT_PER_ACCOUNT",
            "malan-sign-in-account",
            account_key,
            lambda: signing_out() or _no_account(),
        ),
        (
            "SIGN_IN_LIMIT_PER_IP_ACCOUNT",
            "malan-sign-in-ip-account",
            ip_account_key,
            lambda: signing_out() or _no_account(),
        ),
    )
    for setting, scope, key_func, exempt in budgets:
        shared = limiter.shared_limit(
            lambda s=setting: current_app.config[s],
            scope=scope,
            key_func=key_func,
            methods=["POST"],
            exempt_when=exempt,
        )
        for blueprint in blueprints:
            shared(blueprint)
