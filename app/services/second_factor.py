"""第二因素 (TOTP): a user's new recovery codes and the security administrator's reset (issue 17
point 7). The primitives (codes, secrets, enrolment, recovery-code hashes) are in
`security.two_factor`; the rules of who may do what are here.
"""

from datetime import datetime

from flask_babel import gettext as _

from app import audit
from app.extensions import db
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.user import SECADMIN, MalanUser
from security import sessions, two_factor


def new_recovery_codes(user: MalanUser, code: str, now: datetime) -> list[str]:
    """Ten new recovery codes (the old ones stop working), confirmed by a current code."""
    with transaction():
        if two_factor.verify(user, code, now) is None:
            raise InvalidValue(_("The code is wrong or has been used. Try the next one."), "code")
        codes = two_factor.new_recovery_codes(user, now)
        audit.record(
            db.session,
            "recovery_codes_renewed",
            user=user,
            object_type="MalanUser",
            object_id=user.id,
            now=now,
        )
        return codes


def reset_second_factor(user: MalanUser, actor: MalanUser, now: datetime, proposal=None) -> None:
    """安全管理员重置第二因素: the user's secret and recovery codes are removed, every session and
    API token of the account ends, and the user sets up a new factor at the next sign-in (when
    its role requires one). The one entry point for a reset, and only as the approval of a
    proposal (``proposal``, `app.services.account_requests`) by a security administrator other
    than its proposer (two-person rule, issue 17 point 2)."""
    with transaction():
        if actor is None or actor.role_kind != SECADMIN:
            raise NotAllowed(_("Only the security administrator resets a second factor."))
        if actor.id == user.id:
            raise NotAllowed(_("You cannot reset your own second factor."))
        if (
            proposal is None
            or proposal.target_id != user.id
            or proposal.submitted_by_id in (None, actor.id)
        ):
            raise NotAllowed(
                _(
                    "A second-factor reset takes effect when another security administrator "
                    "approves its proposal."
                )
            )
        if not user.totp_secret and not two_factor.is_enrolled(user):
            raise Conflict(_("This account has no second factor set up."))
        two_factor.clear(user)
        sessions.revoke_all(user.id, now, "second_factor_reset")
        audit.record(
            db.session,
            "second_factor_reset",
            user=actor,
            object_type="MalanUser",
            object_id=user.id,
            summary=user.username,
            now=now,
        )
