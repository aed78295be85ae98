"""Base classes for every view and API over a model: scoped data, few named permissions."""

from flask import abort, request
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.security.decorators import has_access

# FAB method/action names -> the action of `security.permissions` they require.
METHOD_PERMISSIONS = {
    "list": "read", "show": "read", "download": "read", "api_read": "read",
    "add": "write", "edit": "write", "action": "write", "action_post": "write",
    "delete": "delete",
    "get_list": "read", "get": "read", "info": "read", "post": "write", "put": "write",
    "export": "export",
}


class ScopedModelView(ModelView):
    """Every ModelView of ours. Its datamodel must be a `ScopedSQLAInterface` (a test checks)."""

    method_permission_name = METHOD_PERMISSIONS
    page_size = 25

    # FAB loads action rows with datamodel.get(): scoped, so a foreign id comes back None.
    # Answer 404 instead of calling the action with None.
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if self.datamodel.get(self._deserialize_pk_if_composite(pk)) is None:
            abort(404)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        pks = request.form.getlist("rowid")
        if not pks:
            abort(400)
        for pk in pks:
            if self.datamodel.get(self._deserialize_pk_if_composite(pk)) is None:
                abort(404)
        return super().action_post()


class ScopedModelRestApi(ModelRestApi):
    method_permission_name = METHOD_PERMISSIONS
    allow_browser_login = False


__all__ = ["ScopedModelView", "ScopedModelRestApi", "has_access", "METHOD_PERMISSIONS"]
