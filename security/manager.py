"""The security manager: FAB's, with our user model, lockout, server-side sessions and audit.

Switched on by ``FAB_SECURITY_MANAGER_CLASS``. FAB's own user/role/permission screens are not
registered: accounts are kept in `views.users`, and roles come from `security.permissions`.
"""

from datetime import timedelta

from flask import current_app
from flask_appbuilder.security.sqla.manager import SecurityManager
from werkzeug.security import check_password_hash

from app import audit, clock
from security import sessions
from security.views import ChangePasswordView, MalanAuthDBView
from models.user import MalanUser


class MalanSecurityManager(SecurityManager):
    user_model = MalanUser
    authdbview = MalanAuthDBView

    def register_views(self):
        self.appbuilder.add_api(self.security_api)  # JWT login for the REST APIs
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        self.appbuilder.add_view_no_menu(ChangePasswordView())
        if self.is_auth_limited:
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(self.auth_view.blueprint)

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
            audit.record(session, "login_failed", username=username[:128], success=False,
                         summary="unknown or disabled account" if user is None or not user.is_active
                         else "empty password", now=now)
            session.commit()
            return None
        if user.is_locked(now):
            self._fake_check()
            audit.record(session, "login_locked", user=user, success=False, now=now,
                         summary=f"locked until {user.locked_until:%Y-%m-%d %H:%M}")
            session.commit()
            return None
        if check_password_hash(user.password or "", password):
            user.fail_login_count = 0
            user.login_count = (user.login_count or 0) + 1
            user.last_login = now
            return user  # the login view starts the session and audits it
        user.fail_login_count = (user.fail_login_count or 0) + 1
        audit.record(session, "login_failed", user=user, success=False, now=now,
                     summary=f"wrong password ({user.fail_login_count})")
        if user.fail_login_count >= current_app.config["LOCKOUT_THRESHOLD"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
            user.fail_login_count = 0
            audit.record(session, "lockout", user=user, success=False, now=now,
                         summary=f"locked until {user.locked_until:%Y-%m-%d %H:%M}")
        session.commit()
        return None

    def load_user(self, pk):
        """A browser request is signed in only while its server-side session lives."""
        user = self.get_user_by_id(int(pk))
        if user is None or not user.is_active or not sessions.validate(user.id, clock.now()):
            return None
        return user

    def load_user_jwt(self, _jwt_header, jwt_data):
        from flask import g

        user = self.get_user_by_id(int(jwt_data["sub"]))
        if user is not None and user.is_active and not user.is_locked(clock.now()):
            g.user = user
            return user
        return None
