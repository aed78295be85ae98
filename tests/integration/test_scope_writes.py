"""Point 6 — every write (form and API) rejects a foreign org/region id, and a refused write
leaves nothing behind. Roles are granted write access here that the shipped table keeps for the
center (the domain issues grant it to cities and institutions): the scope alone must hold."""

import pytest
from sqlalchemy import select

from app.extensions import db
from models.org import Org
from models.user import MalanUser
from tests.factories import api_headers, browser, grant, sign_in, snapshot


def org_named(name):
    db.session.rollback()
    return db.session.scalar(select(Org).filter_by(name=name))


@pytest.fixture()
def c1_writes_orgs(app, people):
    grant(app, "city", "Org", ["can_read", "can_write"])
    return people


def test_point6_form_add_under_a_foreign_city_is_refused(app, c1_writes_orgs):
    ids = c1_writes_orgs["org"]
    client = sign_in(app, c1_writes_orgs["username"]["c1"])
    before = snapshot()
    for foreign in (ids["C1b"], ids["C2"]):
        response = client.post(
            "/orgview/add", data={"parent": foreign, "name": "越界机构", "csrf_token": client.csrf}
        )
        assert response.status_code == 200  # the form again, with its error
    assert snapshot() == before and org_named("越界机构") is None
    # The control: the same form under c1's own city does create the institution.
    response = client.post(
        "/orgview/add", data={"parent": ids["C1"], "name": "东城新机构", "csrf_token": client.csrf}
    )
    assert response.status_code == 302
    assert org_named("东城新机构").parent_id == ids["C1"]


def test_point6_api_post_under_a_foreign_city_is_422(app, c1_writes_orgs):
    ids = c1_writes_orgs["org"]
    headers = api_headers(app, c1_writes_orgs["username"]["c1"])
    before = snapshot()
    for parent in (ids["C1b"], ids["C2"], ids["I1"], 999999):
        response = browser(app).post(
            "/api/v1/org/", json={"parent": parent, "name": "越界机构"}, headers=headers
        )
        assert response.status_code == 422, (parent, response.status_code)
    assert snapshot() == before
    response = browser(app).post(
        "/api/v1/org/", json={"parent": ids["C1"], "name": "东城新机构"}, headers=headers
    )
    assert response.status_code == 201
    assert org_named("东城新机构").code.startswith("110101")


def test_point6_city_may_edit_its_institutions_not_its_own_row(app, c1_writes_orgs):
    """Org is written only by users strictly above the row (write_below_only)."""
    ids = c1_writes_orgs["org"]
    client = sign_in(app, c1_writes_orgs["username"]["c1"])
    before = snapshot()
    client.post(f"/orgview/edit/{ids['C1']}", data={"name": "改名东城", "csrf_token": client.csrf})
    headers = api_headers(app, c1_writes_orgs["username"]["c1"])
    response = browser(app).put(
        f"/api/v1/org/{ids['C1']}", json={"name": "改名东城"}, headers=headers
    )
    assert response.status_code == 422
    assert snapshot() == before
    # Unticked "active" deactivates the institution (FAB's form refused an unticked box).
    response = client.post(
        f"/orgview/edit/{ids['I1']}", data={"name": "东城创业学校（新）", "csrf_token": client.csrf}
    )
    assert response.status_code == 302
    assert org_named("东城创业学校（新）").active is False
    response = browser(app).put(
        f"/api/v1/org/{ids['I1b']}", json={"name": "东城二校"}, headers=headers
    )
    assert response.status_code == 200 and org_named("东城二校") is not None


def test_point6_edit_moving_an_account_to_a_foreign_org_is_refused(app, people):
    grant(app, "city", "User", ["can_read", "can_write"])
    client = sign_in(app, people["username"]["c1"])
    trainee = people["user"]["trainee1"]
    before = snapshot()
    response = client.post(
        f"/userview/edit/{trainee}",
        data={"first_name": "褚学员", "org": people["org"]["I2"], "csrf_token": client.csrf},
    )
    assert response.status_code == 200  # the form again: not a valid choice
    assert snapshot() == before
    response = client.post(
        f"/userview/edit/{trainee}",
        data={"first_name": "褚学员", "org": people["org"]["I1b"], "csrf_token": client.csrf},
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(MalanUser, trainee).org_id == people["org"]["I1b"]


def test_point6_add_account_in_a_foreign_org_is_refused(app, people):
    grant(app, "city", "User", ["can_read", "can_write"])
    client = sign_in(app, people["username"]["c1"])
    before = snapshot()
    for org in ("I2", "C1b", "P1"):
        client.post(
            "/userview/add",
            data={
                "first_name": "越界学员",
                "role_kind": "trainee",
                "org": people["org"][org],
                "csrf_token": client.csrf,
            },
        )
    assert snapshot() == before


def test_point6_bulk_action_mixing_own_and_foreign_ids_changes_nothing(app, people):
    grant(app, "province", "User", ["can_read", "can_write", "can_manage"])
    client = sign_in(app, people["username"]["p1"])
    own, foreign = people["user"]["i1"], people["user"]["i2"]
    before = snapshot()
    for action in ("disable", "reset_password", "unlock"):
        response = client.post(
            "/userview/action_post",
            data={"action": action, "rowid": [str(own), str(foreign)], "csrf_token": client.csrf},
        )
        assert response.status_code == 404
    assert snapshot() == before
    response = client.post(
        "/userview/action_post",
        data={"action": "disable", "rowid": [str(own)], "csrf_token": client.csrf},
    )
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(MalanUser, own).active is False


def test_point6_bad_input_through_the_api_is_422_not_500(app, people):
    headers = api_headers(app, people["username"]["center"])
    grant(app, "center", "Org", ["can_write"])
    before = snapshot()
    ids = people["org"]
    for body in (
        {"parent": ids["C1"], "name": "x", "credit_code": "not-a-code"},
        {"parent": ids["P1"], "name": "省下不能直接建机构"},
        {"name": "没有上级"},
    ):
        response = browser(app).post("/api/v1/org/", json=body, headers=headers)
        assert response.status_code in (400, 422), (body, response.status_code)
    assert snapshot() == before
