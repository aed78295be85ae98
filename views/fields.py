"""Forms run the field rules of `app.services.fields`: a refused value is shown beside its field,
framed with its label, and the form keeps what was typed."""

from wtforms.validators import ValidationError

from app.services import fields


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
