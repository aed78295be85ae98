"""Point 2 (and 8): `flask db upgrade` builds exactly the models' schema on SQLite and PostgreSQL,
`flask db downgrade` takes it away again, and on PostgreSQL the audit log refuses UPDATE/DELETE.

Each test migrates a database of its own (a temporary SQLite file, or a PostgreSQL database it
creates next to DATABASE_URL's and drops after), through the same command `make run` uses.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

import models  # noqa: F401  (every table on Model.metadata)
from app import clock
from tests.factories import ON_PG, PG_URL, scratch_database

ROOT = Path(__file__).resolve().parents[2]


def flask_db(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "run.py", "SECRET_KEY": "migration-test"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"flask db {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture()
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'migrated.db'}"


@pytest.fixture()
def pg_url():
    """A fresh PostgreSQL database beside DATABASE_URL's, dropped after the test."""
    if not ON_PG:
        pytest.skip("PostgreSQL only: set DATABASE_URL=postgresql+psycopg://... (.ci/run does)")
    with scratch_database(PG_URL, "mig") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"] if ON_PG else ["sqlite"])
def fresh_url(request):
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


def schema_diffs(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Model.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_point2_upgrade_builds_the_models_schema_and_downgrade_removes_it(fresh_url):
    flask_db(fresh_url, "upgrade")
    assert {"org", "ab_user", "audit_log", "login_session"} <= table_names(fresh_url)
    assert schema_diffs(fresh_url) == [], "migrations and models disagree: run `flask db migrate`"

    flask_db(fresh_url, "downgrade", "base")
    assert table_names(fresh_url) <= {"alembic_version"}

    flask_db(fresh_url, "upgrade")  # and back up again, as a redeploy would
    assert schema_diffs(fresh_url) == []


@pytest.mark.postgres
def test_point8_postgres_trigger_keeps_the_audit_log_append_only(pg_url):
    flask_db(pg_url, "upgrade")
    engine = create_engine(pg_url)
    now = clock.now()
    insert = text(
        "INSERT INTO audit_log (at, event, success, summary) VALUES (:at, 'test', true, :summary)"
    )
    try:
        with engine.begin() as conn:
            assert (
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass "
                        "AND tgname = 'audit_log_append_only'"
                    )
                )
                == 1
            )
            conn.execute(insert, {"at": now, "summary": "young"})
            conn.execute(insert, {"at": now - timedelta(days=200), "summary": "old"})

        for statement in ("UPDATE audit_log SET summary = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))

        # purge-audit's path: old entries go, young ones stay, even with the purge flag set.
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL malan.audit_purge = 'on'"))
            conn.execute(text("DELETE FROM audit_log WHERE summary = 'old'"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("SET LOCAL malan.audit_purge = 'on'"))
            conn.execute(text("DELETE FROM audit_log WHERE summary = 'young'"))

        with engine.connect() as conn:
            assert conn.scalars(text("SELECT summary FROM audit_log")).all() == ["young"]
    finally:
        engine.dispose()
