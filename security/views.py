"""Sign-in, sign-out and change-password pages."""

from datetime import datetime, timedelta

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import safe
from flask_appbuilder.babel.views import LocaleView
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app import audit, clock
from app.extensions import db
from models.user import MalanUser
from security import lockout, passwords, sessions, two_factor
from security.throttle import PENDING_KEY  # the right password was given; the code is due


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


class CodeForm(FlaskForm):
    code = StringField(
        _l("Verification code"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autofocus": True},
    )


class MalanAuthDBView(AuthDBView):
    # The same words for an unknown user and a wrong password; a locked account is told so.
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
            now = clock.now()
            attempt = sm.authenticate(form.username.data, form.password.data, now)
            if attempt.locked_until is not None:
                flash(sm.locked_message(attempt.locked_until), "danger")
                return redirect(self.appbuilder.get_url_for_login)
            if attempt.user is None:
                flash(str(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login)
            if attempt.needs_second_factor:
                return self._second_step(attempt.user, now)
            return self._sign_in(attempt.user, now, request.args.get("next"))
        return self.render_template(
            self.login_template, title=self.title, form=form, appbuilder=self.appbuilder
        )

    def throttled(self, message: str):
        """The 429 answer to a sign-in attempt over a budget (security.throttle): the sign-in
        form again, the typed username kept, with the limit and the time to wait."""
        form = LoginForm(meta={"csrf": True})
        form.password.data = None
        return self.render_template(
            self.login_template,
            title=self.title,
            form=form,
            appbuilder=self.appbuilder,
            throttled=message,
            # from the second-factor step, the form goes back to the first one
            login_action=""
            if request.endpoint.endswith(".login")
            else url_for(f"{self.endpoint}.login"),
        )

    def _sign_in(self, user, now, next_url, how="password"):
        sm = self.appbuilder.sm
        if not sm.finish_login(user, now):  # a parallel failure locked the account meanwhile
            db.session.commit()
            flash(sm.locked_message(lockout.locked_until(user.id, now) or now), "danger")
            return redirect(self.appbuilder.get_url_for_login)
        sessions.start(user, now)  # clears the old session first: must precede login_user
        login_user(user, remember=False)
        audit.record(db.session, "login", user=user, now=now, summary=how)
        _tell_reset(user, now)
        db.session.commit()
        return redirect(
            get_safe_redirect(next_url) if next_url else self.appbuilder.get_url_for_index
        )

    # ------------------------------------------------------------ the second factor at sign-in

    def _second_step(self, user, now):
        next_url = request.args.get("next")
        session.clear()  # nothing of an earlier visit survives into the new sign-in
        minutes = current_app.config["TWO_FACTOR_PENDING_MINUTES"]
        session[PENDING_KEY] = {
            "uid": user.id,
            "ver": user.token_version,
            "until": (now + timedelta(minutes=minutes)).isoformat(),
            "next": next_url or "",
        }
        db.session.commit()
        step = "code" if two_factor.is_enrolled(user) else "enrol"
        return redirect(url_for(f"{self.endpoint}.{step}"))

    def _pending_user(self, now):
        """The account whose password was just given, while the second step is still open."""
        pending = session.get(PENDING_KEY)
        if not isinstance(pending, dict):
            return None
        user = db.session.get(MalanUser, pending.get("uid"))
        if (
            user is None
            or not user.is_active
            or user.token_version != pending.get("ver")
            or datetime.fromisoformat(pending["until"]) < now
        ):
            session.pop(PENDING_KEY, None)
            return None
        return user

    def _restart(self):
        flash(str(_l("Please sign in again.")), "warning")
        return redirect(self.appbuilder.get_url_for_login)

    @expose("/login/code", methods=["GET", "POST"])
    def code(self):
        """输入动态口令: a code of the authenticator app, or one of the recovery codes."""
        now = clock.now()
        user = self._pending_user(now)
        if user is None:
            return self._restart()
        if not two_factor.is_enrolled(user):
            return redirect(url_for(f"{self.endpoint}.enrol"))
        form = CodeForm()
        if form.validate_on_submit():
            sm = self.appbuilder.sm
            if user.is_locked(now):
                session.pop(PENDING_KEY, None)
                flash(sm.locked_message(user.locked_until), "danger")
                return redirect(self.appbuilder.get_url_for_login)
            how = two_factor.verify(user, form.code.data, now)
            if how is None:
                attempt = sm.count_failure(user, now, "wrong second-factor code")
                if attempt.locked_until is not None:
                    session.pop(PENDING_KEY, None)
                    flash(sm.locked_message(attempt.locked_until), "danger")
                    return redirect(self.appbuilder.get_url_for_login)
                form.code.errors = [_("The code is wrong or has been used. Try the next one.")]
            else:
                next_url = session.pop(PENDING_KEY, {}).get("next")
                if how == "recovery":
                    audit.record(db.session, "recovery_code_used", user=user, now=now)
                return self._sign_in(user, now, next_url, how=f"password+{how}")
        return self._no_store(
            self.render_template(
                "security/two_factor_code.html", form=form, title=_("Two-factor authentication")
            )
        )

    @expose("/login/enrol", methods=["GET", "POST"])
    def enrol(self):
        """设置双因素认证 at the first sign-in after it became required for the account's role."""
        now = clock.now()
        user = self._pending_user(now)
        if user is None:
            return self._restart()
        if two_factor.is_enrolled(user):
            return redirect(url_for(f"{self.endpoint}.code"))
        form = CodeForm()
        two_factor.pending_secret(user)
        db.session.commit()
        if form.validate_on_submit():
            codes = two_factor.enrol(user, form.code.data, now)
            if codes is None:
                db.session.rollback()
                form.code.errors = [_("The code is wrong or has been used. Try the next one.")]
            else:
                next_url = session.pop(PENDING_KEY, {}).get("next")
                response = self._sign_in(user, now, next_url, how="password+totp (enrolled)")
                if not current_user.is_authenticated:
                    return response
                return self._no_store(
                    self.render_template(
                        "security/recovery_codes.html",
                        codes=codes,
                        continue_url=response.location,
                        title=_("Recovery codes"),
                    )
                )
        return self._no_store(
            self.render_template(
                "security/two_factor_enrol.html",
                form=form,
                qr_svg=Markup(two_factor.qr_svg(user)),
                secret=user.totp_secret,
                title=_("Set up two-factor authentication"),
            )
        )

    @staticmethod
    def _no_store(page):
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response

    # ------------------------------------------------------------ signing out

    @expose("/logout/", methods=["POST"])
    def logout(self):
        """Signing out ends every session and API token of the account (issue 17 point 4).
        POST only, with the CSRF token: a link or an image cannot sign anybody out."""
        user = self._get_authenticated_user()
        now = clock.now()
        sessions.end_current(now)
        if user is not None:
            sessions.revoke_all(user.id, now, "logout")
            audit.record(db.session, "logout", user=user, now=now)
        db.session.commit()
        logout_user()
        return redirect(self.appbuilder.get_url_for_login)


class LanguageView(LocaleView):
    """Switch the language by POST (with the CSRF token) from the navbar; FAB's GET answers 405."""

    route_base = "/lang"
    default_view = "index"

    @expose("/<string:locale>", methods=["POST"])
    def index(self, locale):
        if locale not in self.appbuilder.bm.languages:
            abort(404)
        session["locale"] = locale
        refresh()
        target = request.referrer or ""
        return redirect(get_safe_redirect(target) if target else self.appbuilder.get_url_for_index)


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
            now = clock.now()
            new = form.new_password.data
            if not check_password_hash(user.password or "", form.old_password.data):
                form.old_password.errors = [_("The current password is wrong.")]
            elif passwords.changed_too_recently(user, now):
                form.new_password.errors = [
                    _(
                        "You changed your password less than %(n)d day(s) ago; it can be "
                        "changed again after %(t)s.",
                        n=current_app.config["PASSWORD_MIN_AGE_DAYS"],
                        t=f"{passwords.may_change_after(user):%Y-%m-%d %H:%M}",
                    )
                ]
            else:
                errors = passwords.new_password_errors(new, user)
                if not errors and passwords.was_used_before(user, new):
                    errors = [_("This password was used recently; choose another.")]
                form.new_password.errors = errors
            if not (form.old_password.errors or form.new_password.errors):
                passwords.set_password(user, new, now, must_change=False)
                # Every other session and every API token of the account ends; this one stays.
                sessions.revoke_all(user.id, now, "password_change", keep_current=True)
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


def _tell_reset(user, now) -> None:
    """三员分立: the owner of an account whose password two administrators reset is told who,
    once, at its next sign-in (issue 17 point 2)."""
    if not user.reset_notice:
        return
    proposer, _sep, approver = user.reset_notice.partition("\t")
    flash(
        str(
            _l(
                "Your password was reset by %(proposer)s, approved by %(approver)s.",
                proposer=proposer,
                approver=approver,
            )
        ),
        "warning",
    )
    audit.record(db.session, "reset_notice_shown", user=user, now=now, summary=user.reset_notice)
    user.reset_notice = None


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
        sm = self.appbuilder.sm
        now = clock.now()
        attempt = sm.authenticate(payload["username"], payload["password"], now)
        if attempt.locked_until is not None:
            return self.response(401, message=sm.locked_message(attempt.locked_until))
        user = attempt.user
        if user is None:
            db.session.commit()
            return self.response_401()
        if attempt.needs_second_factor:
            # The second factor holds here too: a code of the app (or a recovery code) in "totp".
            if not two_factor.is_enrolled(user):
                return self.response(
                    403, message=_("Set up two-factor authentication in the browser first.")
                )
            code = payload.get("totp")
            if not isinstance(code, str) or two_factor.verify(user, code, now) is None:
                failed = sm.count_failure(user, now, "api: wrong second-factor code")
                if failed.locked_until is not None:
                    return self.response(401, message=sm.locked_message(failed.locked_until))
                return self.response(
                    401, message=_("The code is wrong or has been used. Try the next one.")
                )
        if not sm.finish_login(user, now):
            db.session.commit()
            return self.response(
                401, message=sm.locked_message(lockout.locked_until(user.id, now) or now)
            )
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
