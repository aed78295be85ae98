"""The application factory."""

from flask import Flask
from flask_appbuilder import AppBuilder
from sqlalchemy.orm import Session

from app.config import Config
from app.extensions import csrf, db, migrate


def create_app(config: type | dict | None = None) -> Flask:
    from app.config import INSTANCE

    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)

    import models  # noqa: F401  (every table on the metadata before migrations look)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())))
    csrf.init_app(app)

    from app import audit

    audit.install(Session)

    with app.app_context():
        # PITFALLS: one AppBuilder per app, built here, never at module level.
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        import views

        views.register(appbuilder)
        appbuilder.post_init()  # FAB_UPDATE_PERMS is off: roles come from `flask malan sync-roles`
        _exempt_apis_from_csrf(appbuilder)

    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx: take the client IP and scheme from the proxy's headers, so the per-IP
        # login limit, the audit log's IP and the Secure cookie see the real visitor.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from security import guards

    # First of all hooks: CSRF protection parses the body, so the limit must be set before it.
    app.before_request_funcs.setdefault(None, []).insert(0, guards.allow_large_uploads)
    app.before_request(guards.refuse_url_for_keywords)
    app.before_request(guards.bounded_list_args)
    app.before_request(guards.force_password_change)
    app.after_request(guards.security_headers)
    app.after_request(audit.record_refusals)  # cross-region 403/404s, for the security board
    app.jinja_env.globals["csp_nonce"] = guards.csp_nonce

    from app import cli, errors

    cli.register(app)
    errors.register(app)
    return app


def _migrations_dir():
    from app.config import ROOT

    return ROOT / "migrations"


def _exempt_apis_from_csrf(appbuilder) -> None:
    """JWT-authenticated REST APIs carry no CSRF token (PITFALLS): exempt exactly those."""
    from flask_appbuilder.api import BaseApi

    for view in appbuilder.baseviews:
        if isinstance(view, BaseApi) and view.blueprint is not None:
            csrf.exempt(view.blueprint)
