"""Issue 15 points 7 and 10: each of the nine roles signs in and opens every menu entry it has, at
1280 px and at 375 px. A page fails on a horizontal overflow, an ASCII-only label (a th, label,
button or menu text without Chinese), a console error or a request to another host than
127.0.0.1; at 1280 px the navbar is one row. One browser, one page per role, each page loaded once
and then narrowed. The README's screenshots are taken on the way (tests/artifacts/)."""

import re
from urllib.parse import urlsplit

import pytest

from app.services.demo import demo_accounts_json
from tests.factories import ARTIFACTS, sign_in_page

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# ASCII labels a Chinese page may show: the language's own name, numbers, dates, course codes
# (SYB, GYB …), short all-caps abbreviations, a caret or an icon-only button.
ALLOWED = re.compile(
    r"^(English|[\d\s.:/%()+\-×—–…,]*|[A-Z0-9]{2,6}(\+|/[A-Z0-9]{2,6})?|[«»‹›<>×]+)$"
)
LABELS_JS = """() => {
  const out = [];
  const pick = 'th, label, button, .btn, .navbar a, .nav-tabs a, legend, .panel-title';
  for (const el of document.querySelectorAll(pick)) {
    if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;  // not shown
    const text = (el.innerText || '').replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  return out;
}"""
NAVBAR_ONE_ROW = 60  # px: Bootstrap's navbar is 50 px high on one row, 100 on two


def _menu_urls(page, base) -> list[str]:
    """Every entry of the role's menu (the navbar's links to a page of this app)."""
    hrefs = page.eval_on_selector_all(
        ".navbar-nav:not(.navbar-right) a[href]", "links => links.map(a => a.href)"
    )
    urls = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme.startswith("http") and parts.path not in ("", "/") and href not in urls:
            urls.append(href)
    return urls


def _role_accounts(app) -> list[dict]:
    with app.app_context():
        accounts = {}
        for account in demo_accounts_json():
            accounts.setdefault(account["role"], account)
    return list(accounts.values())


@pytest.mark.browser
def test_every_role_every_menu_page_fits_is_chinese_and_stays_local(chromium, live_server):
    base = live_server.url
    accounts = _role_accounts(live_server.app)
    assert len(accounts) == 9, sorted(a["role"] for a in accounts)
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    opened = 0
    for account in accounts:
        context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        foreign, errors, requested = [], [], []

        def guard(route, foreign=foreign, requested=requested):
            url = route.request.url
            requested.append(url)
            if urlsplit(url).hostname == "127.0.0.1":
                route.continue_()
            else:
                foreign.append(url)
                route.abort()

        context.route("**/*", guard)
        page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        try:
            sign_in_page(page, base, account)
            urls = _menu_urls(page, base)
            assert urls, f"{account['role']}: no menu entry found"
            for url in ["/", *urls]:
                url = url if url.startswith("http") else base + url
                where = f"{account['role']} {urlsplit(url).path}"
                page.set_viewport_size(DESKTOP)
                errors.clear()
                response = page.goto(url)
                page.wait_for_load_state("networkidle")
                opened += 1
                if response is None or response.status >= 400:
                    problems.append(f"{where}: status {response and response.status}")
                    continue
                height = page.evaluate("document.querySelector('.navbar').offsetHeight")
                if height > NAVBAR_ONE_ROW:
                    problems.append(f"{where}: navbar is {height}px high at 1280px (two rows)")
                for width, size in (("1280", DESKTOP), ("375", PHONE)):
                    page.set_viewport_size(size)
                    wide = page.evaluate(
                        "document.scrollingElement.scrollWidth - window.innerWidth"
                    )
                    if wide > 1:
                        problems.append(f"{where}: {wide}px overflow at {width}px")
                for text in page.evaluate(LABELS_JS):
                    if not CJK.search(text) and not ALLOWED.match(text):
                        problems.append(f"{where}: English label {text!r}")
                problems.extend(f"{where}: console error {e}" for e in errors)
                problems.extend(_shoot(page, account["role"], urlsplit(url).path))
            problems.extend(f"{account['role']}: external request {u}" for u in foreign)
            assert requested, "the guard saw no request: the test would prove nothing"
        finally:
            context.close()
    assert opened > 9 * 3
    for shot in ("readme_notice_form_1280", "readme_list_phone_375", "readme_todo_1280"):
        assert (ARTIFACTS / f"{shot}.png").exists(), f"{shot}.png was not taken"
    assert not problems, "\n".join(dict.fromkeys(problems))


_TODO_SHOT = {"items": 0}


def _shoot(page, role, path) -> list[str]:
    """The README's screenshots: the notice form and 我的待办 at 1280 px, a list (开班申请) at
    375 px, which must read as cards: each cell a "label: value" line, no table header shown."""
    problems = []
    if role == "center" and path == "/applicationview/list/":
        page.set_viewport_size(PHONE)
        cards = page.evaluate(
            """() => [...document.querySelectorAll('table.malan-cards td[data-label]')].map(td =>
                 getComputedStyle(td).display + ' ' + getComputedStyle(td, '::before').content)"""
        )
        if not cards or any(not c.startswith("flex ") or '"' not in c for c in cards):
            problems.append(f"center {path}: not cards at 375px: {cards[:3]}")
        if page.locator("table.malan-cards thead th:not(.action_checkboxes)").first.is_visible():
            problems.append(f"center {path}: the table header shows at 375px")
        page.screenshot(path=ARTIFACTS / "readme_list_phone_375.png", full_page=True)
    elif role == "center" and path == "/notices/":
        page.set_viewport_size(DESKTOP)
        page.goto(page.url.split("/notices/")[0] + "/notices/new")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=ARTIFACTS / "readme_notice_form_1280.png", full_page=True)
    elif path == "/todo/":  # the role with the most to-do items gives the README's shot
        page.set_viewport_size(DESKTOP)
        items = page.locator("table tbody tr").count()
        if items >= _TODO_SHOT["items"]:
            _TODO_SHOT["items"] = items
            page.screenshot(path=ARTIFACTS / "readme_todo_1280.png", full_page=True)
    return problems
