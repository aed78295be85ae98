"""Browser fixtures: a live server seeded like `make run`, and Debian's headless Chromium.

The server runs in a thread (werkzeug) on a free 127.0.0.1 port, over its own database: a SQLite
file, or — when DATABASE_URL is PostgreSQL — a fresh database beside it, dropped afterwards. It is
migrated with `flask db upgrade` and seeded with `flask malan load-demo`, the steps `make run` takes.
"""

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.config import TestConfig
from app.extensions import db
from tests.factories import scratch_database, service_missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_db_url(tmp_path_factory):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
        return
    with scratch_database(url, "live") as live_url:
        yield live_url


@pytest.fixture(scope="session")
def live_server(live_db_url):
    """The running app: ``live_server.url`` and ``live_server.app``."""
    config = type("LiveConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": live_db_url})
    app = create_app(config)
    runner = app.test_cli_runner()
    for args in (["db", "upgrade"], ["malan", "load-demo"]):
        # Push the live app's context: with the `app` fixture's context already pushed (another
        # test ran first), Flask's CLI would otherwise run against the test app's database.
        with app.app_context():
            result = runner.invoke(args=args)
        assert result.exit_code == 0, f"flask {' '.join(args)}: {result.output}{result.exception!r}"

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


class _QuietHandler(WSGIRequestHandler):
    """Keeps one log line per static file out of the failure reports."""

    def log_request(self, *args, **kwargs):
        pass


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    app: Flask


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium. Missing: skip locally with the reason; fail in CI (CI=true)."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (run `make test` as root, or apt-get install chromium)"
    elif not _has_cjk_font():
        problem = "no CJK font (fonts-wqy-microhei): Chinese would render as boxes"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = problem or "the playwright package is missing (make test installs it)"
    if problem:
        service_missing(problem)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def page_options():
    """What ``page`` opens with; a module overrides this fixture for another screen or language."""
    return {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


@pytest.fixture()
def page(chromium, live_server, page_options):
    """A page whose requests are all recorded; any not to 127.0.0.1 is aborted and remembered."""
    context = chromium.new_context(**page_options)
    page = context.new_page()
    page.requested, page.foreign = [], []

    def guard(route):
        url = route.request.url
        page.requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            page.foreign.append(url)
            route.abort()

    context.route("**/*", guard)
    yield page
    context.close()


def _has_cjk_font() -> bool:
    try:
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
    except FileNotFoundError:
        return False
    return bool(found.stdout.strip())
