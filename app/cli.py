"""`flask malan …` commands: deploy-time role sync, tree and demo loading, admin accounts, audit purge."""

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app import audit, clock
from app.extensions import db

malan = AppGroup("malan", help="Malan platform administration.")


@malan.command("sync-roles")
def sync_roles():
    """Make roles and permissions in the database equal to security/permissions.py."""
    from security.sync import sync_roles as do_sync

    changed = do_sync(current_app.appbuilder.sm)
    audit.record(db.session, "sync_roles", summary=f"{changed} role(s) changed")
    db.session.commit()
    click.echo(f"roles synced ({changed} changed)")


@malan.command("load-tree")
def load_tree():
    """Load the provinces and cities of app/data/divisions.csv (idempotent)."""
    from app.services.tree import load_tree as do_load

    added = do_load()
    db.session.commit()
    click.echo(f"{added} org(s) added")


@malan.command("load-demo")
def load_demo():
    """Sync roles, load the tree and the demo accounts (refused if real accounts exist)."""
    from app.services.demo import DemoRefused
    from app.services.demo import load_demo as do_load
    from security.sync import sync_roles as do_sync

    do_sync(current_app.appbuilder.sm)
    db.session.commit()
    try:
        users = do_load(clock.now())
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"demo data ready: {len(users)} demo account(s)")


@malan.command("demo-accounts")
def demo_accounts():
    """Print the demo accounts as JSON (username, password, role, org code, org name)."""
    from app.services.demo import demo_accounts_json

    click.echo(json.dumps(demo_accounts_json(), ensure_ascii=False, indent=2))


@malan.command("create-admin")
@click.option(
    "--kind", type=click.Choice(["sysadmin", "secadmin", "auditor", "center"]), required=True
)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(kind, name, password):
    """Create an administrator at the center (use instead of `flask fab create-admin`)."""
    from app.services import accounts
    from app.services.tree import CENTER_CODE
    from models.org import Org
    from models.user import MalanUser
    from security.passwords import new_password_errors

    errors = new_password_errors(password, MalanUser(first_name=name, last_name=""))
    if errors:
        raise click.ClickException(" ".join(errors))
    center = db.session.scalar(select(Org).where(Org.code == CENTER_CODE))
    if center is None:
        raise click.ClickException("run `flask malan load-tree` first")
    user, _pw = accounts.create_account(
        name=name, role_kind=kind, org=center, now=clock.now(), password=password
    )
    db.session.commit()
    click.echo(f"created {user.username} (must change the password at first login)")


@malan.command("purge-audit")
@click.option("--older-than-days", type=int, required=True)
def purge_audit(older_than_days):
    """Delete audit entries older than N days (the oldest part of the chain, anchored); refuses N
    below the retention period (180). Runs as the schema owner (MIGRATION_DATABASE_URL)."""
    from app.db_roles import owner_session

    minimum = current_app.config["AUDIT_MIN_RETENTION_DAYS"]
    if older_than_days < minimum:
        raise click.ClickException(f"refused: audit entries are kept at least {minimum} days")
    now = clock.now()
    with owner_session() as session:
        purged = audit.purge(session, now - timedelta(days=older_than_days), now=now)
        session.commit()
    click.echo(f"{purged} audit entries purged")


@malan.command("audit-verify")
def audit_verify():
    """Check the audit log's hash chain; report the first deleted, altered or inserted entry
    (exit status 1). The check itself is recorded in the log."""
    from app import audit_chain

    report = audit_chain.verify(db.session.connection())
    if report.ok:
        summary = f"audit chain intact: {report.checked} entries checked"
    else:
        summary = f"audit chain BROKEN: {report.problem}"
    if report.legacy:
        summary += f"; {report.legacy} entries older than the chain (not verifiable)"
    if report.anchors:
        summary += f"; {report.anchors} purge anchor(s)"
    audit.record(
        db.session,
        "audit_verify",
        object_type="AuditLog",
        object_id=report.problem.entry_id if report.problem else None,
        summary=summary,
        success=report.ok,
    )
    db.session.commit()
    click.echo(summary)
    if not report.ok:
        raise SystemExit(1)


@malan.command("db-roles")
def db_roles():
    """PostgreSQL: create the web app's role (DATABASE_URL's user) when missing and make its
    grants exactly what the app needs — DML on the tables, only INSERT and SELECT on the audit
    log, nothing owned. Runs as the schema owner (MIGRATION_DATABASE_URL), after `flask db upgrade`."""
    from app.db_roles import DbRolesError, sync_app_role

    try:
        for line in sync_app_role():
            click.echo(line)
    except DbRolesError as exc:
        raise click.ClickException(str(exc)) from exc


@malan.command("purge-staged")
def purge_staged():
    """Delete the uploads left between preview and confirm for longer than an hour (they hold
    personal data). Each new upload purges too; run this daily for a quiet server."""
    from app.services import staging
    from app.services.tx import transaction

    with transaction():
        count = staging.purge(clock.now())
    click.echo(f"{count} staged uploads purged")


@malan.command("overdue")
@click.option("--now", "at", help="Reference time, ISO format (default: now, Beijing time).")
def overdue(at):
    """Print the overdue review steps and audit the run (for a daily cron job)."""
    from datetime import datetime

    from app.services import review
    from models.org import Org

    try:
        now = datetime.fromisoformat(at) if at else clock.now()
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date/time: {at}", param_hint="--now") from exc
    tasks = review.task_items(db.session.scalars(review.overdue_tasks(now)))
    for item in tasks:
        t = item.task
        org = db.session.get(Org, t.reviewer_org_id)
        late = (now.date() - t.due_at.date()).days
        click.echo(
            f"{org.code if org else t.reviewer_org_id}\t{org.name if org else ''}\t"
            f"{t.record_type}#{t.record_id}\t{item.record if item.record is not None else ''}\t"
            f"{item.step_label}\tdue {t.due_at:%Y-%m-%d %H:%M}\t{late} day(s) late"
        )
    audit.record(
        db.session,
        "overdue_report",
        object_type="ReviewTask",
        summary=f"{len(tasks)} overdue step(s) at {now:%Y-%m-%d %H:%M}",
        now=now,
    )
    db.session.commit()
    click.echo(f"{len(tasks)} overdue step(s)")


@malan.command("generate")
@click.option(
    "--scale",
    type=float,
    default=0.01,
    show_default=True,
    help="1.0 = ten times today's national size (issue 7); 0.01 a hundredth of it.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same data.")
def generate(scale, seed):
    """Fill an EMPTY database with reproducible national data for benchmarks (refused when
    accounts exist). Every generated account's password is Malan@bench2026.
    \f
    The generator is the bench's, not the app's: it lives in ``bench/generate.py``, which is not
    an installed package (pyproject installs app, views, models, security, reports only). The
    command stays here, so that ``flask malan --help`` lists it with the others, and imports
    ``bench.generate`` only when run: ``flask`` runs from the repository root (FLASK_APP=run.py),
    where ``bench`` is importable; a deployment without bench/ gets a clear error, and the app
    never imports the bench at start."""
    try:
        from bench.generate import GenerateRefused
        from bench.generate import generate as do_generate
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", "bench.generate"):
            raise
        raise click.ClickException(
            "the generator is bench/generate.py: run `flask malan generate` from the repository "
            "root (FLASK_APP=run.py), where bench/ is importable"
        ) from exc

    if scale <= 0:
        raise click.BadParameter("must be positive", param_hint="--scale")
    try:
        do_generate(
            scale, seed, now=clock.now(), files_dir=current_app.config["FILES_DIR"], echo=click.echo
        )
    except GenerateRefused as exc:
        raise click.ClickException(str(exc)) from exc


def register(app) -> None:
    app.cli.add_command(malan)
