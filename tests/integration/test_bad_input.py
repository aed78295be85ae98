"""Issue 2, "Bad input": a wrong password, an expired session, a tampered form id, a foreign id,
a missing CSRF token, a too-long field — each gets a clear message or a 4xx, never a 500 and
never a partial write."""

from datetime import timedelta

import pytest

from app.extensions import db
from models.audit import AuditLog
from models.org import Org
from models.user import MalanUser
from tests.factories import NOW, PASSWORD, csrf_token, flashes, post_login, sign_out

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

HUGE = "长" * 10_000


def rows(model):
    db.session.expire_all()
    return db.session.query(model).count()


def add_org(client, **fields):
    data = {"csrf_token": csrf_token(client, "/orgview/add")} | fields
    return client.post("/orgview/add", data=data)


def test_bad_input_wrong_password_gets_a_message(client, world, frozen_clock):
    response = post_login(client, world["username"]["c1"], "Wrong#Pass2026")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    assert len(flashes(client)) == 1


@pytest.mark.parametrize("username", [HUGE, "x" * 10_000, "' OR 1=1 --", "\u0000admin"])
def test_bad_input_absurd_usernames_on_the_login_form(client, world, username):
    before = rows(AuditLog)
    response = post_login(client, username, "Wrong#Pass2026")
    assert response.status_code in (200, 302)
    if response.status_code == 200:  # refused by the form: the field says why
        assert 'name="username"' in response.get_data(as_text=True)
        assert rows(AuditLog) == before
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "payload",
    [
        {"username": HUGE, "password": "x", "provider": "db"},
        {"username": ["a"], "password": {"b": 1}, "provider": "db"},
        {"username": "\u0000admin", "password": "x", "provider": "db"},
        ["not", "an", "object"],
    ],
)
def test_bad_input_absurd_api_logins(client, world, payload):
    assert client.post("/api/v1/security/login", json=payload).status_code == 400


def test_bad_input_expired_session_writes_nothing(client, world, frozen_clock):
    post_login(client, world["username"]["center"], PASSWORD)
    token = csrf_token(client, "/orgview/add")
    before = rows(Org)
    frozen_clock.set(NOW + timedelta(minutes=31))
    response = client.post(
        "/orgview/add",
        data={"csrf_token": token, "parent": world["org"]["C1"], "name": "过期会话机构"},
    )
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert rows(Org) == before


@pytest.mark.parametrize("parent", ["abc", "99999999", "-1", "1 OR 1=1", "P1"])
def test_bad_input_tampered_parent_id_on_add(client, world, parent):
    post_login(client, world["username"]["center"], PASSWORD)
    parent = str(world["org"]["P1"]) if parent == "P1" else parent  # a province is no valid parent
    before = rows(Org)
    response = add_org(client, parent=parent, name="篡改机构")
    assert response.status_code in (200, 302, 400, 404)
    assert rows(Org) == before


def test_bad_input_too_long_name_on_add(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    before = rows(Org)
    response = add_org(client, parent=world["org"]["C1"], name=HUGE)
    assert response.status_code == 200
    assert "128" in response.get_data(as_text=True)  # the form says how long it may be
    assert rows(Org) == before


def test_bad_input_too_long_field_on_edit_keeps_the_row(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    pk = world["org"]["I1"]
    response = client.post(
        f"/orgview/edit/{pk}",
        data={
            "csrf_token": csrf_token(client, f"/orgview/edit/{pk}"),
            "name": "新名字",
            "address": HUGE,
        },
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Org, pk).name == "东城创业学校"


def test_bad_input_too_long_new_password(client, world):
    post_login(client, world["username"]["c1"], PASSWORD)
    before = db.session.get(MalanUser, world["user"]["c1"]).password
    long_password = "Aa1!" * 2_500
    response = client.post(
        "/password/change",
        data={
            "csrf_token": csrf_token(client, "/password/change"),
            "old_password": PASSWORD,
            "new_password": long_password,
            "confirm": long_password,
        },
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(MalanUser, world["user"]["c1"]).password == before


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999", "-1", "1.5", "%00"])
@pytest.mark.parametrize("view", ["orgview", "userview"])
def test_bad_input_tampered_ids_in_urls(client, world, view, pk):
    post_login(client, world["username"]["center"], PASSWORD)
    token = csrf_token(client, "/password/change")
    for response in (
        client.get(f"/{view}/show/{pk}"),
        client.get(f"/{view}/edit/{pk}"),
        client.post(f"/{view}/edit/{pk}", data={"csrf_token": token, "name": "x"}),
        client.post(f"/{view}/delete/{pk}", data={"csrf_token": token}),
    ):
        assert 300 <= response.status_code < 500, (response.request.path, response.status_code)


def test_bad_input_foreign_ids_answer_404_and_change_nothing(client, world):
    post_login(client, world["username"]["p1"], PASSWORD)
    foreign_org, foreign_user = world["org"]["C2"], world["user"]["c2"]
    assert client.get(f"/orgview/show/{foreign_org}").status_code == 404
    assert client.get(f"/userview/show/{foreign_user}").status_code == 404
    sign_out(client)
    post_login(client, world["username"]["center"], PASSWORD)
    token = csrf_token(client, "/password/change")
    assert (
        client.post("/userview/action/unlock/987654", data={"csrf_token": token}).status_code == 404
    )


def test_bad_input_missing_csrf_token_gets_a_clear_page(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    before = rows(Org)
    response = client.post("/orgview/add", data={"parent": world["org"]["C1"], "name": "机构"})
    assert response.status_code == 400 and 'id="malan-error"' in response.get_data(as_text=True)
    assert rows(Org) == before


def test_bad_input_large_bodies_only_reach_views_that_take_attachments(app, client, login):
    """The public and plain forms refuse a body over MAX_CONTENT_LENGTH with 413 before reading
    it; the notice form (attachments) accepts bodies up to MAX_UPLOAD_LENGTH."""
    assert app.config["MAX_UPLOAD_LENGTH"] > app.config["MAX_CONTENT_LENGTH"]
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert (
        client.post(
            "/login-application/", data=big, content_type="application/octet-stream"
        ).status_code
        == 413
    )
    assert (
        client.post("/login/", data=big, content_type="application/octet-stream").status_code == 413
    )
    login("p1")
    response = client.post("/notices/new", data=big, content_type="application/octet-stream")
    assert response.status_code != 413
