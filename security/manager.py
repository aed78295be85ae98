"""The security manager: FAB's, with our user model, lockout, server-side sessions and audit.

Switched on by ``FAB_SECURITY_MANAGER_CLASS``. FAB's own user/role/permission screens are not
registered: accounts are kept in `views.users`, and roles come from `security.permissions`.
"""

from datetime import timedelta

from flask import abort, current_app, flash, has_request_context, jsonify, make_response
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from app import audit, clock
from app.memo import memo
from models.user import MalanUser
from security import passwords, sessions, trainee_window
from security.views import ChangePasswordView, MalanAuthDBView, MalanSecurityApi


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
        if self.is_auth_limited:
            # Both doors in: the sign-in form and the API login. Counted per client IP in the
            # RATELIMIT_STORAGE_URI store, so every worker sees the same count.
            for view in (self.auth_view, api):
                self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)

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
        """Check a login; lock the account after repeated failures. Every attempt is audited."""
        now = now or clock.now()
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
            return None
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
            return None
        if user.is_locked(now):
            self._fake_check()
            audit.record(
                session,
                "login_locked",
                user=user,
                success=False,
                now=now,
                summary=f"locked until {user.locked_until:%Y-%m-%d %H:%M}",
            )
            session.commit()
            return None
        if check_password_hash(user.password or "", password):
            user.fail_login_count = 0
            user.login_count = (user.login_count or 0) + 1
            user.last_login = now
            return user  # the login view starts the session and audits it
        user.fail_login_count = (user.fail_login_count or 0) + 1
        audit.record(
            session,
            "login_failed",
            user=user,
            success=False,
            now=now,
            summary=f"wrong password ({user.fail_login_count})",
        )
        if user.fail_login_count >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.fail_login_count = 0
            audit.record(
                session,
                "lockout",
                user=user,
                success=False,
                now=now,
                summary=f"locked until {user.locked_until:%Y-%m-%d %H:%M}",
            )
        session.commit()
        return None

    def load_user(self, pk):
        """A browser request is signed in only while its server-side session lives."""
        user = self.get_user_by_id(int(pk))
        if user is None or not user.is_active:
            return None
        if not trainee_window.is_open(user, clock.now().date()):
            return None  # the class's window closed while the trainee was signed in
        reason = sessions.check(user.id, clock.now())
        if reason in ("idle", "absolute"):
            flash(_("Your session has expired. Please sign in again."), "warning")
        return user if reason is None else None

    def load_user_jwt(self, _jwt_header, jwt_data):
        from flask import g

        user = self.get_user_by_id(int(jwt_data["sub"]))
        now = clock.now()
        if user is None or not user.is_active or user.is_locked(now):
            return None
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


def _align_fake_hash(config) -> None:
    """The fake check for unknown users must cost what a real check costs: same hash method."""
    real = generate_password_hash("x" * 16, method=config["FAB_PASSWORD_HASH_METHOD"])
    if config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"].split("$")[0] != real.split("$")[0]:
        config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"] = real
