"""Issue 15 point 3: Chinese throughout, no developer text. The date picker in Chinese from Monday
(served from the app, no CDN); the permission matrix in Chinese, fitting its panel; the audit log
in words with its changes as a before → after table and internal rows hidden; every download's
file name and sheet names in Chinese."""

import io
import re
from urllib.parse import unquote

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import notices as notice_service
from app.services import review
from models.audit import AuditLog
from models.org import Org
from models.plan import PlanRound
from models.user import MalanUser
from tests.factories import NOW, make_plan, post_login, seed_faculty, seed_mentors, seed_plans

CJK = re.compile(r"[\u4e00-\u9fff]")


def user(world, key):
    return db.session.get(MalanUser, world["user"][key])


# ---------------------------------------------------------------- the date picker


def test_point3_datepicker_locale_is_served_by_the_app(client):
    locale = client.get("/static/datepicker/bootstrap-datepicker.zh-CN.js")
    assert locale.status_code == 200
    text = locale.get_data(as_text=True)
    assert 'dates["zh-CN"]' in text and '"一"' in text and "十二月" in text
    assert 'titleFormat: "yyyy年mm月"' in text
    defaults = client.get("/static/datepicker/defaults.js").get_data(as_text=True)
    assert 'defaults.language = "zh-CN"' in defaults and "defaults.weekStart = 1" in defaults


@pytest.mark.parametrize("who", ["center", "c1", "i1"])
def test_point3_every_page_loads_the_chinese_picker_after_fabs_and_nothing_external(
    client, login, who
):
    login(who)
    page = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    picker = scripts.index("/static/appbuilder/js/bootstrap-datepicker/bootstrap-datepicker.min.js")
    locale = scripts.index("/static/datepicker/bootstrap-datepicker.zh-CN.js")
    defaults = scripts.index("/static/datepicker/defaults.js")
    assert picker < locale < defaults  # the locale needs the picker; the defaults the locale
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))]


# ---------------------------------------------------------------- the permission matrix


def test_point3_permission_matrix_is_chinese_and_fits_its_panel(client, login):
    login("secadmin")
    page = client.get("/roles/").get_data(as_text=True)
    assert "security/permissions.py" not in page and "sync-roles" not in page
    table = page[page.index('id="permission-matrix"') : page.index("</table>")]
    areas = re.findall(r'<th scope="row">([^<]*)</th>', table)
    assert len(areas) > 20
    assert [a for a in areas if not CJK.search(a)] == []  # ClassTrainee, SecondFactor… named
    grants = set(re.findall(r'<span class="label label-default">([^<]*)</span>', table))
    assert grants and [g for g in grants if not CJK.search(g)] == []  # menu_access named too
    roles = re.findall(r'<th scope="col">([^<]*)</th>', table)
    assert roles[0] == "功能模块" and all(CJK.search(r) for r in roles)
    # One column per role (about ten), not one per area (thirty): the table fits 1140 px.
    assert len(roles) <= 12 and "table-layout: fixed" in page


# ---------------------------------------------------------------- the audit log


@pytest.fixture()
def history(app, client, world, frozen_clock):
    """A failed and a good sign-in, a renamed org, a plan submitted (its review tasks)."""
    post_login(client, world["username"]["c1"], "Wrong#Pass2026")
    post_login(client, world["username"]["c1"], "Test@pass2026")
    client.post("/logout/", data={})
    org = db.session.get(Org, world["org"]["I1b"])
    org.name = "东城第三培训中心"
    db.session.commit()
    plan = make_plan(world)
    review.submit(plan, user(world, "c1"), NOW)
    db.session.commit()
    return org


def _list(client, query=""):
    return client.get(f"/auditlogview/list/?psize_AuditLogView=100{query}").get_data(as_text=True)


def test_point3_audit_log_is_in_chinese_with_internal_rows_hidden(client, login, world, history):
    assert db.session.scalar(select(AuditLog.id).where(AuditLog.object_type == "ReviewTask"))
    login("auditor")
    page = _list(client)
    assert "密码错误（第 1 次失败）" in page and "密码登录" in page  # summaries in words
    assert "wrong password" not in page and ">password<" not in page
    cell = re.compile(r">\s*审核任务\s*<")  # the object type of a review task's rows
    assert "组织机构" in page and not cell.search(page)  # object types in words; no tasks
    # The tree's orgs created by "system" at load are internal too; the rename is not.
    assert "东城第三培训中心" in page and "广州创业学院" not in page
    assert 'id="audit-internal"' in page and "显示系统内部记录" in page
    shown = _list(client, "&internal=1")
    assert cell.search(shown) and "广州创业学院" in shown and "隐藏系统内部记录" in shown
    assert "ReviewTask" not in shown  # named in words even when shown


def test_point3_audit_entry_shows_its_change_as_a_before_after_table(client, login, world, history):
    entry = db.session.scalar(
        select(AuditLog).where(
            AuditLog.event == "update",
            AuditLog.object_type == "Org",
            AuditLog.object_id == str(history.id),
        )
    )
    login("auditor")
    page = client.get(f"/auditlogview/show/{entry.id}").get_data(as_text=True)
    table = page[page.index('id="audit-changes"') :]
    table = table[: table.index("</table>")]
    assert re.search(r"<th>项目</th><th>修改前</th><th>修改后</th>", table)
    row = re.search(
        r'<th scope="row">([^<]*)</th><td class="before">([^<]*)</td><td class="after">([^<]*)</td>',
        table,
    )
    assert row.groups() == ("名称", "东城第二培训中心", "东城第三培训中心")
    assert '{"name"' not in page  # no raw JSON


def test_point3_audit_export_is_in_words_too(client, login, world, history):
    login("auditor")
    ws = openpyxl.load_workbook(io.BytesIO(client.get("/auditlogview/export").data)).active
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    rename = [r for r in rows if r["摘要"] == "东城第三培训中心"]
    assert rename and rename[0]["变更内容"] == "名称：东城第二培训中心 → 东城第三培训中心"
    assert "密码错误（第 1 次失败）" in {r["摘要"] for r in rows}
    assert "审核任务" not in {r["对象类型"] for r in rows}


# ---------------------------------------------------------------- downloads


def _publish_notice(world) -> int:
    draft = notice_service.Draft(
        title="关于开展培训的通知",
        body="<p>内容</p>",
        org_ids=[world["org"]["C1"]],
        groups=["authorities", "institutions"],
    )
    notice = notice_service.publish(draft, user(world, "p1"), NOW)
    db.session.commit()
    return notice.id


def _downloads(world):
    """(who, url) of every export and template the platform hands out."""
    rnd = db.session.scalar(select(PlanRound.id).order_by(PlanRound.id.desc()))
    nid = _publish_notice(world)
    return [
        ("center", "/facultyview/export"),
        ("center", "/mentorview/export"),
        ("center", "/mentorpool/export"),
        ("p1", "/overdue/export"),
        ("auditor", "/auditlogview/export"),
        ("center", f"/plansummary/province.xlsx?round={rnd}&province={world['org']['P1']}"),
        ("center", f"/plansummary/national.xlsx?round={rnd}"),
        ("p1", f"/notices/{nid}/receipts/export"),
        ("center", "/rosterview/export.xlsx"),
        ("p1", "/rosterview/template.xlsx"),
        ("i1", "/class_trainees/template.xlsx"),
        ("center", "/faculty_import/template.xlsx"),
    ]


def _saved_name(response) -> tuple[str, str]:
    disposition = response.headers["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    chinese = unquote(re.search(r"filename\*=UTF-8''([^;]+)", disposition).group(1))
    return fallback, chinese


def test_point3_every_download_has_a_chinese_name_and_chinese_sheets(client, login, world):
    seed_plans(world)
    seed_faculty(world)
    seed_mentors(world)
    problems = []
    for who, url in _downloads(world):
        login(who)
        response = client.get(url)
        if response.status_code != 200:
            problems.append((url, response.status_code))
            continue
        fallback, name = _saved_name(response)
        sheets = openpyxl.load_workbook(io.BytesIO(response.data)).sheetnames
        if not (CJK.search(name) and name.endswith(".xlsx") and fallback.isascii()):
            problems.append((url, name, fallback))
        if [s for s in sheets if not CJK.search(s)]:
            problems.append((url, sheets))
        for english in ("faculty-pool", "overdue-", "mentors-", "plan-", "audit-", "notice-"):
            if english in name:
                problems.append((url, name))
    assert problems == []


def test_point3_download_names_say_what_and_when(app):
    from datetime import date, datetime

    from reports.xlsx import content_disposition, download_name

    assert download_name("师资库", when=date(2026, 3, 2)) == "师资库-20260302.xlsx"
    assert (
        download_name("逾期督办", when=datetime(2026, 3, 2, 9, 5))
        == "逾期督办-20260302-090500.xlsx"
    )
    assert download_name("a/b:c", "省级计划汇总") == "a_b_c-省级计划汇总.xlsx"
    header = content_disposition("师资库-20260302.xlsx")
    assert header == (
        'attachment; filename="20260302.xlsx"; '
        "filename*=UTF-8''%E5%B8%88%E8%B5%84%E5%BA%93-20260302.xlsx"
    )
    assert content_disposition("审计日志.xlsx").startswith('attachment; filename="download.xlsx"')


def _recorded_events() -> set[str]:
    """Every event code the sources pass to `audit.record` as a literal."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    codes = set()
    for package in ("app", "security", "views"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                name = getattr(node, "func", None)
                name = getattr(name, "attr", getattr(name, "id", None))
                if isinstance(node, ast.Call) and name == "record" and len(node.args) >= 2:
                    if isinstance(node.args[1], ast.Constant):
                        codes.add(node.args[1].value)
    return codes


def test_point3_every_event_and_kind_of_row_has_a_chinese_name(app):
    from flask_appbuilder import Model
    from flask_babel import force_locale

    from app.labels import event_label, object_label
    from app.services import dispatch

    events = _recorded_events() | {f"dispatch_{a}" for a in dispatch.ACTION_LABELS}
    events |= {f"review_{a}" for a in ("submit", "resubmit", "approve", "return", "reject")}
    assert len(events) > 40
    kinds = {m.class_.__name__ for m in Model.registry.mappers}
    with app.test_request_context(), force_locale("zh"):
        assert [e for e in sorted(events) if not CJK.search(event_label(e))] == []
        assert [k for k in sorted(kinds) if not CJK.search(object_label(k))] == []


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("2 rows; round=2; province=20", "共 2 行；筛选条件：计划轮次=2；省份=20"),
        ("3 rows; notice 7 unread", "共 3 行；筛选条件：第 7 号通知的未读名单"),
        ("4 rows; overdue", "共 4 行；筛选条件：逾期环节"),
        ("名单.xlsx: 12 rows, 2 errors", "名单.xlsx：共 12 行，2 处错误"),
        ("wrong password (3)", "密码错误（第 3 次失败）"),
        ("locked until 2026-03-02 09:30", "锁定至 2026-03-02 09:30"),
        ("draft -> pending (rev 1)", "草稿 → 审核中（第 1 版）"),
        ("<models.review.ReviewTask object at 0x7f00>", ""),
        ("广州创业学院", "广州创业学院"),  # a name stays as written
    ],
)
def test_point3_audit_summaries_in_words(app, stored, shown):
    from flask_babel import force_locale

    from app.audit_text import summary_text

    with app.test_request_context(), force_locale("zh"):
        assert summary_text(stored) == shown


# ------------------------------------- widgets the browser would draw in its own language (#15)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
NATIVE = re.compile(r'type="(?:date|datetime-local|time|month)"|<input[^>]*type="file"')


def test_no_template_draws_a_native_date_or_file_input():
    """Dates go through the zh-CN picker, files through the Chinese button (forms/_widgets.html);
    the FAB forms' file fields use its widget too."""
    templates = [
        p for p in (ROOT / "app" / "templates").rglob("*.html") if p.name != "_widgets.html"
    ]
    offenders = [str(p) for p in templates if NATIVE.search(p.read_text(encoding="utf-8"))]
    assert not offenders
    for module in ("faculty.py", "courses.py"):
        source = (ROOT / "views" / module).read_text(encoding="utf-8")
        assert source.count("FileField(") == source.count("widget=ChineseFileInput(")


def test_notice_form_has_chinese_date_time_and_file_widgets(client, login, world, frozen_clock):
    login("p1")
    page = client.get("/notices/new").get_data(as_text=True)
    assert not re.search(r'type="(?:date|datetime-local|time|month)"', page)
    assert all(
        "malan-file-input" in tag for tag in re.findall(r'<input[^>]*type="file"[^>]*>', page)
    )
    assert 'name="publish_at-date"' in page and 'data-date-language="zh-CN"' in page
    assert 'placeholder="时:分"' in page
    files = page.split('class="malan-file"', 1)[1].split("</span>\n", 1)[0]
    assert "选择文件" in files and "未选择文件" in files and 'class="malan-file-input"' in files
    script = client.get("/static/widgets.js").get_data(as_text=True)
    assert "malan-file-input" in script and "data-none" in script


def _notice(world, **times):
    return {
        "title": "定时通知",
        "body": "<p>内容</p>",
        "category": "notice",
        "org_ids": [str(world["org"]["C1"])],
        "groups": ["authorities"],
        **times,
    }


def test_notice_date_and_time_are_posted_in_two_parts(client, login, world, frozen_clock):
    from models.notice import Notice
    from tests.factories import post_form

    login("p1")
    bad = post_form(client, "/notices/new", _notice(world, **{"publish_at-date": "2026-13-40"}))
    html = bad.get_data(as_text=True)
    beside = html.split('data-field="publish_at"', 1)[-1].split("</div>", 1)[0]
    assert bad.status_code == 422 and "无效的日期时间：2026-13-40" in beside
    assert 'value="2026-13-40"' in html  # as typed
    response = post_form(
        client,
        "/notices/new",
        _notice(
            world,
            **{
                "publish_at-date": "2026-03-05",
                "publish_at-time": "9:30",
                "expires_at-date": "2026-04-01",
            },
        ),
    )
    assert response.status_code == 302
    notice = db.session.scalar(select(Notice).filter_by(title="定时通知"))
    assert notice.publish_at.isoformat() == "2026-03-05T09:30:00"
    assert notice.expires_at.isoformat() == "2026-04-01T00:00:00"
