"""Issue 15 point 6: every list a role works with exports exactly its filtered, scoped rows."""

import io
import re

import openpyxl
import pytest

from app.extensions import db
from tests.factories import NOW, seed_applications

LISTS = {  # endpoint base -> the column that names a row, in Chinese
    "/applicationview": "创业培训机构",
    "/trainingclassview": "班级编号",
    "/userview": "用户名",
    "/orgview": "名称",
}


def read_export(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0], rows[1:]


def has_chinese(text) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in str(text))


@pytest.fixture()
def seeded(world):
    seed_applications(world, NOW)
    return world


@pytest.mark.parametrize("base", sorted(LISTS))
def test_export_opens_with_chinese_headers_and_the_list_button(client, login, seeded, base):
    login("center")
    page = client.get(f"{base}/list/").get_data(as_text=True)
    assert f"{base}/export_list" in page
    header, rows = read_export(client.get(f"{base}/export_list"))
    assert header and all(has_chinese(h) for h in header), header
    assert rows


def names(base, header, rows):
    column = header.index(LISTS[base])
    return {str(r[column]) for r in rows}


def test_province_exports_only_its_region(client, login, seeded):
    login("p1")
    header, rows = read_export(client.get("/orgview/export_list"))
    got = names("/orgview", header, rows)
    assert {"北京市", "东城区", "东城创业学校"} <= got
    assert not got & {"广东省", "广州市", "广州创业学院", "部中心"}
    header, rows = read_export(client.get("/userview/export_list"))
    got = names("/userview", header, rows)
    assert seeded["username"]["c1"] in got and seeded["username"]["c2"] not in got
    header, rows = read_export(client.get("/trainingclassview/export_list"))
    assert names("/trainingclassview", header, rows) == {"JS-TEST-1", "JS-TEST-2"}
    header, rows = read_export(client.get("/applicationview/export_list"))
    assert names("/applicationview", header, rows) == {"东城创业学校", "东城第二培训中心"}


def test_export_takes_the_list_filters_and_a_foreign_filter_cannot_widen(client, login, seeded):
    login("center")
    query = f"?_flt_0_parent={seeded['org']['C1']}"
    page = client.get(f"/orgview/list/{query}").get_data(as_text=True)
    header, rows = read_export(client.get(f"/orgview/export_list{query}"))
    got = names("/orgview", header, rows)
    assert got == {"东城创业学校", "东城第二培训中心"}
    assert all(name in page for name in got) and "广州创业学院" not in page
    login("p1")
    query = f"?_flt_0_parent={seeded['org']['C2']}"
    header, rows = read_export(client.get(f"/orgview/export_list{query}"))
    assert rows == []
    query = f"?_flt_0_org={seeded['org']['C2']}"
    header, rows = read_export(client.get(f"/userview/export_list{query}"))
    assert rows == []


def test_export_rows_equal_the_list_rows_all_pages(client, login, seeded):
    login("center")
    header, rows = read_export(client.get("/userview/export_list?psize_UserView=5"))
    got = names("/userview", header, rows)
    assert got == set(seeded["username"].values()) | (got - set(seeded["username"].values()))
    assert len(rows) >= len(seeded["username"])  # every page, not the first five
    db.session.rollback()


def test_export_needs_read_access(client, login, seeded):
    login("trainee1")
    assert client.get("/userview/export_list").status_code in (302, 403)


EXPORTING = {  # every FAB list of MENU_TABLE that exports through ListExportMixin
    "/accountrequestview",
    "/applicationview",
    "/availabilityview",
    "/dispatchview",
    "/dispatchseatview",
    "/issueddocumentview",
    "/loginapplicationview",
    "/orgview",
    "/planroundview",
    "/planview",
    "/trainingclassview",
    "/userview",
    "/vocabularyview",
}
ROLES = ("center", "p1", "c1", "i1", "trainer1", "sysadmin", "secadmin")


def record_count(page: str) -> int | None:
    found = re.search(r"记录数[^<]*</strong>\s*(\d+)", page)
    return int(found.group(1)) if found else None


def test_every_exporting_list_gives_as_many_rows_as_its_page_counts(client, login, seeded):
    exported = set()
    for role in ROLES:
        login(role)
        for base in sorted(EXPORTING):
            response = client.get(f"{base}/list/")
            if response.status_code != 200:
                continue
            page = response.get_data(as_text=True)
            assert f"{base}/export_list" in page, (role, base)
            header, rows = read_export(client.get(f"{base}/export_list"))
            assert all(has_chinese(h) for h in header), (base, header)
            count = record_count(page)
            assert count == len(rows) or (count is None and not rows), (role, base, count)
            exported.add(base)
    assert exported == EXPORTING


def test_faculty_export_uses_the_import_template_headers(client, login, seeded):
    from reports.faculty_import import SPEC
    from tests.factories import seed_faculty

    seed_faculty(seeded)
    login("center")
    template = openpyxl.load_workbook(
        io.BytesIO(client.get("/faculty_import/template.xlsx").data)
    ).active
    template_headers = {
        c for row in template.iter_rows(values_only=True) for c in row if c in spec_headers()
    }
    response = client.get("/facultyview/export")
    assert response.status_code == 200
    rows = list(
        openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True)
    )
    header = next(r for r in rows if r and "姓名" in r)
    assert "名称" not in header and {"姓名", "手机号", "城市", "级别"} <= set(header)
    assert template_headers <= set(header)  # every template column is in the export as is
    accepted = {h for f in SPEC.fields for h in f.headers}
    assert [h for h in header if h not in accepted] == ["师资状态"]  # read-only in the pool


def spec_headers():
    from reports.faculty_import import FIELDS

    return {header for _key, header, *_rest in FIELDS}


def test_center_roster_export_has_no_empty_sheet(client, login, seeded):
    login("center")
    response = client.get("/rosterview/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    filled = [ws.title for ws in book.worksheets if ws.max_row >= 5 and ws.cell(5, 2).value]
    assert filled == book.sheetnames or len(book.sheetnames) == 1


def test_roster_export_skips_provinces_without_liaisons():
    from reports.roster import export_xlsx, roster_frame

    frame = roster_frame(
        [{"province": "广东省", "kind": "province", "name": "黄省联", "unit": "人社厅"}]
    )
    book = openpyxl.load_workbook(io.BytesIO(export_xlsx(frame, ["北京市", "广东省", "上海市"])))
    assert book.sheetnames == ["广东省"]
    book = openpyxl.load_workbook(io.BytesIO(export_xlsx(roster_frame([]), ["北京市", "广东省"])))
    assert len(book.sheetnames) == 1  # a valid file, one sheet with the header


def test_summary_figures_align_right_and_names_do_not_break(client, login, seeded):
    from sqlalchemy import select

    from models.plan import PlanRound
    from tests.factories import seed_plans

    seed_plans(seeded)
    round_id = db.session.scalar(select(PlanRound.id))
    login("center")
    html = client.get(f"/plansummary/national?round={round_id}").get_data(as_text=True)
    figures = re.findall(r'<td class="malan-num">\s*(\d+)\s*</td>', html)
    assert figures and '<th class="malan-num">' in html
    css = client.get("/static/malan.css").get_data(as_text=True)
    rule = re.search(r"\.malan-num[^{]*\{([^}]*)\}", css)
    assert rule and "text-align: right" in rule.group(1)
    assert "keep-all" in css and re.search(r"\.malan-name\s*\{[^}]*nowrap", css)


def test_list_exports_use_the_import_words_for_mobile_and_level(client, login, seeded):
    login("center")
    header, _rows = read_export(client.get("/userview/export_list"))
    assert "手机号" in header and "手机号码" not in header
    header, _rows = read_export(client.get("/orgview/export_list"))
    assert "级别" in header and "层级" not in header


def test_an_export_over_the_cap_is_refused_with_a_message(client, login, seeded, monkeypatch):
    from tests.factories import flashes
    from views.users import UserView

    monkeypatch.setattr(UserView, "export_cap", 2)
    login("center")
    response = client.get("/userview/export_list")
    assert response.status_code == 302 and "/userview/list" in response.headers["Location"]
    assert any("超过 2 行" in m for m in flashes(client))
