"""Issue 6 point 2 (and Bad input): the generic spreadsheet reader `reports.imports`.

Messy files are built here with openpyxl, the way officials' files look: title rows and a
"省份：" line above the header, merged cells, full-width text, numbers for phones, empty rows,
another sheet name. `build_xlsx` is reused by tests/integration/test_rosters.py.
"""

import io
import zipfile

import pytest

from reports import imports
from reports.imports import PHONE, ImportField, ImportRefused, ImportSpec, read_xlsx
from tests.factories import build_xlsx, zip_bytes

SPEC = ImportSpec(
    fields=(
        ImportField("seq", ("序号",), is_data=False),
        ImportField("name", ("姓名",), required=True, squash_spaces=True, max_length=8),
        ImportField("unit", ("工作单位",), required=True),
        ImportField("office_phone", ("办公电话",)),
        ImportField("mobile", ("手机号", "手机"), required=True, kind=PHONE),
        ImportField("code", ("微信号",)),
    )
)


@pytest.fixture(autouse=True)
def _ctx(app):
    """Messages go through Flask-Babel: an app context is needed, no database."""
    yield


def test_point2_header_found_below_title_and_province_rows_with_merged_title():
    data = build_xlsx([["1", "张三", "广东省人社厅", None, "020-1", "13900000001"]])
    result = read_xlsx(data, SPEC)
    assert result.errors == []
    assert [(r["_row"], r["name"], r["unit"], r["mobile"]) for r in result.rows] == [
        (4, "张三", "广东省人社厅", "13900000001")
    ]
    assert result.columns["mobile"] == "F"


def test_point2_full_width_spaces_digits_and_blanks_are_normalised():
    data = build_xlsx(
        [
            [
                "1",
                "　张　三 ",
                "  广州创业学院　",
                None,
                "０２０－８７６５４３２１",
                "１３９ ００００ ０００２",
            ]
        ]
    )
    row = read_xlsx(data, SPEC).rows[0]
    assert row["name"] == "张三"
    assert row["unit"] == "广州创业学院"
    assert row["office_phone"] == "020-87654321"
    assert row["mobile"] == "13900000002"


def test_point2_numeric_phone_cells_read_as_their_digits_and_text_keeps_leading_zeros():
    data = build_xlsx([[1, "李四", "单位", None, 2087654321, 13900000003, "007abc"]])
    row = read_xlsx(data, SPEC).rows[0]
    assert row["mobile"] == "13900000003"  # not "13900000003.0" nor 1.39e10
    assert row["office_phone"] == "2087654321"
    assert row["code"] == "007abc"
    assert row["seq"] == "1"


def test_point2_empty_rows_and_numbered_empty_rows_are_skipped_row_numbers_kept():
    data = build_xlsx(
        [
            ["1", "甲", "单位", None, None, "13900000004"],
            [],
            ["2"],
            [None, "乙", "单位", None, None, "13900000005"],
        ]
    )
    result = read_xlsx(data, SPEC)
    assert [(r["_row"], r["name"]) for r in result.rows] == [(4, "甲"), (7, "乙")]
    assert result.errors == []


def test_point2_a_sheet_with_another_name_after_an_instructions_sheet():
    data = build_xlsx(
        [["1", "丙", "单位", None, None, "13900000006"]], sheet="广东联络员", extra_sheet_first=True
    )
    result = read_xlsx(data, SPEC)
    assert result.sheet == "广东联络员"
    assert result.rows[0]["name"] == "丙"


def test_point2_merged_data_cells_give_every_row_the_merged_value():
    data = build_xlsx(
        [
            ["1", "丁", "广州创业学院", None, None, "13900000007"],
            ["2", "戊", None, None, None, "13900000008"],
        ],
        merges=["C4:C5"],
    )
    assert [r["unit"] for r in read_xlsx(data, SPEC).rows] == ["广州创业学院", "广州创业学院"]


def test_point2_header_without_title_rows_and_header_with_blanks_and_colons():
    header = ["序 号", "姓名：", "工作单位*", "办公电话", "手机", "微信号"]
    data = build_xlsx([["1", "己", "单位", None, "13900000009"]], header=header, title=False)
    result = read_xlsx(data, SPEC)
    assert result.rows[0]["mobile"] == "13900000009"


def test_bad_input_errors_name_the_row_and_the_column():
    data = build_xlsx(
        [
            ["1", None, "单位", None, None, "13900000010"],
            ["2", "名字太长了超过八个字", "单位", None, None, None],
        ]
    )
    errors = read_xlsx(data, SPEC).errors
    assert [(e.row, e.column, e.header) for e in errors] == [
        (4, "B", "姓名"),
        (5, "B", "姓名"),
        (5, "F", "手机号"),
    ]
    assert "4" in str(errors[0]) and "B" in str(errors[0]) and "姓名" in str(errors[0])


def test_bad_input_no_header_row_is_refused():
    data = build_xlsx([["x"]], header=["a", "b", "c"])
    with pytest.raises(ImportRefused):
        read_xlsx(data, SPEC)


@pytest.fixture()
def never_parse(monkeypatch):
    """Refusals must happen before any parser sees the bytes."""

    def boom(*_a, **_k):
        raise AssertionError("parsed")

    monkeypatch.setattr(imports, "load_workbook", boom)


def test_bad_input_not_an_xlsx_is_refused_before_parsing(never_parse):
    for data in (
        b"",
        b"%PDF-1.7 not a workbook",
        b"a,b,c\n1,2,3\n",
        zip_bytes({"hello.txt": b"a zip, but no workbook"}),
    ):
        with pytest.raises(ImportRefused):
            read_xlsx(data, SPEC)


def test_bad_input_an_oversize_file_is_refused_before_parsing(never_parse):
    data = b"PK\x03\x04" + b"\0" * (SPEC.max_bytes + 1)
    with pytest.raises(ImportRefused):
        read_xlsx(data, SPEC)


def test_bad_input_a_zip_bomb_is_refused_before_parsing(never_parse):
    # 60 MB of zeros deflate to ~60 KB: small on disk, huge once opened.
    bomb = zip_bytes(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"\0" * (60 * 1024 * 1024),
        }
    )
    assert len(bomb) < SPEC.max_bytes
    with pytest.raises(ImportRefused):
        read_xlsx(bomb, SPEC)


def test_bad_input_a_high_ratio_member_is_refused_even_when_small_in_total(never_parse):
    bomb = zip_bytes(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/sharedStrings.xml": b"A" * (5 * 1024 * 1024),
        }
    )
    with pytest.raises(ImportRefused):
        read_xlsx(bomb, SPEC)


def test_bad_input_a_huge_merged_range_is_refused_before_parsing(never_parse):
    """A few KB whose merged range covers a million cells (openpyxl would make each one)."""
    real = build_xlsx([["1", "甲", "单位", None, None, "13900000011"]])
    with zipfile.ZipFile(io.BytesIO(real)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[sheet] = parts[sheet].replace(
        b"</sheetData>",
        b'</sheetData><mergeCells count="1"><mergeCell ref="A20:J100019"/></mergeCells>',
        1,
    )
    bomb = zip_bytes(parts)
    assert len(bomb) < 20 * 1024
    with pytest.raises(ImportRefused):
        read_xlsx(bomb, SPEC)


def test_a_real_workbook_passes_the_pre_parse_checks():
    imports.check_file(build_xlsx([["1", "甲", "单位", None, None, "13900000011"]]))
