"""Point 11: a city user in a real browser sees the Chinese home page with only its own data,
on a desktop and a phone screen, and the pages load nothing from another host."""

import re

import pytest
from flask import url_for

from tests.factories import ARTIFACTS, demo_account, sign_in_page

SCREENS = {"desktop": (1280, 800), "phone": (375, 812)}
CJK = re.compile(r"[\u4e00-\u9fff]")
# The other demo city and its institution: a 东城区 user must not see them.
FOREIGN = ("广州市", "广州市创业培训中心", "钱广州")


@pytest.fixture()
def page_options():
    # An English-language browser on purpose: Chinese is the default, English only from the menu.
    width, height = SCREENS["desktop"]
    return {"viewport": {"width": width, "height": height}, "locale": "en-US"}


@pytest.mark.browser
def test_point11_city_user_sees_its_chinese_home_page_on_desktop_and_phone(page, live_server):
    account = demo_account(live_server.app, "city", "110101")  # 赵东城, 北京市东城区
    sign_in_page(page, live_server.url, account)  # and it lands on the home page
    who = page.inner_text("#malan-who")
    assert account["name"] in who and "东城区" in who and account["username"] in who
    body = page.inner_text("body")
    for foreign in FOREIGN:
        assert foreign not in body
    titles = page.locator(".panel-title").all_inner_texts()
    assert titles and all(CJK.search(t) for t in titles), f"home page not in Chinese: {titles}"
    for english in ("Welcome", "What you can do", "City authority", "Organisation"):
        assert english not in body

    ARTIFACTS.mkdir(exist_ok=True)
    for screen, (width, height) in SCREENS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(200)  # let the responsive layout settle before the shot
        page.screenshot(path=ARTIFACTS / f"city_home_{screen}_{width}x{height}.png")
        # Nothing sticks out sideways on a phone: the page scrolls down, not across.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width + 1, f"{screen}: page is {scroll_width}px wide"

    # The organisation list, the one list a city account reads: its own city and institution only.
    with live_server.app.test_request_context():
        orgs_url = url_for("OrgView.list")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}{orgs_url}")
    page.wait_for_load_state("networkidle")
    listing = page.inner_text("body")
    assert "东城区" in listing and "北京东城创业培训学校" in listing
    for foreign in FOREIGN:
        assert foreign not in listing
    page.screenshot(path=ARTIFACTS / "city_orgs_desktop_1280x800.png")

    assert page.requested, "the guard saw no request: the test would prove nothing"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"
