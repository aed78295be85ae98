"""Issue 2, point 7: sessions. Idle 30 min and absolute 12 h (configurable); logout and disabling
end the session on the server, so a copied cookie stops working; cookie flags; nothing (Flask's
permanent lifetime, remember-me) outlives the limits."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask_login.utils import encode_cookie

from app.extensions import db
from models.user import LoginSession
from tests.factories import NOW, PASSWORD, csrf_token, flashes, fresh_app, post_login, sign_out

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))


def test_point7_idle_timeout_ends_the_session(client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    frozen_clock.set(NOW + timedelta(minutes=29))
    assert signed_in(client)
    frozen_clock.set(NOW + timedelta(minutes=58))  # 29 min after the last request: still alive
    assert signed_in(client)
    frozen_clock.set(NOW + timedelta(minutes=58 + 31))
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert any("expired" in text or "过期" in text for text in flashes(client))
    row = db.session.query(LoginSession).one()
    db.session.refresh(row)
    assert row.end_reason == "idle"
    frozen_clock.set(NOW + timedelta(minutes=58 + 32))
    assert not signed_in(client)  # the same cookie never comes back


def test_point7_absolute_timeout_ends_even_an_active_session(client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    for minutes in range(20, 12 * 60, 20):  # busy all day, never idle
        frozen_clock.set(NOW + timedelta(minutes=minutes))
        assert signed_in(client), minutes
    frozen_clock.set(NOW + timedelta(hours=12, minutes=1))
    assert not signed_in(client)


def test_point7_session_timeouts_are_configurable(client, world, frozen_clock, app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    post_login(client, world["username"]["c1"], PASSWORD)
    frozen_clock.set(NOW + timedelta(minutes=6))
    assert not signed_in(client)
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 1)
    post_login(client, world["username"]["c1"], PASSWORD)
    frozen_clock.set(NOW + timedelta(minutes=6 + 25))
    assert signed_in(client)
    frozen_clock.set(NOW + timedelta(minutes=6 + 50))
    assert signed_in(client)
    frozen_clock.set(NOW + timedelta(minutes=6 + 61))
    assert not signed_in(client)


def test_point7_logout_ends_the_session_on_the_server(app, client, world, frozen_clock):
    post_login(client, world["username"]["c1"], PASSWORD)
    copied = client.get_cookie("session").value
    sign_out(client)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert not signed_in(thief)


def test_point7_disabling_a_user_ends_its_sessions(app, client, world, frozen_clock):
    victim = app.test_client()
    post_login(victim, world["username"]["c1"], PASSWORD)
    assert signed_in(victim)
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    client.post(
        f"/userview/action/disable/{world['user']['c1']}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    assert not signed_in(victim)
    row = db.session.query(LoginSession).filter_by(user_id=world["user"]["c1"]).one()
    db.session.refresh(row)
    assert row.end_reason == "disabled"


def test_point7_a_cookie_without_a_server_session_is_not_signed_in(
    app, client, world, frozen_clock
):
    """Flask-Login's own markers (or a forged remember-me cookie) are not enough."""
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = str(world["user"]["c1"]), True
    assert not signed_in(client)
    other = app.test_client()
    with app.test_request_context():
        other.set_cookie("remember_token", encode_cookie(str(world["user"]["c1"])))
    assert not signed_in(other)


def test_point7_session_cookie_flags(app, client, world, frozen_clock):
    cookie = session_cookie(post_login(client, world["username"]["c1"], PASSWORD))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "remember_token" not in str(client.get("/").headers)
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert expires <= datetime.now(UTC) + timedelta(hours=12, minutes=1)


def test_point7_session_cookie_is_secure_over_https(app, world, frozen_clock, monkeypatch):
    https = app.test_client()
    token = csrf_token(https, "https://localhost/login/")
    response = https.post(
        "https://localhost/login/",
        data={"username": world["username"]["c1"], "password": PASSWORD, "csrf_token": token},
    )
    assert "Secure" in session_cookie(response)
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    plain = app.test_client()
    assert "Secure" in session_cookie(plain.get("/login/"))


def test_point7_flask_lifetime_and_remember_me_cannot_outlive_the_limits(world):
    loose = fresh_app(
        PERMANENT_SESSION_LIFETIME=timedelta(days=31),
        SESSION_ABSOLUTE_HOURS=2,
        REMEMBER_COOKIE_DURATION=timedelta(days=365),
    )
    assert loose.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)
    assert loose.config["REMEMBER_COOKIE_DURATION"] == timedelta(0)
    assert loose.config["JWT_REFRESH_TOKEN_EXPIRES"] <= timedelta(hours=2)


def test_signed_out_visitor_of_the_password_page_is_sent_to_login(client):
    response = client.get("/password/change")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
