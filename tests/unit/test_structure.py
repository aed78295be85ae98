"""Point 6 (structure): every view over a scoped model reads through the scoped datamodel, and
every registered view's permission resource is one the permission table knows."""

from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.babel.views import LocaleView
from flask_appbuilder.baseviews import BaseCRUDView
from flask_appbuilder.menu import MenuApi
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.views import AuthView
from flask_appbuilder.views import IndexView, UtilView

from security import permissions
from security.scope import ScopedSQLAInterface, is_scoped

# FAB's own views (and our subclasses of them): sign-in, JWT login, menu, locale, the home
# page and the change-password page every signed-in user needs. They hold no data of ours.
FAB_INTERNAL = (AuthView, SecurityApi, UtilView, LocaleView, MenuApi, IndexView)
# Any signed-in (or anonymous, for the public form) user reaches these; the view decides what
# it serves (FileView: the owner record's visibility).
OPEN_TO_EVERY_USER = {
    "ChangePasswordView",
    "TwoFactorSettingsView",  # one's own second factor
    "LoginApplicationPublicView",
    "FileView",
}


def model_views(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, (BaseCRUDView, ModelRestApi))]


def test_point6_every_view_over_a_scoped_model_uses_the_scoped_datamodel(app):
    offenders = []
    for view in model_views(app):
        datamodel = view.datamodel
        if is_scoped(datamodel.obj) and not isinstance(datamodel, ScopedSQLAInterface):
            offenders.append(view.__class__.__name__)
        # Related fields (dropdowns, filters, `_info`) read through the related interface.
        for column, prop in datamodel.list_properties.items():
            if datamodel.is_relation(column) and is_scoped(prop.mapper.class_):
                related = datamodel.get_related_interface(column)
                if not isinstance(related, ScopedSQLAInterface):
                    offenders.append(f"{view.__class__.__name__}.{column}")
    assert not offenders
    assert {"OrgView", "UserView", "AuditLogView", "OrgApi"} <= {
        v.__class__.__name__ for v in model_views(app)
    }


def test_point6_structure_test_catches_an_unscoped_view():
    """The check above must be able to fail: a plain SQLAInterface over a scoped model."""
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from models.org import Org

    plain = SQLAInterface(Org)
    assert is_scoped(Org) and not isinstance(plain, ScopedSQLAInterface)
    assert not isinstance(plain.get_related_interface("parent"), ScopedSQLAInterface)


def test_point4_every_view_permission_is_in_the_permission_table(app):
    resources = {resource for grants in permissions.ROLE_MATRIX.values() for _a, resource in grants}
    resources |= {
        value
        for key, value in vars(permissions).items()
        if key.isupper() and isinstance(value, str)
    }
    unknown = []
    for view in app.appbuilder.baseviews:
        name = view.__class__.__name__
        if isinstance(view, FAB_INTERNAL) or name in OPEN_TO_EVERY_USER:
            continue
        if view.class_permission_name not in resources:
            unknown.append((name, view.class_permission_name))
    assert not unknown
    assert all(isinstance(v, BaseApi) or v.class_permission_name for v in app.appbuilder.baseviews)
