"""[review] point 5: 我的待办, the home page's to-do items, the menu count, the overdue board,
its xlsx export and the daily `flask malan overdue` command."""

import io
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.services import review
from app.services.review import APPROVE, RETURN
from models.audit import AuditLog
from tests.factories import make_plan

SUBMITTED = datetime(2026, 3, 2, 9, 0)  # province due 2026-03-04 23:59:59
DAY_AFTER = datetime(2026, 3, 3, 9, 0)  # the clock of these tests unless one moves it


@pytest.fixture()
def submitted(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, SUBMITTED)
    return plan


def test_point5_todo_page_lists_the_step_waiting_for_the_user(
    client, login, submitted, frozen_clock
):
    frozen_clock.set(DAY_AFTER)
    login("p1")
    html = client.get("/todo/").get_data(as_text=True)
    assert f"/planview/show/{submitted.id}" in html  # a link to the record's page
    assert "2026-03-04 23:59" in html and ">1<" in html  # due, days left
    assert 'class="danger overdue"' not in html
    frozen_clock.set(datetime(2026, 3, 6, 9, 0))
    login("p1")  # three days later: a new session
    html = client.get("/todo/").get_data(as_text=True)
    assert 'class="danger overdue"' in html and "text-danger" in html


@pytest.mark.parametrize("key", ["p2", "c1", "c1b", "center", "i1"])
def test_point5_nobody_else_has_the_step(client, login, submitted, frozen_clock, key):
    frozen_clock.set(DAY_AFTER)
    login(key)
    html = client.get("/todo/").get_data(as_text=True)
    assert f"/planview/show/{submitted.id}" not in html
    assert 'id="todo-empty"' in html


def test_point5_returned_record_waits_for_its_submitter(client, login, submitted, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    review.decide(submitted, u.p1, RETURN, datetime(2026, 3, 2, 15, 0), opinion="补充")
    login("c1")
    html = client.get("/todo/").get_data(as_text=True)
    assert f"/planview/show/{submitted.id}" in html
    login("p1")
    assert f"/planview/show/{submitted.id}" not in client.get("/todo/").get_data(as_text=True)


def test_point5_home_page_and_menu_count(app, client, login, world, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    plans = [make_plan(world, city) for city in ("C1", "C1b")]
    for plan, key in zip(plans, ("c1", "c1b"), strict=True):
        review.submit(plan, getattr(u, key), SUBMITTED)
    login("p1")
    statements = []

    def spy(_conn, _cursor, statement, *_args):
        if "review_task" in statement and "count(" in statement.lower():
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        html = client.get("/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    assert 'id="home-todo"' in html
    assert all(f"/planview/show/{p.id}" in html for p in plans)
    assert 'id="navbar-todo"' in html and '<span class="badge">2</span>' in html
    assert len(statements) == 1  # one COUNT per page, whatever the menu holds
    login("p2")
    html = client.get("/").get_data(as_text=True)
    assert 'id="navbar-todo"' not in html and 'id="home-todo"' in html


def test_point5_overdue_board_by_org_and_kind_scoped(client, login, world, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    late = make_plan(world, "C1")
    review.submit(late, u.c1, SUBMITTED)
    other = make_plan(world, "C2")
    review.submit(other, u.c2, SUBMITTED)
    newer = make_plan(world, "C1b")
    review.submit(newer, u.c1b, datetime(2026, 3, 5, 9, 0))
    frozen_clock.set(datetime(2026, 3, 6, 9, 0))
    login("p1")
    html = client.get("/overdue/").get_data(as_text=True)
    assert f"/planview/show/{late.id}" in html
    assert f"/planview/show/{other.id}" not in html  # another province
    assert f"/planview/show/{newer.id}" not in html  # pending, not overdue yet
    html = client.get("/overdue/?all=1").get_data(as_text=True)
    assert f"/planview/show/{newer.id}" in html
    login("center")
    html = client.get("/overdue/").get_data(as_text=True)
    assert f"/planview/show/{late.id}" in html and f"/planview/show/{other.id}" in html
    assert html.count("malan-overdue-group") == 2  # one group per (org, kind)


@pytest.mark.parametrize("key", ["c1", "i1", "trainer1", "auditor"])
def test_point5_overdue_board_is_for_province_and_center_only(client, login, world, key):
    login(key)
    response = client.get("/overdue/")
    assert response.status_code in (302, 403)
    assert "/overdue" not in (response.headers.get("Location") or "")


def test_point5_overdue_export_is_xlsx_and_audited(client, login, world, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    plan = make_plan(world)
    review.submit(plan, u.c1, SUBMITTED)
    frozen_clock.set(datetime(2026, 3, 7, 9, 0))
    login("p1")
    response = client.get("/overdue/export")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    data = [r for r in rows if r and r[0] == "北京市"]
    assert len(data) == 1 and data[0][-1] == 3  # due 4 March, three days late on 7 March
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.event == "export", AuditLog.object_type == "ReviewTask")
    )
    assert audit is not None and audit.summary.startswith("1 rows")


def test_point5_cli_prints_the_overdue_steps_and_audits_once(app, world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, SUBMITTED)
    done = make_plan(world, "C1b")
    review.submit(done, u.c1b, SUBMITTED)
    review.decide(done, u.p1, APPROVE, datetime(2026, 3, 3, 9, 0))  # center's step not yet due
    result = app.test_cli_runner().invoke(args=["malan", "overdue", "--now", "2026-03-06T08:00"])
    assert result.exit_code == 0, result.output
    assert f"plan#{plan.id}" in result.output and f"plan#{done.id}" not in result.output
    assert "1 overdue step(s)" in result.output
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.event == "overdue_report")
        )
        == 1
    )
    bad = app.test_cli_runner().invoke(args=["malan", "overdue", "--now", "yesterday"])
    assert bad.exit_code != 0
