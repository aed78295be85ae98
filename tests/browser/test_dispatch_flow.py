"""[dispatch] issue 12, point 8: Annex 1 rows 8–14 in a real Chromium, as the demo's trainers,
institution and center, at 1280 px — the trainers mark their days, the institution enters its
criteria and proposes, the center chooses (one lead) and sends the requests, both trainers
accept, the center issues the notices, both trainers and the institution confirm — and the
trainer's pages at 375 px. One notice page is photographed (tests/artifacts/dispatch_notice.png:
the page's preview of the PDF, laid out from the same template), and the center's choice with
its inline calendars at 1280 and 375 px (dispatch_choice_1280.png, dispatch_choice_phone_375.png).
Nothing may be requested from
another host than 127.0.0.1."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.services.demo import demo_accounts_json
from models.classroom import ClassTrainer
from models.dispatch import Dispatch, DispatchSeat
from models.document import IssuedDocument
from models.org import Org
from tests.factories import ARTIFACTS, make_class, sign_in_page

INSTITUTION = "北京东城创业培训学校"
LEAD, SECOND = "吴讲师", "郑讲师"  # 东城区 and 广州市: demo trainers with approved profiles


def account(app, name) -> dict:
    with app.app_context():
        return next(a for a in demo_accounts_json() if a["name"] == name)


@pytest.fixture()
def approved_class(live_server):
    """An approved class of the demo institution, 20 days from today, for 2 days."""
    app = live_server.app
    with app.app_context():
        inst = db.session.scalar(select(Org).where(Org.name == INSTITUTION))
        start = clock.now().date() + timedelta(days=20)
        klass = make_class({"org": {"I": inst.id}}, "I", start, days=2, opened_at=clock.now())
        result = klass.id, klass.code, start
        db.session.remove()
    return result


def go(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def submit(page, selector):
    page.click(selector)
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-danger").count() == 0, page.inner_text(".alert-danger")


def mark_days(page, base, start):
    """Row 8: the trainer marks a range of days around the class on its calendar."""
    go(page, f"{base}/availabilityview/mine")
    page.fill("#start", (start - timedelta(days=1)).isoformat())
    page.fill("#end", (start + timedelta(days=3)).isoformat())
    page.select_option("#every", "day")
    submit(page, "#range-form button[type=submit]")


def open_todo_item(page, base, text):
    go(page, f"{base}/todo/")
    page.locator("table.malan-todo tr", has_text=text).locator("a").first.click()
    page.wait_for_load_state("networkidle")


def seat_status(app, class_id):
    with app.app_context():
        return sorted(
            db.session.scalars(select(DispatchSeat.status).where(DispatchSeat.class_id == class_id))
        )


def check_choice_calendars(page, start, shot):
    """Row 10: each candidate's class month beside it, the class's days outlined and available
    (both trainers marked them), with the legend; photographed."""
    assert page.locator("#strip-legend").is_visible()
    for name in (LEAD, SECOND):
        row = page.locator("#institution-candidates tr", has_text=name).first
        strip = row.locator("xpath=following-sibling::tr[1]").locator(".malan-strips")
        for n in range(2):
            day = strip.locator(f'[data-day="{(start + timedelta(days=n)).isoformat()}"]')
            assert day.get_attribute("data-class-day") == "1"
            assert day.get_attribute("data-state") == "available"
            assert "本班日期" in day.get_attribute("aria-label")
        assert strip.is_visible()
    page.screenshot(path=ARTIFACTS / shot, full_page=True)


@pytest.mark.browser
def test_point8_rows_8_to_14_in_a_browser(page, chromium, live_server, approved_class):
    app, base = live_server.app, live_server.url
    class_id, code, start = approved_class
    lead, second = account(app, LEAD), account(app, SECOND)
    ARTIFACTS.mkdir(exist_ok=True)

    for trainer in (lead, second):  # row 8
        sign_in_page(page, base, trainer)
        mark_days(page, base, start)
        assert page.locator(f'td[data-day="{start.isoformat()}"][data-state="available"]').count()

    institution = account(app, "孙机构")  # row 9
    sign_in_page(page, base, institution)
    go(page, f"{base}/trainingclassview/show/{class_id}")
    submit(page, "#open-dispatch button")
    page.select_option("#wanted", "2")
    page.select_option("#region", "any")
    submit(page, "#criteria-form button[type=submit]")
    ranked = page.inner_text("#recommendation")
    assert LEAD in ranked and SECOND in ranked
    for name in (LEAD, SECOND):
        page.check(f'#propose-form input[aria-label="{name}"]')
    submit(page, "#propose-form button[type=submit]")
    with app.app_context():
        d_id = db.session.scalar(select(Dispatch.id).where(Dispatch.class_id == class_id))

    center = next(a for a in demo_accounts_json_of(app) if a["role"] == "center")  # row 10
    sign_in_page(page, base, center)
    open_todo_item(page, base, code)
    assert f"/dispatchview/show/{d_id}" in page.url
    check_choice_calendars(page, start, "dispatch_choice_1280.png")
    inst, system = page.locator("#institution-candidates"), page.locator("#system-list")
    a, b = inst.bounding_box(), system.bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"] - 1  # side by side
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    mobile = phone.new_page()
    try:  # the same choice at 375 px: the lists stacked, the page no wider than the phone
        sign_in_page(mobile, base, center)
        go(mobile, page.url)
        check_choice_calendars(mobile, start, "dispatch_choice_phone_375.png")
        a = mobile.locator("#institution-candidates").bounding_box()
        b = mobile.locator("#system-list").bounding_box()
        assert b["y"] >= a["y"] + a["height"] - 1  # stacked
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 376, f"the choice page is {width}px wide on a phone"
    finally:
        phone.close()
    for name in (LEAD, SECOND):
        page.check(f'#institution-candidates input[aria-label="{name}"]')
    page.check(f'#institution-candidates input[aria-label="主讲 {LEAD}"]')
    submit(page, "#send-requests")
    assert seat_status(app, class_id) == ["requested", "requested"]

    for trainer in (lead, second):  # row 11
        sign_in_page(page, base, trainer)
        open_todo_item(page, base, "答复派遣邀请")
        submit(page, "#accept-form button")
    assert seat_status(app, class_id) == ["accepted", "accepted"]

    sign_in_page(page, base, center)  # row 12
    open_todo_item(page, base, "签发派遣通知书")
    submit(page, "#issue-form button")
    notices = page.inner_text("#notices")
    assert "派遣通知书" in notices and "培训师执行任务通知书" in notices
    assert seat_status(app, class_id) == ["notified", "notified"]

    # Row 13 at 375 px: the lead trainer's to-do, its notice (photographed), its calendar.
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
    mobile = phone.new_page()
    try:
        sign_in_page(mobile, base, lead)
        open_todo_item(mobile, base, "确认派遣通知书")
        preview = mobile.inner_text("#notice-preview")
        for expected in ("派遣通知书", f"{LEAD}同志", code, INSTITUTION, "主讲培训师", "部中心"):
            assert expected in preview, expected
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 376, f"the notice page is {width}px wide on a phone"
        mobile.locator("#notice-preview").screenshot(path=ARTIFACTS / "dispatch_notice.png")
        mobile.screenshot(path=ARTIFACTS / "dispatch_notice_phone_375.png", full_page=True)
        submit(mobile, "#confirm-form button")
        assert mobile.locator("#document-confirmed").count() == 1
        for url in (f"{base}/todo/", f"{base}/availabilityview/mine"):
            go(mobile, url)
            width = mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= 376, f"{url} is {width}px wide on a phone"
    finally:
        phone.close()

    sign_in_page(page, base, second)
    open_todo_item(page, base, "确认派遣通知书")
    submit(page, "#confirm-form button")

    sign_in_page(page, base, institution)  # row 14
    open_todo_item(page, base, "确认执行任务通知书或提出异议")
    assert LEAD in page.inner_text("#notice-preview")
    submit(page, "#confirm-form button")

    assert seat_status(app, class_id) == ["confirmed", "confirmed"]
    with app.app_context():
        assert db.session.get(Dispatch, d_id).status == "confirmed"
        on_class = db.session.scalars(
            select(ClassTrainer).where(ClassTrainer.class_id == class_id)
        ).all()
        assert sorted(r.is_lead for r in on_class) == [False, True]
        code_of_notice = db.session.scalar(
            select(IssuedDocument.code).where(IssuedDocument.kind == "task_notice")
        )
    go(page, f"{base}/trainingclassview/show/{class_id}")
    assert page.locator("#class-dispatch tr.seat-confirmed").count() == 2
    go(page, f"{base}/verify/{code_of_notice}")
    assert "真实有效" in page.inner_text("#verify-result")

    assert page.requested, "the guard saw no request: the test would prove nothing"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"


def demo_accounts_json_of(app):
    with app.app_context():
        return demo_accounts_json()
