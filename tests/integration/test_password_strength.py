"""Issue 17, point 6: guessable passwords are refused (zxcvbn fed with the platform's and the
user's own words) and a password cannot be changed again within PASSWORD_MIN_AGE_DAYS, so the
history of 5 cannot be cycled; an administrator's reset and the forced change are not held."""
# ruff: noqa: F811  (pytest fixtures imported from test_login are redefined as arguments)

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.services import demo
from models.user import MalanUser
from security import passwords
from tests.factories import NOW, PASSWORD, change_password, csrf_token, post_login, sign_out

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

COMMON = ["Password1", "Qwerty123", "Abc12345", "P@ssw0rd", "Admin@123"]


def c1():
    db.session.expire_all()
    return db.session.scalar(db.select(MalanUser).where(MalanUser.username == "ds110101001"))


@pytest.mark.parametrize("password", COMMON)
def test_issue17_point6_common_passwords_are_refused(app, world, password):
    assert passwords.new_password_errors(password, c1())


@pytest.mark.parametrize(
    "password",
    [
        "Zhaodongcheng#1",  # the pinyin of the user's name (赵东城)
        "Malanhua@2026",  # the platform's name
        "Malan@demo2026",  # the demo password
    ],
)
def test_issue17_point6_context_words_make_a_password_guessable(app, world, password):
    """Each is strong enough for zxcvbn alone; the Chinese context words make it guessable."""
    assert passwords.strength_errors(password, c1())
    assert zxcvbn_alone_accepts(password)


def zxcvbn_alone_accepts(password):
    from zxcvbn import zxcvbn

    return zxcvbn(password)["score"] >= 3


def test_issue17_point6_context_words_of_the_user(app, world):
    words = passwords.context_words(c1())
    for word in (
        "malan",
        "马兰花",
        "mlh",
        "ds110101001",
        "赵东城",
        "zhaodongcheng",
        "zdc",
        "110101",
    ):
        assert word in words, word


def test_issue17_point6_the_demo_password_is_a_context_word():
    assert demo.DEMO_PASSWORD in passwords.CONTEXT_WORDS


def test_issue17_point6_strong_passwords_pass(app, world):
    for password in ("Neu#Kennwort2026", "Hetang-Yuese-7!", passwords.random_password()):
        assert passwords.new_password_errors(password, c1()) == [], password


def test_issue17_point6_refusal_shown_in_chinese_next_to_the_field(client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    before = c1().password
    response = change_password(client, PASSWORD, "Admin@123")
    assert response.status_code == 200 and c1().password == before
    html = response.get_data(as_text=True)
    group = re.search(r'id="new_password".*?</div>', html, re.S).group(0)
    assert "容易被猜中" in group  # the message sits in the new-password field's group


def test_issue17_point6_minimum_age_blocks_cycling_the_history(
    client, world, frozen_clock, app, monkeypatch
):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_AGE_DAYS", 1)
    user = c1()
    user.password_changed_at = NOW - timedelta(days=2)
    db.session.commit()
    post_login(client, world["username"]["c1"], PASSWORD)
    assert change_password(client, PASSWORD, "Neu#Kennwort2026").status_code == 302
    frozen_clock.set(NOW + timedelta(minutes=1))
    response = change_password(client, "Neu#Kennwort2026", "Zweit#Kennwort2026")
    assert response.status_code == 200 and "1 天" in response.get_data(as_text=True)
    assert passwords.was_used_before(c1(), "Neu#Kennwort2026")
    assert not passwords.was_used_before(c1(), "Zweit#Kennwort2026")
    frozen_clock.set(NOW + timedelta(days=1, minutes=1))
    post_login(client, world["username"]["c1"], "Neu#Kennwort2026")
    assert change_password(client, "Neu#Kennwort2026", "Zweit#Kennwort2026").status_code == 302


def test_issue17_point6_minimum_age_does_not_hold_a_reset_or_the_forced_change(
    client, world, frozen_clock, app, monkeypatch
):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_AGE_DAYS", 1)
    monkeypatch.setattr(passwords, "random_password", lambda: "Reset#Pass2026")
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    client.post(
        f"/userview/action/reset_password/{world['user']['c1']}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    sign_out(client)
    post_login(client, world["username"]["c1"], "Reset#Pass2026")  # changed a moment ago
    assert change_password(client, "Reset#Pass2026", "Neu#Kennwort2026").status_code == 302
    assert c1().must_change_password is False
