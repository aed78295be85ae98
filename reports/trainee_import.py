"""The trainee list of a class (参训学员名单, Annex 1 row 15): template, and xlsx → checked rows.

Read by the one spreadsheet reader (`reports.imports`); each row checked by the trainee fields of
`app.services.classroom` (the same rules as the one-person form: ID numbers by python-stdnum,
mobiles, lengths), then as a whole: a person twice in the file, already on the class, on an
overlapping class (named), or whose mobile belongs to someone else's account. All rows or none:
the confirm writes them in one transaction (`app.services.classroom.enrol`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import xlsxwriter
from flask_babel import gettext as _

from app.services import classroom, fields
from reports.imports import CODE, PHONE, ImportField, ImportRefused, ImportSpec, RowError, read_xlsx

MAX_ROWS = 500  # a class has a few dozen trainees
MAX_BYTES = 2 * 1024 * 1024

# key, header (and other accepted spellings), required, kind, length, width, note
FIELDS = (
    ("name", ("姓名",), True, "text", 64, 10, "与身份证一致"),
    ("gender", ("性别",), True, "text", 8, 6, "男 或 女"),
    (
        "id_number",
        ("身份证号", "身份证号码", "公民身份号码"),
        True,
        CODE,
        32,
        22,
        "18 位，文本格式",
    ),
    ("mobile", ("手机号", "手机号码", "手机"), True, PHONE, 32, 14, "11 位手机号，用于账号"),
    ("employer", ("工作单位", "单位"), True, "text", 128, 24, ""),
    ("position", ("职务", "职称/职务"), False, "text", 64, 12, ""),
    ("city", ("所在地市", "地市", "所在城市"), False, "text", 64, 12, ""),
    ("years", ("从事创业培训年限", "培训年限"), False, "text", 16, 10, "整数，如 3"),
    ("certificates", ("已获证书", "证书"), False, "text", 255, 24, "如 SYB 讲师证"),
)
EXAMPLE = (
    "张三",
    "男",
    "110101198001010013",
    "13800138000",
    "东城区就业服务中心",
    "培训主管",
    "北京市东城区",
    "3",
    "SYB讲师证",
)
SPEC = ImportSpec(
    fields=tuple(
        ImportField(
            key, headers, required=req, kind=kind, max_length=length, squash_spaces=key == "name"
        )
        for key, headers, req, kind, length, _w, _n in FIELDS
    ),
    max_rows=MAX_ROWS,
    max_bytes=MAX_BYTES,
)


def template_xlsx() -> bytes:
    """The empty template: every column text (an 18-digit ID stays exact), a note on each
    header, a drop-down for 性别, and a sheet of instructions with one example row."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    text = book.add_format({"num_format": "@"})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@"})
    required = book.add_format(
        {"bold": True, "bg_color": "#FCE4D6", "border": 1, "num_format": "@"}
    )
    sheet = book.add_worksheet("学员名单")
    for c, (_k, headers, req, _kind, _len, width, note) in enumerate(FIELDS):
        sheet.set_column(c, c, width, text)
        sheet.write_string(0, c, headers[0], required if req else head)
        if note:
            sheet.write_comment(0, c, note)
    sheet.freeze_panes(1, 0)
    sheet.data_validation(1, 1, MAX_ROWS, 1, {"validate": "list", "source": ["男", "女"]})
    guide = book.add_worksheet("填写说明")
    guide.set_column(0, len(FIELDS), 16, text)
    guide.write_string(
        0,
        0,
        "填写说明：在“学员名单”表第 2 行起每行填一名学员；橙色列为必填；所有列均为文本格式，"
        "身份证号请勿改为数字格式。下行为示例（不会被导入）。",
    )
    for c, (_k, headers, *_rest) in enumerate(FIELDS):
        guide.write_string(2, c, headers[0], head)
        guide.write_string(3, c, EXAMPLE[c])
    book.close()
    return buffer.getvalue()


@dataclass
class Checked:
    rows: list[dict] = field(default_factory=list)  # cleaned, ready for `classroom.enrol`
    errors: list[RowError] = field(default_factory=list)
    total: int = 0


def check(data: bytes, klass) -> Checked:
    """Read and check a whole file (`ImportRefused` for a file refused as a whole)."""
    result = read_xlsx(data, SPEC)
    missing = [headers[0] for key, headers, req, *_r in FIELDS if req and key not in result.columns]
    if missing:
        raise ImportRefused(
            _(
                "The file lacks the column(s) %(cols)s. Download the template and copy the data into it.",
                cols="、".join(missing),
            )
        )
    if not result.rows:
        raise ImportRefused(_("The file has no data rows below the header."))
    spec = classroom.trainee_fields()
    bad_cells = {(e.row, e.column) for e in result.errors}
    seen: dict[tuple[str, str], int] = {}
    checked = []
    for raw in result.rows:
        skip = {k for k, col in result.columns.items() if (raw["_row"], col) in bad_cells}
        values, errors = fields.clean(spec, raw, skip=skip)
        for key, message in errors:
            result.error(raw, key, message)
        for key in ("id_number", "mobile"):
            if values.get(key):
                first = seen.setdefault((key, values[key]), raw["_row"])
                if first != raw["_row"]:
                    result.error(
                        raw, key, _("%(v)s already appears in row %(r)d.", v=values[key], r=first)
                    )
        checked.append({"_row": raw["_row"], **values})
    if not result.errors:
        for index, key, message in classroom.person_conflicts(klass, checked):
            result.error(checked[index], key, message)
    out = Checked(
        errors=sorted(result.errors, key=lambda e: (e.row, e.column)), total=len(result.rows)
    )
    if not out.errors:
        out.rows = [{k: v for k, v in r.items() if k != "_row"} for r in checked]
    return out
