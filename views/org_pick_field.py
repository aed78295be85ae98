"""A form field that picks one org through the org picker (select2 over `/orgs/pick/`).

The page holds only the chosen option; the choices are searched on the server, scoped
(`app.services.org_picker`), so a 10,000-institution tree is never sent to the browser. A posted
id outside the picker's candidates is refused at the field.
"""

from __future__ import annotations

from flask import g, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.validators import StopValidation

from app.extensions import db
from app.services import org_picker
from models.org import Org


class OrgPickWidget:
    def __call__(self, field, **kwargs):
        org = field.data
        attrs = {
            "id": field.id,
            "name": field.name,
            "class": "form-control malan-org-picker",
            "data-org-picker": url_for("OrgPickerView.pick"),
            "data-purpose": field.purpose,
            "data-placeholder": str(_l("Type a name or a place to search")),
        }
        if field.role_from:
            attrs["data-role-from"] = field.role_from
        elif field.fixed_role():
            attrs["data-role"] = field.fixed_role()
        html = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
        option = '<option value=""></option>'
        if isinstance(org, Org):
            option += (
                f'<option value="{org.id}" selected>{escape(org_picker.path_of(org))}</option>'
            )
        return Markup(f"<select {html}>{option}</select>")


class OrgPickField(Field):
    widget = OrgPickWidget()

    def __init__(
        self, label=None, validators=None, purpose="account", role_from=None, role=None, **kw
    ):
        """``role_from``: the form's role select whose choice narrows the orgs (an account being
        created); ``role``: a callable giving the fixed role instead (an account being edited)."""
        super().__init__(label, validators, **kw)
        self.purpose, self.role_from, self._role = purpose, role_from, role
        self._bad = False

    def fixed_role(self) -> str | None:
        return self._role() if self._role is not None else None

    def process_formdata(self, valuelist):
        self._bad = False
        raw = (valuelist or [""])[0]
        if not raw:
            self.data = None
            return
        try:
            org_id = int(raw)
        except (TypeError, ValueError):
            org_id = None
        found = None
        if org_id is not None:
            query = org_picker.candidates(g.user, self.purpose).where(Org.id == org_id)
            found = db.session.scalar(query)
        self._bad = found is None
        self.data = found

    def pre_validate(self, form):
        if self._bad:
            raise StopValidation(str(_l("Choose an organisation from the list.")))
        role = form[self.role_from].data if self.role_from in form else self.fixed_role()
        if isinstance(self.data, Org) and role:
            query = org_picker.candidates(g.user, self.purpose, role).where(Org.id == self.data.id)
            if db.session.scalar(query) is None:  # the picker would not have offered it
                raise StopValidation(
                    str(_l("This role cannot belong to the selected organisation."))
                )

    def _value(self):
        return str(self.data.id) if isinstance(self.data, Org) else ""
