"""Alembic environment for Flask-Migrate (`flask db ...`), run inside the app's context."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep loggers configured before us (the test session, the app) working: migrations also run
# in-process from tests, and fileConfig's default would silence every other logger.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


_owner_engine = []


def get_engine():
    """The schema's owner runs migrations (MIGRATION_DATABASE_URL); the web app's own role
    (DATABASE_URL) may not create or alter anything."""
    owner_url = current_app.config.get("MIGRATION_DATABASE_URL")
    if not owner_url:
        return current_app.extensions["migrate"].db.engine
    if not _owner_engine:
        from sqlalchemy import create_engine

        _owner_engine.append(create_engine(owner_url))
    return _owner_engine[0]


def get_metadata():
    # PITFALLS: FAB's Model has its own metadata (ab_* tables and ours); use exactly that one.
    from flask_appbuilder import Model

    import models  # noqa: F401  (every table on the metadata)

    return Model.metadata


config.set_main_option(
    "sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
)


def run_migrations_offline():
    """`flask db upgrade --sql`: emit SQL without a connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=get_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("process_revision_directives", process_revision_directives)

    with get_engine().connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
