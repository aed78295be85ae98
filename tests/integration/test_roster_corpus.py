"""Issue 14: the Annex-2 form as provinces really fill it in. A corpus the tests build themselves
(`tests.factories.annex2_corpus`), each file with its expected outcome: accepted with N people by
type, or refused with the rows named, and the database unchanged after every refusal.

World: P2 广东省 (city 广州市, institution 广州创业学院); P1 北京市 (东城区, 东城创业学校).
"""

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import rosters
from models.org import Org
from models.roster import Roster, RosterEntry
from models.user import MalanUser
from reports.imports import ImportRefused
from tests.factories import annex2_corpus, build_annex2_file, csrf_token, snapshot

pytestmark = pytest.mark.usefixtures("frozen_clock")

CORPUS = annex2_corpus()
# accepted files: people by type ("" = to be placed by the uploader in the preview)
ACCEPTED = {
    "clean_original": {"province": 1, "city": 1, "institution": 2, "": 1},
    "app_template": {"province": 1, "city": 1, "institution": 1},
    "messy": {"province": 1, "city": 1, "institution": 3},
}
# files with rows in error: (row, column) of each error
ROW_ERRORS = {
    "mixed_errors": [(5, "C"), (6, "C"), (7, "F"), (8, "E"), (8, "F")],
    "formulas": [(5, "B"), (6, "F")],  # a formula is never read as the person's data
}
# files refused whole: words the refusal names
REFUSED = {
    "other_province": ("浙江省", "广东省"),
    "other_province_title": ("北京市", "广东省"),
    "not_a_workbook": ("xlsx",),
    "zip_bomb": ("体积异常",),
}


def p2():
    return db.session.scalar(select(Org).where(Org.code == "440000"))


def org(code):
    return db.session.scalar(select(Org).where(Org.code == code))


def preview(name):
    return rosters.preview(CORPUS[name], f"{name}.xlsx", p2())


def counts():
    return tuple(
        db.session.scalar(select(func.count(m.id))) for m in (MalanUser, Org, Roster, RosterEntry)
    )


def test_the_corpus_covers_every_case():
    assert set(CORPUS) == set(ACCEPTED) | set(ROW_ERRORS) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_files_with_people_by_type(world, name):
    result = preview(name)
    assert result.errors == []
    assert result.counts() == ACCEPTED[name]


@pytest.mark.parametrize("name", sorted(ROW_ERRORS))
def test_files_with_errors_name_their_rows(world, name):
    result = preview(name)
    assert [(e.row, e.column) for e in result.errors] == ROW_ERRORS[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_files_name_why(world, name):
    with pytest.raises(ImportRefused) as refused:
        preview(name)
    for word in REFUSED[name]:
        assert word in str(refused.value)


def test_point1_original_layout_inferred_with_reasons(world):
    rows = {r.name: r for r in preview("clean_original").rows}
    assert (rows["黄省联"].kind, rows["黄省联"].reasons) == ("province", ["第1行为省级联络员"])
    assert (rows["梁市联"].kind, rows["梁市联"].city_name) == ("city", "广州市")
    assert rows["梁市联"].reasons == ["工作单位含“广州市” → 市级，广州市"]
    # fuzzy on 有限公司: the existing institution, its official name kept, the typed one shown
    luo = rows["罗机构"]
    assert (luo.kind, luo.unit, luo.new_institution) == ("institution", "广州创业学院", False)
    assert luo.typed["unit"] == "广州创业学院有限公司"
    assert luo.reasons == ["工作单位与机构“广州创业学院”相符 → 机构，广州市"]
    # a new institution: its city from the place name in its name
    chen = rows["陈机构"]
    assert (chen.kind, chen.city_name, chen.new_institution) == ("institution", "广州市", True)
    assert chen.reasons == ["工作单位含“广州” → 机构，广州市"]
    # no place in the name: not an error, a choice in the preview
    assert rows["何某"].needs_choice and rows["何某"].kind == ""


def test_point3_messy_cells_normalised_and_shown_beside_the_original(world):
    result = preview("messy")
    rows = {r.row: r for r in result.rows}
    assert sorted(rows) == [4, 6, 7, 9, 10]  # blank rows skipped, hidden row 8 not read
    assert [row for row, _why in result.skipped] == [8, 12, 13]  # hidden, two notes below
    huang = rows[4]
    assert (huang.name, huang.mobile, huang.wechat) == ("黄省联", "13900002001", "HSL01")
    assert huang.typed["mobile"] == "+86 139 0000 2001" and huang.typed["name"] == "黄　省联"
    assert huang.office_phone == "020-8333 3333转801"
    assert huang.typed["office_phone"] == "０２０－８３３３ ３３３３转８０１"
    assert (rows[6].kind, rows[6].mobile, rows[6].office_phone) == (
        "city",
        "13900002002",
        "+86-20-87654321",
    )
    # several numbers in one cell: the first mobile taken, the rest kept with the office phone
    luo = rows[7]
    assert (luo.mobile, luo.office_phone, luo.unit) == (
        "13900002003",
        "020-12345678",
        "广州创业学院",
    )
    assert luo.notes and "020-12345678" in luo.notes[0]
    assert rows[9].mobile == "13900002004" and rows[9].office_phone == "(020) 1234-5678 ext 12"
    # merged unit cell C9:C10: 何机构 works at the same new institution
    assert (rows[10].unit, rows[10].city_name) == ("广州新创培训学校", "广州市")


def test_point2_a_row_of_another_province_is_an_error_naming_both(world):
    errors = {e.row: str(e) for e in preview("mixed_errors").errors}
    assert "东城区" in errors[5] and "北京市" in errors[5] and "广东省" in errors[5]
    assert "东城创业学校" in errors[6] and "北京市" in errors[6]


def test_point4_no_account_outside_the_province_is_revealed(world):
    """A 北京 account's mobile in a 广东 roster reads exactly as an unknown mobile."""
    c1 = db.session.get(MalanUser, world["user"]["c1"])
    c1.mobile = "13900001002"  # 梁市联's mobile in the clean file
    db.session.commit()
    rows = {r.name: r for r in preview("clean_original").rows}
    assert rows["梁市联"].action == rows["陈机构"].action == "create"
    assert not rows["梁市联"].matched_username


# ---------------------------------------------------------------- over HTTP


def upload(client, data, filename="附件2.xlsx"):
    return client.post(
        "/rosterview/upload",
        data={
            "csrf_token": csrf_token(client, "/password/change"),
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def token_of(html):
    match = re.search(r'name="token" value="([^"]+)"', html)
    return match.group(1) if match else None


@pytest.mark.parametrize("name", sorted(ROW_ERRORS) + sorted(REFUSED))
def test_database_unchanged_after_every_refusal(client, login, world, name):
    login("p2")
    before, tables = snapshot(), counts()
    response = upload(client, CORPUS[name])
    html = response.get_data(as_text=True)
    assert token_of(html) is None
    assert snapshot() == before and counts() == tables


def test_point1_preview_shows_reasons_originals_and_a_picker(client, login, world):
    login("p2")
    html = upload(client, CORPUS["clean_original"]).get_data(as_text=True)
    assert "工作单位含“广州市” → 市级，广州市" in html
    assert "广州创业学院有限公司" in html  # the unit as typed, beside the matched one
    assert 'name="place-8"' in html and "将由部中心核对" in html
    assert "广州创业学院" in html.split('name="place-8"')[1].split("</select>")[0]
    # nothing of another province in the picker
    assert "东城" not in html.split('id="roster-place"')[1].split("</table>")[0]


def test_point1_confirm_needs_the_choice_then_writes_the_roster(client, login, world):
    login("p2")
    tables = counts()
    token = token_of(upload(client, CORPUS["clean_original"]).get_data(as_text=True))
    response = client.post(
        "/rosterview/confirm",
        data={"csrf_token": csrf_token(client, "/password/change"), "token": token},
    )
    # no choice: nothing written, the same preview again (still confirmable), the row named
    html = response.get_data(as_text=True)
    assert counts() == tables and token_of(html) == token
    assert "第 8 行（何某）" in html and 'name="place-8"' in html

    foreign = org("110101").id  # 东城区 of 北京市: never accepted as a choice
    for value in (f"city:{foreign}", f"inst:{world['org']['I1']}", "province:x"):
        response = client.post(
            "/rosterview/confirm",
            data={
                "csrf_token": csrf_token(client, "/password/change"),
                "token": token,
                "place-8": value,
            },
        )
        assert counts() == tables and token_of(response.get_data(as_text=True)) == token

    city = org("440100").id
    response = client.post(
        "/rosterview/confirm",
        data={
            "csrf_token": csrf_token(client, "/password/change"),
            "token": token,
            "place-8": f"new:{city}",
        },
    )
    assert response.status_code == 302
    roster = db.session.scalar(select(Roster).order_by(Roster.id.desc()))
    got = [(e.source_row, e.kind, e.unit, e.city_id) for e in roster.entries]
    assert got == [
        (4, "province", "广东省人力资源和社会保障厅", None),
        (5, "city", "广州市人力资源和社会保障局", city),
        (6, "institution", "广州创业学院", city),
        (7, "institution", "广州新创培训学校", city),
        (8, "institution", "南粤青年创业服务社", city),
    ]


def test_the_apps_own_template_still_works_for_another_province(world):
    p1 = db.session.get(Org, world["org"]["P1"])
    data = build_annex2_file(
        [["1", "甲", "北京市人力资源和社会保障局", None, None, "13900006001", None]],
        province_line="省份：北京市",
    )
    assert rosters.preview(data, "r.xlsx", p1).counts() == {"province": 1}


def test_point1_county_level_authority_placed_in_its_city(world):
    """A county-level place (越秀区, by the administrative division codes) → its city."""
    data = build_annex2_file(
        [
            ["1", "黄省联", "广东省人力资源和社会保障厅", None, None, "13900007001", None],
            ["2", "区联", "越秀区人力资源和社会保障局", None, None, "13900007002", None],
            ["3", "机构", "越秀区新星职业培训学校", None, None, "13900007003", None],
        ]
    )
    result = rosters.preview(data, "r.xlsx", p2())
    assert result.errors == []
    got = [(r.kind, r.city_name, r.reasons) for r in result.rows[1:]]
    assert got == [
        ("city", "广州市", ["工作单位含“越秀区” → 市级，广州市"]),
        ("institution", "广州市", ["工作单位含“越秀区” → 机构，广州市"]),
    ]


def test_point2_places_of_other_provinces_outside_the_platform_are_errors(world):
    data = build_annex2_file(
        [
            ["1", "黄省联", "广东省人力资源和社会保障厅", None, None, "13900008001", None],
            ["2", "甲", "海淀区就业服务中心", None, None, "13900008002", None],
            ["3", "乙", "浙江省人力资源和社会保障厅", None, None, "13900008003", None],
        ]
    )
    errors = [str(e) for e in rosters.preview(data, "r.xlsx", p2()).errors]
    assert len(errors) == 2
    assert "海淀区" in errors[0] and "北京市" in errors[0] and "广东省" in errors[0]
    assert "浙江省" in errors[1]
