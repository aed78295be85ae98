"""Issue 17, point 8 (the authentication part): no-store on signed-in pages, HSTS once the cookie
is Secure, signing out and switching the language by POST only, and the login-application 429
page naming the real window."""
# ruff: noqa: F811  (pytest fixtures imported from test_login are redefined as arguments)

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from tests.factories import (
    PASSWORD,
    apply_for_login,
    csrf_token,
    fresh_app,
    post_login,
    sign_out,
    switch_language,
)

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/", "/orgview/list/", "/userview/list/", "/facultyview/list/", "/password/change"],
)
def test_issue17_point8_signed_in_pages_are_not_stored(client, world, path):
    post_login(client, world["username"]["center"], PASSWORD)
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"


def test_issue17_point8_signed_in_show_page_with_full_id_numbers_is_not_stored(client, world):
    post_login(client, world["username"]["center"], PASSWORD)
    response = client.get(f"/userview/show/{world['user']['c1']}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_issue17_point8_hsts_whenever_the_cookie_is_secure(client, world, app, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login/").headers
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    for path in ("/login/", "/static/malan.css", "/no/such/page"):
        hsts = client.get(path).headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1]) >= 15552000, path


def test_issue17_point8_get_does_not_sign_out(client, world):
    post_login(client, world["username"]["c1"], PASSWORD)
    assert client.get("/logout/").status_code == 405
    assert signed_in(client)
    assert client.post("/logout/").status_code == 400  # no CSRF token: a forged form
    assert signed_in(client)
    html = client.get("/").get_data(as_text=True)
    assert 'id="logout-form"' in html and 'href="/logout/"' not in html
    sign_out(client)
    assert not signed_in(client)


def test_issue17_point8_get_does_not_switch_the_language(client, world):
    post_login(client, world["username"]["c1"], PASSWORD)
    assert client.get("/lang/en").status_code == 405
    with client.session_transaction() as sess:
        assert sess.get("locale") in (None, "zh")
    html = client.get("/").get_data(as_text=True)
    assert 'action="/lang/en"' in html and 'href="/lang/en"' not in html
    assert client.post("/lang/en").status_code == 400  # no CSRF token
    assert switch_language(client, "en").status_code == 302
    with client.session_transaction() as sess:
        assert sess.get("locale") == "en"


def test_issue17_point8_signed_out_visitor_can_switch_the_language(client, world):
    token = csrf_token(client, "/login/")
    assert client.post("/lang/en", data={"csrf_token": token}).status_code == 302
    assert ">Login<" in client.get("/login/").get_data(
        as_text=True
    ) or 'value="Login"' in client.get("/login/").get_data(as_text=True)


@pytest.mark.parametrize(
    "limit,window", [("5 per hour", "1 小时"), ("2 per 10 minutes", "10 分钟")]
)
def test_issue17_point8_login_application_429_states_the_real_window(world, limit, window):
    limited = fresh_app(LOGIN_APPLICATION_RATE_LIMIT=limit)
    anon = limited.test_client()
    amount = int(limit.split()[0])
    responses = [apply_for_login(anon, world, mobile=f"1391234{n:04d}") for n in range(amount + 1)]
    refused = responses[-1]
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert window in html and str(amount) in html
    with limited.test_request_context("/"), force_locale("zh"):
        assert _("Too many attempts. Please wait a minute and try again.") not in html
