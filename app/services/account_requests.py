"""三员分立, two-person rule (issue 17 point 2): no single administrator obtains a working
credential for an account of the center or a province, or grants such a role.

What an administrator asks for on such an account — a password reset, a new account with such a
role, a grant of such a role (or of an administrator role), and any second-factor reset — is a
*proposal* (`models.account_request.AccountRequest`), reviewed through `app.services.review`
(chains ``account_request_<proposer role>``): it takes effect only when a security
administrator other than the proposer approves it. The new or temporary password is shown once,
to the approver, on the answer to the approval (stored nowhere but as its hash), must be changed
at first sign-in, and the account's owner is told "reset by X, approved by Y" at its next
sign-in (`security.views`). Proposal, approval, rejection and the change itself are audited.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.services import accounts, review, second_factor
from app.services.errors import Conflict, NotAllowed
from app.services.review.tasks import actor_fields
from app.services.tx import transaction
from models.account_request import (
    CREATE_ACCOUNT,
    GRANT_ROLE,
    OPERATIONS,
    RESET_PASSWORD,
    RESET_SECOND_FACTOR,
    AccountRequest,
)
from models.org import Org
from models.review import PENDING
from models.user import SECADMIN, SYSADMIN, MalanUser
from security import two_factor

PROPOSERS = {  # who may propose what (the permission pages say the same)
    RESET_PASSWORD: (SYSADMIN,),
    CREATE_ACCOUNT: (SYSADMIN,),
    GRANT_ROLE: (SECADMIN,),
    RESET_SECOND_FACTOR: (SECADMIN,),
}


def needs_two_persons(actor: MalanUser | None, operation: str, role_kind: str | None) -> bool:
    """Whether ``actor`` doing ``operation`` on an account of ``role_kind`` must be proposed."""
    if operation == RESET_SECOND_FACTOR:
        return True
    if not accounts.is_administrator(actor):
        return False
    guarded = accounts.GUARDED_GRANTS if operation == GRANT_ROLE else accounts.GUARDED_KINDS
    return role_kind in guarded


def _pending_for(target_id: int, operation: str) -> AccountRequest | None:
    return db.session.scalar(
        select(AccountRequest).where(
            AccountRequest.target_id == target_id,
            AccountRequest.operation == operation,
            AccountRequest.status == PENDING,
        )
    )


def _check_proposal(actor: MalanUser, record: AccountRequest) -> None:
    if actor is None or actor.role_kind not in PROPOSERS[record.operation]:
        raise NotAllowed(_("You may not propose this account change."))
    target = record.target
    if record.operation == CREATE_ACCOUNT:
        accounts.check_new_account(record.name, record.role_kind, record.account_org, record.mobile)
        return
    if target is None:
        raise NotAllowed(_("You may not propose this account change."))
    if target.id == actor.id:
        raise NotAllowed(_("You cannot change your own account here."))
    if record.operation == RESET_PASSWORD:
        accounts.guard_manageable(actor, target)
    elif record.operation == GRANT_ROLE:
        accounts.check_placement(record.role_kind, target.org)
    elif not target.totp_secret and not two_factor.is_enrolled(target):
        raise Conflict(_("This account has no second factor set up."))
    if _pending_for(target.id, record.operation) is not None:
        raise Conflict(
            _("A proposal of this change to %(u)s already waits for approval.", u=target.username)
        )


def propose(
    actor: MalanUser,
    operation: str,
    now: datetime,
    *,
    target: MalanUser | None = None,
    role_kind: str | None = None,
    name: str | None = None,
    mobile: str | None = None,
    account_org: Org | None = None,
) -> AccountRequest:
    """Propose one account change; it waits in the security administrators' to-do list."""
    record = AccountRequest(
        operation=operation,
        proposer_kind=actor.role_kind if actor is not None else "",
        org_id=actor.org_id if actor is not None else None,
        target=target,
        role_kind=role_kind if operation in (CREATE_ACCOUNT, GRANT_ROLE) else None,
        name=(name or "").strip() or None,
        mobile=accounts.normalise_mobile(mobile) if operation == CREATE_ACCOUNT else None,
        account_org=account_org,
        created_at=now,
    )
    with transaction(), db.session.no_autoflush:
        _check_proposal(actor, record)
        db.session.add(record)
        db.session.flush()
        audit.record(
            db.session,
            "account_change_proposed",
            user=actor,
            object_type="AccountRequest",
            object_id=record.id,
            summary=_summary(record),
            now=now,
        )
        review.submit(record, actor, now)
    return record


def propose_password_resets(actor, users: list[MalanUser], now: datetime) -> list[tuple]:
    """The account list's "reset password": an account of the center or a province is proposed,
    the others reset at once (`accounts.manage`), all or none. Returns (account, new password
    or the proposal) pairs in the order given."""
    results = []
    with transaction():
        for user in users:
            accounts.guard_manageable(actor, user)
            if needs_two_persons(actor, RESET_PASSWORD, user.role_kind):
                results.append((user, propose(actor, RESET_PASSWORD, now, target=user)))
            else:
                results.append(accounts.manage(actor, [user], RESET_PASSWORD, now)[0])
    return results


def grant_role(actor: MalanUser, user: MalanUser, role_kind: str, now: datetime):
    """The role page: a role of `accounts.GUARDED_GRANTS` is proposed (returns the proposal),
    any other is given at once (returns None)."""
    if user.id == actor.id:
        raise NotAllowed(_("You cannot change your own role."))
    if needs_two_persons(actor, GRANT_ROLE, role_kind):
        return propose(actor, GRANT_ROLE, now, target=user, role_kind=role_kind)
    accounts.change_role(actor, user, role_kind, now)
    return None


def _summary(record: AccountRequest) -> str:
    who = record.target.username if record.target is not None else record.name
    extra = f" -> {record.role_kind}" if record.role_kind else ""
    return f"{record.operation}: {who}{extra}"


def _proposer(record: AccountRequest) -> MalanUser | None:
    return db.session.get(MalanUser, record.submitted_by_id) if record.submitted_by_id else None


def _before_approve(record: AccountRequest, task, actor, now: datetime, params: dict) -> None:
    if actor.role_kind != SECADMIN:
        raise NotAllowed(_("Only the security administrator approves an account change."))
    if record.target_id is not None and record.target_id == actor.id:
        raise NotAllowed(_("You cannot change your own account here."))
    if record.operation == CREATE_ACCOUNT:  # the mobile may have been taken since
        accounts.check_new_account(record.name, record.role_kind, record.account_org, record.mobile)
    elif record.operation == RESET_PASSWORD:  # it may have become an administrator since
        accounts.guard_manageable(None, record.target)


def _on_approved(record: AccountRequest, actor, now: datetime) -> None:
    """Carry the change out, in the approval's transaction. A new password is kept on the
    record object only (``allocated_password``), for the view to show the approver once."""
    proposer = _proposer(record)
    target = record.target
    if record.operation == RESET_PASSWORD:
        record.allocated_password = accounts.reset_password(target, now)
        target.reset_notice = "\t".join(
            actor_fields(u)["name"] for u in (proposer or actor, actor)
        )[:300]
    elif record.operation == CREATE_ACCOUNT:
        user, password = accounts.create_account(
            name=record.name,
            role_kind=record.role_kind,
            org=record.account_org,
            mobile=record.mobile,
            now=now,
        )
        db.session.flush()
        record.target = user
        record.allocated_password = password
        audit.record(
            db.session,
            "account_created",
            user=actor,
            object_type="MalanUser",
            object_id=user.id,
            summary=f"{user.username} ({record.role_kind})",
            now=now,
        )
    elif record.operation == GRANT_ROLE:
        accounts.apply_role(target, record.role_kind, now)
    else:
        second_factor.reset_second_factor(target, actor, now, proposal=record)
    record.done_at = now
    audit.record(
        db.session,
        "account_change_approved",
        user=actor,
        object_type="AccountRequest",
        object_id=record.id,
        summary=f"{_summary(record)} (proposed by {proposer.username if proposer else '?'})",
        now=now,
    )


ACCOUNT_REQUEST = review.register(
    review.Kind(
        name="account_request",
        model=AccountRequest,
        label=_l("Account change"),
        record_page="AccountRequestView",
        chain=lambda record: f"account_request_{record.proposer_kind}",
        fields=("operation", "target_id", "role_kind", "name", "mobile", "account_org_id"),
        before_approve=_before_approve,
        on_approved=_on_approved,
        returnable=False,  # nothing to revise: a wrong proposal is rejected
    )
)

__all__ = ["OPERATIONS", "ACCOUNT_REQUEST", "needs_two_persons", "propose"]
