"""Issue 17, point 7: TOTP two-factor sign-in (等保三级 身份鉴别), with a frozen clock.

The test config requires no second factor (the fixture users sign in with a password only);
these tests switch TWO_FACTOR_REQUIRED_ROLES on themselves and play the user's phone with
`security.two_factor.code_at`.
"""
# ruff: noqa: F811  (pytest fixtures imported from test_login are redefined as arguments)

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.services import second_factor
from app.services.errors import NotAllowed
from models.audit import AuditLog
from models.user import LoginSession, MalanUser
from security import two_factor
from tests.factories import (
    NOW,
    PASSWORD,
    account_request_of,
    csrf_token,
    decide_account_request,
    post_login,
    second_secadmin,
    sign_out,
)

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

REQUIRED = ("center", "province", "sysadmin", "secadmin", "auditor")


@pytest.fixture()
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", REQUIRED)


def account(world, key):
    db.session.expire_all()
    return db.session.get(MalanUser, world["user"][key])


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def post_code(client, url, code, token=None):
    token = token or csrf_token(client, url)
    return client.post(url, data={"code": code, "csrf_token": token})


def enrol(client, world, key, now):
    """Sign in with the password, scan (read the secret) and confirm: returns the recovery codes."""
    response = post_login(client, world["username"][key], PASSWORD)
    assert response.headers["Location"].endswith("/login/enrol")
    secret = account(world, key).totp_secret or ""
    page = client.get("/login/enrol").get_data(as_text=True)
    secret = account(world, key).totp_secret
    assert "<svg" in page and secret in page
    done = post_code(client, "/login/enrol", two_factor.code_at(secret, now))
    assert done.status_code == 200
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))


def test_issue17_point7_required_role_enrols_at_first_sign_in(
    client, world, frozen_clock, required
):
    response = post_login(client, world["username"]["center"], PASSWORD)
    assert response.headers["Location"].endswith("/login/enrol")
    assert not signed_in(client)  # the password alone does not sign in
    page = client.get("/login/enrol")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<svg" in html and "https://" not in html.split('id="totp-qr"')[1][:2000]
    assert post_code(client, "/login/enrol", "123456").status_code == 200  # wrong: asked again
    assert not signed_in(client)
    secret = account(world, "center").totp_secret
    done = post_code(client, "/login/enrol", two_factor.code_at(secret, NOW))
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert signed_in(client)
    assert account(world, "center").totp_enabled_at == NOW


def test_issue17_point7_code_at_sign_in_wrong_reused_and_next(
    client, world, frozen_clock, required
):
    enrol(client, world, "center", NOW)
    secret = account(world, "center").totp_secret
    sign_out(client)
    response = post_login(client, world["username"]["center"], PASSWORD)
    assert response.headers["Location"].endswith("/login/code")
    # The step the enrolment used cannot be used again, nor a wrong code.
    for code in (two_factor.code_at(secret, NOW), "000000"):
        assert post_code(client, "/login/code", code).status_code == 200
        assert not signed_in(client)
    later = frozen_clock.set(NOW + timedelta(seconds=30))
    post_code(client, "/login/code", two_factor.code_at(secret, later))
    assert signed_in(client)
    # The same code again (another sign-in within the same 30 s): refused.
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    post_code(client, "/login/code", two_factor.code_at(secret, later))
    assert not signed_in(client)


def test_issue17_point7_clock_drift_of_one_step_is_accepted(client, world, frozen_clock, required):
    enrol(client, world, "center", NOW)
    secret = account(world, "center").totp_secret
    sign_out(client)
    frozen_clock.set(NOW + timedelta(minutes=5))
    post_login(client, world["username"]["center"], PASSWORD)
    phone_behind = NOW + timedelta(minutes=5, seconds=-30)
    post_code(client, "/login/code", two_factor.code_at(secret, phone_behind))
    assert signed_in(client)


def test_issue17_point7_recovery_codes_are_single_use(client, world, frozen_clock, required):
    codes = enrol(client, world, "center", NOW)
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    post_code(client, "/login/code", codes[0].upper())  # case and dash do not matter
    assert signed_in(client)
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    post_code(client, "/login/code", codes[0])
    assert not signed_in(client)
    post_code(client, "/login/code", codes[1])
    assert signed_in(client)
    assert two_factor.recovery_codes_left(account(world, "center")) == 8


def test_issue17_point7_recovery_codes_are_stored_hashed(client, world, frozen_clock, required):
    from models.user import RecoveryCode

    codes = enrol(client, world, "center", NOW)
    stored = [r.code_hash for r in db.session.query(RecoveryCode).all()]
    assert len(stored) == 10
    assert not {c.replace("-", "") for c in codes} & set(stored)
    assert not any(c.replace("-", "") in h for c in codes for h in stored)


def test_issue17_point7_wrong_codes_count_towards_the_lockout(
    app, client, world, frozen_clock, required
):
    enrol(client, world, "center", NOW)
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    for _i in range(app.config["LOCKOUT_THRESHOLD"]):
        post_code(client, "/login/code", "000000")
    assert account(world, "center").is_locked(NOW)
    assert not signed_in(client)


def test_issue17_point7_the_code_step_expires(client, world, frozen_clock, required, app):
    enrol(client, world, "center", NOW)
    secret = account(world, "center").totp_secret
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    token = csrf_token(client, "/login/code")
    late = frozen_clock.set(NOW + timedelta(minutes=app.config["TWO_FACTOR_PENDING_MINUTES"] + 1))
    response = post_code(client, "/login/code", two_factor.code_at(secret, late), token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    assert not signed_in(client)


def test_issue17_point7_optional_role_signs_in_with_password_until_it_enrols(
    client, world, frozen_clock, required
):
    post_login(client, world["username"]["c1"], PASSWORD)
    assert signed_in(client)  # a city account: optional
    page = client.get("/two-factor/").get_data(as_text=True)
    assert "<svg" in page
    secret = account(world, "c1").totp_secret
    token = csrf_token(client, "/two-factor/")
    done = post_code(client, "/two-factor/enrol", two_factor.code_at(secret, NOW), token)
    assert len(re.findall(r"<li><code>", done.get_data(as_text=True))) == 10
    sign_out(client)
    response = post_login(client, world["username"]["c1"], PASSWORD)
    assert response.headers["Location"].endswith("/login/code")  # enrolled: now always asked


def test_issue17_point7_api_login_needs_the_code_too(client, world, frozen_clock, required):
    enrol(client, world, "center", NOW)
    secret = account(world, "center").totp_secret
    creds = {"username": world["username"]["center"], "password": PASSWORD}
    assert client.post("/api/v1/security/login", json=creds).status_code == 401
    later = frozen_clock.set(NOW + timedelta(seconds=30))
    response = client.post(
        "/api/v1/security/login", json=creds | {"totp": two_factor.code_at(secret, later)}
    )
    assert response.status_code == 200 and "access_token" in response.get_json()
    # A required role that has not enrolled yet gets no token with the password alone.
    p1 = {"username": world["username"]["p1"], "password": PASSWORD}
    assert client.post("/api/v1/security/login", json=p1).status_code == 403


def test_issue17_point7_security_administrator_resets_a_second_factor(
    app, client, world, frozen_clock, required
):
    user_client = app.test_client()
    enrol(user_client, world, "center", NOW)
    assert signed_in(user_client)
    enrol(client, world, "secadmin", NOW)
    response = client.post(
        f"/two-factor/reset/{world['user']['center']}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    assert response.status_code == 302
    assert account(world, "center").totp_secret  # proposed only (三员分立, point 2)
    assert signed_in(user_client)
    # Another security administrator approves it.
    other = second_secadmin(world)
    approver = app.test_client()
    enrol(
        approver,
        {
            **world,
            "username": {**world["username"], "other": other["username"]},
            "user": {**world["user"], "other": other["id"]},
        },
        "other",
        NOW,
    )
    decide_account_request(approver, account_request_of(world["user"]["center"]))
    center = account(world, "center")
    assert center.totp_secret is None and center.totp_enabled_at is None
    assert not signed_in(user_client)  # its sessions (and tokens) ended
    rows = db.session.query(AuditLog).filter_by(event="second_factor_reset").all()
    assert len(rows) == 1 and rows[0].object_id == str(center.id)
    assert rows[0].username == other["username"]  # the approver carried it out
    sign_out(user_client)
    response = post_login(user_client, world["username"]["center"], PASSWORD)
    assert response.headers["Location"].endswith("/login/enrol")  # sets up a new one


def test_issue17_point7_only_the_security_administrator_resets(app, client, world, frozen_clock):
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    response = client.post(
        f"/two-factor/reset/{world['user']['c1']}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    assert response.status_code in (302, 403)
    assert db.session.query(AuditLog).filter_by(event="second_factor_reset").count() == 0
    with pytest.raises(NotAllowed):
        second_factor.reset_second_factor(account(world, "c1"), account(world, "sysadmin"), NOW)
    secadmin = account(world, "secadmin")
    with pytest.raises(NotAllowed):
        second_factor.reset_second_factor(secadmin, secadmin, NOW)


def test_issue17_point7_demo_accounts_are_not_forced(client, world, frozen_clock, required):
    center = account(world, "center")
    center.is_demo = True
    db.session.commit()
    post_login(client, world["username"]["center"], PASSWORD)
    assert signed_in(client)
    assert db.session.query(LoginSession).filter_by(user_id=center.id).count() == 1
