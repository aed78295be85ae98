"""Annex 2 (联络员信息汇总表) as a spreadsheet: the empty template provinces fill in, and the current
roster exported in the same layout (one sheet per province).

Layout: title row, "省份：…" row, a note row, the header, the rows. Every column is text-formatted
so a mobile number stays text when typed. Cells are written through `reports.xlsx` (formula
injection neutralised).
"""

import io

import pandas as pd
import xlsxwriter

from reports.xlsx import _Writer

TITLE = "省（市）级创业培训主管部门、创业培训机构平台联络员信息汇总表"
HEADERS = (
    "序号",
    "姓名",
    "工作单位",
    "职务",
    "办公电话",
    "手机号",
    "微信号",
    "类型",
    "所属地市",
    "变更",
)
WIDTHS = (6, 12, 34, 14, 18, 15, 16, 8, 14, 8)
NOTE = (
    "说明：第1行填写省级联络员，其后依次填写市级联络员、创业培训机构联络员。"
    "“类型”填写 省级／市级／机构（可不填：单位名称为…人力资源和社会保障局、…就业局的按主管部门处理，"
    "其余按机构处理）；市级和机构联络员须填写“所属地市”（本省地市名称，可不带“市”字）。"
    "变更名单：“变更”填写 新增／变更（更新联系方式）／停用，按手机号识别已有账号；首次报送可不填。"
    "请勿改动表头；手机号请按文本填写。"
)
KIND_LABELS = {"province": "省级", "city": "市级", "institution": "机构"}
EXPORT_COLUMNS = ("name", "unit", "title", "office_phone", "mobile", "wechat", "kind", "city")
TEMPLATE_ROWS = 60


def _book():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    return buffer, book


def _sheet(book, fmt, name: str, province: str, rows) -> None:
    ws = book.add_worksheet(name[:31])
    last = len(HEADERS) - 1
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width, fmt.text)
    ws.merge_range(0, 0, 0, last, TITLE, fmt.title)
    ws.write_string(1, 0, f"省份：{province}", fmt.text)
    ws.merge_range(2, 0, 2, last, NOTE, fmt.note)
    ws.set_row(2, 48)
    for c, header in enumerate(HEADERS):
        ws.write_string(3, c, header, fmt.header)
    ws.freeze_panes(4, 0)
    for r, row in enumerate(rows, start=4):
        row = list(row)
        for c in range(len(HEADERS)):
            value = row[c] if c < len(row) else None
            if value is None or value == "":
                ws.write_blank(r, c, None, fmt.text)  # typed later, still text
            else:
                fmt.cell(ws, r, c, value, number=False)


def _formats(book) -> _Writer:
    fmt = _Writer(book)
    fmt.note = book.add_format(
        {"num_format": "@", "text_wrap": True, "valign": "top", "font_color": "#555555"}
    )
    return fmt


def template_xlsx(province: str = "") -> bytes:
    """The empty Annex-2 form (the province's name filled in when known); rows are numbered."""
    buffer, book = _book()
    fmt = _formats(book)
    _sheet(book, fmt, "联络员信息汇总表", province, ([str(n)] for n in range(1, TEMPLATE_ROWS + 1)))
    book.close()
    return buffer.getvalue()


def roster_frame(records: list[dict]) -> pd.DataFrame:
    """Liaison records (province, kind, name, unit, …) in Annex-2 order: per province, the
    provincial liaison first, then cities, then institutions."""
    frame = pd.DataFrame.from_records(records, columns=["province", *EXPORT_COLUMNS])
    if frame.empty:
        return frame
    frame["order"] = frame["kind"].map({"province": 0, "city": 1, "institution": 2})
    frame["kind"] = frame["kind"].map(KIND_LABELS)
    return frame.sort_values(
        ["province", "order", "city", "unit", "name"], na_position="first"
    ).drop(columns="order")


def export_xlsx(frame: pd.DataFrame, provinces: list[str]) -> bytes:
    """One Annex-2 sheet per province that has liaisons (no empty sheets: the center's export
    over 31 provinces must not open on blank tabs); a file with nobody in it has one sheet."""
    buffer, book = _book()
    fmt = _formats(book)
    frame = frame.astype(object).where(frame.notna(), None)
    written = 0
    for province in provinces:
        part = frame[frame["province"] == province] if not frame.empty else frame
        if part.empty:
            continue
        rows = (
            [str(n), *row]
            for n, row in enumerate(
                part[list(EXPORT_COLUMNS)].itertuples(index=False, name=None), start=1
            )
        )
        _sheet(book, fmt, province, province, rows)
        written += 1
    if not written:
        _sheet(book, fmt, "联络员信息汇总表", provinces[0] if len(provinces) == 1 else "", [])
    book.close()
    return buffer.getvalue()


def account_sheet_xlsx(rows: list[tuple], title: str) -> bytes:
    """The one-time account sheet for distribution: username, initial password, name, unit."""
    from reports.xlsx import Column, write_table

    columns = [
        Column("用户名", 16),
        Column("初始密码", 16),
        Column("姓名", 12),
        Column("工作单位", 34),
    ]
    return write_table(columns, rows, sheet="账号", title=title)
