from app.services.masking import mask_email, mask_id_number, mask_mobile, mask_name, mask_text


def test_id_number_keeps_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number(" 110105194912310021 ") == "110105********0021"


def test_mobile_keeps_first_three_and_last_four():
    assert mask_mobile("13812345678") == "138****5678"


def test_email_keeps_first_letter_and_domain():
    assert mask_email("alice@x.cn") == "a***@x.cn"
    assert mask_email("nonsense") == "***"


def test_short_or_empty_values_never_leak():
    assert mask_id_number(None) == ""
    assert mask_mobile("") == ""
    assert mask_id_number("1234") == "****"
    assert mask_mobile("12345") == "*****"
    assert mask_name("张三") == "张*"
    assert mask_text("微信abcdefgh").startswith("微信")
    assert mask_text("abc") == "***"
