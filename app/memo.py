"""One per-request memo: a value computed once per request and kept on ``flask.g``.

Why ``g``: production pushes a new app context, hence a new ``g``, for every request, so what is
kept there lives exactly one request (the tests hold one app context for the whole session and
empty ``g`` before each request the same way: `tests.conftest._fresh_g`).

Why ``on``: an app context can outlive a request (tests, a CLI job that opens request contexts)
and the JWT API sets ``g.user`` only after the before-request hooks ran, so a value that depends
on the user (its scope, its grants, its unread count) is kept together with what it was computed
for and computed again when that changes — never one user's value handed to another.

Outside a request nothing is kept: a CLI job or a worker computes each time (it has no request
to bound the value's life, and the data may change under it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, has_request_context

T = TypeVar("T")
_SLOT = "malan_memo"  # one dict on g: {key: (on, value)}
_NOTHING = object()


def memo(key: str, compute: Callable[[], T], on: Any = None) -> T:
    """``compute()``, once per request for ``key`` and ``on`` (what the value depends on: the
    user, its roles…; compared by identity, then equality)."""
    if not has_request_context():
        return compute()
    store = g.setdefault(_SLOT, {})
    kept_on, value = store.get(key, (None, _NOTHING))
    if value is _NOTHING or not (kept_on is on or kept_on == on):
        value = compute()
        store[key] = (on, value)
    return value


def forget(key: str) -> None:
    """Drop ``key``'s value: the request changed what it was computed from."""
    if has_request_context():
        g.get(_SLOT, {}).pop(key, None)
