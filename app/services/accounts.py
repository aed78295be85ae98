"""Accounts: the username rule, creation, disabling, unlocking, password resets (第十一条/第十二条).

Username rule (documented in the README): ``<role prefix><org code><3-digit sequence>``, e.g.
``ds110101001`` for the first city account of 北京市东城区 (code 110101). The sequence is the next
free one for that prefix+org, so usernames are deterministic, never reused and collision-free
(a unique index backs it up).
"""

import re
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.extensions import db
from models.org import CENTER as ORG_CENTER
from models.org import CITY as ORG_CITY
from models.org import INSTITUTION as ORG_INSTITUTION
from models.org import PROVINCE as ORG_PROVINCE
from models.org import Org
from models.user import (
    ADMIN_KINDS,
    AUDITOR,
    CENTER,
    CITY,
    INSTITUTION,
    PROVINCE,
    SECADMIN,
    SYSADMIN,
    TRAINEE,
    TRAINER,
    MalanUser,
)
from security import passwords, sessions

ROLE_PREFIX = {
    CENTER: "zx",
    PROVINCE: "sf",
    CITY: "ds",
    INSTITUTION: "jg",
    TRAINER: "px",
    TRAINEE: "xy",
    SYSADMIN: "gl",
    SECADMIN: "aq",
    AUDITOR: "sj",
}
# Where in the tree each kind of account may sit.
ROLE_ORG_KINDS = {
    CENTER: {ORG_CENTER},
    PROVINCE: {ORG_PROVINCE},
    CITY: {ORG_CITY},
    INSTITUTION: {ORG_INSTITUTION},
    TRAINER: {ORG_PROVINCE, ORG_CITY},
    TRAINEE: {ORG_INSTITUTION},
    SYSADMIN: {ORG_CENTER},
    SECADMIN: {ORG_CENTER},
    AUDITOR: {ORG_CENTER},
}
BUSINESS_KINDS = (CENTER, PROVINCE, CITY, INSTITUTION, TRAINER, TRAINEE)
MOBILE = re.compile(r"^1[3-9]\d{9}$")


class AccountError(ValueError):
    """A refused account operation, with a message for the user."""


def allocate_username(role_kind: str, org: Org) -> str:
    prefix = f"{ROLE_PREFIX[role_kind]}{org.code}"
    taken = db.session.scalars(
        select(MalanUser.username).where(MalanUser.username.like(f"{prefix}%"))
    ).all()
    seqs = [int(u[len(prefix) :]) for u in taken if u[len(prefix) :].isdigit()]
    return f"{prefix}{(max(seqs) + 1 if seqs else 1):03d}"


def normalise_mobile(mobile: str | None) -> str | None:
    if not mobile:
        return None
    mobile = re.sub(r"[\s\-]", "", mobile)
    if not MOBILE.match(mobile):
        raise AccountError(
            _("Mobile number %(m)s is not a valid mainland mobile number.", m=mobile)
        )
    return mobile


def create_account(
    *,
    name: str,
    role_kind: str,
    org: Org,
    now: datetime,
    mobile: str | None = None,
    email: str | None = None,
    password: str | None = None,
    is_demo: bool = False,
    user: MalanUser | None = None,
) -> tuple[MalanUser, str]:
    """Create (or fill ``user``, as FAB's add form hands one in) an account. Returns the user
    and its initial password, which must be changed at first login. The caller commits."""
    name = (name or "").strip()
    if not name:
        raise AccountError(_("The name is required."))
    if role_kind not in ROLE_PREFIX:
        raise AccountError(_("Unknown role."))
    check_placement(role_kind, org)
    mobile = normalise_mobile(mobile)
    check_mobile_free(mobile)
    role = _role(role_kind)
    user = user or MalanUser()
    user.first_name, user.last_name = name, ""
    user.username = allocate_username(role_kind, org)
    user.email = email or f"{user.username}@users.malan.invalid"
    user.mobile = mobile
    user.org = org
    user.roles = [role]
    user.active = True
    user.is_demo = is_demo
    password = password or passwords.random_password()
    passwords.set_password(user, password, now, must_change=not is_demo)
    db.session.add(user)
    return user, password


def check_mobile_free(mobile: str | None, user_id: int | None = None) -> None:
    """One account per person: a mobile number belongs to one account, whatever its region
    (checked unscoped on purpose — the duplicate may sit outside the administrator's scope)."""
    if not mobile:
        return
    with db.session.no_autoflush:
        other = db.session.scalar(select(MalanUser.id).where(MalanUser.mobile == mobile))
    if other is not None and other != user_id:
        raise AccountError(
            _("Mobile number %(m)s already has an account: one account per person.", m=mobile)
        )


def check_placement(role_kind: str, org: Org | None) -> None:
    if org is None or org.kind not in ROLE_ORG_KINDS.get(role_kind, ()):
        raise AccountError(_("This role cannot belong to the selected organisation."))


def _role(role_kind: str):
    from flask_appbuilder.security.sqla.models import Role

    role = db.session.scalar(select(Role).filter_by(name=role_kind))
    if role is None:
        raise AccountError(_("Roles are not set up yet: run `flask malan sync-roles`."))
    return role


def guard_manageable(actor: MalanUser | None, target: MalanUser) -> None:
    """Administrator accounts are not managed through the account screens (separation of duties)."""
    if target.role_kind in ADMIN_KINDS:
        raise AccountError(_("Administrator accounts are managed by the security administrator."))
    if actor is not None and actor.id == target.id:
        raise AccountError(_("You cannot change your own account here."))


def disable(user: MalanUser, now: datetime) -> None:
    user.active = False
    sessions.revoke_all(user.id, now, "disabled")  # every session and API token ends


def enable(user: MalanUser) -> None:
    user.active = True


def unlock(user: MalanUser) -> None:
    user.locked_until = None
    user.fail_login_count = 0


def reset_password(user: MalanUser, now: datetime) -> str:
    password = passwords.random_password()
    passwords.set_password(user, password, now, must_change=True)
    sessions.revoke_all(user.id, now, "password_reset")
    audit.record(
        db.session,
        "password_reset",
        object_type="MalanUser",
        object_id=user.id,
        summary=user.username,
        now=now,
    )
    return password


def set_role(user: MalanUser, role_kind: str) -> None:
    """Change the one role of an account (security administrator only)."""
    check_placement(role_kind, user.org)
    user.roles = [_role(role_kind)]
