"""Issue 2 point 4: roles and the permission matrix as data, and the separated administrators."""

import hashlib
import os
import re

import pytest
from flask import url_for
from flask_babel import force_locale
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from app.extensions import db
from models.audit import AuditLog
from models.org import Org
from models.user import MalanUser
from security.permissions import (
    AUDIT,
    DELETE,
    EXPORT,
    MENU_TABLE,
    READ,
    ROLE,
    ROLE_MATRIX,
    USER,
    WRITE,
    expanded_matrix,
)
from security.sync import database_matrix
from tests.factories import account_request_of, decide_account_request, second_secadmin, sign_in
from views import menu_view


def post_token(app, client) -> str:
    """A valid CSRF token for the client's session, without needing a page that shows a form:
    a refused POST must be refused by the permission check, not by a missing token."""
    with client.session_transaction() as session:
        session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        raw = session["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def snapshot():
    db.session.expire_all()
    return (
        sorted(db.session.execute(select(Org.id, Org.name, Org.active)).all()),
        sorted(
            (u.id, u.username, u.active, u.role_kind, u.org_id)
            for u in db.session.scalars(select(MalanUser))
        ),
    )


# ------------------------------------------------------------------ the matrix is the database


def test_point4_sync_roles_makes_the_database_equal_the_matrix(app, world):
    from flask_appbuilder.security.sqla.models import Role

    sm = app.appbuilder.sm
    assert database_matrix(sm) == expanded_matrix()
    # Someone clicks permissions together by hand: a stray grant, a missing one, a stray role.
    stray = sm.add_permission_view_menu("can_write", "AuditLog")
    auditor = sm.find_role("auditor")
    auditor.permissions.append(stray)
    city = sm.find_role("city")
    city.permissions = [pv for pv in city.permissions if pv.view_menu.name != "Org"]
    sm.add_role("Admin", [sm.add_permission_view_menu("can_read", "AuditLog")])
    db.session.commit()
    assert database_matrix(sm) != expanded_matrix()

    result = app.test_cli_runner().invoke(args=["malan", "sync-roles"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert database_matrix(sm) == expanded_matrix()
    assert ("can_write", "AuditLog") not in database_matrix(sm)["auditor"]
    assert db.session.scalar(select(Role).filter_by(name="Admin")) is None
    # Running it again changes nothing.
    again = app.test_cli_runner().invoke(args=["malan", "sync-roles"])
    assert "(0 changed)" in again.output


def test_point4_matrix_separates_the_three_administrators():
    audit_holders = {
        role for role, grants in ROLE_MATRIX.items() if any(r == AUDIT for _a, r in grants)
    }
    assert audit_holders == {"auditor"}
    # The auditor reads and exports the log, and reads notices (withdrawn ones too) and the user
    # manual (every role does); nothing else.
    assert set(ROLE_MATRIX["auditor"]) == {
        (READ, AUDIT),
        (EXPORT, AUDIT),
        (READ, "Notice"),
        (READ, "Help"),
    }
    for role, grants in expanded_matrix().items():
        assert (WRITE, AUDIT) not in grants and (DELETE, AUDIT) not in grants, role
    role_granters = {role for role, grants in ROLE_MATRIX.items() if (WRITE, ROLE) in grants}
    assert role_granters == {"secadmin"}
    assert (WRITE, USER) not in ROLE_MATRIX["secadmin"]


# ------------------------------------------------------------------ the menu is one table

NAVBAR = re.compile(r'<ul class="nav navbar-nav">(.*?)<ul class="nav navbar-nav navbar-right', re.S)
NAVBAR_ITEM = re.compile(
    r'class="dropdown-toggle"[^>]*>\s*<i class="fa ([\w-]+)"></i>&nbsp;\s*([^<]+?)\s*<b'
    r'|<a tabindex="-1" href="([^"]+)">\s*<i class="fa fa-fw ([\w-]+)"></i>&nbsp;\s*([^<]+?)\s*</a>'
)


def navbar(html):
    """The rendered menu: categories as (icon, label), entries as (href, icon, label), in order."""
    return [
        (icon, label) if icon else (href, entry_icon, entry_label)
        for icon, label, href, entry_icon, entry_label in NAVBAR_ITEM.findall(
            NAVBAR.search(html).group(1)
        )
    ]


def expected_navbar(app, role):
    """What `MENU_TABLE` and the role's row of the matrix say the navbar shows, in Chinese."""
    views = {type(v): v for v in app.appbuilder.baseviews}
    items = []
    with app.test_request_context(), force_locale("zh"):
        for category in MENU_TABLE:
            entries = [e for e in category.entries if (READ, e.resource) in ROLE_MATRIX[role]]
            if entries:
                items.append((category.icon, str(category.label)))
            for entry in entries:
                view = views[menu_view(entry)]
                href = url_for(f"{view.endpoint}.{view.default_view}")
                items.append((href, entry.icon, str(entry.label)))
    return items


@pytest.mark.parametrize("key", ["center", "p1", "c1", "i1", "trainer1", "trainee1", "secadmin"])
def test_point4_navbar_is_the_menu_table_filtered_by_the_matrix(app, client, login, world, key):
    login(key)
    shown = navbar(client.get("/").get_data(as_text=True))
    role = db.session.get(MalanUser, world["user"][key]).role_kind
    assert shown == expected_navbar(app, role)
    assert len(shown) > 1


def test_point4_role_matrix_page_labels_resources_by_their_menu_entry(client, login, world):
    login("secadmin")
    html = client.get("/roles/").get_data(as_text=True)
    row = '<th scope="row">{}</th>'  # one row per resource (issue 15: the matrix fits its panel)
    assert row.format("培训计划") in html and row.format("审计日志") in html  # Plan, AuditLog
    assert row.format("Plan") not in html


# ------------------------------------------------------------------ separation of duties (HTTP)

FORBIDDEN = [  # (user, method, url): none of these may do another administrator's job
    ("sysadmin", "GET", "/auditlogview/list/"),
    ("sysadmin", "GET", "/auditlogview/show/{audit}"),
    ("sysadmin", "GET", "/auditlogview/export"),
    ("sysadmin", "GET", "/auditlogview/delete/{audit}"),
    ("sysadmin", "POST", "/auditlogview/delete/{audit}"),
    ("sysadmin", "GET", "/roles/"),
    ("sysadmin", "POST", "/roles/assign"),
    ("secadmin", "GET", "/auditlogview/list/"),
    ("secadmin", "GET", "/auditlogview/export"),
    ("secadmin", "GET", "/userview/add"),
    ("secadmin", "POST", "/userview/add"),
    ("secadmin", "GET", "/userview/edit/{c1}"),
    ("secadmin", "GET", "/userview/action/reset_password/{c1}"),
    ("secadmin", "POST", "/orgview/add"),
    ("auditor", "GET", "/auditlogview/add"),
    ("auditor", "POST", "/auditlogview/add"),
    ("auditor", "GET", "/auditlogview/edit/{audit}"),
    ("auditor", "POST", "/auditlogview/edit/{audit}"),
    ("auditor", "GET", "/auditlogview/delete/{audit}"),
    ("auditor", "POST", "/auditlogview/delete/{audit}"),
    ("auditor", "POST", "/auditlogview/action_post"),
    ("auditor", "GET", "/orgview/add"),
    ("auditor", "POST", "/orgview/add"),
    ("auditor", "POST", "/orgview/edit/{I1}"),
    ("auditor", "GET", "/orgview/delete/{I1}"),
    ("auditor", "GET", "/userview/list/"),
    ("auditor", "POST", "/userview/add"),
    ("auditor", "POST", "/userview/edit/{c1}"),
    ("auditor", "GET", "/userview/action/disable/{c1}"),
    ("auditor", "POST", "/userview/action_post"),
    ("auditor", "GET", "/roles/"),
    ("auditor", "POST", "/roles/assign"),
]


@pytest.mark.parametrize("key,method,url", FORBIDDEN)
def test_point4_administrator_cannot_do_another_ones_job(
    app, client, login, world, key, method, url
):
    login(key)
    entry = db.session.scalar(select(AuditLog.id).order_by(AuditLog.id).limit(1))
    url = url.format(audit=entry, c1=world["user"]["c1"], I1=world["org"]["I1"])
    before = snapshot()
    audit_rows = db.session.scalar(select(func.count(AuditLog.id)))
    data = {
        "csrf_token": post_token(app, client),
        "name": "越权",
        "username": world["username"]["c1"],
        "role_kind": "auditor",
        "first_name": "越权",
        "rowid": str(entry),
        "action": "disable",
        "event": "x",
        "summary": "x",
    }
    response = client.open(url, method=method, data=data if method == "POST" else None)
    assert response.status_code in (403, 404, 405), response.status_code
    assert snapshot() == before
    db.session.expire_all()
    assert db.session.get(AuditLog, entry) is not None
    assert db.session.scalar(select(func.count(AuditLog.id))) == audit_rows


ALLOWED = [
    ("sysadmin", "/userview/list/"),
    ("sysadmin", "/orgview/list/"),
    ("sysadmin", "/userview/add"),
    ("secadmin", "/roles/"),
    ("secadmin", "/userview/list/"),
    ("auditor", "/auditlogview/list/"),
    ("auditor", "/auditlogview/show/{audit}"),
    ("auditor", "/auditlogview/export"),
]


@pytest.mark.parametrize("key,url", ALLOWED)
def test_point4_each_administrator_does_its_own_job(client, login, world, key, url):
    login(key)
    entry = db.session.scalar(select(AuditLog.id).order_by(AuditLog.id).limit(1))
    assert client.get(url.format(audit=entry)).status_code == 200


def _assign(app, client, username, role_kind):
    return client.post(
        "/roles/assign",
        data={"csrf_token": post_token(app, client), "username": username, "role_kind": role_kind},
    )


def _user(key, world):
    db.session.expire_all()
    return db.session.get(MalanUser, world["user"][key])


def test_point4_secadmin_grants_an_admin_role_and_it_is_audited(app, client, login, world):
    login("secadmin")
    assert client.get("/roles/").status_code == 200
    response = _assign(app, client, world["username"]["center"], "auditor")
    assert response.status_code == 302
    # 三员分立 (issue 17 point 2): proposed, in force once another security administrator approves.
    assert _user("center", world).role_kind == "center"
    other = second_secadmin(world)
    approver = sign_in(app, other["username"])
    decide_account_request(approver, account_request_of(world["user"]["center"]))
    assert _user("center", world).role_kind == "auditor"

    entries = db.session.scalars(
        select(AuditLog).where(
            AuditLog.object_type == "MalanUser", AuditLog.object_id == str(world["user"]["center"])
        )
    ).all()
    named = [e for e in entries if e.event == "role_change"]
    assert len(named) == 1 and named[0].username == other["username"]
    assert named[0].role == "secadmin" and '"center", "auditor"' in named[0].changes
    row = [e for e in entries if e.event == "update"]
    assert row and "roles" in row[0].changes and "auditor" in row[0].changes


def test_point4_secadmin_role_rules(app, client, login, world):
    login("secadmin")
    _assign(app, client, world["username"]["secadmin"], "center")
    assert _user("secadmin", world).role_kind == "secadmin", "not one's own role"
    _assign(app, client, world["username"]["c1"], "auditor")
    assert _user("c1", world).role_kind == "city", "an administrator sits at the center"
    assert _assign(app, client, "nobody-here", "city").status_code == 404
    assert not db.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.event == "role_change")
    )


def test_point4_sysadmin_cannot_grant_admin_roles(app, client, login, world):
    login("sysadmin")
    form = client.get("/userview/add").get_data(as_text=True)
    assert 'value="city"' in form
    assert not any(f'value="{kind}"' in form for kind in ("auditor", "secadmin", "sysadmin"))
    users = db.session.scalar(select(func.count(MalanUser.id)))
    for kind in ("auditor", "secadmin", "sysadmin"):
        client.post(
            "/userview/add",
            data={
                "csrf_token": post_token(app, client),
                "first_name": "新管理员",
                "role_kind": kind,
                "org": world["org"]["center"],
            },
        )
    db.session.expire_all()
    assert db.session.scalar(select(func.count(MalanUser.id))) == users
    assert _assign(app, client, world["username"]["center"], "auditor").status_code == 403
    assert _user("center", world).role_kind == "center"
    # Nor can it take over an administrator's account through the account screens.
    client.post(
        f"/userview/edit/{world['user']['auditor']}",
        data={
            "csrf_token": post_token(app, client),
            "first_name": "改名",
            "org": world["org"]["center"],
        },
    )
    db.session.remove()
    assert _user("auditor", world).first_name == "审计员"


def test_point4_sysadmin_creates_business_accounts(app, client, login, world):
    """The positive control for the test above: the same form works for a business role."""
    login("sysadmin")
    client.post(
        "/userview/add",
        data={
            "csrf_token": post_token(app, client),
            "first_name": "新市级",
            "role_kind": "city",
            "org": world["org"]["C1"],
        },
    )
    db.session.expire_all()
    created = db.session.scalar(select(MalanUser).where(MalanUser.first_name == "新市级"))
    assert created is not None and created.role_kind == "city" and created.must_change_password
