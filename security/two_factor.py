"""TOTP second factor with single-use recovery codes (等保三级 身份鉴别, issue 17 point 7).

Required for the roles of TWO_FACTOR_REQUIRED_ROLES (demo accounts excepted: they exist only in
a demo database), optional for the others. A code is accepted once: the time step it belongs
to is claimed with one conditional UPDATE, so the same code (or an older one) is refused even
when two requests carry it at once. Recovery codes are stored as keyed hashes (HMAC with the
SECRET_KEY) and spent with one conditional UPDATE as well. Time is a parameter (``now``, naive
Beijing time as everywhere in the app).
"""

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from app import audit
from app.clock import BEIJING
from app.extensions import db
from models.user import MalanUser, RecoveryCode

STEP_SECONDS = 30
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def is_required(user: MalanUser) -> bool:
    return not user.is_demo and user.role_kind in current_app.config["TWO_FACTOR_REQUIRED_ROLES"]


def is_enrolled(user: MalanUser) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def needs_code(user: MalanUser) -> bool:
    """Does signing in take a second step (a code, or enrolment first)?"""
    return is_enrolled(user) or is_required(user)


def time_step(now: datetime) -> int:
    return int(now.replace(tzinfo=BEIJING).timestamp()) // STEP_SECONDS


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at ``now`` (tests use it to play the user's phone)."""
    return pyotp.TOTP(secret).generate_otp(time_step(now))


# ---------------------------------------------------------------- enrolment


def pending_secret(user: MalanUser) -> str:
    """The secret being set up (created on first call), not in force until a code confirms it."""
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: MalanUser) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.username, issuer_name=current_app.config["TOTP_ISSUER"]
    )


def qr_svg(user: MalanUser) -> str:
    """The enrolment QR code as inline SVG, drawn here: the secret never leaves the server."""
    return segno.make(provisioning_uri(user), error="m").svg_inline(scale=5, border=2)


def enrol(user: MalanUser, code: str, now: datetime) -> list[str] | None:
    """Put the pending secret in force if ``code`` matches it; returns the ten recovery codes
    (shown once), or None for a wrong or used code. Audited; caller commits."""
    if is_enrolled(user) or not user.totp_secret or not _claim_totp(user, _digits(code), now):
        return None
    user.totp_enabled_at = now
    audit.record(
        db.session,
        "second_factor_enrol",
        user=user,
        object_type="MalanUser",
        object_id=user.id,
        now=now,
    )
    return new_recovery_codes(user, now)


def clear(user: MalanUser) -> None:
    """Remove the second factor (its secret and recovery codes). Caller commits."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# ---------------------------------------------------------------- verification


def verify(user: MalanUser, code: str, now: datetime) -> str | None:
    """``"totp"`` or ``"recovery"`` when ``code`` is accepted (and spent), else None."""
    if not is_enrolled(user):
        return None
    code = (code or "").strip()
    digits = _digits(code)
    if len(digits) == 6 and digits == code.replace(" ", ""):
        return "totp" if _claim_totp(user, digits, now) else None
    return "recovery" if _spend_recovery_code(user, code, now) else None


def _digits(code: str) -> str:
    return "".join(c for c in (code or "") if c.isdigit())[:6]


def _claim_totp(user: MalanUser, code: str, now: datetime) -> bool:
    """Accept ``code`` once: its time step must be later than the last one accepted."""
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    window = current_app.config["TOTP_VALID_WINDOW"]
    current = time_step(now)
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            table = MalanUser.__table__
            claimed = db.session.execute(
                update(table)
                .where(
                    table.c.id == user.id,
                    or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .returning(table.c.id)
            ).first()
            db.session.expire(user, ["totp_last_step"])
            return claimed is not None
    return False


# ---------------------------------------------------------------- recovery codes


def _normalise(code: str) -> str:
    return "".join(c for c in (code or "").lower() if c.isalnum())


def _hash(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"malan-recovery:" + _normalise(code).encode(), hashlib.sha256).hexdigest()


def new_recovery_codes(user: MalanUser, now: datetime) -> list[str]:
    """Ten fresh codes (``abcde-fghjk``), replacing any earlier ones. Caller commits."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw), created_at=now))
    db.session.flush()
    return codes


def _spend_recovery_code(user: MalanUser, code: str, now: datetime) -> bool:
    if len(_normalise(code)) != 10:
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(RecoveryCode.id)
        .execution_options(synchronize_session=False)
    ).first()
    return spent is not None


def recovery_codes_left(user: MalanUser) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
