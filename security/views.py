"""Sign-in, sign-out and change-password pages."""

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import lazy_gettext as _l
from flask_login import login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app import audit, clock
from app.extensions import db
from security import passwords, sessions


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class MalanAuthDBView(AuthDBView):
    # The same words for an unknown user, a wrong password and a locked account.
    invalid_login_message = _l(
        "Wrong username or password. After 5 failed attempts the account is locked for 30 minutes."
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
            return redirect(get_safe_redirect(next_url) if next_url else self.appbuilder.get_url_for_index)
        return self.render_template(self.login_template, title=self.title, form=form,
                                    appbuilder=self.appbuilder)

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
    old_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )


class ChangePasswordView(BaseView):
    """修改密码: the one page a user with an initial, reset or expired password may open."""

    route_base = "/password"
    default_view = "change"

    @expose("/change", methods=["GET", "POST"])
    @login_required
    def change(self):
        from werkzeug.security import check_password_hash

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
                audit.record(db.session, "password_change", user=user, now=now,
                             object_type="MalanUser", object_id=user.id)
                db.session.commit()
                flash(str(_l("Your password has been changed.")), "success")
                return redirect(self.appbuilder.get_url_for_index)
        return self.render_template(
            "security/change_password.html", form=form,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            forced=user.must_change_password or passwords.is_expired(user, clock.now()),
        )


def redirect_to_change_password():
    return redirect(url_for("ChangePasswordView.change"))
