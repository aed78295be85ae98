"""Issue 6 points 1, 2, 3, 6 (liaison rosters, Annex 2) and Bad input.

World: P2 广东省 has one city 广州市 (C2) with one institution 广州创业学院 (I2); P1 北京市 has the
districts 东城区/西城区. Each messy file of the corpus has its expected preview or error.
"""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import clock as app_clock
from app.extensions import db
from app.services import rosters
from models.audit import AuditLog
from models.org import INSTITUTION, Org
from models.roster import Roster, RosterEntry
from models.user import MalanUser
from reports.imports import read_xlsx
from security import passwords
from tests.factories import ANNEX2_HEADER, NOW, PASSWORD, build_xlsx, csrf_token, sign_out

pytestmark = pytest.mark.usefixtures("frozen_clock")

NEW_PASSWORD = "Neu#Kennwort2026"
WITH_CHANGE = [*ANNEX2_HEADER, "变更"]  # the template's last column (point 4)

# A clean roster of 广东省: type column partly empty, city with and without 市, a numeric phone,
# full-width digits and spaces, landlines with area codes and extensions, an empty row.
CLEAN = [
    [
        "1",
        "黄省联",
        "广东省人力资源和社会保障厅",
        "科长",
        "020-83333333转801",
        "13900000001",
        "hsl01",
        "省级",
        None,
    ],
    ["2", "梁市联", "广州市就业局", "主任", "(020)8765 4321-12", 13900000002, None, None, "广州"],
    [],
    [
        "3",
        "　陈　机构 ",
        "广州新创培训学校",
        "校长",
        "０２０－１２３４５６７８",
        "１３９ ００００ ０００３",
        None,
        None,
        "广州市",
    ],
    ["4", "何机构", "广州新创培训学校", "教务", None, "139-0000-0004", None, "机构", "广州市"],
    ["5", "罗机构", "广州创业学院", None, None, "+8613900000005", None, "", "广州"],
]


def p2():
    return db.session.get(Org, db.session.scalar(select(Org.id).where(Org.code == "440000")))


def check(rows, **kwargs):
    return rosters.preview(build_xlsx(rows, **kwargs), "roster.xlsx", p2())


def counts():
    return (
        db.session.scalar(select(func.count(MalanUser.id))),
        db.session.scalar(select(func.count(Org.id))),
        db.session.scalar(select(func.count(Roster.id))),
        db.session.scalar(select(func.count(RosterEntry.id))),
    )


# ---------------------------------------------------------------- point 1: the template


def test_point1_template_reproduces_annex2_with_text_cells(client, login):
    login("p2")
    response = client.get("/rosterview/template.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws["A1"].value == "省（市）级创业培训主管部门、创业培训机构平台联络员信息汇总表"
    assert ws["A2"].value == "省份：广东省"
    assert "第1行" in ws["A3"].value and "类型" in ws["A3"].value and "所属地市" in ws["A3"].value
    assert [c.value for c in ws[4]] == [*ANNEX2_HEADER, "变更"]
    assert ws["F5"].number_format == "@"  # a typed mobile number stays text
    # The empty template reads back as a roster with no rows and no errors.
    result = read_xlsx(response.data, rosters.ROSTER_SPEC)
    assert result.rows == [] and result.errors == []


# ---------------------------------------------------------------- point 2: the messy corpus


def test_point2_clean_messy_file_previews_every_row(world):
    preview = check(CLEAN)
    assert preview.errors == []
    got = [
        (r.row, r.kind, r.name, r.unit, r.city_name, r.mobile, r.office_phone, r.new_institution)
        for r in preview.to_create
    ]
    assert got == [
        (
            4,
            "province",
            "黄省联",
            "广东省人力资源和社会保障厅",
            None,
            "13900000001",
            "020-83333333转801",
            False,
        ),
        (5, "city", "梁市联", "广州市就业局", "广州市", "13900000002", "(020)8765 4321-12", False),
        (
            7,
            "institution",
            "陈机构",
            "广州新创培训学校",
            "广州市",
            "13900000003",
            "020-12345678",
            True,
        ),
        (8, "institution", "何机构", "广州新创培训学校", "广州市", "13900000004", None, True),
        (9, "institution", "罗机构", "广州创业学院", "广州市", "13900000005", None, False),
    ]
    assert preview.matching == []


def test_point2_type_inferred_from_the_unit_name(world):
    rows = [
        ["1", "甲", "广东省人力资源和社会保障厅", None, None, "13900000011", None, None, None],
        ["2", "乙", "广州市人力资源和社会保障局", None, None, "13900000012", None, None, "广州"],
        ["3", "丙", "广州市就业局", None, None, "13900000013", None, None, "广州"],
        ["4", "丁", "广州某某职业培训学校", None, None, "13900000014", None, None, "广州"],
    ]
    assert [r.kind for r in check(rows).rows] == ["province", "city", "city", "institution"]


def test_point2_other_sheet_name_without_title_rows(world):
    preview = check(CLEAN[:1], title=False, sheet="广东省", extra_sheet_first=True)
    assert [r.name for r in preview.rows] == ["黄省联"]


def test_point2_person_with_an_account_is_matched_not_created(world):
    i2 = db.session.get(MalanUser, world["user"]["i2"])
    i2.mobile = "13900000099"
    db.session.commit()
    rows = CLEAN[:1] + [
        ["2", "郑机构", "广州创业学院", None, None, "13900000099", None, "机构", "广州"]
    ]
    preview = check(rows)
    assert preview.errors == []
    assert [(r.name, r.matched_username) for r in preview.matching] == [("郑机构", i2.username)]
    assert [r.name for r in preview.to_create] == ["黄省联"]


ERROR_CASES = [
    # (rows, expected [(row, column)])
    (
        [["1", None, "广东省人力资源和社会保障厅", None, None, "13900000001", None, "省级", None]],
        [(4, "B")],
    ),
    ([["1", "甲", None, None, None, "13900000001", None, "省级", None]], [(4, "C")]),
    ([["1", "甲", "单位", None, None, "1390000", None, "省级", None]], [(4, "F")]),
    ([["1", "甲", "单位", None, None, "23900000001", None, "省级", None]], [(4, "F")]),
    ([["1", "甲", "单位", None, "020-abc", "13900000001", None, "省级", None]], [(4, "E")]),
    ([["1", "甲", "单位", None, None, "13900000001", None, "县级", None]], [(4, "H")]),
    ([["1", "甲", "深圳某学校", None, None, "13900000001", None, "机构", "深圳"]], [(4, "I")]),
    # a place of another province in 工作单位: an error on the row (issue 14 point 2)
    ([["1", "甲", "东城区某学校", None, None, "13900000001", None, "机构", "东城区"]], [(4, "C")]),
    (
        [
            ["1", "甲", "单位", None, None, "13900000001", None, "省级", None],
            ["2", "乙", "单位", None, None, 13900000001, None, "机构", "广州"],
        ],
        [(5, "F")],
    ),
]


@pytest.mark.parametrize("rows,expected", ERROR_CASES)
def test_point2_bad_rows_are_reported_with_row_and_column(world, rows, expected):
    preview = check(rows)
    assert [(e.row, e.column) for e in preview.errors] == expected
    assert all(str(e.row) in str(e) and e.column in str(e) for e in preview.errors)


def test_point2_mobile_of_another_persons_account_is_an_error(world):
    i2 = db.session.get(MalanUser, world["user"]["i2"])
    i2.mobile = "13900000099"
    db.session.commit()
    preview = check(
        [["1", "别人", "广州创业学院", None, None, "13900000099", None, "机构", "广州"]]
    )
    assert [(e.row, e.column) for e in preview.errors] == [(4, "F")]
    assert i2.username not in str(preview.errors[0])  # reveals nothing about the account


def test_point2_an_account_of_another_province_is_neither_revealed_nor_attached(world):
    """A 广东 roster naming a 北京 account's person and mobile exactly: refused like any other
    person's mobile, without the username, and so never linked to the roster."""
    c1 = db.session.get(MalanUser, world["user"]["c1"])
    c1.mobile = "13900000077"
    db.session.commit()
    rows = [
        ["1", c1.full_name, "广州市就业局", None, None, "13900000077", None, "市级", "广州"],
        ["2", "新人", "广州市就业局", None, None, "13900000078", None, "市级", "广州"],
    ]
    preview = check(rows)
    # Issue 14 point 4: no error, no match; the row reads exactly as an unregistered mobile's.
    assert preview.errors == [] and not preview.matching
    known, unknown = (r.as_data() for r in preview.to_create)
    for row in (known, unknown):
        row.pop("row"), row.pop("name"), row.pop("mobile")
    assert known == unknown and known["action"] == "create"


def test_point2_city_of_a_municipality_province_by_district_name(world):
    p1 = db.session.get(Org, world["org"]["P1"])
    rows = [["1", "甲", "东城区就业局", None, None, "13900000021", None, None, "东城区"]]
    preview = rosters.preview(build_xlsx(rows, province="北京市"), "r.xlsx", p1)
    assert [(r.kind, r.city_name) for r in preview.rows] == [("city", "东城区")]


# ---------------------------------------------------------------- point 2 over HTTP, all-or-nothing


def upload(client, data, filename="联络员.xlsx"):
    token = csrf_token(client, "/password/change")
    return client.post(
        "/rosterview/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def confirm_token(html: str) -> str | None:
    match = re.search(r'name="token" value="([^"]+)"', html)
    return match.group(1) if match else None


def test_point2_file_with_errors_writes_nothing_and_offers_no_confirm(client, login, world):
    login("p2")
    before = counts()
    bad = CLEAN + [["6", "坏行", "单位", None, None, "12345", None, "机构", "广州"]]
    response = upload(client, build_xlsx(bad))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="roster-errors"' in html and confirm_token(html) is None
    assert "12345" in html
    # The error names the row and the column, in Chinese (the default language).
    assert re.search(r"第 \d+ 行，F 列（手机号）", html)
    assert counts() == before


@pytest.mark.parametrize("data", [b"not a workbook", b"PK\x03\x04" + b"\0" * (3 * 1024 * 1024)])
def test_bad_input_non_xlsx_and_oversize_uploads_are_refused(client, login, world, data):
    login("p2")
    before = counts()
    response = upload(client, data)
    assert response.status_code == 400
    assert counts() == before


def test_point2_preview_then_confirm_submits_to_the_center(client, login, world):
    login("p2")
    before = counts()
    html = upload(client, build_xlsx(CLEAN)).get_data(as_text=True)
    token = confirm_token(html)
    assert token and counts() == before  # the preview writes nothing
    response = client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
    )
    assert response.status_code == 302
    roster = db.session.scalar(select(Roster))
    assert roster.status == "pending" and roster.row_count == 5 and len(roster.entries) == 5
    assert counts()[:2] == before[:2]  # no account, no org before the center approves


def test_point2_replayed_confirm_creates_no_second_roster(client, login, world):
    """Issue 11 point 3: the preview is staged once; a second post of the same confirm (a double
    click, the back button, a replayed form) is refused in Chinese and writes nothing."""
    login("p2")
    token = confirm_token(upload(client, build_xlsx(CLEAN)).get_data(as_text=True))
    posts = [
        client.post(
            "/rosterview/confirm",
            data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
        )
        for _ in range(2)
    ]
    assert [p.status_code for p in posts] == [302, 302]
    assert posts[1].headers["Location"].endswith("/rosterview/upload")
    assert db.session.scalar(select(func.count(Roster.id))) == 1
    page = client.get("/rosterview/upload").get_data(as_text=True)
    assert "此次上传已确认过，未再导入任何数据" in page


def test_point2_tampered_or_foreign_preview_token_is_refused(client, login, world):
    login("p2")
    token = confirm_token(upload(client, build_xlsx(CLEAN)).get_data(as_text=True))
    client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token[:-2] + "xx"},
    )
    login("p1")  # another province cannot replay it
    response = client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
    )
    assert response.status_code == 403
    assert db.session.scalar(select(func.count(Roster.id))) == 0


def test_point2_confirm_rechecks_against_accounts_created_meanwhile(client, login, world):
    login("p2")
    token = confirm_token(upload(client, build_xlsx(CLEAN)).get_data(as_text=True))
    i2 = db.session.get(MalanUser, world["user"]["i2"])
    i2.mobile = "13900000005"  # someone else took 罗机构's mobile in between
    db.session.commit()
    client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
    )
    assert db.session.scalar(select(func.count(Roster.id))) == 0


# ---------------------------------------------------------------- point 3: allocation


def submitted_roster(client, login, rows=CLEAN):
    login("p2")
    token = confirm_token(
        upload(client, build_xlsx(rows, header=WITH_CHANGE)).get_data(as_text=True)
    )
    client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
    )
    return db.session.scalar(select(Roster).order_by(Roster.id.desc()))


def approve(client, login, roster_id):
    login("center")
    roster = db.session.get(Roster, roster_id)
    db.session.refresh(roster)
    return client.post(
        f"/rosterview/review/{roster_id}",
        data={
            "csrf_token": csrf_token(client, "/password/change"),
            "action": "approve",
            "version": roster.version,
        },
    )


def test_point3_approval_creates_exactly_the_expected_orgs_and_accounts(client, login, world):
    i2 = db.session.get(MalanUser, world["user"]["i2"])
    i2.mobile = "13900000005"
    db.session.commit()
    rows = CLEAN[:-1] + [
        ["5", "郑机构", "广州创业学院", None, None, "13900000005", None, "", "广州"]
    ]
    roster = submitted_roster(client, login, rows)
    users_before, orgs_before, *_ = counts()
    approve(client, login, roster.id)
    db.session.expire_all()
    roster = db.session.get(Roster, roster.id)
    assert roster.status == "approved" and roster.allocated_at == NOW
    users_after, orgs_after, *_ = counts()
    assert orgs_after == orgs_before + 1  # 广州新创培训学校 once, for its two liaisons
    assert users_after == users_before + 4  # 郑机构 already had an account: no second one
    new_org = db.session.scalar(select(Org).where(Org.name == "广州新创培训学校"))
    assert new_org.kind == INSTITUTION and new_org.parent_id == world["org"]["C2"]
    assert new_org.code == "4401000002"
    made = {
        u.full_name: u
        for u in db.session.scalars(select(MalanUser).where(MalanUser.mobile.like("139000000%")))
    }
    assert made["黄省联"].role_kind == "province" and made["黄省联"].org_id == world["org"]["P2"]
    assert made["梁市联"].role_kind == "city" and made["梁市联"].org_id == world["org"]["C2"]
    assert made["陈机构"].org_id == made["何机构"].org_id == new_org.id
    assert (
        made["陈机构"].username == "jg4401000002001"
        and made["何机构"].username == "jg4401000002002"
    )
    assert made["郑机构"].id == i2.id and made["郑机构"].username == i2.username
    assert all(u.must_change_password for k, u in made.items() if k != "郑机构")
    allocated = db.session.scalars(
        select(AuditLog).where(AuditLog.event == "account_allocated")
    ).all()
    assert sorted(a.object_id for a in allocated) == sorted(
        str(u.id) for k, u in made.items() if k != "郑机构"
    )


def test_point3_allocation_is_all_or_nothing(client, login, world, monkeypatch):
    roster = submitted_roster(client, login)
    users_before, orgs_before, *_ = counts()
    real = rosters.accounts.create_account
    calls = []

    def failing(**kwargs):
        calls.append(kwargs["name"])
        if len(calls) == 4:
            raise rosters.accounts.AccountError("boom")
        return real(**kwargs)

    monkeypatch.setattr(rosters.accounts, "create_account", failing)
    approve(client, login, roster.id)
    db.session.expire_all()
    assert counts()[:2] == (users_before, orgs_before)
    assert db.session.get(Roster, roster.id).status == "pending"


def test_point3_account_sheet_downloads_once_then_passwords_are_gone(client, login, world):
    roster = submitted_roster(client, login)
    approve(client, login, roster.id)
    token = csrf_token(client, "/password/change")
    response = client.post(f"/rosterview/account_sheet/{roster.id}", data={"csrf_token": token})
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert [r[2] for r in rows] == ["黄省联", "梁市联", "陈机构", "何机构", "罗机构"]
    assert all(r[0] and r[1] for r in rows)
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count(RosterEntry.id)).where(RosterEntry.initial_password.is_not(None))
        )
        == 0
    )
    again = client.post(f"/rosterview/account_sheet/{roster.id}", data={"csrf_token": token})
    assert (
        again.status_code == 302
        and again.mimetype != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    # The province cannot fetch it at all.
    login("p2")
    assert client.post(
        f"/rosterview/account_sheet/{roster.id}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    ).status_code in (302, 403)

    # Point 3: the new liaison logs in with the initial password and must change it first.
    username, password = rows[0][0], rows[0][1]
    sign_out(client)
    client.post(
        "/login/",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    forced = client.get("/")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/password/change")


def test_point3_account_sheet_before_approval_is_refused(client, login, world):
    roster = submitted_roster(client, login)
    login("center")
    response = client.post(
        f"/rosterview/account_sheet/{roster.id}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    assert response.status_code == 302
    assert db.session.get(Roster, roster.id).sheet_downloaded_at is None


# ---------------------------------------------------------------- point 6: export


def test_point6_export_province_and_national_in_annex2_layout(client, login, world):
    roster = submitted_roster(client, login)
    approve(client, login, roster.id)
    response = client.get("/rosterview/export.xlsx")  # center: every province
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["北京市", "广东省"]
    gd = read_xlsx(response.data, rosters.ROSTER_SPEC)  # first sheet with a header: 北京市
    assert gd.sheet == "北京市"
    ws = book["广东省"]
    assert ws["A2"].value == "省份：广东省"
    names = [ws.cell(row=r, column=2).value for r in range(5, ws.max_row + 1)]
    assert {"黄省联", "梁市联", "陈机构", "孙广州", "郑机构"} <= set(names)
    # Annex 2 order: provincial liaisons first, then cities, then institutions.
    kinds = [ws.cell(row=r, column=8).value for r in range(5, ws.max_row + 1)]
    assert kinds == sorted(kinds, key=["省级", "市级", "机构"].index)
    login("p2")
    mine = load_workbook(io.BytesIO(client.get("/rosterview/export.xlsx").data))
    assert mine.sheetnames == ["广东省"]
    # The export reads back through the importer: same layout as the template.
    data = client.get("/rosterview/export.xlsx").data
    assert {r["name"] for r in read_xlsx(data, rosters.ROSTER_SPEC).rows} >= {"黄省联", "梁市联"}


def test_point6_roster_pages_are_closed_to_cities_and_institutions(client, login, world):
    for key in ("c2", "i2"):
        login(key)
        assert client.get("/rosterview/export.xlsx").status_code in (302, 403)
        assert client.get("/rosterview/upload").status_code in (302, 403)


# ---------------------------------------------------------------- point 4: change rosters


def test_point4_change_roster_adds_changes_contact_data_and_deactivates(client, login, world):
    first = submitted_roster(client, login)
    approve(client, login, first.id)
    db.session.expire_all()
    luo = db.session.scalar(select(MalanUser).where(MalanUser.mobile == "13900000005"))
    liang = db.session.scalar(select(MalanUser).where(MalanUser.mobile == "13900000002"))
    users_before = counts()[0]
    change = [
        [
            "1",
            "梁市联",
            "广州市就业局",
            "副局长",
            "020-99999999",
            "13900000002",
            "liang2",
            "市级",
            "广州",
            "变更",
        ],
        ["2", "罗机构", "广州创业学院", None, None, "13900000005", None, "机构", "广州", "停用"],
        ["3", "新机构人", "广州创业学院", None, None, "13900000006", None, "机构", "广州", "新增"],
    ]
    # The liaison to be deactivated is signed in somewhere else meanwhile.
    passwords.set_password(
        db.session.get(MalanUser, luo.id), PASSWORD, app_clock.now(), must_change=False
    )
    db.session.commit()
    elsewhere = client.application.test_client()
    elsewhere.post(
        "/login/",
        data={"username": luo.username, "password": PASSWORD, "csrf_token": csrf_token(elsewhere)},
    )
    assert elsewhere.get("/").status_code == 200
    second = submitted_roster(client, login, change)
    assert [e.change for e in second.entries] == ["change", "deactivate", "add"]
    assert db.session.get(MalanUser, luo.id).active  # nothing applies before approval
    approve(client, login, second.id)
    db.session.expire_all()
    assert db.session.get(Roster, second.id).status == "approved"
    assert db.session.get(MalanUser, luo.id).active is False  # disabled, not deleted
    assert counts()[0] == users_before + 1
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.event == "account_deactivated", AuditLog.object_id == str(luo.id)
            )
        )
        == 1
    )
    # The person's history of roster changes, newest first.
    history = rosters.roster_history(liang.id)
    assert [(h.roster_id, h.change) for h in history] == [(second.id, "change"), (first.id, "add")]
    page = client.get(f"/rosterview/person/{liang.id}").get_data(as_text=True)  # as the center
    assert page.count("/rosterview/show/") == 2 and "020-99999999" in page
    # The export shows the changed contact data and no longer lists the deactivated person.
    login("p2")
    ws = load_workbook(io.BytesIO(client.get("/rosterview/export.xlsx").data))["广东省"]
    by_name = {
        ws.cell(row=r, column=2).value: [c.value for c in ws[r]] for r in range(5, ws.max_row + 1)
    }
    assert by_name["梁市联"][3:7] == ["副局长", "020-99999999", "13900000002", "liang2"]
    assert "罗机构" not in by_name
    # The person's page follows the scope: 广东 sees its own liaison, not a 北京 account.
    assert client.get(f"/rosterview/person/{liang.id}").status_code == 200
    assert client.get(f"/rosterview/person/{world['user']['c1']}").status_code == 404
    # The deactivated liaison's open session has ended too.
    assert "/login/" in elsewhere.get("/").headers["Location"]


def test_point4_change_rows_must_name_an_account_of_this_province(world):
    p1_user = db.session.get(MalanUser, world["user"]["c1"])
    p1_user.mobile = "13900000077"
    db.session.commit()
    preview = check(
        [
            ["1", "无此人", "单位", None, None, "13900000066", None, "机构", "广州", "停用"],
            [
                "2",
                "赵东城",
                "广州市就业局",
                None,
                None,
                "13900000077",
                None,
                "市级",
                "广州",
                "停用",
            ],
            ["3", "甲", "单位", None, None, "13900000088", None, "机构", "广州", "删除"],
        ],
        header=WITH_CHANGE,
    )
    assert [(e.row, e.column) for e in preview.errors] == [(4, "F"), (5, "F"), (6, "J")]


def test_point3_pages_render_for_province_and_center(client, login, world):
    roster = submitted_roster(client, login)
    assert client.get("/rosterview/list/").status_code == 200
    assert client.get("/rosterview/add").status_code == 200  # the upload page
    show = client.get(f"/rosterview/show/{roster.id}").get_data(as_text=True)
    assert "黄省联" in show and 'id="download-sheet"' not in show
    approve(client, login, roster.id)
    show = client.get(f"/rosterview/show/{roster.id}").get_data(as_text=True)
    assert 'id="download-sheet"' in show and "sf440000002" in show


def test_point4_the_account_page_shows_the_roster_changes_that_touched_the_person(
    client, login, world
):
    """Issue 6 point 4: each person's page (the account screen) lists the roster rows of that person."""
    first = submitted_roster(client, login)
    approve(client, login, first.id)
    db.session.expire_all()
    entry = db.session.scalars(select(RosterEntry).where(RosterEntry.user_id.isnot(None))).first()
    assert entry is not None, "the approved roster created accounts"
    login("center")
    html = client.get(f"/userview/show/{entry.user_id}").get_data(as_text=True)
    assert 'id="roster-history"' in html and entry.mobile in html
    login("c1")  # a city may read the account of its own area, but not rosters
    html = client.get(f"/userview/show/{world['user']['c1']}").get_data(as_text=True)
    assert 'id="roster-history"' not in html


def test_issue11_account_sheet_before_approval_is_refused_and_changes_nothing(client, login, world):
    roster = submitted_roster(client, login)
    login("center")
    exports_before = counts()
    response = client.post(
        f"/rosterview/account_sheet/{roster.id}",
        data={"csrf_token": csrf_token(client, "/password/change")},
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "汇总表审核通过后分配账号。" in page
    db.session.expire_all()
    assert db.session.get(Roster, roster.id).sheet_downloaded_at is None
    assert counts() == exports_before
    assert not db.session.scalars(
        select(AuditLog).where(AuditLog.object_type == "RosterAccountSheet")
    ).all()
