"""The security manager: FAB's, with our user model, lockout, server-side sessions and audit.

Switched on by ``FAB_SECURITY_MANAGER_CLASS``. FAB's own user/role/permission screens are not
registered: accounts are kept in `views.users`, and roles come from `security.permissions`.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    make_response,
)
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit, clock
from app.memo import memo
from models.user import MalanUser
from security import lockout, passwords, sessions, throttle, trainee_window, two_factor
from security.views import (
    ChangePasswordView,
    LanguageView,
    MalanAuthDBView,
    MalanSecurityApi,
)


class MalanSecurityManager(SecurityManager):
    user_model = MalanUser
    authdbview = MalanAuthDBView
    security_api = MalanSecurityApi

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        app = current_app._get_current_object()
        sessions.cap_lifetimes(app.config)
        app.session_interface = sessions.CookieInterface()
        _align_fake_hash(app.config)

    def create_login_manager(self, app):
        # flask_login's @login_required sends a signed-out visitor to this endpoint.
        lm = super().create_login_manager(app)
        lm.login_view = "MalanAuthDBView.login"
        return lm

    def register_views(self):
        api = self.appbuilder.add_api(self.security_api)  # JWT login for the REST APIs
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        self.appbuilder.add_view_no_menu(ChangePasswordView())
        _language_by_post(self.appbuilder)
        if self.is_auth_limited:
            # Both doors in (the sign-in form with its second-factor step, and the API login)
            # share the budgets per account, per (IP, account) and per IP (security.throttle).
            throttle.apply(
                self.limiter,
                (self.auth_view.blueprint, api.blueprint),
                logout_endpoint=f"{self.auth_view.endpoint}.logout",
            )

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        """FAB asks the database once per check, and the menu alone checks ~20 entries on every
        page: read the roles' grants once per request instead (bench B2: -20 statements a page).
        A request that changes grants (the role matrix page) redirects; the next one reads anew."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        return (permission_name, view_name) in memo("grants", lambda: self._grants(key), on=key)

    def _grants(self, role_ids) -> set[tuple[str, str]]:
        """Every (permission, view) pair granted to these roles, in one query."""
        pv = self.permissionview_model
        rows = (
            self.session.query(self.permission_model.name, self.viewmenu_model.name)
            .select_from(pv)
            .join(
                assoc_permissionview_role,
                pv.id == assoc_permissionview_role.c.permission_view_id,
            )
            .join(self.permission_model, self.permission_model.id == pv.permission_id)
            .join(self.viewmenu_model, self.viewmenu_model.id == pv.view_menu_id)
            .filter(assoc_permissionview_role.c.role_id.in_(role_ids))
        )
        return {tuple(r) for r in rows}

    def _fake_check(self):
        # Unknown, disabled and locked accounts cost the same hash as a real check.
        check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")

    def auth_user_db(self, username, password, now=None):
        """FAB's entry point: the user when the password is right and no second step is due."""
        attempt = self.authenticate(username, password, now or clock.now())
        if attempt.user is None or attempt.needs_second_factor:
            return None
        return attempt.user if self.finish_login(attempt.user, now or clock.now()) else None

    def authenticate(self, username, password, now) -> "Attempt":
        """Check a password; count a failure atomically (security.lockout). Every attempt is
        audited. A right password of an account that needs a second factor is not a login yet:
        the failure count is reset only when the whole sign-in succeeds (`finish_login`)."""
        session = self.session
        username = (username or "").strip()
        user = self.find_user(username=username) if username else None
        if user is None or not user.is_active or not password:
            self._fake_check()
            audit.record(
                session,
                "login_failed",
                username=username[:128],
                success=False,
                summary="unknown or disabled account"
                if user is None or not user.is_active
                else "empty password",
                now=now,
            )
            session.commit()
            return Attempt(None)
        if not trainee_window.is_open(user, now.date()):  # a trainee outside its class's window
            self._fake_check()
            audit.record(
                session,
                "login_failed",
                user=user,
                success=False,
                now=now,
                summary=f"trainee account closed (class {user.class_start}–{user.class_end})",
            )
            session.commit()
            return Attempt(None)
        if user.is_locked(now):
            self._fake_check()
            return self._locked(user, user.locked_until, now)
        if check_password_hash(user.password or "", password):
            if two_factor.needs_code(user):
                if lockout.locked_until(user.id, now):  # locked meanwhile by a parallel failure
                    return self._locked(user, lockout.locked_until(user.id, now), now)
                return Attempt(user, needs_second_factor=True)
            return Attempt(user)
        return self.count_failure(user, now, "wrong password")

    def count_failure(self, user, now, what: str) -> "Attempt":
        """One failed attempt (a wrong password or second-factor code), counted in the database;
        the failure that reaches LOCKOUT_THRESHOLD locks the account and ends its sessions."""
        session = self.session
        failure = lockout.record_failure(user.id, now)
        if failure.locked_until is not None and not failure.locks_now:
            return self._locked(user, failure.locked_until, now)
        audit.record(
            session,
            "login_failed",
            user=user,
            success=False,
            now=now,
            summary=f"{what} ({failure.count})",
        )
        if failure.locks_now:
            sessions.revoke_all(user.id, now, "locked")
            audit.record(
                session,
                "lockout",
                user=user,
                success=False,
                now=now,
                summary=f"locked until {failure.locked_until:%Y-%m-%d %H:%M}",
            )
        session.commit()
        return Attempt(None, locked_until=failure.locked_until)

    def _locked(self, user, until, now) -> "Attempt":
        audit.record(
            self.session,
            "login_locked",
            user=user,
            success=False,
            now=now,
            summary=f"locked until {until:%Y-%m-%d %H:%M}" if until else "locked",
        )
        self.session.commit()
        return Attempt(None, locked_until=until)

    def finish_login(self, user, now) -> bool:
        """The whole sign-in succeeded: reset the count, unless a parallel failure locked the
        account in the meantime (then nobody signs in). Caller commits."""
        return lockout.record_success(user.id, now)

    def locked_message(self, until) -> str:
        return _(
            "This account is locked after too many failed sign-ins, until %(t)s. Try again "
            "then, or ask your administrator to unlock it.",
            t=f"{until:%Y-%m-%d %H:%M}",
        )

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.additional_claims_loader
        def _token_version(identity):
            # Every token carries the account's token version; `load_user_jwt` refuses it once
            # the version moved on (logout, password change, reset, lock, disabling).
            user = self.get_user_by_id(int(identity))
            return {"ver": user.token_version if user is not None else -1}

        return jwt_manager

    def load_user(self, pk):
        """A browser request is signed in only while its server-side session lives."""
        user = self.get_user_by_id(int(pk))
        if user is None or not user.is_active:
            return None
        if not trainee_window.is_open(user, clock.now().date()):
            return None  # the class's window closed while the trainee was signed in
        reason = sessions.check(user, clock.now())
        if reason in ("idle", "absolute"):
            flash(_("Your session has expired. Please sign in again."), "warning")
        return user if reason is None else None

    def load_user_jwt(self, _jwt_header, jwt_data):
        user = self.get_user_by_id(int(jwt_data["sub"]))
        now = clock.now()
        if user is None or not user.is_active or user.is_locked(now):
            return None
        if jwt_data.get("ver") != user.token_version:
            return None  # revoked: issued before a logout, password change, reset or lock
        if not trainee_window.is_open(user, now.date()):
            return None
        if passwords.must_change(user, now):
            # A token issued before a reset or expiry stops working until the password is changed.
            abort(
                make_response(
                    jsonify(message=_("Please change your password before continuing.")), 403
                )
            )
        g.user = user
        return user


@dataclass(frozen=True)
class Attempt:
    """The outcome of a password check."""

    user: MalanUser | None  # the right password's account (not signed in yet)
    needs_second_factor: bool = False
    locked_until: datetime | None = None  # the account is locked (whatever the password)


def _language_by_post(appbuilder) -> None:
    """FAB switches the language on GET /lang/<code> (a link any page can make a visitor follow):
    its route answers 405 and the navbar posts to ours, with a CSRF token."""
    fab_view = appbuilder.bm.locale_view
    current_app.view_functions[f"{fab_view.endpoint}.{fab_view.default_view}"] = _not_allowed
    appbuilder.bm.locale_view = appbuilder.add_view_no_menu(LanguageView())


def _not_allowed(**_kwargs):
    abort(405)


def _align_fake_hash(config) -> None:
    """The fake check for unknown users must cost what a real check costs: same hash method."""
    real = generate_password_hash("x" * 16, method=config["FAB_PASSWORD_HASH_METHOD"])
    if config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"].split("$")[0] != real.split("$")[0]:
        config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"] = real
