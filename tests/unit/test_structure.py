"""Point 6 (structure): every view over a scoped model reads through the scoped datamodel, and
every registered view's permission resource is one the permission table knows.
Issue 11 point 4: the menu is one table (`security.permissions.MENU_TABLE`), read by the view
registration and the permission matrix; views name their resource by a constant."""

import ast
from pathlib import Path

from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.babel.views import LocaleView
from flask_appbuilder.baseviews import BaseCRUDView
from flask_appbuilder.menu import MenuApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.views import AuthView
from flask_appbuilder.views import IndexView, ModelView, UtilView

from models.org import Org
from security import permissions
from security.scope import ScopedSQLAInterface, is_scoped
from views import menu_view

ROOT = Path(__file__).resolve().parents[2]

# FAB's own views (and our subclasses of them): sign-in, JWT login, menu, locale, the home
# page and the change-password page every signed-in user needs. They hold no data of ours.
FAB_INTERNAL = (AuthView, SecurityApi, UtilView, LocaleView, MenuApi, IndexView)
# Any signed-in (or anonymous, for the public form) user reaches these; the view decides what
# it serves (FileView: the owner record's visibility).
OPEN_TO_EVERY_USER = {
    "ChangePasswordView",
    "TwoFactorSettingsView",  # one's own second factor
    "LoginApplicationPublicView",
    "VerifyView",  # 查验真伪: the public page of a document's QR code (no login)
    "FileView",
    "OrgPickerView",  # the org pickers' JSON: signed in, answers only what the user may choose
}


def model_views(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, (BaseCRUDView, ModelRestApi))]


def unscoped_reads(views) -> list[str]:
    """The views (and their relations, as ``View.column``) that read a scoped model through an
    interface that does not scope: the check of point 6, apart so a test can feed it a leak."""
    offenders = []
    for view in views:
        datamodel = view.datamodel
        if is_scoped(datamodel.obj) and not isinstance(datamodel, ScopedSQLAInterface):
            offenders.append(view.__class__.__name__)
        # Related fields (dropdowns, filters, `_info`) read through the related interface.
        for column, prop in datamodel.list_properties.items():
            if datamodel.is_relation(column) and is_scoped(prop.mapper.class_):
                related = datamodel.get_related_interface(column)
                if not isinstance(related, ScopedSQLAInterface):
                    offenders.append(f"{view.__class__.__name__}.{column}")
    return offenders


def test_point6_every_view_over_a_scoped_model_uses_the_scoped_datamodel(app):
    assert unscoped_reads(model_views(app)) == []
    assert {"OrgView", "UserView", "AuditLogView", "OrgApi"} <= {
        v.__class__.__name__ for v in model_views(app)
    }


class _PlainRelations(ScopedSQLAInterface):
    """Scoped itself, but its dropdowns read the related model unscoped."""

    def get_related_interface(self, col_name):
        return SQLAInterface(self.list_properties[col_name].mapper.class_)


def test_point6_structure_test_catches_an_unscoped_view(app):
    """The check above must be able to fail: fed a view whose datamodel is a plain SQLAInterface
    over a scoped model, and one whose relation reads unscoped, it names both."""

    class PlainOrgView(ModelView):
        datamodel = SQLAInterface(Org)

    class LeakyDropdownOrgView(ModelView):
        datamodel = _PlainRelations(Org)

    assert is_scoped(Org)
    found = unscoped_reads([PlainOrgView(), LeakyDropdownOrgView()])
    assert {"PlainOrgView", "PlainOrgView.parent", "LeakyDropdownOrgView.parent"} <= set(found)
    assert "LeakyDropdownOrgView" not in found  # its own reads are scoped
    # Among the app's views, it names the leaking one and nothing else.
    found = unscoped_reads([*model_views(app), PlainOrgView()])
    assert found and all(name.split(".")[0] == "PlainOrgView" for name in found)


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


# ------------------------------------------------------------------ point 4: one table for the menu


def table_menu():
    """The menu as `MENU_TABLE` declares it, in the shape of `app_menu`."""
    return [
        (
            category.name,
            str(category.label),
            category.icon,
            [
                (e.name, str(e.label), e.icon, menu_view(e).__name__, e.resource)
                for e in category.entries
            ],
        )
        for category in permissions.MENU_TABLE
    ]


def app_menu(app):
    """The menu FAB holds after `create_app`: every category, and every entry under it."""
    return [
        (
            item.name,
            str(item.label),
            item.icon,
            [
                (
                    child.name,
                    str(child.label),
                    child.icon,
                    child.baseview.__class__.__name__,
                    child.baseview.class_permission_name,
                )
                for child in item.childs
            ],
        )
        for item in app.appbuilder.menu.get_list()
    ]


def test_point4_the_menu_is_the_menu_table(app):
    """Every menu entry FAB shows comes from the table, in its order, with its label, icon and
    category, and its view's permission resource is the entry's resource; and every table
    entry is in the menu."""
    assert app_menu(app) == table_menu()
    names = [e.name for _c, e in permissions.menu_entries()]
    assert len(names) == len(set(names)) >= 19  # unique: each is a menu_access permission


def test_point4_menu_access_is_derived_from_the_table():
    categories = {c.name for c in permissions.MENU_TABLE}
    entries = {e.name: e for _c, e in permissions.menu_entries()}
    for role, perms in permissions.expanded_matrix().items():
        grants = set(permissions.ROLE_MATRIX.get(role, []))
        menus = {name for action, name in perms if action == permissions.MENU}
        readable = {n for n, e in entries.items() if (permissions.READ, e.resource) in grants}
        assert menus - categories == readable, role
        shown = {c.name for c, e in permissions.menu_entries() if e.name in readable}
        assert menus & categories == shown, role


def test_point4_every_entry_view_can_be_read_by_its_resource(app):
    """The entry shows when the role may READ the resource: its view must serve a READ."""
    registered = {type(v): v for v in app.appbuilder.baseviews}
    for _category, entry in permissions.menu_entries():
        view = registered[menu_view(entry)]
        assert "can_read" in view.base_permissions, entry.name


def permission_literals(paths) -> list[str]:
    """``class_permission_name = "Plan"``-style assignments (a literal, not a constant of
    security/permissions.py) in the given source files."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(
                node.value, (ast.Constant, ast.JoinedStr)
            ):
                if any(getattr(t, "id", None) == "class_permission_name" for t in node.targets):
                    found.append(f"{path.name}:{node.lineno}")
    return found


def test_point4_views_name_their_permission_by_a_constant(tmp_path):
    sources = sorted((ROOT / "views").glob("*.py")) + sorted((ROOT / "security").glob("*.py"))
    assert len(sources) > 15
    assert permission_literals(sources) == []
    # The check can fail.
    leak = tmp_path / "leak.py"
    leak.write_text('class V:\n    class_permission_name = "Plan"\n', encoding="utf-8")
    assert permission_literals([leak]) == ["leak.py:2"]
