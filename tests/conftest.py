"""Fixtures: a fresh database per test with a small tree and one real user per role and region.

World (codes are real GB/T 2260 codes):
  center 000000
  ├── 北京市 110000 ── 东城区 110101 ── 机构 i1, i1b ;  西城区 110102
  └── 广东省 440000 ── 广州市 440100 ── 机构 i2
Users (password ``PASSWORD``): center, p1, p2, c1, c1b, c2, i1, i1b, i2, trainer1, trainer2,
trainee1, sysadmin, secadmin, auditor. ``DATABASE_URL`` selects PostgreSQL, else in-memory SQLite.
"""

import copy
import os
import re
import shutil
import warnings

import pytest
from flask import g
from flask_appbuilder import Model

from app import clock, create_app
from app.config import TestConfig
from app.extensions import db
from app.services import accounts, vocabulary
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from security.sync import sync_roles
from tests.snapshot import Snapshot

PASSWORD = "Test@pass2026"

ORGS = [  # key, kind, code, name, parent key
    ("center", CENTER, "000000", "部中心", None),
    ("P1", PROVINCE, "110000", "北京市", "center"),
    ("P2", PROVINCE, "440000", "广东省", "center"),
    ("C1", CITY, "110101", "东城区", "P1"),
    ("C1b", CITY, "110102", "西城区", "P1"),
    ("C2", CITY, "440100", "广州市", "P2"),
    ("I1", INSTITUTION, "1101010001", "东城创业学校", "C1"),
    ("I1b", INSTITUTION, "1101010002", "东城第二培训中心", "C1"),
    ("I2", INSTITUTION, "4401000001", "广州创业学院", "C2"),
]
USERS = [  # key, role kind, org key, name
    ("center", "center", "center", "张中心"),
    ("p1", "province", "P1", "李北京"),
    ("p2", "province", "P2", "王广东"),
    ("c1", "city", "C1", "赵东城"),
    ("c1b", "city", "C1b", "钱西城"),
    ("c2", "city", "C2", "孙广州"),
    ("i1", "institution", "I1", "周机构"),
    ("i1b", "institution", "I1b", "吴机构"),
    ("i2", "institution", "I2", "郑机构"),
    ("trainer1", "trainer", "C1", "冯讲师"),
    ("trainer2", "trainer", "C2", "陈讲师"),
    ("trainee1", "trainee", "I1", "褚学员"),
    ("sysadmin", "sysadmin", "center", "系统管理员"),
    ("secadmin", "secadmin", "center", "安全管理员"),
    ("auditor", "auditor", "center", "审计员"),
]


def _fresh_g():
    """Production pushes a new app context (so a new ``g``) per request; the tests hold one app
    context for the whole session, so each request starts by emptying ``g`` the same way."""
    for key in list(vars(g)):
        delattr(g, key)


@pytest.fixture(scope="session")
def app():
    application = create_app(TestConfig)
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    with application.app_context():
        yield application
    files_dir = application.config["FILES_DIR"]
    if os.path.basename(files_dir).startswith("malan-files-"):  # only this run's own temp folder
        shutil.rmtree(files_dir, ignore_errors=True)


def build_world(app, now) -> dict:
    """A fresh schema with the tree and users above in ``app``'s database; returns ids by key."""
    Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    sync_roles(app.appbuilder.sm)
    vocabulary.seed_defaults()  # what migration 0004 inserts into a new database
    orgs = {}
    for key, kind, code, name, parent in ORGS:
        org = Org(kind=kind, code=code, name=name)
        if parent:
            org.parent = orgs[parent]
        db.session.add(org)
        db.session.flush()
        orgs[key] = org
    users = {}
    for key, kind, org_key, name in USERS:
        user, _pw = accounts.create_account(
            name=name, role_kind=kind, org=orgs[org_key], now=now, password=PASSWORD
        )
        user.must_change_password = False
        db.session.flush()
        users[key] = user
    db.session.commit()
    return {
        "org": {k: o.id for k, o in orgs.items()},
        "user": {k: u.id for k, u in users.items()},
        "username": {k: u.username for k, u in users.items()},
    }


_saved = {}  # the world built once, as a Snapshot and its ids


@pytest.fixture()
def world(app):
    """The world above in a database holding nothing else: built once, restored for later tests."""
    # A test may leave g.user (a request context, test_request_context) on the shared app
    # context: FAB's created_by defaults would then point at a user of the previous schema.
    _fresh_g()
    db.session.remove()
    # Each test starts with no sign-in attempts counted: a fast suite signs in hundreds of times
    # a minute (the limit's own tests set up their attempts themselves).
    app.appbuilder.sm.limiter.reset()
    now = clock.now()
    try:
        _saved["snapshot"].restore(db.engine, now)
    except Exception as exc:  # nothing saved yet, or a test dropped or changed the tables
        db.session.rollback()
        if "snapshot" in _saved:
            _saved["rebuilds"] = _saved.get("rebuilds", 0) + 1
            if _saved["rebuilds"] > 20:  # a few tests drop the tables; not every test
                warnings.warn(
                    f"world snapshot not restorable, rebuilt again: {exc!r}", stacklevel=1
                )
        _saved.update(ids=build_world(app, now))
        _saved["snapshot"] = Snapshot(db.engine, now)
    yield copy.deepcopy(_saved["ids"])
    db.session.remove()
    _fresh_g()  # a request's user and cached locale must not leak into the next test


@pytest.fixture()
def client(app, world):
    with app.test_client() as c:
        yield c


def csrf_token(client, url="/login/") -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    return match.group(1) if match else ""


def sign_out(client) -> None:
    """Sign the test client out the way the navbar does: a POST with the CSRF token (a GET of
    /logout/ signs nobody out). Nothing happens when nobody is signed in."""
    token = csrf_token(client, "/password/change")
    if token:
        client.post("/logout/", data={"csrf_token": token})


def switch_language(client, code: str):
    """Switch the session's language as the navbar does (a POST with the CSRF token)."""
    token = csrf_token(client, "/password/change") or csrf_token(client, "/login/")
    return client.post(f"/lang/{code}", data={"csrf_token": token})


@pytest.fixture()
def login(client, world):
    """``login("c1")`` signs the test client in as that fixture user (with a real CSRF token)."""

    def _login(key, password=PASSWORD):
        sign_out(client)
        token = csrf_token(client)
        return client.post(
            "/login/",
            data={"username": world["username"][key], "password": password, "csrf_token": token},
        )

    return _login


@pytest.fixture()
def login_en(login, client):
    """``login`` that then switches the session to English: for tests asserting on flashed and
    error text, which then does not depend on the zh catalog."""

    def _login(key):
        response = login(key)
        switch_language(client, "en")
        return response

    yield _login
    # The tests share one app context: the locale our last request cached on ``g`` would be the
    # locale of the next test's code running outside a request.
    g.pop("_flask_babel", None)
