"""Issue 2, point 7 (login hardening) and point 8 (login audit events).

Forced change of initial/reset/expired passwords, lockout with one answer for every failure,
the per-IP rate limit, and the audit rows each login event writes.
"""

import socket
import uuid
from datetime import timedelta

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.config import TestConfig
from app.extensions import db
from models.audit import AuditLog
from models.user import MalanUser
from tests.factories import (
    NEW_PASSWORD,
    NOW,
    PASSWORD,
    change_password,
    csrf_token,
    flashes,
    fresh_app,
    post_login,
    service_missing,
    sign_out,
)

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")


# --- helpers shared by the login-hardening test modules -------------------------------------


def user(key_or_id, world=None):
    uid = world["user"][key_or_id] if world else key_or_id
    db.session.expire_all()
    return db.session.get(MalanUser, uid)


def audit_events(username=None, event=None):
    db.session.expire_all()
    query = select(AuditLog).order_by(AuditLog.id)
    if username is not None:
        query = query.where(AuditLog.username == username)
    if event is not None:
        query = query.where(AuditLog.event == event)
    return db.session.scalars(query).all()


def force_change(world, key):
    u = user(key, world)
    u.must_change_password = True
    db.session.commit()


# --- 1. initial and reset passwords must be changed first ------------------------------------


@pytest.mark.parametrize("path", ["/", "/orgview/list/", "/userview/list/", "/auditlogview/list/"])
def test_point7_initial_password_redirects_every_page_to_change_password(
    client, world, frozen_clock, path
):
    force_change(world, "center")
    post_login(client, world["username"]["center"], PASSWORD)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/password/change")


def test_point7_forced_change_blocks_the_api_too(client, world, frozen_clock):
    force_change(world, "center")
    response = client.post(
        "/api/v1/security/login",
        json={"username": world["username"]["center"], "password": PASSWORD, "provider": "db"},
    )
    assert response.status_code == 403 and "access_token" not in response.get_json()


def test_point7_jwt_issued_before_a_reset_stops_working(client, world, frozen_clock):
    token = client.post(
        "/api/v1/security/login",
        json={"username": world["username"]["center"], "password": PASSWORD, "provider": "db"},
    ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/org/", headers=auth).status_code == 200
    force_change(world, "center")
    assert client.get("/api/v1/org/", headers=auth).status_code == 403


def test_point7_after_changing_the_password_pages_open(client, world, frozen_clock):
    force_change(world, "c1")
    post_login(client, world["username"]["c1"], PASSWORD)
    response = change_password(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and not response.headers["Location"].endswith(
        "/password/change"
    )
    assert client.get("/orgview/list/").status_code == 200
    assert user("c1", world).must_change_password is False


def test_point7_admin_reset_forces_a_change_at_next_login(client, world, frozen_clock, monkeypatch):
    import security.passwords

    monkeypatch.setattr(security.passwords, "random_password", lambda: "Reset#Pass2026")
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    token = csrf_token(client, "/password/change")
    client.post(
        f"/userview/action/reset_password/{world['user']['c1']}", data={"csrf_token": token}
    )
    assert user("c1", world).must_change_password is True
    sign_out(client)
    post_login(client, world["username"]["c1"], "Reset#Pass2026")
    assert client.get("/").headers["Location"].endswith("/password/change")


def test_point7_demo_accounts_skip_the_forced_change(client, world, frozen_clock):
    u = user("c1", world)
    u.must_change_password, u.is_demo = True, True
    db.session.commit()
    post_login(client, world["username"]["c1"], PASSWORD)
    assert client.get("/").status_code == 200


def test_point7_expired_password_forces_a_change(client, world, frozen_clock, app):
    frozen_clock.set(NOW + timedelta(days=app.config["PASSWORD_MAX_AGE_DAYS"] - 1))
    post_login(client, world["username"]["c1"], PASSWORD)
    assert client.get("/").status_code == 200
    frozen_clock.set(NOW + timedelta(days=app.config["PASSWORD_MAX_AGE_DAYS"] + 1))
    post_login(client, world["username"]["c1"], PASSWORD)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/password/change")


def test_point7_change_password_enforces_complexity_and_history(client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    before = user("c1", world).password
    for weak in ("short1A", "alllowercase1", world["username"]["c1"] + "Aa1!", PASSWORD):
        change_password(client, PASSWORD, weak)
        assert user("c1", world).password == before, weak
    change_password(client, "Wrong#Pass2026", NEW_PASSWORD)  # wrong current password
    assert user("c1", world).password == before
    assert change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert user("c1", world).password != before


@pytest.mark.parametrize("keep", [5, 2])
def test_point7_no_reuse_of_the_last_passwords(world, app, monkeypatch, keep):
    """PASSWORD_HISTORY (5 by default) counts the current password as the first of the last N."""
    from security import passwords

    monkeypatch.setitem(app.config, "PASSWORD_HISTORY", keep)
    u = user("c1", world)
    chain = [PASSWORD] + [f"Chain#{i}Pass2026" for i in range(1, keep + 1)]
    for step in chain[1:]:
        passwords.set_password(u, step, NOW, must_change=False)
        db.session.commit()
    # current = chain[-1]; the last `keep` passwords are chain[-keep:], chain[-keep-1] is free again.
    assert all(passwords.was_used_before(u, old) for old in chain[-keep:])
    assert not passwords.was_used_before(u, chain[-keep - 1])


def test_point7_password_change_ends_the_users_other_sessions(app, world, frozen_clock):
    first, second = app.test_client(), app.test_client()
    post_login(first, world["username"]["c1"], PASSWORD)
    post_login(second, world["username"]["c1"], PASSWORD)
    assert change_password(first, PASSWORD, NEW_PASSWORD).status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


# --- 3. lockout, one answer for every failure -----------------------------------------------


def answer(client, username, password):
    response = post_login(client, username, password)
    return response.status_code, response.headers.get("Location"), flashes(client)


def test_point7_five_failures_lock_the_account_for_30_minutes(client, world, frozen_clock, app):
    name = world["username"]["c1"]
    for _i in range(app.config["LOCKOUT_THRESHOLD"]):
        post_login(client, name, "Wrong#Pass2026")
    locked_until = user("c1", world).locked_until
    assert locked_until == NOW + timedelta(minutes=30)
    # The right password does not open a locked account ...
    assert post_login(client, name, PASSWORD).headers["Location"].endswith("/login/")
    frozen_clock.set(NOW + timedelta(minutes=29))
    assert post_login(client, name, PASSWORD).headers["Location"].endswith("/login/")
    # ... and the lock ends by itself.
    frozen_clock.set(NOW + timedelta(minutes=31))
    assert post_login(client, name, PASSWORD).headers["Location"] == "/"


def test_point7_a_success_resets_the_failure_count(client, world, frozen_clock):
    name = world["username"]["c1"]
    for _i in range(4):
        post_login(client, name, "Wrong#Pass2026")
    post_login(client, name, PASSWORD)
    sign_out(client)
    for _i in range(4):
        post_login(client, name, "Wrong#Pass2026")
    assert user("c1", world).locked_until is None


def test_point7_administrator_unlocks_an_account(client, world, frozen_clock):
    u = user("c1", world)
    u.locked_until = NOW + timedelta(minutes=30)
    db.session.commit()
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    token = csrf_token(client, "/password/change")
    client.post(f"/userview/action/unlock/{world['user']['c1']}", data={"csrf_token": token})
    assert user("c1", world).locked_until is None
    sign_out(client)
    assert post_login(client, world["username"]["c1"], PASSWORD).headers["Location"] == "/"


def test_point7_same_answer_for_unknown_user_and_wrong_password(client, world, frozen_clock):
    answers = {
        "unknown": answer(client, "nobody-here", "Wrong#Pass2026"),
        "wrong password": answer(client, world["username"]["c1"], "Wrong#Pass2026"),
    }
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, location, messages = answers["unknown"]
    assert status == 302 and location.endswith("/login/") and len(messages) == 1


def test_issue17_point1_locked_account_is_told_until_when_whatever_the_password(
    client, world, frozen_clock
):
    locked = user("c2", world)
    locked.locked_until = NOW + timedelta(minutes=30)
    db.session.commit()
    right = answer(client, world["username"]["c2"], PASSWORD)
    wrong = answer(client, world["username"]["c2"], "Wrong#Pass2026")
    assert right == wrong
    status, location, messages = right
    until = f"{NOW + timedelta(minutes=30):%Y-%m-%d %H:%M}"
    assert status == 302 and location.endswith("/login/")
    assert len(messages) == 1 and until in messages[0] and "锁定" in messages[0]


def test_point7_unknown_users_cost_a_password_hash_check(
    client, world, frozen_clock, app, monkeypatch
):
    """Timing: every failure path runs one hash check of the same method as a real one."""
    import security.manager

    calls = []
    real = security.manager.check_password_hash
    monkeypatch.setattr(
        security.manager,
        "check_password_hash",
        lambda h, p: calls.append(h.split("$")[0]) or real(h, p),
    )
    locked = user("c2", world)
    locked.locked_until = NOW + timedelta(minutes=30)
    db.session.commit()
    method = user("c1", world).password.split("$")[0]
    for name in ("nobody-here", world["username"]["c1"], world["username"]["c2"]):
        calls.clear()
        post_login(client, name, "Wrong#Pass2026")
        assert calls == [method], name


def test_point7_fake_hash_uses_the_configured_method(app):
    assert app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"].startswith(
        TestConfig.FAB_PASSWORD_HASH_METHOD + "$"
    )


# --- 4. per-IP rate limit ---------------------------------------------------------------------


def _hammer(application, ip, times=4):
    c = application.test_client()
    return [
        c.post(
            "/login/",
            data={
                "username": "nobody-here",
                "password": "Wrong#Pass2026",
                "csrf_token": csrf_token(c),
            },
            environ_base={"REMOTE_ADDR": ip},
        )
        for _i in range(times)
    ]


def test_point7_login_post_is_rate_limited_per_ip(world):
    limited = fresh_app(AUTH_RATE_LIMIT="3 per minute")
    responses = _hammer(limited, "10.0.0.1")
    assert [r.status_code for r in responses] == [302, 302, 302, 429]
    with limited.test_request_context("/login/"), force_locale("zh"):
        expected = _(
            "Too many attempts: at most %(n)d per %(window)s are accepted from one network. "
            "Please try again later.",
            n=3,
            window=_("%(n)d minute(s)", n=1),
        )
    assert expected in responses[-1].get_data(as_text=True)  # the limit's own window
    # Another address is counted apart.
    assert _hammer(limited, "10.0.0.2", times=1)[0].status_code == 302


def test_point7_api_login_is_rate_limited_too(world):
    limited = fresh_app(AUTH_RATE_LIMIT="3 per minute")
    c = limited.test_client()
    statuses = [
        c.post(
            "/api/v1/security/login",
            json={"username": "x", "password": "y", "provider": "db"},
            environ_base={"REMOTE_ADDR": "10.0.0.3"},
        ).status_code
        for _i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_point7_rate_limit_is_shared_through_redis(world):
    """Two apps (two gunicorn workers) with the same Redis storage share one count per IP."""
    if not _redis_up():  # .ci/run starts Redis: there, a missing Redis fails the test
        service_missing("Redis is not running on 127.0.0.1:6379")
    settings = dict(
        AUTH_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
        RATELIMIT_KEY_PREFIX=f"malan-test-{uuid.uuid4().hex}",
    )
    worker1, worker2 = fresh_app(**settings), fresh_app(**settings)
    assert [r.status_code for r in _hammer(worker1, "10.0.0.4", times=3)] == [302, 302, 302]
    assert _hammer(worker2, "10.0.0.4", times=1)[0].status_code == 429


# --- 8. audit of login events -------------------------------------------------------------------


def test_point8_login_success_failure_lockout_logout_are_audited(client, world, frozen_clock, app):
    name = world["username"]["c1"]
    post_login(client, "ghost-user", "Wrong#Pass2026")
    assert [(e.event, e.success) for e in audit_events("ghost-user")] == [("login_failed", False)]
    post_login(client, name, PASSWORD)
    sign_out(client)
    for _i in range(app.config["LOCKOUT_THRESHOLD"]):
        post_login(client, name, "Wrong#Pass2026")
    post_login(client, name, PASSWORD)  # refused while locked
    events = [(e.event, e.success) for e in audit_events(name) if e.event != "update"]
    assert events == [("login", True), ("logout", True)] + [("login_failed", False)] * 5 + [
        ("lockout", False),
        ("login_locked", False),
    ]
    login_row = audit_events(name, "login")[0]
    assert login_row.user_id == world["user"]["c1"] and login_row.role == "city" and login_row.ip


def test_point8_password_change_is_audited(client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    change_password(client, PASSWORD, NEW_PASSWORD)
    rows = audit_events(world["username"]["c1"], "password_change")
    assert len(rows) == 1 and rows[0].object_id == str(world["user"]["c1"])
    assert NEW_PASSWORD not in (rows[0].changes or "") and PASSWORD not in str(
        [r.changes for r in audit_events()]
    )


def test_point8_api_login_is_audited(client, world, frozen_clock):
    client.post(
        "/api/v1/security/login",
        json={"username": world["username"]["c1"], "password": PASSWORD, "provider": "db"},
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.event == "login", AuditLog.username == world["username"]["c1"])
        )
        == 1
    )
