"""Point 9 (Chinese first): zh by default, English from the language menu, no English left on the pages.

What a user reads is checked on rendered pages (visible text and tooltips, scripts excluded), so a
string that never reaches gettext — a FAB default title, a hard-coded button — is caught too.
"""

import re
from html.parser import HTMLParser

import pytest
from flask_appbuilder import ModelView
from flask_babel import force_locale, gettext

from app import fab_strings
from tests.factories import switch_language

CJK = re.compile(r"[\u4e00-\u9fff]")
# English a user would see if a label, title or FAB button escaped the catalog.
ENGLISH_LABELS = [
    "Add",
    "Edit",
    "Delete",
    "Show",
    "Search",
    "Actions",
    "Record Count",
    "Back",
    "Save",
    "Cancel",
    "OK",
    "Confirmation",
    "Are you sure",
    "List",
    "Detail",
    "Add Filter",
    "Page size",
    "Organisation",
    "Account",
    "Audit log",
    "System",
    "Roles",
    "Username",
    "Name",
    "Role",
    "Mobile",
    "Active",
    "Code",
    "Level",
    "Belongs to",
    "Time",
    "Event",
    "Summary",
    "Success",
    "Locked until",
    "Welcome",
    "What you can do",
    "Change password",
    "Logout",
    "Login",
    "User",
    "Export to Excel",
]
# Literals FAB prints for column values when no formatter maps them.
ENGLISH_VALUES = ["True", "False", "None"]
PAGES = [  # user, url
    ("sysadmin", "/"),
    ("sysadmin", "/orgview/list/"),
    ("sysadmin", "/userview/list/"),
    ("auditor", "/auditlogview/list/"),
]


class _VisibleText(HTMLParser):
    """Text nodes plus the attributes shown as text or tooltips; no scripts, styles or form values."""

    def __init__(self):
        super().__init__()
        self.hidden = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        self.parts += [v for k, v in attrs if k in ("title", "placeholder", "alt") and v]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def english_in(text: str, words) -> list[str]:
    return [w for w in words if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return visible_text(response.get_data(as_text=True))


def test_point9_zh_is_the_default_locale(client, login):
    """A fresh client, signed in, reads the menu and page titles in Chinese."""
    login("sysadmin")
    home = page(client, "/")
    for label in ("组织机构", "用户账号", "系统管理", "修改密码", "退出登录", "欢迎"):
        assert label in home
    orgs = page(client, "/orgview/list/")
    assert "组织机构" in orgs and "新增" in orgs and "记录数" in orgs and "查看" in orgs
    users = page(client, "/userview/list/")
    for label in ("用户账号", "用户名", "角色", "停用", "解锁", "重置密码"):
        assert label in users
    login("auditor")
    assert "审计日志" in page(client, "/auditlogview/list/")


def test_point9_login_failure_message_is_chinese(client, login):
    response = login("c1", password="wrong-password")
    assert response.status_code == 302
    assert "用户名或密码错误" in page(client, "/login/")


@pytest.mark.parametrize("user, url", PAGES)
def test_point9_no_english_labels_on_pages(client, login, user, url):
    login(user)
    text = page(client, url)
    assert not english_in(text, ENGLISH_LABELS), f"English on {url}"


@pytest.mark.parametrize("user, url", PAGES[1:])
def test_point9_no_english_value_literals_on_lists(client, login, user, url):
    """Booleans read 是/否 and empty cells stay empty, not True/False/None."""
    login(user)
    text = page(client, url)
    assert not english_in(text, ENGLISH_VALUES), f"English values on {url}"


def test_point9_language_menu_switches_to_english_and_back(client, login):
    login("sysadmin")
    html = client.get("/orgview/list/").get_data(as_text=True)
    assert 'action="/lang/en"' in html  # the language menu offers English (a POST form)
    assert switch_language(client, "en").status_code == 302
    english = page(client, "/orgview/list/")
    for label in ("Organisation", "Add", "Search", "Record Count", "Code", "Belongs to"):
        assert label in english
    for label in ("组织机构", "新增", "搜索", "记录数", "代码", "上级机构"):
        assert label not in english
    assert 'action="/lang/zh"' in client.get("/").get_data(as_text=True)
    switch_language(client, "zh")
    assert "组织机构" in page(client, "/orgview/list/")


def test_point9_fab_strings_render_in_chinese(app):
    """FAB's messages missing from its zh catalog come out Chinese once our catalog is merged."""
    with app.test_request_context(), force_locale("zh"):
        for group in (fab_strings.MISSING, fab_strings.CORRECTED, fab_strings.HARD_CODED):
            for message in group:
                msgid = message._args[0]
                assert CJK.search(gettext(msgid)), msgid


def _model_views(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelView)]


def test_point9_view_titles_and_column_labels_are_chinese(app):
    """Every ModelView sets its own titles (FAB's defaults are English) and labels every column."""
    views = _model_views(app)
    assert views
    with app.test_request_context(), force_locale("zh"):
        for view in views:
            name = type(view).__name__
            titles = ["list_title", "show_title"]
            if {"can_write", "can_add", "can_edit"} & set(view.base_permissions or []):
                titles += ["add_title", "edit_title"]
            for attr in titles:
                assert CJK.search(str(getattr(view, attr))), f"{name}.{attr}"
            columns = {*view.list_columns, *view.show_columns, *view.search_columns}
            if "can_write" in (view.base_permissions or []):
                columns |= {*view.add_columns, *view.edit_columns}
            for column in columns:
                label = view.label_columns.get(column, column)
                assert CJK.search(str(label)), f"{name}: column {column!r} labelled {label!r}"
