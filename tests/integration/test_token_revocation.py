"""Issue 17, point 4: tokens end when the session does.

Logout, a password change, an administrator's reset, a lock and disabling each end every session
and every API token (access and refresh) of the account: the account's token version moves on
and whatever carries the old one is refused. Also point 1: the form and the API share one
per-IP budget.
"""
# ruff: noqa: F811  (pytest fixtures imported from test_login are redefined as arguments)

import pytest

from app.extensions import db
from models.user import MalanUser
from tests.factories import (
    NEW_PASSWORD,
    PASSWORD,
    change_password,
    csrf_token,
    fresh_app,
    post_login,
    sign_out,
)

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")


def api_tokens(client, username, password=PASSWORD):
    response = client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "refresh": True},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def api_alive(client, tokens) -> dict:
    access = client.get(
        "/api/v1/org/", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    refresh = client.post(
        "/api/v1/security/refresh",
        headers={"Authorization": f"Bearer {tokens['refresh_token']}"},
    )
    return {"access": access.status_code, "refresh": refresh.status_code}


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _admin_action(app, world, action):
    admin = app.test_client()
    post_login(admin, world["username"]["sysadmin"], PASSWORD)
    admin.post(
        f"/userview/action/{action}/{world['user']['c1']}",
        data={"csrf_token": csrf_token(admin, "/password/change")},
    )


def _lock(app, world):
    other = app.test_client()
    for _i in range(app.config["LOCKOUT_THRESHOLD"]):
        post_login(other, world["username"]["c1"], "Wrong#Pass2026")


EVENTS = {
    "logout": lambda app, world, own: sign_out(own),
    "password change": lambda app, world, own: change_password(own, PASSWORD, NEW_PASSWORD),
    "reset": lambda app, world, own: _admin_action(app, world, "reset_password"),
    "disable": lambda app, world, own: _admin_action(app, world, "disable"),
    "lock": lambda app, world, own: _lock(app, world),
}


@pytest.mark.parametrize("event", list(EVENTS))
def test_issue17_point4_event_ends_every_token_and_other_session(app, world, frozen_clock, event):
    own, other_browser, api = app.test_client(), app.test_client(), app.test_client()
    post_login(own, world["username"]["c1"], PASSWORD)
    post_login(other_browser, world["username"]["c1"], PASSWORD)
    tokens = api_tokens(api, world["username"]["c1"])
    assert api_alive(api, tokens) == {"access": 200, "refresh": 200}
    assert signed_in(other_browser)

    EVENTS[event](app, world, own)

    assert api_alive(api, tokens) == {"access": 401, "refresh": 401}, event
    assert not signed_in(other_browser), event


def test_issue17_point4_password_change_keeps_only_the_changing_session(app, world, frozen_clock):
    own = app.test_client()
    post_login(own, world["username"]["c1"], PASSWORD)
    assert change_password(own, PASSWORD, NEW_PASSWORD).status_code == 302
    assert signed_in(own)
    fresh = api_tokens(app.test_client(), world["username"]["c1"], NEW_PASSWORD)
    assert api_alive(app.test_client(), fresh) == {"access": 200, "refresh": 200}


def test_issue17_point4_refreshed_access_token_dies_with_the_account_version(
    app, world, frozen_clock
):
    browser = app.test_client()
    post_login(browser, world["username"]["c1"], PASSWORD)
    api = app.test_client()
    tokens = api_tokens(api, world["username"]["c1"])
    minted = api.post(
        "/api/v1/security/refresh",
        headers={"Authorization": f"Bearer {tokens['refresh_token']}"},
    ).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {minted}"}
    assert api.get("/api/v1/org/", headers=auth).status_code == 200
    user = db.session.get(MalanUser, world["user"]["c1"])
    user.token_version += 1  # what every revoking event does
    db.session.commit()
    assert api.get("/api/v1/org/", headers=auth).status_code == 401
    assert not signed_in(browser)  # the session cookie carries the version too


def test_issue17_point1_form_and_api_share_one_budget_per_ip(world):
    limited = fresh_app(AUTH_RATE_LIMIT="3 per minute")
    c = limited.test_client()
    ip = {"REMOTE_ADDR": "10.0.0.9"}
    form = {"username": "nobody-here", "password": "Wrong#Pass2026"}
    statuses = [
        c.post("/login/", data=form | {"csrf_token": csrf_token(c)}, environ_base=ip).status_code,
        c.post("/login/", data=form | {"csrf_token": csrf_token(c)}, environ_base=ip).status_code,
        c.post("/api/v1/security/login", json=form, environ_base=ip).status_code,
        c.post("/api/v1/security/login", json=form, environ_base=ip).status_code,
        c.post("/login/", data=form | {"csrf_token": csrf_token(c)}, environ_base=ip).status_code,
    ]
    assert statuses == [302, 302, 401, 429, 429]
