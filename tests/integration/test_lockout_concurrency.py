"""Issue 17, point 1: the lockout counts under concurrency.

Real parallel requests (one test client per thread, each request its own app context, database
session and connection) against a database of the test's own: a SQLite file (an in-memory
database is one per connection) and, when DATABASE_URL points at PostgreSQL, a scratch database
created beside it and dropped after. The sign-in form and the API login share one count.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from flask_appbuilder import Model
from sqlalchemy import func, select

from app import clock, create_app
from app.config import TestConfig
from app.extensions import db
from app.services import accounts
from models.audit import AuditLog
from models.org import CENTER, CITY, PROVINCE, Org
from models.user import MalanUser
from security.sync import sync_roles
from tests.factories import PASSWORD, csrf_token, scratch_database

# The clock is frozen before the world is built: its passwords and sessions date from NOW.
pytestmark = pytest.mark.usefixtures("frozen_clock")

PG_URL = os.environ.get("DATABASE_URL", "")
WRONG = "Wrong#Pass2026"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lockout.db'}"
        return
    if not PG_URL.startswith("postgresql"):
        pytest.skip("PostgreSQL only: set DATABASE_URL=postgresql+psycopg://...")
    with scratch_database(PG_URL, "lockout") as url:
        yield url


@pytest.fixture()
def server(database_url):
    """An app of its own (another worker) on its own database, with one city account."""
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config |= {"SQLALCHEMY_DATABASE_URI": database_url, "AUTH_RATE_LIMIT": "10000 per minute"}
    application = create_app(config)
    with application.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles(application.appbuilder.sm)
        center = Org(kind=CENTER, code="000000", name="部中心")
        province = Org(kind=PROVINCE, code="110000", name="北京市", parent=center)
        city = Org(kind=CITY, code="110101", name="东城区", parent=province)
        db.session.add_all([center, province, city])
        db.session.flush()
        user, _pw = accounts.create_account(
            name="赵东城", role_kind="city", org=city, now=clock.now(), password=PASSWORD
        )
        user.must_change_password = False
        db.session.commit()
        application.config["TEST_USERNAME"] = user.username
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _attempts(application, form: int, api: int, password=WRONG):
    """``form`` sign-in form posts and ``api`` API logins, all released at the same moment."""
    username = application.config["TEST_USERNAME"]
    barrier = threading.Barrier(form + api)

    def by_form(_i):
        client = application.test_client()
        token = csrf_token(client)
        barrier.wait()
        response = client.post(
            "/login/", data={"username": username, "password": password, "csrf_token": token}
        )
        return ("form", response.status_code)

    def by_api(_i):
        client = application.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/security/login", json={"username": username, "password": password}
        )
        return ("api", response.status_code)

    with ThreadPoolExecutor(max_workers=form + api) as pool:
        futures = [pool.submit(by_form, i) for i in range(form)]
        futures += [pool.submit(by_api, i) for i in range(api)]
        return [f.result(timeout=120) for f in futures]


def _state(application):
    with application.app_context():
        db.session.remove()
        username = application.config["TEST_USERNAME"]
        user = db.session.scalar(select(MalanUser).where(MalanUser.username == username))

        def events(name):
            return db.session.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.username == username, AuditLog.event == name)
            )

        state = {
            "locked_until": user.locked_until,
            "count": user.fail_login_count,
            "failed": events("login_failed"),
            "lockouts": events("lockout"),
            "refused_locked": events("login_locked"),
        }
        db.session.remove()
        return state


def test_issue17_point1_38_parallel_failures_lock_after_exactly_the_threshold(server):
    """The attack of the issue: 19 wrong passwords to the form and 19 to the API, at once."""
    threshold = server.config["LOCKOUT_THRESHOLD"]
    answers = _attempts(server, form=19, api=19)
    assert {a for a in answers if a[0] == "form"} == {("form", 302)}
    assert {a for a in answers if a[0] == "api"} == {("api", 401)}
    state = _state(server)
    assert state["locked_until"] is not None and state["locked_until"] > clock.now()
    assert state["failed"] == threshold  # exactly the threshold counted, whoever came first
    assert state["lockouts"] == 1
    assert state["refused_locked"] == 38 - threshold


def test_issue17_point1_one_failure_short_of_the_threshold_does_not_lock(server):
    threshold = server.config["LOCKOUT_THRESHOLD"]
    _attempts(server, form=2, api=threshold - 3)  # threshold - 1 failures at once
    state = _state(server)
    assert state["locked_until"] is None and state["count"] == threshold - 1
    _attempts(server, form=1, api=0)  # the threshold-th
    state = _state(server)
    assert state["locked_until"] is not None and state["lockouts"] == 1


def test_issue17_point1_right_password_in_the_crowd_does_not_get_in_once_locked(server):
    """Wrong passwords and the right one at once: once locked, the right one is refused too."""
    threshold = server.config["LOCKOUT_THRESHOLD"]
    _attempts(server, form=threshold, api=threshold)
    answers = _attempts(server, form=3, api=3, password=PASSWORD)
    assert {status for _door, status in answers} <= {302, 401}
    state = _state(server)
    assert state["locked_until"] is not None and state["lockouts"] == 1
    with server.app_context():
        user = db.session.scalar(
            select(MalanUser).where(MalanUser.username == server.config["TEST_USERNAME"])
        )
        assert not user.login_count
        db.session.remove()


def test_issue17_point1_lock_lasts_lockout_minutes(server):
    threshold = server.config["LOCKOUT_THRESHOLD"]
    before = clock.now()
    _attempts(server, form=threshold, api=threshold)
    until = _state(server)["locked_until"]
    minutes = server.config["LOCKOUT_MINUTES"]
    assert before + timedelta(minutes=minutes) <= until <= clock.now() + timedelta(minutes=minutes)
