"""Point 12: after login each role lands on a home page saying who and where it is and what it can do."""

import pytest

from tests.factories import USERS


@pytest.mark.parametrize("key,kind,org_key,name", USERS)
def test_point12_every_role_lands_on_its_home_page(client, login, world, key, kind, org_key, name):
    response = login(key)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    html = client.get("/").get_data(as_text=True)
    assert name in html and world["username"][key] in html
    assert 'id="malan-who"' in html


def test_point12_home_lists_only_what_the_role_may_do(client, login):
    login("c1")
    html = client.get("/").get_data(as_text=True)
    assert "/orgview/list/" in html
    assert "/auditlogview/list/" not in html and "/roles/" not in html
    login("auditor")
    html = client.get("/").get_data(as_text=True)
    assert "/auditlogview/list/" in html
    assert "/orgview/list/" not in html and "/userview/list/" not in html


def test_point12_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
