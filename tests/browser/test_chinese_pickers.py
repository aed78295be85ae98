"""Issue 15 point 3: the date picker speaks Chinese — weeks start on Monday (一), the month
title reads 2026年03月 — with its locale served by the app (nothing from another host)."""

import re

import pytest

from tests.factories import ARTIFACTS, demo_account, sign_in_page


@pytest.mark.browser
def test_point3_datepicker_is_chinese_and_starts_on_monday(page, live_server):
    sign_in_page(page, live_server.url, demo_account(live_server.app, "center", "000000"))
    page.goto(f"{live_server.url}/planroundview/add")
    page.wait_for_load_state("networkidle")
    page.click("input[name=deadline]")
    picker = page.locator(".datepicker-dropdown .datepicker-days")
    picker.wait_for(state="visible")
    weekdays = picker.locator("th.dow").all_inner_texts()
    assert weekdays == ["一", "二", "三", "四", "五", "六", "日"]
    title = picker.locator(".datepicker-switch").inner_text()
    assert re.fullmatch(r"\d{4}年\d{2}月", title), title
    assert "Su" not in picker.inner_text() and "December" not in page.inner_text("body")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "datepicker_zh_1280.png")

    # A day picked lands in the field as the app expects it.
    picker.locator("td.day:not(.old):not(.new)").first.click()
    assert re.fullmatch(r"\d{4}-\d{2}-01", page.input_value("input[name=deadline]"))
    assert page.requested and page.foreign == [], page.foreign


@pytest.mark.browser
def test_point3_permission_matrix_fits_its_panel_in_chinese(page, live_server):
    sign_in_page(page, live_server.url, demo_account(live_server.app, "secadmin", "000000"))
    page.goto(f"{live_server.url}/roles/")
    page.wait_for_load_state("networkidle")
    table = page.locator("#permission-matrix")
    widths = table.evaluate(
        "t => [t.scrollWidth, t.parentElement.clientWidth, document.documentElement.scrollWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= 1280, widths  # nothing sticks out
    areas = table.locator("tbody th").all_inner_texts()
    assert areas and all(re.search(r"[\u4e00-\u9fff]", a) for a in areas), areas
    grants = set(table.locator("td .label").all_inner_texts())
    assert grants and all(re.search(r"[\u4e00-\u9fff]", g) for g in grants), grants
    assert "permissions.py" not in page.inner_text("body")
    page.screenshot(path=ARTIFACTS / "permission_matrix_1280.png", full_page=True)
