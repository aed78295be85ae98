"""The xlsx export of a list page: exactly the rows the list shows to this request (scope,
filters, order; every page), its columns under their Chinese labels, through the one export
mechanism (`reports.xlsx.write_table`, `views.base.xlsx_download`). A view adds it with
``class XView(ListExportMixin, ScopedModelView)`` and gets ``/export_list`` and the button."""

from flask import flash, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from markupsafe import Markup

from app import audit, clock
from app.extensions import db
from app.services.tx import transaction
from reports.xlsx import Column, download_name, write_table
from views.base import xlsx_download, yes_no

# More rows than a spreadsheet is any use for: the user narrows the filters first.
EXPORT_CAP = 20000


def _cell(value):
    if isinstance(value, Markup):
        return value.striptags()
    if isinstance(value, bool):
        return yes_no(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


class ListExportMixin:
    """Put before the `ScopedModelView` base. ``export_columns`` defaults to ``list_columns``."""

    list_template = "list_export.html"
    export_columns: list[str] | None = None
    export_cap = EXPORT_CAP

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Whoever may read the list may take it away as a spreadsheet.
        cls.method_permission_name = {**cls.method_permission_name, "export_list": "read"}
        if cls.include_route_methods is not None:  # a view that routes only what it names
            cls.include_route_methods = {*cls.include_route_methods, "export_list"}

    def _is_number(self, col) -> bool:
        if col in self.formatters_columns or "." in col:
            return False
        model = self.datamodel
        try:
            return model.is_integer(col) or model.is_numeric(col) or model.is_float(col)
        except (AttributeError, KeyError):
            return False

    def export_rows(self, query):
        columns = self.export_columns or self.list_columns
        for item in query:
            row = []
            for col in columns:
                value = self.datamodel._get_attr_value(item, col)
                formatter = self.formatters_columns.get(col)
                row.append(_cell(formatter(value) if formatter else value))
            yield row

    @expose("/export_list")
    @has_access
    def export_list(self):
        """The list as xlsx: the same scoped, filtered, ordered query as the page, all pages."""
        query, described = self.list_query(
            self.datamodel.session.query(self.datamodel.obj), self.base_order or ("", "")
        )
        count = query.order_by(None).limit(self.export_cap + 1).count()
        if count > self.export_cap:
            flash(
                _(
                    "More than %(cap)d rows: narrow the filters before exporting.",
                    cap=self.export_cap,
                ),
                "warning",
            )
            return redirect(url_for(f"{self.endpoint}.list"))
        columns = self.export_columns or self.list_columns
        title = str(self.list_title)
        data = write_table(
            [Column(str(self.label_columns.get(c, c)), 18, self._is_number(c)) for c in columns],
            self.export_rows(query),
            sheet=title,
        )
        now = clock.now()
        with transaction():
            name = self.datamodel.obj.__name__
            audit.record_export(db.session, name, count, described[:400], now=now)
        return xlsx_download(data, download_name(title, when=now))
