"""双因素认证: a user's own second factor (optional roles set it up here; everyone can renew the
recovery codes) and the security administrator's reset of another user's factor."""

from flask import current_app, g, make_response, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from markupsafe import Markup

from app import clock
from app.extensions import db
from app.services import account_requests, second_factor
from app.services.errors import DomainError
from models.account_request import RESET_SECOND_FACTOR
from models.user import MalanUser
from security import permissions, two_factor
from security.scope import ScopedSQLAInterface
from security.views import CodeForm
from views.base import perform


def _no_store(page):
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


class TwoFactorSettingsView(BaseView):
    route_base = "/two-factor"
    default_view = "index"

    def _page(self, form, **extra):
        user = g.user
        enrolled = two_factor.is_enrolled(user)
        if not enrolled:
            two_factor.pending_secret(user)
            db.session.commit()
        return _no_store(
            self.render_template(
                "two_factor/settings.html",
                form=form,
                enrolled=enrolled,
                required=two_factor.is_required(user),
                codes_left=two_factor.recovery_codes_left(user) if enrolled else 0,
                qr_svg=Markup(two_factor.qr_svg(user)) if not enrolled else "",
                secret=user.totp_secret if not enrolled else "",
                title=_("Two-factor authentication"),
                **extra,
            )
        )

    @expose("/", methods=["GET"])
    @login_required
    def index(self):
        return self._page(CodeForm())

    @expose("/enrol", methods=["POST"])
    @login_required
    def enrol(self):
        form = CodeForm()
        if form.validate_on_submit():
            codes = two_factor.enrol(g.user, form.code.data, clock.now())
            if codes is not None:
                db.session.commit()
                return self._recovery_codes(codes)
            db.session.rollback()
            form.code.errors = [_("The code is wrong or has been used. Try the next one.")]
        return self._page(form)

    @expose("/recovery-codes", methods=["POST"])
    @login_required
    def recovery_codes(self):
        form = CodeForm()
        if form.validate_on_submit():
            try:
                codes = second_factor.new_recovery_codes(g.user, form.code.data, clock.now())
            except DomainError as exc:
                form.code.errors = [str(exc)]
            else:
                return self._recovery_codes(codes)
        return self._page(form)

    def _recovery_codes(self, codes):
        return _no_store(
            self.render_template(
                "security/recovery_codes.html",
                codes=codes,
                continue_url=url_for(f"{self.endpoint}.index"),
                title=_("Recovery codes"),
            )
        )


class SecondFactorResetView(BaseView):
    """重置第二因素 (security administrator): one POST from the account's page proposes it."""

    route_base = "/two-factor/reset"
    class_permission_name = permissions.SECOND_FACTOR
    method_permission_name = {"reset": "manage"}
    base_permissions = ["can_manage"]
    datamodel = ScopedSQLAInterface(MalanUser)

    @expose("/<int:pk>", methods=["POST"])
    @has_access
    def reset(self, pk):
        user = self.datamodel.get(pk)
        if user is None:
            return current_app.make_response(("", 404))
        # 三员分立: proposed here, carried out when another security administrator approves it.
        perform(
            lambda: account_requests.propose(g.user, RESET_SECOND_FACTOR, clock.now(), target=user),
            _l(
                "Second-factor reset of %(u)s proposed: it takes effect when another "
                "security administrator approves it.",
                u=user.username,
            ),
        )
        return redirect(url_for("UserView.show", pk=pk))


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(TwoFactorSettingsView())
    appbuilder.add_view_no_menu(SecondFactorResetView())
