"""登录申请 (login applications): the rules of what a stranger types on the public form."""

from flask_babel import lazy_gettext as _l

from app.services import fields
from models.login_application import NAME_MAX, REASON_MAX, UNIT_MAX

# The public form's fields (`app.services.fields`); lengths are the columns'.
FIELDS = (
    fields.Field(
        "applicant_name", _l("Full name"), fields.Text(NAME_MAX, squash_spaces=True), required=True
    ),
    fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),
    fields.Field("unit", _l("Work unit"), fields.Text(UNIT_MAX), required=True),
    fields.Field(
        "reason", _l("Reason for the application"), fields.Text(REASON_MAX), required=True
    ),
)
