"""Forms run the field rules of `app.services.fields`: a refused value is shown beside its field,
framed with its label, and the form keeps what was typed."""

from flask_appbuilder.validators import Unique
from flask_babel import gettext as _
from sqlalchemy import inspect, select
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, ValidationError

from app.extensions import db
from app.services import fields
from app.services.errors import DomainError
from security.scope import in_scope


def checked(spec, name: str):
    """A WTForms validator running the rule of field ``name`` of ``spec`` (and writing the
    cleaned value back, e.g. a mobile without its blanks)."""
    spec = tuple(spec)

    def validator(_form, field):
        cleaned, errors = fields.clean(spec, {name: field.data})
        if errors:
            raise ValidationError(fields.framed(spec, *errors[0]))
        field.data = cleaned[name]

    return validator


def refused_by(check):
    """A WTForms validator running a service's check ``check(form, value)``: the `DomainError`
    it raises is shown beside the field, and the form keeps what was typed (a refusal raised
    later, from FAB's pre_add, would only be flashed over an empty form)."""

    def validator(form, field):
        try:
            check(form, field.data)
        except DomainError as exc:
            raise ValidationError(str(exc)) from None

    return validator


# ---------------------------------------------------------------- rules derived from the model


class ColumnLength:
    """A text longer than its column is refused naming the limit (FAB's Length would also put
    ``maxlength`` on the input, and the browser would cut a pasted text without a word)."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, _form, field):
        data = field.data
        if isinstance(data, str) and len(data.strip()) > self.limit:
            raise ValidationError(
                fields.framed((), field.label.text, fields.too_long(self.limit, len(data.strip())))
            )


class UniqueNamed:
    """A value already held by another record the user may see: the message names the field
    and that record ("身份证号：已被 张三 使用。"; FAB's check would answer a bare 已存在。). A
    record outside the user's area is not named: the service's own check refuses it with the way
    out (a trainer's profile entered by the center), the database's constraint at the least."""

    def __init__(self, model, column: str):
        self.model, self.column = model, column

    def __call__(self, form, field):
        if field.data in (None, ""):
            return
        session = db.session
        pk = inspect(self.model).primary_key[0]
        query = select(self.model).where(getattr(self.model, self.column) == field.data)
        if getattr(form, "_id", None) is not None:
            query = query.where(pk != form._id)
        with session.no_autoflush:
            other = session.scalars(query.limit(1)).first()
            if other is None:
                return
            visible = session.scalar(
                in_scope(select(pk).where(pk == getattr(other, pk.key)), self.model)
            )
        if visible is None:
            return  # outside the user's area: the service's own check says what to do
        message = _("already used by %(record)s.", record=str(other).strip())
        raise ValidationError(fields.framed((), field.label.text, message))


def model_form_rules(datamodel, form_class) -> None:
    """Every ScopedModelView's add and edit form (called by `views.base`): each text field
    bound to a column of limited length gets `ColumnLength`, each unique column `UniqueNamed`,
    in place of FAB's checks. Idempotent (extra fields are shared by the add and edit forms)."""
    if form_class is None:
        return
    model = datamodel.obj
    columns = model.__table__.columns
    for name, unbound in list(vars(form_class).items()):
        if not isinstance(unbound, UnboundField) or name not in columns:
            continue
        column = columns[name]
        kept = [
            v
            for v in unbound.kwargs.get("validators") or ()
            if not isinstance(v, (Length, Unique, ColumnLength, UniqueNamed))
        ]
        limit = getattr(column.type, "length", None)
        if limit and issubclass(unbound.field_class, StringField):
            kept.append(ColumnLength(limit))
        if column.unique:
            kept.append(UniqueNamed(model, name))
        unbound.kwargs["validators"] = kept
