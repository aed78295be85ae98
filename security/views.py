"""Sign-in, sign-out and change-password pages."""

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import safe
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app import audit, clock
from app.extensions import db
from security import passwords, sessions


class LoginForm(FlaskForm):
    # Control characters (a NUL byte) are refused here: PostgreSQL would reject the query.
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=128),
            Regexp(
                r"^[^\x00-\x1f\x7f]*$",
                message=_l("The username contains characters that are not allowed."),
            ),
        ],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class MalanAuthDBView(AuthDBView):
    # The same words for an unknown user, a wrong password and a locked account.
    @property
    def invalid_login_message(self):
        return _l(
            "Wrong username or password. After %(n)d failed attempts the account is locked "
            "for %(m)d minutes.",
            n=current_app.config["LOCKOUT_THRESHOLD"],
            m=current_app.config["LOCKOUT_MINUTES"],
        )

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_index)
        form = LoginForm()
        if form.validate_on_submit():
            sm = self.appbuilder.sm
            user = sm.auth_user_db(form.username.data, form.password.data)
            if user is None:
                flash(str(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login)
            now = clock.now()
            sessions.start(user, now)  # clears the old session first: must precede login_user
            login_user(user, remember=False)
            audit.record(db.session, "login", user=user, now=now)
            db.session.commit()
            next_url = request.args.get("next")
            return redirect(
                get_safe_redirect(next_url) if next_url else self.appbuilder.get_url_for_index
            )
        return self.render_template(
            self.login_template, title=self.title, form=form, appbuilder=self.appbuilder
        )

    @expose("/logout/")
    def logout(self):
        user = self._get_authenticated_user()
        now = clock.now()
        sessions.end_current(now)
        if user is not None:
            audit.record(db.session, "logout", user=user, now=now)
        db.session.commit()
        logout_user()
        return redirect(self.appbuilder.get_url_for_login)


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two passwords differ.")),
        ],
    )


class ChangePasswordView(BaseView):
    """修改密码: the one page a user with an initial, reset or expired password may open."""

    route_base = "/password"
    default_view = "change"

    @expose("/change", methods=["GET", "POST"])
    @login_required
    def change(self):
        user = g.user
        form = ChangePasswordForm()
        if form.validate_on_submit():
            errors = []
            if not check_password_hash(user.password or "", form.old_password.data):
                errors.append(str(_l("The current password is wrong.")))
            errors += passwords.policy_errors(form.new_password.data, user)
            if not errors and passwords.was_used_before(user, form.new_password.data):
                errors.append(str(_l("This password was used recently; choose another.")))
            if errors:
                for message in errors:
                    flash(message, "danger")
            else:
                now = clock.now()
                passwords.set_password(user, form.new_password.data, now, must_change=False)
                sessions.end_others(user.id, now, "password_change")
                audit.record(
                    db.session,
                    "password_change",
                    user=user,
                    now=now,
                    object_type="MalanUser",
                    object_id=user.id,
                )
                db.session.commit()
                flash(str(_l("Your password has been changed.")), "success")
                return redirect(self.appbuilder.get_url_for_index)
        return self.render_template(
            "security/change_password.html",
            form=form,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            forced=passwords.must_change(user, clock.now()),
        )


def redirect_to_change_password():
    return redirect(url_for("ChangePasswordView.change"))


class MalanSecurityApi(SecurityApi):
    """JWT login for the REST API (CSRF-exempt): the same lockout, audit and forced change."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        payload = request.get_json(silent=True)
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("username"), str)
            or not isinstance(payload.get("password"), str)
        ):
            return self.response_400(message=_("Send a JSON object with username and password."))
        form = LoginForm(data=payload, meta={"csrf": False})
        if not form.validate():  # the same length and character rules as the sign-in page
            return self.response_400(message=form.errors)
        user = self.appbuilder.sm.auth_user_db(payload["username"], payload["password"])
        if user is None:
            db.session.commit()
            return self.response_401()
        now = clock.now()
        forced = passwords.must_change(user, now)
        audit.record(
            db.session,
            "login",
            user=user,
            now=now,
            success=not forced,
            summary="api: password change required" if forced else "api",
        )
        db.session.commit()
        if forced:
            return self.response(403, message=_("Please change your password before continuing."))
        tokens = {"access_token": create_access_token(identity=str(user.id), fresh=True)}
        if payload.get("refresh"):
            tokens["refresh_token"] = create_refresh_token(identity=str(user.id))
        return self.response(200, **tokens)
