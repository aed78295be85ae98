"""讲师级别与课程类型: the center keeps the vocabularies the libraries offer as choices."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.services import vocabulary
from models.vocabulary import KINDS, Term
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelView, yes_no
from views.fields import refused_by
from views.list_export import ListExportMixin


class VocabularyView(ListExportMixin, ScopedModelView):
    datamodel = ScopedSQLAInterface(Term)
    class_permission_name = permissions.VOCABULARY
    list_title = _l("Levels and course types")
    show_title = _l("Term details")
    add_title = _l("Add term")
    edit_title = _l("Edit term")
    label_columns = {
        "kind": _l("Vocabulary"),
        "code": _l("Code"),
        "label": _l("Name"),
        "position": _l("Order"),
        "active": _l("In use"),
    }
    list_columns = ["kind", "code", "label", "position", "active"]
    show_columns = list_columns
    add_columns = ["kind", "code", "label", "position"]
    # The code is what records store: it never changes; a term is retired, not deleted.
    edit_columns = ["label", "position", "active"]
    search_columns = ["kind", "code", "label", "active"]
    order_columns = ["kind", "position", "code"]
    base_order = ("kind", "asc")
    add_form_extra_fields = {
        "kind": SelectField(_l("Vocabulary"), choices=list(KINDS.items())),
        # A taken code is refused beside the field, the form keeping what was typed.
        "code": StringField(
            _l("Code"),
            validators=[
                DataRequired(),
                Length(max=32),  # the column's
                refused_by(lambda form, code: vocabulary.check_code_free(form.kind.data, code)),
            ],
        ),
    }
    edit_form_extra_fields = {"active": BooleanField(_l("In use"))}
    formatters_columns = {"kind": lambda kind: str(KINDS.get(kind, kind)), "active": yes_no}
    base_permissions = ["can_read", "can_write"]

    def pre_add(self, item):
        vocabulary.check_new_term(item)
