"""Issue 2 point 8: the append-only audit log — automatic row changes, exports, the auditor's
filterable list and export, no edit/delete for anyone, the PostgreSQL guard and the purge."""

import importlib.util
import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import audit, clock
from app.config import ROOT
from app.extensions import db
from models.audit import AuditChainHead, AuditLog
from models.org import Org
from models.user import MalanUser
from reports.audit import audit_columns
from security.permissions import EXPORT, READ, ROLE_MATRIX
from tests.factories import USERS, csrf_token, post_token


def entries(**where):
    db.session.expire_all()
    query = select(AuditLog).filter_by(**where).order_by(AuditLog.id)
    return db.session.scalars(query).all()


def changes(entry) -> dict:
    return json.loads(entry.changes or "{}")


def _org_form(org: Org, **override) -> dict:
    data = {
        "name": org.name,
        "credit_code": org.credit_code or "",
        "address": org.address or "",
        "contact_name": org.contact_name or "",
        "contact_phone": org.contact_phone or "",
        "active": "y",
    }
    data.update(override)
    return data


# ------------------------------------------------------------------ every row change, automatically


def test_point8_org_edit_through_the_form_is_logged_with_before_and_after(client, login, world):
    login("center")
    pk = world["org"]["I1"]
    data = _org_form(db.session.get(Org, pk), name="东城创业学校（新址）", address="东城区某路1号")
    data["csrf_token"] = csrf_token(client, f"/orgview/edit/{pk}")
    assert client.post(f"/orgview/edit/{pk}", data=data).status_code == 302

    [entry] = entries(event="update", object_type="Org", object_id=str(pk))
    assert changes(entry) == {
        "name": ["东城创业学校", "东城创业学校（新址）"],
        "address": [None, "东城区某路1号"],
    }
    assert (entry.username, entry.role, entry.org_name) == (
        world["username"]["center"],
        "center",
        "部中心",
    )
    assert entry.user_id == world["user"]["center"] and entry.ip == "127.0.0.1" and entry.success


def test_point8_account_change_is_logged_and_secrets_are_masked(app, client, login, world):
    login("sysadmin")
    c1 = world["user"]["c1"]
    client.post(f"/userview/action/disable/{c1}", data={"csrf_token": post_token(app, client)})
    [disabled] = entries(event="update", object_type="MalanUser", object_id=str(c1))
    assert changes(disabled)["active"] == [True, False]
    assert disabled.username == world["username"]["sysadmin"]

    client.post(
        f"/userview/action/reset_password/{c1}", data={"csrf_token": post_token(app, client)}
    )
    db.session.expire_all()
    hashed = db.session.get(MalanUser, c1).password
    reset = [
        e for e in entries(object_type="MalanUser", object_id=str(c1)) if "password" in changes(e)
    ]
    assert reset and changes(reset[-1])["password"] == ["******", "******"]
    assert entries(event="password_reset", object_id=str(c1))
    everything = " ".join(f"{e.summary} {e.changes}" for e in entries())
    assert hashed not in everything and "pbkdf2" not in everything


def test_point8_created_account_logs_no_password(world):
    created = [e for e in entries(event="create", object_type="MalanUser")]
    assert len(created) == len(USERS)
    for entry in created:
        assert changes(entry)["password"] == [None, "******"]
        assert entry.username == "system", "made outside a request: the system acted"


def test_point8_rolled_back_change_leaves_no_entry(world):
    before = len(entries())
    org = db.session.get(Org, world["org"]["C2"])
    org.name = "不会保存的名字"
    db.session.flush()  # the entry is written in the same transaction as the change...
    assert len(entries(event="update", object_type="Org", object_id=str(org.id))) == 1
    db.session.rollback()  # ...so it goes with it
    assert len(entries()) == before
    assert "不会保存的名字" not in " ".join(e.changes or "" for e in entries())


def test_point8_refused_out_of_scope_write_leaves_no_entry(app, client, login, world):
    # Only center-level roles may write orgs today; place the system administrator in a
    # province to exercise the scope refusal of the form.
    db.session.get(MalanUser, world["user"]["sysadmin"]).org_id = world["org"]["P1"]
    db.session.commit()
    login("sysadmin")
    before = len(entries(event="update"))
    pk = world["org"]["I2"]  # another province's institution
    data = _org_form(db.session.get(Org, pk), name="越权改名", csrf_token=post_token(app, client))
    assert client.post(f"/orgview/edit/{pk}", data=data).status_code == 404
    db.session.remove()
    assert len(entries(event="update")) == before
    assert db.session.get(Org, pk).name == "广州创业学院"


def test_point8_import_helper_logs_success_and_refusal(world):
    audit.record_import(db.session, "TrainingPlan", 12, filename="plan.xlsx")
    audit.record_import(db.session, "TrainingPlan", 3, errors=2, filename="bad.xlsx")
    db.session.commit()
    ok, refused = entries(event="import")
    assert ok.success and "12 rows" in ok.summary and "plan.xlsx" in ok.summary
    assert not refused.success and "2 errors" in refused.summary


# ------------------------------------------------------------------ the auditor's list and export


def _seed(world, now):
    """Three known entries at known times, from two provinces."""
    users = {k: db.session.get(MalanUser, world["user"][k]) for k in ("p1", "c2")}
    audit.record(
        db.session,
        "login_failed",
        user=users["p1"],
        success=False,
        summary="marker-old-p1",
        now=now - timedelta(days=10),
    )
    audit.record(db.session, "login", user=users["p1"], summary="marker-new-p1", now=now)
    audit.record(db.session, "login", user=users["c2"], summary='=HYPERLINK("x")-c2', now=now)
    db.session.commit()


def _sheet(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    return ws, rows[0], rows[1:]


def test_point8_auditor_filters_the_list_by_event_username_and_time(client, login, world):
    now = clock.now()
    _seed(world, now)
    login("auditor")

    def listed(query):
        html = client.get(f"/auditlogview/list/?psize_AuditLogView=100&{query}").get_data(
            as_text=True
        )
        return {m for m in ("marker-old-p1", "marker-new-p1", "HYPERLINK") if m in html}

    assert listed("") == {"marker-old-p1", "marker-new-p1", "HYPERLINK"}
    assert listed("_flt_3_event=login_failed") == {"marker-old-p1"}
    assert listed(f"_flt_3_username={world['username']['c2']}") == {"HYPERLINK"}
    since = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert listed(f"_flt_1_at={since}&_flt_3_username={world['username']['p1']}") == {
        "marker-new-p1"
    }


def test_point8_export_has_the_list_headers_and_respects_filters(app, client, login, world):
    now = clock.now()
    _seed(world, now)
    login("auditor")
    with app.test_request_context():
        expected = [str(c.header) for c in audit_columns()]
    ws, header, rows = _sheet(
        client.get(
            f"/auditlogview/export?_flt_3_event=login&_flt_3_username={world['username']['c2']}"
        )
    )
    assert header == expected and header[0] == "时间" and "用户名" in header
    assert ws.freeze_panes == "A2"
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["用户名"] == world["username"]["c2"] and row["事件类型"] == "登录"
    summary = rows[0][expected.index(str(audit_columns()[8].header))]
    assert summary == '=HYPERLINK("x")-c2'
    assert ws.cell(2, 9).data_type == "s", "user text never becomes a formula"

    [logged] = entries(event="export")
    assert logged.object_type == "AuditLog" and logged.username == world["username"]["auditor"]
    assert "1 rows" in logged.summary and "login" in logged.summary

    # Internal bookkeeping rows (the tree's orgs created by "system") only when asked for.
    _ws, _h, everything = _sheet(client.get("/auditlogview/export?internal=1"))
    assert len(everything) == len(entries()) - 1, "everything but the second export's own entry"
    _ws, _h, decisions = _sheet(client.get("/auditlogview/export"))
    assert 0 < len(decisions) < len(everything)


def test_point8_export_respects_the_auditors_scope(client, login, world):
    """Auditors sit at the center today; the export still goes through the scoped query, so an
    auditor placed in a province would get that province only."""
    _seed(world, clock.now())
    auditor = db.session.get(MalanUser, world["user"]["auditor"])
    auditor.org_id = world["org"]["P1"]
    db.session.commit()
    login("auditor")
    _ws, header, rows = _sheet(client.get("/auditlogview/export"))
    summaries = {r[8] for r in rows}
    assert {"marker-old-p1", "marker-new-p1"} <= summaries
    assert not any("c2" in (s or "") for s in summaries)
    orgs = {r[4] for r in rows}
    assert orgs <= {"北京市", "东城区", "西城区", "东城创业学校", "东城第二培训中心"}


# ------------------------------------------------------------------ every export is logged


def _exports(app):
    for view in app.appbuilder.baseviews:
        for name in dir(type(view)):
            method = getattr(type(view), name, None)
            urls = getattr(method, "_urls", None)
            # Exports of one record (a notice's receipts, <pk> in the URL) are tested with their module.
            if "export" in name and urls and not any("<" in url for url, _m in urls):
                yield view, name


def test_point8_every_export_endpoint_writes_an_audit_entry(app, client, login, world):
    found = list(_exports(app))
    assert found, "the audit export at least"
    key_of = {kind: key for key, kind, _org, _name in reversed(USERS)}
    for view, name in found:
        # Most exports need the export permission; a list's own export (ListExportMixin) only
        # the right to read the list.
        needed = READ if view.method_permission_name.get(name) == "read" else EXPORT
        role = next(
            r for r, grants in ROLE_MATRIX.items() if (needed, view.class_permission_name) in grants
        )
        login(key_of[role])
        before = len(entries(event="export"))
        url = f"{view.route_base}{view.__class__.__dict__.get(name, getattr(type(view), name))._urls[0][0]}"
        assert client.get(url).status_code == 200, url
        assert len(entries(event="export")) == before + 1, url


# ------------------------------------------------------------------ nobody edits or deletes


@pytest.mark.parametrize("key", [u[0] for u in USERS])
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "add"),
        ("POST", "add"),
        ("GET", "edit/{pk}"),
        ("POST", "edit/{pk}"),
        ("GET", "delete/{pk}"),
        ("POST", "delete/{pk}"),
        ("POST", "action_post"),
    ],
)
def test_point8_nobody_edits_or_deletes_the_log(app, client, login, world, key, method, path):
    pk = entries()[0].id
    before = (entries()[0].summary, entries()[0].changes, len(entries()))
    login(key)
    token = post_token(app, client)
    response = client.open(
        f"/auditlogview/{path.format(pk=pk)}",
        method=method,
        data={"csrf_token": token, "summary": "forged", "rowid": pk} if method == "POST" else None,
    )
    assert response.status_code in (403, 404, 405)
    first = entries()[0]
    assert (first.summary, first.changes) == before[:2]
    assert db.session.get(AuditLog, pk) is not None


# ------------------------------------------------------------------ PostgreSQL guard and purge


def _migration():
    path = ROOT / "migrations" / "versions" / "0001_foundation.py"
    spec = importlib.util.spec_from_file_location("malan_migration_0001", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def empty_log():
    """No entries and a fresh chain (as the owner; the test database has no trigger yet)."""
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(AuditLog.__table__.delete())
        conn.execute(AuditChainHead.__table__.delete())


@pytest.fixture()
def pg_guard(world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    empty_log()  # the purge removes the chain's oldest entries: make the aged ones come first
    with db.engine.begin() as conn:
        conn.execute(text(_migration().AUDIT_GUARD))  # as op.execute runs it
    yield
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS audit_log_append_only()")


def _aged(days, marker):
    audit.record(db.session, "login", summary=marker, now=clock.now() - timedelta(days=days))


def test_point8_postgres_trigger_refuses_update_and_delete(pg_guard):
    _aged(400, "very-old")
    _aged(1, "young")
    db.session.commit()
    for sql in ("UPDATE audit_log SET summary = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    # Even the purge switch does not let young entries go.
    db.session.execute(text("SET LOCAL malan.audit_purge = 'on'"))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_log"))
    db.session.rollback()
    assert len(entries(summary="very-old")) == 1


def _purge(app, days):
    return app.test_cli_runner().invoke(
        args=["malan", "purge-audit", "--older-than-days", str(days)]
    )


@pytest.mark.parametrize("days", [0, 30, 179])
def test_point8_purge_refuses_less_than_180_days(app, world, days):
    _aged(400, "very-old")
    db.session.commit()
    before = len(entries())
    result = _purge(app, days)
    assert result.exit_code != 0 and "180" in result.output
    assert len(entries()) == before


def _purge_keeps_young_entries(app):
    for days, marker in ((400, "400-days"), (200, "200-days"), (10, "10-days")):
        _aged(days, marker)
    db.session.commit()
    result = _purge(app, 365)
    assert result.exit_code == 0, result.output
    assert not entries(summary="400-days") and entries(summary="200-days")
    assert _purge(app, 180).exit_code == 0
    assert not entries(summary="200-days") and entries(summary="10-days")
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.event == "purge_audit")
        )
        == 2
    ), "the purge itself is logged"


def test_point8_purge_deletes_only_old_entries(app, world):
    empty_log()
    _purge_keeps_young_entries(app)


def test_point8_purge_works_through_the_postgres_guard(app, pg_guard):
    _purge_keeps_young_entries(app)


def test_point8_create_entry_has_the_keys_known_only_after_the_flush(world):
    city = db.session.get(Org, world["org"]["C2"])
    org = Org(kind="institution", code="4401000009", name="新机构")
    org.parent = city
    db.session.add(org)
    db.session.commit()
    [entry] = entries(event="create", object_type="Org", object_id=str(org.id))
    assert changes(entry)["id"] == [None, org.id]
    assert changes(entry)["parent_id"] == [None, city.id]
    assert changes(entry)["province_id"] == [None, world["org"]["P2"]]
