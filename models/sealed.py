"""Secrets kept at rest encrypted (issue 17 point 8): a column type that seals on write and
opens on read, keyed from the app's secret.

Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography`` package) with a key derived from
``SECRET_KEY`` by HKDF-SHA256; each use has its own ``info`` so that one derived key opens one
kind of secret only. A database dump (or a backup) alone no longer yields the initial passwords
of a roster's account sheet or the TOTP secrets; changing ``SECRET_KEY`` makes both unreadable
(reset the second factors; a pending account sheet's accounts get their passwords reset).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

SEALED_LENGTH = 255  # a Fernet token of a secret up to ~100 characters


def _fernet(purpose: str) -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"malan-sealed", info=purpose.encode()
    ).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str, purpose: str) -> str:
    return _fernet(purpose).encrypt(value.encode()).decode("ascii")


def unseal(token: str, purpose: str) -> str | None:
    """The secret, or None when it was sealed with another key (SECRET_KEY changed)."""
    try:
        return _fernet(purpose).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


class Sealed(TypeDecorator):
    """A string column stored sealed: Python code reads and writes the plain value."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value, self.purpose)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value, self.purpose)
