"""reports/xlsx.py: the one spreadsheet writer (PITFALLS, Spreadsheets; issue 2 points 8/10 exports)."""

import io
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.xlsx import Column, dataframe_to_xlsx, write_table

HEADERS = [
    Column("序号", number=True),
    Column("姓名"),
    Column("备注", 30),
    Column("金额", number=True),
]


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


@pytest.mark.parametrize(
    "payload",
    [
        '=HYPERLINK("http://evil.example","点我")',
        "=1+1",
        "+1+1",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formula_injection_stays_text(payload):
    ws = _sheet(write_table(HEADERS, [[1, "张三", payload, 5]]))
    cell = ws["C2"]
    assert cell.data_type == "s", "a formula-looking text must not become a formula"
    # xlsx stores a CR as the escape _x000D_, which Excel decodes and openpyxl does not.
    assert cell.value.replace("_x000D_", "\r") == payload, "the text itself is kept exactly"
    assert cell.quotePrefix, "Excel keeps it text even when the cell is edited"


def test_harmless_text_has_no_quote_prefix():
    ws = _sheet(write_table(HEADERS, [[1, "张三", "普通备注", 5]]))
    assert ws["C2"].value == "普通备注" and not ws["C2"].quotePrefix


def test_header_is_chinese_bold_and_frozen():
    ws = _sheet(write_table(HEADERS, [[1, "张三", None, 5]], sheet="审计日志"))
    assert [c.value for c in ws[1]] == ["序号", "姓名", "备注", "金额"]
    assert ws["A1"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.title == "审计日志"


def test_title_row_moves_the_frozen_header_down():
    ws = _sheet(write_table(HEADERS, [[1, "张三", "", 2]], title="全国讲师培训计划汇总"))
    assert ws["A1"].value == "全国讲师培训计划汇总"
    assert [c.value for c in ws[2]] == ["序号", "姓名", "备注", "金额"]
    assert ws.freeze_panes == "A3"


def test_numbers_are_numbers_and_codes_stay_text():
    rows = [[1, "0101", "110000", Decimal("12.50")], [2, "李四", 42, 7]]
    ws = _sheet(write_table(HEADERS, rows))
    assert ws["A2"].value == 1 and ws["A2"].data_type == "n"
    assert ws["D2"].value == 12.5 and ws["D2"].data_type == "n"
    # Text columns keep leading zeros and never turn codes into numbers.
    assert ws["B2"].value == "0101" and ws["C2"].value == "110000"
    assert ws["C3"].value == "42" and ws["C3"].data_type == "s"


def test_totals_row_and_blanks():
    ws = _sheet(
        write_table(HEADERS, [[1, "a", None, 3], [2, "b", "", 4]], totals=["合计", None, None, 7])
    )
    assert ws["C2"].value is None and ws["C3"].value is None
    assert ws["A4"].value == "合计" and ws["D4"].value == 7 and ws["D4"].data_type == "n"


def test_dataframe_numpy_ints_are_numbers_and_nan_is_blank():
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "name": ["王五", "=cmd|' /C calc'!A0"],
            "note": [None, "x"],
            "amount": [3.5, float("nan")],
        }
    )
    ws = _sheet(dataframe_to_xlsx(frame, HEADERS))
    assert ws["A2"].value == 1 and ws["A2"].data_type == "n"
    assert ws["B3"].data_type == "s" and ws["B3"].quotePrefix
    assert ws["C2"].value is None and ws["D3"].value is None and ws["D2"].value == 3.5


def test_empty_table_still_has_its_header():
    ws = _sheet(write_table(HEADERS, []))
    assert ws.max_row == 1 and ws["B1"].value == "姓名"
