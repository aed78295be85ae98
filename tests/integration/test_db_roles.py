"""Issue 17 point 3: on PostgreSQL the web app connects as a role that owns nothing. Migrations run
as the owner, `flask malan db-roles` grants the app role its DML, and that role can only INSERT
into and SELECT from the audit log: TRUNCATE, ALTER/DISABLE/DROP TRIGGER, session_replication_role,
DELETE and UPDATE are refused by PostgreSQL itself. The application works under it, and what the
owner does behind its back is found by `flask malan audit-verify`.

`.ci/run` prepares the roles and the migrated database (MALAN_TEST_OWNER_URL, MALAN_TEST_APP_URL);
otherwise, with a PostgreSQL DATABASE_URL, this module creates them itself and drops them after.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from tests.factories import ON_PG, PG_URL

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def run_flask(app_url, owner_url, *args, check=True):
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "MIGRATION_DATABASE_URL": owner_url,
        "FLASK_APP": "run.py",
        "SECRET_KEY": "db-roles-test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # the demo's accounts, quickly
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def roles():
    """(owner URL, app URL) of a database migrated by the owner, with the app role's grants."""
    if os.environ.get("MALAN_TEST_OWNER_URL") and os.environ.get("MALAN_TEST_APP_URL"):
        yield os.environ["MALAN_TEST_OWNER_URL"], os.environ["MALAN_TEST_APP_URL"]
        return
    if not ON_PG:
        pytest.skip("PostgreSQL only: set DATABASE_URL=postgresql+psycopg://... (.ci/run does)")
    suffix = uuid.uuid4().hex[:8]
    owner, app_role, name = (
        f"malan_t_owner_{suffix}",
        f"malan_t_app_{suffix}",
        f"malan_roles_{suffix}",
    )
    base = make_url(PG_URL)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN CREATEROLE PASSWORD 'owner-pw'"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER {owner}'))
    owner_url = base.set(username=owner, password="owner-pw", database=name)
    app_url = base.set(username=app_role, password="app-pw", database=name)
    urls = (
        owner_url.render_as_string(hide_password=False),
        app_url.render_as_string(hide_password=False),
    )
    try:
        run_flask(urls[1], urls[0], "db", "upgrade")
        run_flask(urls[1], urls[0], "malan", "db-roles")  # creates the app role
        yield urls
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {app_role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


@pytest.fixture()
def app_engine(roles):
    engine = create_engine(roles[1])
    yield engine
    engine.dispose()


REFUSED = [
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "SET session_replication_role = replica",
    "DELETE FROM audit_log",
    "UPDATE audit_log SET summary = 'forged'",
    "DROP TABLE audit_log",
    "ALTER TABLE audit_log DROP COLUMN row_hash",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RETURN OLD; END; $$ LANGUAGE plpgsql",
    "CREATE TABLE public.app_made (id int)",
    "TRUNCATE org CASCADE",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_point3_app_role_cannot_rewrite_the_audit_log(app_engine, statement):
    with pytest.raises(DBAPIError, match="permission denied|must be owner|must be superuser"):
        with app_engine.begin() as conn:
            conn.execute(text(statement))


def test_point3_app_role_inserts_and_reads_the_log_and_owns_nothing(app_engine, roles):
    with app_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, event, success, summary) "
                "VALUES (now(), 'test', true, 'as the app role')"
            )
        )
        assert conn.scalar(text("SELECT count(*) FROM audit_log WHERE event = 'test'")) >= 1
        me = conn.scalar(text("SELECT current_user"))
        assert me == make_url(roles[1]).username
        assert not conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        owned = conn.scalar(
            text(
                "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            )
        )
        assert owned == 0
        for table, privilege, expected in [
            ("org", "UPDATE", True),
            ("ab_user", "DELETE", True),
            ("audit_log", "INSERT", True),
            ("audit_log", "SELECT", True),
            ("audit_log", "UPDATE", False),
            ("audit_log", "DELETE", False),
            ("audit_log", "TRUNCATE", False),
            ("audit_log", "TRIGGER", False),
            ("alembic_version", "UPDATE", False),
        ]:
            assert (
                conn.scalar(
                    text("SELECT has_table_privilege(current_user, :t, :p)"),
                    {"t": table, "p": privilege},
                )
                is expected
            ), (table, privilege)


SIGN_IN = """
import re, sys
from app import create_app
app = create_app()
client = app.test_client()
html = client.get("/login/").get_data(as_text=True)
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
answer = client.post("/login/", data={"username": "zx000000001", "password": "Malan@demo2026",
                                      "csrf_token": token})
assert answer.status_code == 302, answer.status_code
for url in ("/orgview/list/", "/userview/list/", "/todo/"):
    status = client.get(url).status_code
    assert status in (200, 302), (url, status)
print("signed in as the app role")
"""


def test_point3_the_app_runs_as_the_restricted_role_and_verify_sees_the_owner(roles):
    owner_url, app_url = roles
    run_flask(app_url, owner_url, "malan", "load-demo")  # roles, tree, accounts: DML only
    env = {**os.environ, "DATABASE_URL": app_url, "SECRET_KEY": "db-roles-test"}
    env.pop("MIGRATION_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SIGN_IN], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    verified = run_flask(app_url, owner_url, "malan", "audit-verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The owner can still switch the trigger off and change an entry: the chain shows it.
    owner = create_engine(owner_url)
    try:
        with owner.begin() as conn:
            target = conn.scalar(text("SELECT min(id) FROM audit_log WHERE row_hash IS NOT NULL"))
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(
                text("UPDATE audit_log SET summary = 'rewritten' WHERE id = :id"), {"id": target}
            )
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    finally:
        owner.dispose()
    verified = run_flask(app_url, owner_url, "malan", "audit-verify", check=False)
    assert verified.returncode == 1
    assert f"entry #{target} was altered" in verified.stdout


def test_point3_db_roles_refuses_the_owner_as_app_role(roles):
    owner_url, _app_url = roles
    done = run_flask(owner_url, owner_url, "malan", "db-roles", check=False)
    assert done.returncode != 0 and "other than the owner" in done.stderr + done.stdout
