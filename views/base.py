"""Base classes for every view and API over a model: scoped data, few named permissions."""

from flask import Response, abort, current_app, flash, redirect, request
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.const import FLAMSG_ERR_SEC_ACCESS_DENIED, PERMISSION_PREFIX
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import (
    get_filter_args,
    get_order_args,
    get_page_args,
    get_page_size_args,
)
from flask_appbuilder.widgets import FormWidget
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.extensions import db
from app.services.errors import DomainError
from app.services.tx import transaction
from reports.xlsx import XLSX_MIME, content_disposition
from security.scope import WriteRefused
from views.fields import model_form_rules

# FAB method/action names -> the action of `security.permissions` they require.
METHOD_PERMISSIONS = {
    "list": "read",
    "show": "read",
    "download": "read",
    "api_read": "read",
    "add": "write",
    "edit": "write",
    "action": "write",
    "action_post": "write",
    "delete": "delete",
    "get_list": "read",
    "get": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "export": "export",
}


def show_refusal(form, exc: DomainError) -> None:
    """A refusal shown on ``form``: beside its field when the form has it, else above the form
    (``form.form_errors_``, read by forms/model_form.html)."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)] if isinstance(field.errors, list) else [str(exc)]
    else:
        form.form_errors_ = [*getattr(form, "form_errors_", []), str(exc)]


class ModelFormWidget(FormWidget):
    """FAB's add/edit form with our field errors (app/templates/forms/_errors.html)."""

    template = "forms/model_form.html"


def attempt(call) -> DomainError | None:
    """One service call as one transaction; the refusal, if any (nothing written then). For the
    hand-written pages that re-render themselves with the refusal beside its field."""
    try:
        with transaction():
            call()
    except DomainError as exc:
        db.session.rollback()
        return exc
    return None


def perform(call, success=None, form=None) -> bool:
    """Run one service call as one transaction and tell the user how it went: ``success`` is
    flashed when it commits; a refusal (`DomainError`) rolls everything back and is shown next to
    its field when ``form`` has that field, else flashed. ``form`` is a WTForm, or a dict that
    collects ``{field: [message]}`` for a hand-written form. True when it committed."""
    try:
        with transaction():
            call()
    except DomainError as exc:
        if isinstance(form, dict) and exc.field:
            form.setdefault(exc.field, []).append(str(exc))
            return False
        field = getattr(form, exc.field, None) if form is not None and exc.field else None
        if field is not None:
            field.errors = (
                [*field.errors, str(exc)] if isinstance(field.errors, list) else [str(exc)]
            )
        else:
            flash(str(exc), "danger")
        return False
    if success is not None:
        flash(str(success), "success")
    return True


def yes_no(value) -> str:
    """Booleans as words of the catalog; FAB would print True/False."""
    return str(_l("Yes") if value else _l("No"))


def blank(value) -> str:
    """An empty value as nothing; FAB would print None."""
    return "" if value is None else str(value)


class ScopedModelView(ModelView):
    """Every ModelView of ours. Its datamodel must be a `ScopedSQLAInterface` (a test checks)."""

    method_permission_name = METHOD_PERMISSIONS
    page_size = 25

    def get_or_404(self, pk):
        """The row of a custom page, through the scoped datamodel: outside the scope is 404."""
        record = self.datamodel.get(pk)
        if record is None:
            abort(404)
        return record

    # FAB's action endpoints carry no @has_access, load rows with an unchecked datamodel.get()
    # and crash on an unknown action name. Ours: unknown action 404, no permission 403, any id
    # outside the scope 404 — all checked before the action runs, so a mixed batch changes nothing.
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        self._check_action(name)
        item = self._scoped_rows([pk])[0]
        if not self.is_get_mutation_allowed():  # a GET must not change anything (CSRF)
            flash(as_unicode(FLAMSG_ERR_SEC_ACCESS_DENIED), "danger")
            return redirect(self.get_redirect())
        return self.actions[name].func(item)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        self._check_action(name)
        pks = request.form.getlist("rowid")
        if not pks:
            abort(400)
        items = self._scoped_rows(pks)
        return self.actions[name].func(items)

    # FAB refuses a GET delete with a redirect before looking at the id: a foreign id must
    # answer 404 whatever the method, like every other endpoint.
    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        self._scoped_rows([pk])
        return super().delete(pk)

    def _check_action(self, name):
        if name not in self.actions:
            abort(404)
        permission = self.method_permission_name.get(self.actions[name].func.__name__)
        permission = f"{PERMISSION_PREFIX}{permission}" if permission else name
        if permission not in self.base_permissions or not self.appbuilder.sm.has_access(
            permission, self.class_permission_name
        ):
            abort(403)

    def _scoped_rows(self, pks):
        items = [self.datamodel.get(self._deserialize_pk_if_composite(pk)) for pk in pks]
        if any(item is None for item in items):
            abort(404)
        return items

    # FAB serves any file of UPLOAD_FOLDER by name: ours only files of rows in the scope.
    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename):
        columns = [getattr(self.datamodel.obj, c) for c in self.datamodel.get_file_column_list()]
        columns += [getattr(self.datamodel.obj, c) for c in self.datamodel.get_image_column_list()]
        if not columns or not filename or "UPLOAD_FOLDER" not in current_app.config:
            abort(404)
        query = self.datamodel.session.query(self.datamodel.obj).filter(
            or_(*[column == filename for column in columns])
        )
        if self.datamodel.apply_all(query).first() is None:
            abort(404)
        return super().download.__wrapped__(self, filename)

    def list_query(self, query, default_order=("", "")):
        """``query`` narrowed as the list page shows it to this request: scope, the user's
        filters and order. Exports use it, so they give exactly what the list shows. Returns
        the query and the filters in words (for the audit entry)."""
        filters = self.datamodel.get_filters(self.search_columns)  # per request: views are shared
        get_filter_args(filters)
        joined = self._base_filters.get_joined_filters(filters)
        order_column, direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if not order_column:
            order_column, direction = default_order
        query = self.datamodel.apply_all(query, joined, order_column, direction)
        described = "; ".join(
            f"{col} {op} {value}" for col, op, value in filters.get_filters_values_tojson()
        )
        return query, described

    # A refused add or edit never loses what was typed: the refusal (a DomainError of
    # pre_add/pre_update, a database refusal) re-renders the form with the posted values and
    # the message beside its field; FAB would flash it and redirect to an empty page. Nothing
    # of the refused row stays in the session for a later commit of the same request.
    add_widget = ModelFormWidget
    edit_widget = ModelFormWidget

    def _init_forms(self):
        super()._init_forms()
        model_form_rules(self.datamodel, self.add_form)
        model_form_rules(self.datamodel, self.edit_form)

    def form_warnings(self, item) -> list[str]:
        """Warnings knowable at save time (a view overrides this): shown on the saved record's
        next page as a flash."""
        return []

    def _add(self):
        if request.method != "POST":
            return super()._add()
        try:
            return self._save(None)
        finally:
            self._discard_unsaved()

    def _edit(self, pk):
        if request.method != "POST":
            return super()._edit(pk)
        try:
            return self._save(pk)
        finally:
            self._discard_unsaved()

    def _save(self, pk):
        """One POST of the add (``pk`` None) or edit form: None when saved (FAB redirects),
        else the widgets of the form re-rendered with what was typed."""
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        adding = pk is None
        item = self.datamodel.obj() if adding else self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        blank_form = self.add_form if adding else self.edit_form
        form = blank_form.refresh() if adding else blank_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        if not adding:
            pk = self.datamodel.get_pk_value(item)
            form._id = pk  # FAB's unique check skips the record itself
        if form.validate():
            self.process_form(form, adding)
            try:
                form.populate_obj(item)
                if adding:
                    self.pre_add(item)
                    self.datamodel.add(item)
                    self.post_add(item)
                else:
                    self.pre_update(item)
                    self.datamodel.edit(item)
                    self.post_update(item)
            except DomainError as exc:
                refusal = exc
            except WriteRefused as exc:  # the scope's guard: the message is the user's
                refusal = DomainError(str(exc))
            except (SQLAlchemyError, DatabaseException) as exc:
                # FAB's edit wraps the database's error; a unique value taken meanwhile (by a
                # record outside the user's area) is said as such, anything else in general
                taken = isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError)
                message = self.add_integrity_error_message if taken else self.database_error_message
                refusal = DomainError(message)
            else:
                flash(str(self.add_row_message if adding else self.edit_row_message), "success")
                for warning in self.form_warnings(item):
                    flash(str(warning), "warning")
                return None
            self.datamodel.session.rollback()
            # a fresh form from the posted values: process_form may have changed the first one
            form = blank_form.refresh() if adding else blank_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            show_refusal(form, refusal)
        if adding:
            return self._get_add_widget(form=form, exclude_cols=exclude_cols)
        widgets = self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        return self._get_related_views_widgets(
            self.datamodel.get(pk, self._base_filters),
            filters={},
            orders=get_order_args(),
            pages=get_page_args(),
            page_sizes=get_page_size_args(),
            widgets=widgets,
        )

    def _discard_unsaved(self):
        if request.method == "POST":
            self.datamodel.session.rollback()


class ScopedModelRestApi(ModelRestApi):
    method_permission_name = METHOD_PERMISSIONS
    allow_browser_login = False

    # A refused value (a DomainError of a service called by pre_add/pre_update) or a value the
    # schema cannot load (ValueError) is bad input: 422 with the message (FAB would answer 500).
    def post_headless(self):
        return self._bad_input_is_422(super().post_headless)

    def put_headless(self, pk):
        return self._bad_input_is_422(super().put_headless, pk)

    def _bad_input_is_422(self, handler, *args):
        try:
            return handler(*args)
        except DomainError as exc:
            self.datamodel.session.rollback()
            return self.response_422(message={exc.field or "_": [str(exc)]})
        except ValueError as exc:
            self.datamodel.session.rollback()
            return self.response_422(message=str(exc))


__all__ = [
    "ScopedModelView",
    "ScopedModelRestApi",
    "has_access",
    "METHOD_PERMISSIONS",
    "yes_no",
    "blank",
]


def xlsx_download(data: bytes, filename: str) -> Response:
    """Every spreadsheet the platform hands out: its Chinese name (`reports.xlsx.download_name`)
    per RFC 5987 with an ASCII fallback, never cached (exports hold personal data)."""
    return Response(
        data,
        mimetype=XLSX_MIME,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
