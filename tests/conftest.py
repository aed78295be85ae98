"""Fixtures: a fresh database per test with a small tree and one real user per role and region
(the world of tests/factories.py), signed-in clients, one frozen clock, and the scope matrix's
``people``. ``DATABASE_URL`` selects PostgreSQL, else in-memory SQLite.
"""

import copy
import os
import shutil
import warnings
from datetime import datetime, timedelta

import pytest
from flask import g
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import select

from app import audit, clock, create_app
from app.config import TestConfig
from app.extensions import db
from models.user import MalanUser
from security import passwords
from tests.factories import (
    NOW,
    PASSWORD,
    Actors,
    build_world,
    csrf_token,
    seed_account_requests,
    seed_applications,
    seed_courses,
    seed_faculty,
    seed_login_applications,
    seed_mentors,
    seed_plans,
    seed_rosters,
    sign_out,
    switch_language,
)
from tests.snapshot import Snapshot


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


class FrozenClock:
    """What ``app.clock.now`` answers while frozen: ``set(moment)``, ``advance(**timedelta)``."""

    def __init__(self, moment: datetime):
        self.now = moment

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture()
def frozen_clock(monkeypatch):
    """``app.clock.now`` frozen at ``NOW`` (tests/factories.py) until the test moves it: time is a
    parameter, never a sleep. Ask for it before ``world`` (or with ``usefixtures``) for a world
    built at the frozen moment."""
    frozen = FrozenClock(NOW)
    monkeypatch.setattr(clock, "now", lambda: frozen.now)
    return frozen


@pytest.fixture()
def u(world):
    """The fixture users as model objects: ``u.c1``, ``u.p1``, ..."""
    return Actors(world)


@pytest.fixture()
def people(app, world):
    """The world, plus a city account without an org (fail-closed), audit entries written by each
    user, and records of every kind in every region: the scope matrix's population."""
    now = clock.now()
    city = db.session.scalar(select(Role).filter_by(name="city"))
    lost = MalanUser(
        username="noorg",
        first_name="无机构",
        last_name="",
        active=True,
        email="noorg@users.malan.invalid",
        roles=[city],
    )
    passwords.set_password(lost, PASSWORD, now, must_change=False)
    db.session.add(lost)
    db.session.flush()
    world["user"]["noorg"], world["username"]["noorg"] = lost.id, "noorg"
    for user in db.session.scalars(select(MalanUser)):
        audit.record(db.session, "test", user=user, summary="fixture", now=now)
    db.session.commit()
    seed_plans(world)  # plans and plan lines in every city
    seed_applications(world, now)
    seed_login_applications(world, now)
    seed_rosters(world)
    seed_faculty(world)  # approved profiles in every region, and the trainers' own
    seed_mentors(world)
    seed_courses(world)  # published resources of every uploader
    seed_account_requests(world)  # an administrator's proposal, at the center
    return world
