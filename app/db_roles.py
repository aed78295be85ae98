"""The two PostgreSQL roles (等保三级: 审计记录的保护, least privilege).

- The **owner** (``MIGRATION_DATABASE_URL``) owns the schema: it runs `flask db upgrade`, this
  module's `sync_app_role` (`flask malan db-roles`) and `flask malan purge-audit`.
- The **app** role (``DATABASE_URL``, what the web workers use) owns nothing: SELECT, INSERT,
  UPDATE, DELETE on the tables it works with, only SELECT and INSERT on ``audit_log``, no
  TRUNCATE, no REFERENCES, no TRIGGER, no CREATE in the schema. Without ownership it can neither
  ALTER, DISABLE or DROP the log's triggers nor the log; not being a superuser, it cannot
  ``SET session_replication_role``.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from app.extensions import db

DML = "SELECT, INSERT, UPDATE, DELETE"
# Tables the app may not change freely; every other table of the schema gets DML.
GRANTS = {
    "audit_log": "SELECT, INSERT",  # append-only: no UPDATE, DELETE, TRUNCATE
    "audit_chain": "SELECT, UPDATE",  # the chain's head (one row, moved by every append)
    "alembic_version": "SELECT",
}


class DbRolesError(Exception):
    pass


@contextmanager
def owner_session():
    """A session as the schema's owner (MIGRATION_DATABASE_URL), else the app's own session."""
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    if not url or url == current_app.config["SQLALCHEMY_DATABASE_URI"]:
        yield db.session
        return
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _owned_by(conn, role: str) -> list[str]:
    """What ``role`` owns in this database (tables, sequences, views, functions, schemas)."""
    return list(
        conn.scalars(
            text(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = :r) "
                "AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast%' "
                "UNION ALL SELECT p.proname || '()' FROM pg_proc p "
                "WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = :r) "
                "UNION ALL SELECT 'schema ' || nspname FROM pg_namespace "
                "WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = :r) "
                "UNION ALL SELECT 'database ' || datname FROM pg_database "
                "WHERE datname = current_database() "
                "AND datdba = (SELECT oid FROM pg_roles WHERE rolname = :r)"
            ),
            {"r": role},
        )
    )


def sync_app_role() -> list[str]:
    """Create the app role when missing and set its grants; returns what was done, line by line."""
    config = current_app.config
    app_url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if app_url.get_backend_name() != "postgresql":
        raise DbRolesError("db-roles is for PostgreSQL (DATABASE_URL is not)")
    if not config.get("MIGRATION_DATABASE_URL"):
        raise DbRolesError("set MIGRATION_DATABASE_URL to the schema owner's URL")
    owner_url = make_url(config["MIGRATION_DATABASE_URL"])
    app_role, owner = app_url.username, owner_url.username
    if not app_role or app_role == owner:
        raise DbRolesError(
            "DATABASE_URL must connect as a role other than the owner (MIGRATION_DATABASE_URL)"
        )
    if app_url.database != owner_url.database:
        raise DbRolesError("DATABASE_URL and MIGRATION_DATABASE_URL name different databases")
    done = []
    engine = create_engine(owner_url)
    try:
        with engine.begin() as conn:
            role = conn.dialect.identifier_preparer.quote(app_role)
            quote = conn.dialect.identifier_preparer.quote
            powerful = conn.scalar(
                text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
                {"r": app_role},
            )
            if powerful is None:
                password = f" PASSWORD {_literal(app_url.password)}" if app_url.password else ""
                if not conn.scalar(
                    text(
                        "SELECT rolsuper OR rolcreaterole FROM pg_roles "
                        "WHERE rolname = current_user"
                    )
                ):
                    raise DbRolesError(
                        f"role {app_role} does not exist and {owner} may not create roles: "
                        f"CREATE ROLE {app_role} LOGIN PASSWORD '...' as a superuser first"
                    )
                conn.execute(
                    text(
                        f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                        f"NOREPLICATION NOBYPASSRLS{password}"
                    )
                )
                done.append(f"created role {app_role}")
            elif powerful:
                raise DbRolesError(
                    f"role {app_role} is a superuser or bypasses row security: not for the app"
                )
            owned = _owned_by(conn, app_role)
            if owned:
                raise DbRolesError(
                    f"role {app_role} owns {', '.join(owned[:10])}: REASSIGN OWNED BY "
                    f"{app_role} TO {owner} first (the app role must own nothing)"
                )
            conn.execute(text(f"REVOKE CREATE ON SCHEMA public FROM {role}"))
            conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}"))
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ).all()
            for table in tables:
                grant = GRANTS.get(table, DML)
                conn.execute(text(f"GRANT {grant} ON TABLE public.{quote(table)} TO {role}"))
            conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
            done.append(
                f"{app_role}: DML on {len(tables) - len(set(GRANTS) & set(tables))} tables; "
                + "; ".join(f"{t}: {g}" for t, g in GRANTS.items() if t in tables)
            )
    finally:
        engine.dispose()
    return done
