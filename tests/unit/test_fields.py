"""Issue 11 point 3: each field rule written once (app.services.fields)."""

from datetime import date

import pytest
from flask_babel import force_locale

from app.services import fields
from app.services.errors import InvalidValue


@pytest.fixture(autouse=True)
def _ctx(app):
    """Messages go through Flask-Babel: an app context, no database; read in English."""
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "１３８１２３４５６７８",  # full-width digits
        "+86 138 1234 5678",
        "86-13812345678",
        "008613812345678",
        "(138)1234-5678",
    ],
)
def test_point3_one_mobile_rule_normalises_what_people_type(typed):
    assert fields.mobile(typed) == "13812345678"


@pytest.mark.parametrize(
    "typed",
    ["138abcd1234", "12345", "12812345678", "138123456789", "010-12345678", "+1 4155550123"],
)
def test_point3_one_mobile_rule_refuses_what_is_not_a_mainland_mobile(typed):
    with pytest.raises(fields.Invalid, match="11-digit mainland mobile"):
        fields.mobile(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "010-12345678",
        "0755 1234567",
        "(020)8765 4321-12",
        "87654321",
        "010-12345678转801",
        "010-12345678、13800138000",
        "13800138000",
    ],
)
def test_point3_telephone_takes_landlines_and_mobiles(typed):
    fields.telephone(typed)


@pytest.mark.parametrize("typed", ["138abcd1234", "010-1", "1", "电话"])
def test_point3_telephone_refuses_junk(typed):
    with pytest.raises(fields.Invalid):
        fields.telephone(typed)


def test_point3_id_number_rule_normalises_and_names_what_is_wrong():
    assert fields.id_number("11010119800101007x") == "11010119800101007X"
    assert fields.id_number("１１０１０１-19800101-007X") == "11010119800101007X"
    for typed, words in [
        ("11010119800101007", "18 characters"),
        ("110101198013010016", "date of birth"),
        ("99999919800101007X", "region code"),
        ("110101198001010071", "check digit"),
        (1.10101198001010e17, "turned into a number"),
        ("1.10101E+17", "turned into a number"),
    ]:
        with pytest.raises(fields.Invalid, match=words):
            fields.id_number(typed)


def test_point3_text_longer_than_the_column_is_refused_naming_the_limit_never_cut():
    assert fields.Text(5)(" 12345 ") == "12345"
    with pytest.raises(fields.Invalid, match="at most 5 characters"):
        fields.Text(5)("123456")


def test_point3_integer_date_and_choice():
    assert fields.Integer(0, 70, "年")("10年") == 10
    with pytest.raises(fields.Invalid, match="from 0 to 70"):
        fields.Integer(0, 70)("71")
    assert fields.a_date("2024年5月1日") == date(2024, 5, 1) == fields.a_date("20240501")
    with pytest.raises(fields.Invalid, match="not a date"):
        fields.a_date("2024-13-01")
    assert fields.Choice({"M": "男", "F": "女"}, {"男": "M"})("男") == "M"
    with pytest.raises(fields.Invalid, match="not one of"):
        fields.Choice({"M": "男"})("X")


SPEC = (
    fields.Field("name", "Name", fields.Text(4), required=True),
    fields.Field("mobile", "Mobile", fields.mobile, required=True),
    fields.Field("email", "E-mail", fields.email),
)


def test_point3_check_reports_every_error_and_validate_raises_the_first_naming_the_field():
    values = {"name": "", "mobile": "138abcd1234", "email": "x"}
    assert [field for field, _m in fields.check(SPEC, values)] == ["name", "mobile", "email"]
    with pytest.raises(InvalidValue) as refused:
        fields.validate(SPEC, values)
    assert refused.value.field == "name" and str(refused.value) == "Name: required."
    cleaned = fields.validate(SPEC, {"name": " 张三 ", "mobile": "+86 138 1234 5678", "email": ""})
    assert cleaned == {"name": "张三", "mobile": "13812345678", "email": None}
    assert fields.check(SPEC, values, skip=("name", "mobile")) == [
        ("email", "not a valid address (x).")
    ]
