"""Issue 2, point 7: CSRF on every form and action (the JWT API excepted) and the security headers
(CSP allowing only our own origin, X-Frame-Options, nosniff, Referrer-Policy) on every response."""

import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from app.extensions import db
from models.org import Org
from models.user import MalanUser
from tests.factories import PASSWORD, post_login

CSRF_MESSAGE = (
    "The form has expired or was not sent from this site. Please reload the page and try again."
)


def zh(app, msgid):
    with app.test_request_context("/"), force_locale("zh"):
        return _(msgid)


def count_orgs():
    db.session.expire_all()
    return db.session.query(Org).count()


# --- CSRF ---------------------------------------------------------------------------------------


def test_point7_form_post_without_csrf_token_is_refused_with_a_clear_page(app, client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    before = count_orgs()
    response = client.post(
        "/orgview/add", data={"parent": world["org"]["C1"], "name": "无令牌机构"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert zh(app, CSRF_MESSAGE) in html and 'id="malan-error"' in html
    assert count_orgs() == before


@pytest.mark.parametrize("action", ["unlock", "disable", "reset_password"])
def test_point7_actions_without_csrf_token_change_nothing(client, world, action):
    post_login(client, world["username"]["sysadmin"], PASSWORD)
    target = world["user"]["c1"]
    before = db.session.get(MalanUser, target).password
    assert client.post(f"/userview/action/{action}/{target}").status_code == 400
    assert (
        client.post("/userview/action_post", data={"action": action, "rowid": [target]}).status_code
        == 400
    )
    client.get(f"/userview/action/{action}/{target}")  # GET never mutates
    db.session.expire_all()
    user = db.session.get(MalanUser, target)
    assert user.active and user.password == before and not user.must_change_password


def test_point7_get_delete_does_not_delete(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    client.get(f"/orgview/delete/{world['org']['I1b']}")
    db.session.expire_all()
    assert db.session.get(Org, world["org"]["I1b"]) is not None


@pytest.mark.parametrize(
    "path,data",
    [
        ("/login/", {"username": "x", "password": "y"}),
        (
            "/password/change",
            {
                "old_password": PASSWORD,
                "new_password": "Neu#Kennwort2026",
                "confirm": "Neu#Kennwort2026",
            },
        ),
    ],
)
def test_point7_login_and_password_forms_need_the_token(client, world, path, data):
    if path != "/login/":
        post_login(client, world["username"]["c1"], PASSWORD)
    before = db.session.get(MalanUser, world["user"]["c1"]).password
    assert client.post(path, data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(MalanUser, world["user"]["c1"]).password == before


def test_point7_jwt_api_works_without_csrf_token(client, world):
    response = client.post(
        "/api/v1/security/login",
        json={"username": world["username"]["center"], "password": PASSWORD, "provider": "db"},
    )
    assert response.status_code == 200
    auth = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    listing = client.get("/api/v1/org/", headers=auth)
    assert listing.status_code == 200 and listing.get_json()["count"] == count_orgs()
    created = client.post(
        "/api/v1/org/", headers=auth, json={"parent": world["org"]["C1"], "name": "接口新建机构"}
    )
    assert created.status_code == 201, created.get_json()


def test_point7_cookie_session_does_not_open_the_jwt_api(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    assert client.get("/api/v1/org/").status_code == 401


# --- security headers ---------------------------------------------------------------------------


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    for name, sources in directives.items():
        assert not re.search(r"https?:|\*|//", sources), (name, sources)
    assert "'unsafe-inline'" not in directives["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    )


def test_point7_security_headers_on_every_kind_of_response(client, world):
    responses = [
        client.get("/login/"),
        client.get("/static/malan.css"),
        client.get("/no/such/page"),
        client.post("/login/", data={}),
        client.get("/api/v1/org/"),
    ]
    post_login(client, world["username"]["center"], PASSWORD)
    responses += [client.get("/"), client.get("/orgview/list/"), client.get("/logout/")]
    for response in responses:
        assert_security_headers(response)


def test_point7_every_script_carries_the_per_request_nonce(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    nonces = set()
    for path in ("/", "/orgview/list/", f"/orgview/show/{world['org']['I1']}", "/orgview/add"):
        response = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts), path
        nonces.add(nonce)
    assert len(nonces) == 4  # a fresh nonce per response


def test_point7_pages_load_nothing_from_another_host(client, world):
    pages = [client.get("/login/").get_data(as_text=True)]
    post_login(client, world["username"]["center"], PASSWORD)
    pages += [
        client.get(p).get_data(as_text=True) for p in ("/", "/orgview/list/", "/userview/list/")
    ]
    for html in pages:
        assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
        assert "@import" not in html and "fonts.googleapis" not in html
