"""组织机构: the administrative tree and the training institutions under each city."""

from flask_appbuilder.models.sqla.filters import FilterEqual, FilterNotEqual
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from app.services import orgs
from models.org import CITY, INSTITUTION, Org
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import ScopedModelRestApi, ScopedModelView, blank, yes_no
from views.list_export import ListExportMixin

KIND_LABELS = {
    "center": _l("Ministry center"),
    "province": _l("Province"),
    "city": _l("City"),
    "institution": _l("Training institution"),
}

LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "kind": _l("Level"),
    "parent": _l("Belongs to"),
    "credit_code": _l("Unified social credit code"),
    "address": _l("Address"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "active": _l("Active"),
}


class OrgView(ListExportMixin, ScopedModelView):
    datamodel = ScopedSQLAInterface(Org, eager=("parent",))  # the list shows each parent
    class_permission_name = permissions.ORG
    list_title = _l("Organisation")
    show_title = _l("Organisation details")
    add_title = _l("Add training institution")
    edit_title = _l("Edit organisation")
    label_columns = LABELS
    list_columns = ["code", "name", "kind", "parent", "active"]
    show_columns = [
        "code",
        "name",
        "kind",
        "parent",
        "credit_code",
        "address",
        "contact_name",
        "contact_phone",
        "active",
    ]
    add_columns = ["parent", "name", "credit_code", "address", "contact_name", "contact_phone"]
    edit_columns = ["name", "credit_code", "address", "contact_name", "contact_phone", "active"]
    search_columns = ["code", "name", "kind", "parent", "active"]
    # FAB makes a NOT NULL boolean InputRequired: an unticked box could never be saved.
    edit_form_extra_fields = {"active": BooleanField(_l("Active"))}
    order_columns = ["code", "name"]
    base_order = ("code", "asc")
    add_form_query_rel_fields = {"parent": [["kind", FilterEqual, CITY]]}
    # A parent is never an institution: the search dropdown lists the tree (~500 nodes), not
    # the 10,000 institutions as well (bench B1: 0.8 s of every page at scale 1.0).
    search_form_query_rel_fields = {"parent": [["kind", FilterNotEqual, INSTITUTION]]}
    formatters_columns = {
        "kind": lambda kind: KIND_LABELS.get(kind, kind),
        "active": yes_no,
        "parent": blank,
        "credit_code": blank,
        "address": blank,
        "contact_name": blank,
        "contact_phone": blank,
    }
    base_permissions = ["can_read", "can_write"]

    # Only institutions are added here; provinces and cities come from the GB/T 2260 file.
    # A refusal (DomainError) is flashed by FAB's form handling.
    def pre_add(self, item):
        orgs.add_institution(item)

    def pre_update(self, item):
        orgs.update_org(item)


class OrgApi(ScopedModelRestApi):
    resource_name = "org"
    datamodel = ScopedSQLAInterface(Org)
    class_permission_name = permissions.ORG
    list_columns = ["id", "code", "name", "kind", "parent_id", "active"]
    show_columns = list_columns + ["credit_code", "address", "contact_name", "contact_phone"]
    add_columns = ["parent", "name", "credit_code", "address", "contact_name", "contact_phone"]
    edit_columns = ["name", "credit_code", "address", "contact_name", "contact_phone", "active"]
    add_query_rel_fields = {"parent": [["kind", FilterEqual, CITY]]}
    base_permissions = ["can_read", "can_write"]

    def pre_add(self, item):
        orgs.add_institution(item)

    def pre_update(self, item):
        orgs.update_org(item)
