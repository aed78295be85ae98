"""Behind a trusted reverse proxy the audit log records the visitor's IP, not the proxy's."""

from models.audit import AuditLog
from tests.factories import fresh_app


def _failed_login_ip(application, forwarded_for):
    from app.extensions import db

    with application.app_context():
        client = application.test_client()
        client.post(
            "/login/",
            data={"username": "nobody", "password": "x"},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        entry = (
            db.session.query(AuditLog)
            .filter_by(event="login_failed")
            .order_by(AuditLog.id.desc())
            .first()
        )
        return entry.ip


def test_trusted_proxy_header_gives_the_real_client_ip(world):
    assert (
        _failed_login_ip(fresh_app(TRUSTED_PROXIES=1, WTF_CSRF_ENABLED=False), "203.0.113.7")
        == "203.0.113.7"
    )


def test_without_trusted_proxy_the_header_is_ignored(world):
    assert _failed_login_ip(fresh_app(WTF_CSRF_ENABLED=False), "203.0.113.7") == "10.0.0.1"
