"""Issue 4 point 5 (bulk import of the faculty pool) and the bad-file corpus of point 7.

Files are built here at test time (no committed binaries). Every refused or faulty file must
leave the database unchanged and say, in Chinese, which row and column is wrong. Messages are
compared with what the app's own catalog renders (zh), so the assertions hold before and after the
new strings are translated; the row/column frame "第 n 行，X 列（表头）" is Chinese already.
"""

import html
import io
import re
import time
import zipfile

import pytest
import xlsxwriter
from flask_babel import gettext as _
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select
from stdnum.cn import ric

from app.extensions import db
from app.services import faculty, staging
from app.services.errors import NotAllowed
from app.services.faculty_import import ERRORS, READY
from models.audit import AuditLog
from models.faculty import FacultyProfile
from models.org import Org
from models.review import APPROVED, ReviewEvent, ReviewRevision
from reports import faculty_import as report
from reports.imports import RowError
from tests.factories import NOW, csrf_token

pytestmark = pytest.mark.usefixtures("frozen_clock")

KEYS = [f[0] for f in report.FIELDS]
HEADER = [f[1] for f in report.FIELDS]
URL = "/faculty_import/"


# ---------------------------------------------------------------- building files


def ident(n: int, birth: str = "19800101", region: str = "110101") -> str:
    """A valid 居民身份证号 (checksum by stdnum); n odd → male."""
    body = f"{region}{birth}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def person(n: int, **changes) -> list:
    row = dict(
        name=f"讲师{n}",
        gender="",
        birth_year="",
        id_number=ident(n),
        mobile=f"139{n:08d}",
        email=f"t{n}@example.cn",
        province="北京市",
        city="东城区",
        employer="某大学创业学院",
        level="讲师",
        certificate_no=f"C{n:05d}",
        certificate_date="2024-05-01",
        certificate_expiry="2027-05-01",
        course_types="GYB、SYB",
        languages="普通话",
        years_experience="5",
        biography="从事创业培训多年。",
    )
    row.update(changes)
    return [row[k] for k in KEYS]


def build(rows, header=HEADER, sheet="师资信息") -> bytes:
    """An xlsx as a user would send it: text cells, numbers where the test puts numbers."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet)
    for c, text in enumerate(header):
        ws.write_string(0, c, text)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            elif value not in (None, ""):
                ws.write_string(r, c, value)
            elif value == "":
                ws.write_blank(r, c, None)
    book.close()
    return buffer.getvalue()


def zh(msgid, **kwargs) -> str:
    """A message as the app renders it (the default language is zh)."""
    from flask import current_app

    with current_app.test_request_context():
        return _(msgid, **kwargs)


def cell_error(row, column, header, msgid, **kwargs) -> str:
    """A row error as the page shows it: 第 n 行，X 列（表头）：message."""
    from flask import current_app

    with current_app.test_request_context():
        return str(RowError(row, column, header, _(msgid, **kwargs)))


# ---------------------------------------------------------------- client helpers


def counts():
    return (
        db.session.scalar(select(func.count(FacultyProfile.id))),
        db.session.scalar(select(func.count(ReviewRevision.id))),
        db.session.scalar(select(func.count(ReviewEvent.id))),
    )


def upload(client, data: bytes, name="师资名单.xlsx"):
    token = csrf_token(client, URL)
    return client.post(
        URL,
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def page_errors(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [html.unescape(m) for m in re.findall(r'<li class="list-group-item">(.*?)</li>', text)]


def confirm_token(response) -> str | None:
    m = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True))
    return m.group(1) if m else None


def confirm(client, token):
    return client.post(
        URL + "confirm", data={"csrf_token": csrf_token(client, URL), "token": token}
    )


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------- the template


def test_point5_template_has_the_chinese_headers_and_text_columns(client, login):
    login("center")
    response = client.get(URL + "template.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names[0] == "师资信息"
    rows = book.get_sheet_by_name("师资信息").to_python()
    assert rows[0] == HEADER and len(rows) == 1  # no example row among the data
    ws = load_workbook(io.BytesIO(data))["师资信息"]
    assert all(ws.cell(1, c).number_format == "@" for c in range(1, len(HEADER) + 1))
    # Every column carries the text style (the template's columns are text-formatted: a typed
    # 18-digit ID number stays text). numFmtId 49 is "@".
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    styled = {}
    for low, high, style in re.findall(r'<col min="(\d+)" max="(\d+)"[^>]*style="(\d+)"', xml):
        styled |= dict.fromkeys(range(int(low), int(high) + 1), int(style))
    assert sorted(styled) == list(range(1, len(HEADER) + 1))
    assert {ws.parent._cell_styles[s].numFmtId for s in styled.values()} == {49}
    guide = book.get_sheet_by_name("填写说明").to_python()
    assert guide[2][: len(HEADER)] == HEADER and guide[3][3] == "11010119800101007X"
    # The template's own example, copied into the data sheet, passes the checks.
    assert ric.is_valid(guide[3][3])


# ---------------------------------------------------------------- the happy path


def test_point5_preview_then_confirm_creates_approved_profiles_visible_in_the_pool(
    client, login, world
):
    login("center")
    rows = [
        person(1),
        [None] * len(KEYS),  # an empty row in between: skipped, numbering kept
        person(
            2,
            province="广东",
            city="广州",
            gender="女",
            birth_year="1980",
            course_types="SYB（创办你的企业）、iyb",
            level="trainer",
        ),
        person(
            3,
            province="440000",
            city="",
            level="培训师",
            certificate_date="",
            certificate_expiry="",
            certificate_no="",
        ),
    ]
    response = upload(client, build(rows))
    assert response.status_code == 200
    text = text_of(response)
    assert (
        zh("%(n)d trainer profiles will be created, approved and entered by the center.", n=3)
        in text
    )
    assert "讲师1" in text and "广东省·广州市" in text and ident(2) in text
    assert counts() == (0, 0, 0)  # the preview writes nothing
    response = confirm(client, confirm_token(response))
    assert response.status_code == 302 and "/facultyview/list/" in response.headers["Location"]
    assert counts() == (3, 3, 3)
    profiles = {p.name: p for p in db.session.scalars(select(FacultyProfile))}
    org = {o.code: o.id for o in db.session.scalars(select(Org))}
    one, two, three = profiles["讲师1"], profiles["讲师2"], profiles["讲师3"]
    assert (one.status, one.in_force_revision, one.revision) == (APPROVED, 1, 1)
    assert one.created_by_id == world["user"]["center"] and one.created_at == NOW
    assert (one.org_id, two.org_id, three.org_id) == (org["110101"], org["440100"], org["440000"])
    assert (one.gender, one.birth_year, two.gender) == ("M", 1980, "F")  # from the ID number
    assert (one.level, two.level, two.course_types) == ("lecturer", "trainer", "SYB IYB")
    assert one.certificate_expiry.isoformat() == "2027-05-01" and three.certificate_no is None
    events = list(db.session.scalars(select(ReviewEvent)))
    assert {(e.action, e.to_status, e.actor_id) for e in events} == {
        (faculty.ENTER, APPROVED, world["user"]["center"])
    }
    entry = db.session.scalars(select(AuditLog).where(AuditLog.event == "import")).all()
    assert len(entry) == 1 and "3 rows, 0 errors" in entry[0].summary
    pool = text_of(client.get("/facultyview/list/"))
    assert all(name in pool for name in ("讲师1", "讲师2", "讲师3"))


def test_point5_double_confirm_creates_once(client, login, world):
    login("center")
    token = confirm_token(upload(client, build([person(1), person(2)])))
    assert confirm(client, token).status_code == 302
    second = confirm(client, token)
    assert second.status_code == 302 and second.headers["Location"].endswith(URL)
    assert counts() == (2, 2, 2)
    followed = text_of(client.get(URL))
    assert (
        zh(
            "This upload was already confirmed: nothing more was imported. "
            "Upload the file again if needed."
        )
        in followed
    )


def test_point5_a_forged_or_foreign_token_creates_nothing(client, login, world):
    login("center")
    token = confirm_token(upload(client, build([person(1)])))
    assert confirm(client, "../../etc/passwd").status_code == 302
    assert confirm(client, token[:-2] + "xx").status_code == 302
    with pytest.raises(NotAllowed):  # bound to the uploader
        staging.take(token, world["user"]["p1"], READY, NOW)
    assert counts() == (0, 0, 0)


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("key", ["p1", "c1", "i1", "trainer1", "sysadmin"])
def test_point5_only_the_center_may_import(client, login, world, key):
    login(key)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "template.xlsx").status_code == 403
    assert client.get(URL + "errors/" + "a" * 43).status_code == 403
    token = csrf_token(client, "/password/change")
    assert (
        client.post(URL + "confirm", data={"csrf_token": token, "token": "a" * 43}).status_code
        == 403
    )
    assert client.post(URL, data={"csrf_token": token}).status_code == 403
    assert 'id="faculty-import"' not in client.get("/facultyview/list/").get_data(as_text=True)
    assert counts() == (0, 0, 0)


def test_point5_the_pool_offers_the_import_to_the_center(client, login, world):
    login("center")
    page = client.get("/facultyview/list/").get_data(as_text=True)
    assert 'id="faculty-import"' in page and f'href="{URL}"' in page


# ---------------------------------------------------------------- the bad-file corpus


def test_point7_corpus_row_errors_name_row_column_and_write_nothing(client, login, world):
    """One file, one fault per row (row 2 is valid; row 14 is empty): every row is checked."""
    login("center")
    good = person(1)
    id_typed_as_number = float(ident(3))  # what Excel keeps of an 18-digit number
    rows = [
        good,  # 2
        person(3, id_number=id_typed_as_number),  # 3 float ID
        person(4, id_number="1.10101E+17"),  # 4 scientific text
        person(5, id_number=ident(5)[:-1] + ("0" if ident(5)[-1] != "0" else "1")),  # 5 checksum
        person(6, id_number=good[3]),  # 6 same ID as row 2
        person(7, mobile=good[4]),  # 7 same mobile as row 2
        person(8, province="火星省"),  # 8
        person(9, city="广州市"),  # 9 not a city of 北京市
        person(10, level="教授"),  # 10
        person(11, course_types="GYB、ABC"),  # 11
        person(12, certificate_date="2024-13-01"),  # 12
        person(13, certificate_expiry="2020-01-01"),  # 13 before the certificate date
        ["   "] * len(KEYS),  # 14 blanks only: skipped
        person(15, name=""),  # 15
        person(16, mobile="12345"),  # 16
        person(17, province="440000", city="广州"),  # 17 valid (codes, short names)
        person(18, birth_year="1990"),  # 18 not the ID's year
    ]
    before = counts()
    response = upload(client, build(rows))
    assert response.status_code == 200
    assert confirm_token(response) is None
    expected = [
        cell_error(
            3,
            "D",
            "身份证号",
            "Typed as a number (%(v)s): a spreadsheet keeps only 15 "
            "digits, so the last digits are lost. Format the column as text and type the "
            "value again.",
            v="1.10101E+17",
        ),
        cell_error(
            4,
            "D",
            "身份证号",
            "%(v)s is an ID number turned into a number by the "
            "spreadsheet: its last digits are lost. Format the column as text and type the "
            "ID number again.",
            v="1.10101E+17",
        ),
        cell_error(
            5,
            "D",
            "身份证号",
            "the check digit is wrong (%(v)s); please check the number.",
            v=rows[3][3],
        ),
        cell_error(6, "D", "身份证号", "%(v)s already appears in row %(r)d.", v=good[3], r=2),
        cell_error(7, "E", "手机号", "%(v)s already appears in row %(r)d.", v=good[4], r=2),
        cell_error(
            8,
            "G",
            "省份",
            "Unknown province %(v)s: use its name or code, e.g. 广东省 or 440000.",
            v="火星省",
        ),
        cell_error(
            9,
            "H",
            "城市",
            "%(city)s is not a city of %(province)s.",
            city="广州市",
            province="北京市",
        ),
        cell_error(
            10,
            "J",
            "级别",
            "Unknown level %(v)s. Use one of: %(known)s",
            v="教授",
            known="讲师、培训师",
        ),
        cell_error(
            11,
            "N",
            "可授课程类型",
            "Unknown course type(s) %(v)s. Use: %(known)s",
            v="ABC",
            known="GYB、SYB、IYB、EYB",
        ),
        cell_error(
            12, "L", "发证日期", "not a date: %(v)s (write it as 2024-05-01).", v="2024-13-01"
        ),
        cell_error(13, "M", "证书有效期至", "must be after the certificate date."),
        cell_error(15, "A", "姓名", "required."),
        cell_error(
            16,
            "E",
            "手机号",
            "must be an 11-digit mainland mobile number (found %(v)s).",
            v="12345",
        ),
        cell_error(
            18,
            "C",
            "出生年份",
            "%(year)s does not match the ID number (born %(born)d).",
            year="1990",
            born=1980,
        ),
    ]
    assert page_errors(response) == expected
    assert re.search(r"第 3 行，D 列（身份证号）", "".join(expected))  # Chinese frame
    assert counts() == before
    audit_entry = db.session.scalars(select(AuditLog).where(AuditLog.event == "import")).one()
    assert audit_entry.success is False


def test_point7_duplicates_against_the_pool_are_refused(client, login, world):
    login("center")
    assert (
        confirm(client, confirm_token(upload(client, build([person(1), person(2)])))).status_code
        == 302
    )
    before = counts()
    response = upload(
        client, build([person(3), person(4, id_number=ident(1)), person(5, mobile=person(2)[4])])
    )
    assert page_errors(response) == [
        cell_error(
            3,
            "D",
            "身份证号",
            "%(v)s is already in the faculty pool (%(name)s).",
            v=ident(1),
            name="讲师1",
        ),
        cell_error(
            4,
            "E",
            "手机号",
            "%(v)s is already in the faculty pool (%(name)s).",
            v=person(2)[4],
            name="讲师2",
        ),
    ]
    assert counts() == before


def test_point7_error_file_comes_back_with_an_error_column(client, login, world):
    login("center")
    response = upload(client, build([person(1), person(2, level="教授"), person(3)]))
    link = re.search(r'href="(/faculty_import/errors/[^"]+)"', response.get_data(as_text=True))
    token = link.group(1).rsplit("/", 1)[1]
    assert confirm(client, token).status_code == 302  # a file with errors cannot be confirmed
    download = client.get(link.group(1))
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(download.get_data())).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == HEADER + [report.ERROR_HEADER]
    column = len(HEADER) + 1
    assert ws.cell(2, column).value is None and ws.cell(4, column).value is None
    assert ws.cell(3, column).value.startswith("级别：") and "教授" in ws.cell(3, column).value
    assert ws.cell(3, 1).value == "讲师2"  # the data itself is untouched
    # Corrected and sent again, the error column is ignored and the file imports.
    ws.cell(3, 10).value = "讲师"
    fixed = io.BytesIO()
    ws.parent.save(fixed)
    response = upload(client, fixed.getvalue())
    assert confirm_token(response) is not None
    # The error file is bound to the user who uploaded it.
    assert staging.peek(token, world["user"]["p1"], ERRORS, NOW) is None
    assert counts() == (0, 0, 0)


def _refusal(client, data, name="师资名单.xlsx"):
    before = counts()
    started = time.perf_counter()
    response = upload(client, data, name)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400 and confirm_token(response) is None
    assert counts() == before
    return text_of(response), elapsed


def test_point7_corpus_whole_file_refusals_say_why(client, login, world):
    login("center")
    roster_header = ["序号", "姓名", "工作单位", "职务", "办公电话", "手机号", "微信号"]
    text, _t = _refusal(
        client, build([["1", "张三", "某单位", "", "", "13900000001", ""]], header=roster_header)
    )
    assert (
        zh(
            "Row %(row)d looks like the header but lacks the required column(s): %(cols)s. "
            "Use the template.",
            row=1,
            cols="身份证号、省份、级别",
        )
        in text
    )
    without = [h for h in HEADER if h not in ("邮箱", "个人简介")]
    rows = [[v for k, v in zip(KEYS, person(1), strict=True) if k not in ("email", "biography")]]
    text, _t = _refusal(client, build(rows, header=without))
    assert (
        zh(
            "The file lacks the column(s) %(cols)s. Download the template and copy the data "
            "into it.",
            cols="邮箱、个人简介",
        )
        in text
    )
    not_xlsx = zh("The file is not an Excel workbook (.xlsx).")
    assert not_xlsx in _refusal(client, "姓名,身份证号\n张三,1\n".encode())[0]  # a CSV renamed
    assert (
        not_xlsx in _refusal(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)[0]
    )  # .xls
    assert zh("The file is empty.") in _refusal(client, b"")[0]
    blank_rows = build([[""] * len(KEYS), ["  "] * len(KEYS)])
    assert zh("The file has no data rows below the header.") in _refusal(client, blank_rows)[0]
    # A few KB with one cell at XFD1048576: the parser would allocate the whole sheet and abort
    # the worker; refused before parsing.
    far = io.BytesIO()
    book = xlsxwriter.Workbook(far)
    sheet = book.add_worksheet()
    for c, text in enumerate(HEADER):
        sheet.write_string(0, c, text)
    sheet.write_string(1_048_575, 16_383, "x")
    book.close()
    assert (
        zh("The workbook expands to an unreasonable size and is refused.")
        in _refusal(client, far.getvalue())[0]
    )


def test_point7_corpus_20000_rows_are_refused_quickly(client, login, world):
    """A 20,000-row file exceeds the 10,000-row limit of one import: refused as a whole, fast
    (the reader stops counting at the limit), nothing written. 5,000 rows is the measured case
    (scripts/bench_faculty_import.py)."""
    login("center")
    rows = [[f"讲师{n}", None, None, f"X{n}"] for n in range(20_000)]  # small cells: a fast build
    text, elapsed = _refusal(client, build(rows))
    assert zh("The file has more than %(n)d rows.", n=report.MAX_ROWS) in text
    assert elapsed < 15  # typically ~1 s; generous for a loaded 2-core CI box
