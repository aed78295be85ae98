"""Issue 2, point 7: the password policy as pure functions — complexity, username/mobile,
expiry with ``now`` as a parameter, demo accounts."""

from datetime import datetime, timedelta

import pytest

from models.user import MalanUser
from security import passwords

NOW = datetime(2026, 3, 1, 9, 0)


def account(**fields):
    defaults = dict(
        username="ds110101001",
        mobile="13912345678",
        is_demo=False,
        must_change_password=False,
        password_changed_at=NOW,
    )
    return MalanUser(**(defaults | fields))


@pytest.mark.parametrize(
    "password",
    ["Abcdef1!", "abcdefg1!", "ABCDEFG1!", "Abcdefgh1", "Abcdefgh!", "马兰花Abc12", "Zz9.Zz9.Zz9."],
)
def test_point7_policy_accepts_three_of_four_classes(app, password):
    assert passwords.policy_errors(password, account()) == []


@pytest.mark.parametrize(
    "password,why",
    [
        ("Abc1!xy", "seven characters"),
        ("abcdefgh12", "two classes"),
        ("ABCDEFGH!!", "two classes"),
        ("12345678!", "two classes"),
        ("abcdefghij", "one class"),
        ("DS110101001aB!", "contains the username, any case"),
        ("Pw!13912345678", "contains the mobile"),
        ("", "empty"),
    ],
)
def test_point7_policy_refuses(app, password, why):
    assert passwords.policy_errors(password, account()), why


def test_point7_policy_minimum_is_configurable(app, monkeypatch):
    monkeypatch.setitem(app.config, "PASSWORD_MIN_LENGTH", 12)
    assert passwords.policy_errors("Abcdef1!xyz", account())
    assert not passwords.policy_errors("Abcdef1!xyzw", account())


def test_point7_random_initial_passwords_satisfy_the_policy(app):
    for _i in range(50):
        assert passwords.policy_errors(passwords.random_password(), account()) == []


def test_point7_expiry_after_max_age_days(app, monkeypatch):
    user = account()
    days = app.config["PASSWORD_MAX_AGE_DAYS"]
    assert days == 90
    assert not passwords.must_change(user, NOW + timedelta(days=days))
    assert passwords.must_change(user, NOW + timedelta(days=days, seconds=1))
    monkeypatch.setitem(app.config, "PASSWORD_MAX_AGE_DAYS", 30)
    assert passwords.must_change(user, NOW + timedelta(days=31))


def test_point7_initial_or_reset_password_must_change_unless_demo(app):
    assert passwords.must_change(account(must_change_password=True), NOW)
    assert not passwords.must_change(account(must_change_password=True, is_demo=True), NOW)
    assert not passwords.must_change(account(is_demo=True), NOW + timedelta(days=400))
