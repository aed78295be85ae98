"""Forms run the field rules of `app.services.fields`: a refused value is shown beside its field,
framed with its label, and the form keeps what was typed."""

from wtforms.validators import ValidationError

from app.services import fields
from app.services.errors import DomainError


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
