"""Accounts: the username rule, creation, disabling, unlocking, password resets (第十一条/第十二条).

Username rule (documented in the README): ``<role prefix><org code><3-digit sequence>``, e.g.
``ds110101001`` for the first city account of 北京市东城区 (code 110101). The sequence is the next
free one for that prefix+org, so usernames are deterministic, never reused and collision-free
(a unique index backs it up).
"""

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.services import fields
from app.services.errors import Conflict, DomainError, InvalidValue, NotAllowed
from app.services.tx import transaction
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
# 三员分立 (issue 17 point 2): no single administrator obtains a working credential for these
# accounts (a password reset, a new account) or grants these roles; it proposes, and a security
# administrator approves (`app.services.account_requests`).
GUARDED_KINDS = (CENTER, PROVINCE)
GUARDED_GRANTS = GUARDED_KINDS + ADMIN_KINDS  # an extra administrator is a credential too


class AccountError(DomainError):
    """A refused account operation, with a message for the user."""


class InvalidAccount(AccountError, InvalidValue):
    """A value of the account breaks a rule (``field`` says which)."""


class AccountNotAllowed(AccountError, NotAllowed):
    """The actor may not manage this account (an administrator, its own)."""


class MobileTaken(AccountError, Conflict):
    """The mobile number already belongs to an account (one account per person)."""


def allocate_username(role_kind: str, org: Org) -> str:
    prefix = f"{ROLE_PREFIX[role_kind]}{org.code}"
    taken = db.session.scalars(
        select(MalanUser.username).where(MalanUser.username.like(f"{prefix}%"))
    ).all()
    seqs = [int(u[len(prefix) :]) for u in taken if u[len(prefix) :].isdigit()]
    return f"{prefix}{(max(seqs) + 1 if seqs else 1):03d}"


def normalise_mobile(mobile: str | None) -> str | None:
    """The one mobile rule (`app.services.fields.mobile`); None for a blank value."""
    if mobile is None or not str(mobile).strip():
        return None
    spec = (fields.Field("mobile", _l("Mobile"), fields.mobile),)
    return fields.validate(spec, {"mobile": mobile}, error=InvalidAccount)["mobile"]


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
    actor: MalanUser | None = None,
) -> tuple[MalanUser, str]:
    """Create (or fill ``user``, as FAB's add form hands one in) an account. Returns the user
    and its initial password, which must be changed at first login. The caller commits.
    ``actor``: the administrator at the account form — refused for a role of `GUARDED_KINDS`
    (proposed instead); the services that allocate on an approval pass none."""
    if is_administrator(actor) and role_kind in GUARDED_KINDS:
        raise AccountNotAllowed(
            _(
                "An account of the center or a province is created by proposal and takes "
                "effect when the security administrator approves it."
            ),
            field="role_kind",
        )
    name = (name or "").strip()
    mobile = check_new_account(name, role_kind, org, mobile)
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


def check_new_account(name: str | None, role_kind: str, org: Org | None, mobile) -> str | None:
    """The rules of a new account's values; returns the normalised mobile."""
    if not (name or "").strip():
        raise InvalidAccount(_("The name is required."), field="first_name")
    if role_kind not in ROLE_PREFIX:
        raise InvalidAccount(_("Unknown role."), field="role_kind")
    check_placement(role_kind, org)
    mobile = normalise_mobile(mobile)
    check_mobile_free(mobile)
    return mobile


def is_administrator(actor: MalanUser | None) -> bool:
    return actor is not None and actor.role_kind in ADMIN_KINDS


def check_mobile_free(mobile: str | None, user_id: int | None = None) -> None:
    """One account per person: a mobile number belongs to one account, whatever its region
    (checked unscoped on purpose — the duplicate may sit outside the administrator's scope)."""
    if not mobile:
        return
    with db.session.no_autoflush:
        other = db.session.scalar(select(MalanUser.id).where(MalanUser.mobile == mobile))
    if other is not None and other != user_id:
        raise MobileTaken(
            _("Mobile number %(m)s already has an account: one account per person.", m=mobile),
            field="mobile",
        )


def check_placement(role_kind: str, org: Org | None) -> None:
    if org is None or org.kind not in ROLE_ORG_KINDS.get(role_kind, ()):
        raise InvalidAccount(
            _("This role cannot belong to the selected organisation."), field="org"
        )


def _role(role_kind: str):
    from flask_appbuilder.security.sqla.models import Role

    role = db.session.scalar(select(Role).filter_by(name=role_kind))
    if role is None:
        raise AccountError(_("Roles are not set up yet: run `flask malan sync-roles`."))
    return role


def guard_manageable(actor: MalanUser | None, target: MalanUser) -> None:
    """Administrator accounts are not managed through the account screens (separation of duties)."""
    if target.role_kind in ADMIN_KINDS:
        raise AccountNotAllowed(
            _("Administrator accounts are managed by the security administrator.")
        )
    if actor is not None and actor.id == target.id:
        raise AccountNotAllowed(_("You cannot change your own account here."))


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


def update_account(actor: MalanUser | None, user: MalanUser) -> None:
    """The account form's edit (name, org, mobile), already copied onto ``user``: refused for
    an administrator or the actor's own account, a taken mobile or a wrong place in the tree."""
    guard_manageable(actor, user)
    user.mobile = normalise_mobile(user.mobile)
    check_mobile_free(user.mobile, user.id)
    check_placement(user.role_kind, user.org)


# What the account list's actions do to each selected account; reset returns the new password.
OPERATIONS = {
    "disable": disable,
    "enable": lambda user, _now: enable(user),
    "unlock": lambda user, _now: unlock(user),
    "reset_password": reset_password,
}


def manage(
    actor: MalanUser | None, users: list[MalanUser], operation: str, now: datetime
) -> list[tuple[MalanUser, str | None]]:
    """Apply one of `OPERATIONS` to every selected account, all or none: each account is checked
    (`guard_manageable`) before any is changed. Returns (account, result) pairs (result: the new
    password of a reset, else None), in the order given."""
    run = OPERATIONS[operation]
    for user in users:
        guard_manageable(actor, user)
        if operation == "reset_password" and is_administrator(actor):
            if user.role_kind in GUARDED_KINDS:
                raise AccountNotAllowed(
                    _(
                        "The password of an account of the center or a province is reset "
                        "by proposal and takes effect when the security administrator "
                        "approves it."
                    )
                )
    with transaction():
        return [(user, run(user, now)) for user in users]


def change_role(actor: MalanUser, user: MalanUser, role_kind: str, now: datetime) -> None:
    """The security administrator gives ``user`` the role ``role_kind``; never its own (a
    separation-of-duties rule, not a permission: the page is open to it), and a role of
    `GUARDED_GRANTS` only through an approved proposal (`app.services.account_requests`)."""
    if actor is not None and user.id == actor.id:
        raise AccountNotAllowed(_("You cannot change your own role."), field="username")
    if is_administrator(actor) and role_kind in GUARDED_GRANTS:
        raise AccountNotAllowed(
            _(
                "This role is granted by proposal and takes effect when another security "
                "administrator approves it."
            ),
            field="role_kind",
        )
    with transaction():
        apply_role(user, role_kind, now)


def apply_role(user: MalanUser, role_kind: str, now: datetime) -> None:
    """Set the role, audited as a named event (an auditor filters role changes). The caller's
    transaction keeps it."""
    before = user.role_kind
    set_role(user, role_kind)
    # The session hook logs the row change; this names the event.
    audit.record(
        db.session,
        "role_change",
        object_type="MalanUser",
        object_id=user.id,
        summary=f"{user.username}: {before} -> {role_kind}",
        changes={"role": [before, role_kind]},
        now=now,
    )
