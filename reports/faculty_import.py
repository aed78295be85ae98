"""Bulk import of the faculty pool (师资库批量导入): template → check every row → preview →
confirm → all rows in one transaction.

- The columns are data (`FIELDS`): the template, the reader's spec and the error file follow it.
- `check` reads a file with the one generic reader (`reports.imports.read_xlsx`) and adds the
  domain checks of every row, with the row, the column and a message: the profile's field rules
  and the rules between fields are the form's own (`app.services.faculty.profile_fields` and
  `derived_errors`, through `app.services.fields`: the same rules, the same messages; an import
  reports every error of every row, the form the first); region, level and course types are
  read as people spell them (names or codes, the center's vocabularies); duplicates inside the
  file and against the pool. Lookups are batched (a few queries for the whole file), so 5,000
  rows check in well under a second.
- `create_profiles` writes the checked rows with three bulk INSERTs (profiles, their approved
  revision 1, their review-history entry "entered by the center") and one audit entry, in the
  caller's transaction: no per-row ORM flush and no per-row audit entry.
- Between preview and confirm the checked file waits in `app.services.staging` (bound to the
  user, taken once: a double confirm writes once).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import xlsxwriter
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.services import faculty, fields, review, vocabulary
from models.faculty import ACTIVE, FacultyProfile
from models.org import CITY, PROVINCE, Org
from models.review import APPROVED
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from reports.imports import (
    CODE,
    PHONE,
    TEXT,
    ImportField,
    ImportRefused,
    ImportSpec,
    RowError,
    read_xlsx,
)
from reports.xlsx import Column, write_table

MAX_ROWS = 10_000  # a larger list is split; 5,000 rows check and write in about a second
MAX_BYTES = 10 * 1024 * 1024
ERROR_HEADER = "错误说明"
PREVIEW_ROWS = 20
CHUNK = 500  # values per IN (...) when looking up duplicates in the pool

# key, template header, other accepted headers, required, kind, max length, column width, note
FIELDS = (
    ("name", "姓名", (), True, TEXT, 64, 10, "必填"),
    ("gender", "性别", (), False, TEXT, 8, 6, "男/女；可不填（按身份证号）"),
    ("birth_year", "出生年份", ("出生年",), False, TEXT, 8, 9, "如 1980；可不填（按身份证号）"),
    (
        "id_number",
        "身份证号",
        ("身份证号码", "公民身份号码", "居民身份证号"),
        True,
        CODE,
        32,
        21,
        "必填，18 位，以文本填写（勿用数字格式）",
    ),
    ("mobile", "手机号", ("手机", "手机号码"), True, PHONE, 20, 13, "必填，11 位大陆手机号"),
    ("email", "邮箱", ("电子邮箱", "电子邮件"), False, TEXT, 128, 20, ""),
    (
        "province",
        "省份",
        ("省", "所在省份"),
        True,
        TEXT,
        64,
        10,
        "必填，名称或区划代码，如 广东省 或 440000",
    ),
    ("city", "城市", ("地市", "所在城市"), False, TEXT, 64, 10, "可不填（属省级）；须属于所填省份"),
    ("employer", "工作单位", ("单位",), False, TEXT, 128, 24, ""),
    ("level", "级别", ("讲师级别",), True, TEXT, 64, 10, "必填，如 讲师、培训师"),
    ("certificate_no", "证书编号", (), False, TEXT, 64, 16, "填发证日期或有效期时必填"),
    ("certificate_date", "发证日期", (), False, TEXT, 32, 12, "如 2024-05-01"),
    (
        "certificate_expiry",
        "证书有效期至",
        ("有效期至", "证书有效期"),
        False,
        TEXT,
        32,
        13,
        "如 2027-05-01，须晚于发证日期",
    ),
    (
        "course_types",
        "可授课程类型",
        ("课程类型", "授课课程类型"),
        False,
        TEXT,
        255,
        18,
        "可填多个，用顿号分隔，如 GYB、SYB",
    ),
    (
        "languages",
        "授课语言/方言",
        ("授课语言", "语言/方言"),
        False,
        TEXT,
        128,
        14,
        "如 普通话、粤语",
    ),
    ("years_experience", "从业年限", (), False, TEXT, 8, 9, "整数，0–70"),
    ("biography", "个人简介", ("简介",), False, TEXT, 2000, 40, "不超过 2000 字"),
)
SPEC = ImportSpec(
    fields=tuple(
        ImportField(
            key,
            (header, *aliases),
            required=required,
            kind=kind,
            max_length=length,
            squash_spaces=key in ("name", "gender", "province", "city"),
        )
        for key, header, aliases, required, kind, length, _w, _n in FIELDS
    ),
    max_rows=MAX_ROWS,
    max_bytes=MAX_BYTES,
)
EXAMPLE = (
    "张三",
    "男",
    "1980",
    "11010119800101007X",
    "13800138000",
    "zhangsan@example.cn",
    "北京市",
    "东城区",
    "某某大学创业学院",
    "讲师",
    "GYB-2024-0001",
    "2024-05-01",
    "2027-05-01",
    "GYB、SYB",
    "普通话",
    "10",
    "从事创业培训十年。",
)

LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


# ---------------------------------------------------------------- the template


def template_xlsx() -> bytes:
    """The empty template: every column text-formatted (an 18-digit ID stays exact), a note on
    each header, drop-downs for gender, province and level, and an instructions sheet holding
    one example row (kept off the data sheet so that it is never imported)."""
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
    sheet = book.add_worksheet("师资信息")
    for c, (_k, header, _a, req, _kind, _len, width, note) in enumerate(FIELDS):
        sheet.set_column(c, c, width, text)
        sheet.write_string(0, c, header, required if req else head)
        if note:
            sheet.write_comment(0, c, note, {"x_scale": 1.6})
    sheet.freeze_panes(1, 0)
    options = book.add_worksheet("选项")
    lists = {
        "gender": ["男", "女"],
        "province": [o.name for o in _orgs(PROVINCE)],
        "level": [label for _c, label in vocabulary.choices(TRAINER_LEVEL)],
    }
    keys = [f[0] for f in FIELDS]
    for c, (key, values) in enumerate(lists.items()):
        for r, value in enumerate(values):
            options.write_string(r, c, value)
        if values:
            col = keys.index(key)
            letter = chr(ord("A") + c)
            sheet.data_validation(
                1,
                col,
                MAX_ROWS,
                col,
                {
                    "validate": "list",
                    "source": f"='选项'!${letter}$1:${letter}${len(values)}",
                    "error_type": "warning",
                    "error_title": "请从列表选择",
                    "error_message": "不在列表中的值导入时会被拒绝。",
                },
            )
    options.hide()
    guide = book.add_worksheet("填写说明")
    guide.set_column(0, len(FIELDS), 16, text)
    guide.write_string(
        0,
        0,
        "填写说明：在“师资信息”表第 2 行起每行填一名讲师；橙色列为必填；"
        "所有列均为文本格式，身份证号请勿改为数字格式。下行为示例（不会被导入）。",
    )
    for c, (_k, header, *_rest) in enumerate(FIELDS):
        guide.write_string(2, c, header, head)
        guide.write_string(3, c, EXAMPLE[c])
    guide.write_string(
        5,
        0,
        "可授课程类型："
        + "、".join(
            f"{code}（{label}）" if label != code else code
            for code, label in vocabulary.choices(COURSE_TYPE)
        ),
    )
    book.close()
    return buffer.getvalue()


# ---------------------------------------------------------------- checking


@dataclass
class Checked:
    """A checked file: the rows ready to insert (when there is no error) and every error."""

    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0  # data rows read
    sheet: str = ""
    header_row: int = 0


class _Lookups:
    """Everything the row checks need, read once per file."""

    def __init__(self, today: date):
        self.provinces: dict[str, Org] = {}
        self.cities: dict[int, dict[str, Org]] = {}
        for org in _orgs(PROVINCE):
            for key in (org.code, org.name, _short(org.name)):
                self.provinces.setdefault(key, org)
        for org in _orgs(CITY):
            by = self.cities.setdefault(org.province_id, {})
            for key in (org.code, org.name, org.name.removesuffix("市")):
                by.setdefault(key, org)
        self.levels = _vocabulary(TRAINER_LEVEL)
        self.course_types = _vocabulary(COURSE_TYPE)
        self.level_labels = vocabulary.labels(TRAINER_LEVEL)
        self.spec = faculty.profile_fields(today)


def _orgs(kind: str) -> list[Org]:
    return list(
        db.session.scalars(
            select(Org).where(Org.kind == kind, Org.active.is_(True)).order_by(Org.code)
        )
    )


def _short(name: str) -> str:
    for suffix in PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _vocabulary(kind: str) -> dict[str, str]:
    """Accepted spellings → code: the code (any case), the label, the label before its "（"."""
    out = {}
    for code, label in vocabulary.choices(kind):
        label = _key(label)
        for key in (code.upper(), label, re.split(r"[(（]", label)[0]):
            out.setdefault(key, code)
    return out


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").upper()


def check(data: bytes, today: date) -> Checked:
    """Read and check a whole file (raises ImportRefused for a refused file)."""
    result = read_xlsx(data, SPEC)
    missing = [header for key, header, *_r in FIELDS if key not in result.columns]
    if missing:
        raise ImportRefused(
            _(
                "The file lacks the column(s) %(cols)s. Download the template and "
                "copy the data into it.",
                cols="、".join(missing),
            )
        )
    if not result.rows:
        raise ImportRefused(_("The file has no data rows below the header."))
    lookups = _Lookups(today)
    bad_cells = {(e.row, e.column) for e in result.errors}
    seen_ids: dict[str, int] = {}
    seen_mobiles: dict[str, int] = {}
    checked = []
    for raw in result.rows:

        def error(key, message, raw=raw):
            result.error(raw, key, message)

        def value(key, raw=raw):  # a cell the reader already refused is not checked again
            return None if (raw["_row"], result.columns[key]) in bad_cells else raw.get(key)

        skip = {k for k, col in result.columns.items() if (raw["_row"], col) in bad_cells}
        row = _check_row(raw, value, error, lookups, today, skip)
        for key, seen in (("id_number", seen_ids), ("mobile", seen_mobiles)):
            if row.get(key):
                first = seen.setdefault(row[key], raw["_row"])
                if first != raw["_row"]:
                    error(key, _("%(v)s already appears in row %(r)d.", v=row[key], r=first))
        checked.append(row)
    _check_pool(checked, result)
    out = Checked(
        errors=sorted(result.errors, key=lambda e: (e.row, e.column)),
        total=len(result.rows),
        sheet=result.sheet,
        header_row=result.header_row,
    )
    if not out.errors:
        out.rows = checked
    return out


def _check_row(raw, value, error, lk: _Lookups, today: date, skip) -> dict:
    """One row: the profile's field rules and the rules between fields (the form's, with the
    same messages: `app.services.faculty.profile_fields`), then the region, level and course
    types spelled as people write them (names or codes, looked up in batch)."""
    values, errors = fields.clean(lk.spec, raw, skip=skip)
    errors += faculty.derived_errors(values, today)
    for key, message in errors:
        error(key, message)
    row = {"_row": raw["_row"], **values}
    row["org_id"] = _region(value("province"), value("city"), lk, error)
    level = value("level")
    row["level"] = lk.levels.get(_key(level)) if level else None
    if level and row["level"] is None:
        error(
            "level",
            _(
                "Unknown level %(v)s. Use one of: %(known)s",
                v=level,
                known="、".join(lk.level_labels[c] for c in dict.fromkeys(lk.levels.values())),
            ),
        )
    row["course_types"] = _course_types(value("course_types"), lk, error)
    return row


def _region(province_text, city_text, lk: _Lookups, error) -> int | None:
    if not province_text:
        return None
    province = lk.provinces.get(province_text) or lk.provinces.get(_short(province_text))
    if province is None:
        error(
            "province",
            _(
                "Unknown province %(v)s: use its name or code, e.g. 广东省 or 440000.",
                v=province_text,
            ),
        )
        return None
    if not city_text or city_text in (province.name, province.code, _short(province.name)):
        return province.id
    cities = lk.cities.get(province.id, {})
    city = cities.get(city_text) or cities.get(city_text.removesuffix("市"))
    if city is None:
        error(
            "city",
            _("%(city)s is not a city of %(province)s.", city=city_text, province=province.name),
        )
        return None
    return city.id


def _course_types(text, lk: _Lookups, error) -> str | None:
    if not text:
        return None
    codes, unknown = [], []
    for word in filter(None, LIST_SEPARATORS.split(text)):
        code = lk.course_types.get(_key(word))
        (codes if code else unknown).append(code or word)
    if unknown:
        error(
            "course_types",
            _(
                "Unknown course type(s) %(v)s. Use: %(known)s",
                v="、".join(unknown),
                known="、".join(dict.fromkeys(lk.course_types.values())),
            ),
        )
        return None
    return " ".join(dict.fromkeys(codes)) or None


def _check_pool(rows: list[dict], result) -> None:
    """ID numbers and mobiles already in the pool (any profile, drafts included): a few queries."""
    for key, column in (("id_number", FacultyProfile.id_number), ("mobile", FacultyProfile.mobile)):
        wanted = {r[key]: r for r in rows if r.get(key)}
        values = list(wanted)
        for start in range(0, len(values), CHUNK):
            query = select(column, FacultyProfile.name).where(
                column.in_(values[start : start + CHUNK])
            )
            for found, name in db.session.execute(query):
                result.error(
                    wanted[found],
                    key,
                    _("%(v)s is already in the faculty pool (%(name)s).", v=found, name=name),
                )


def preview_rows(checked: Checked, limit: int = PREVIEW_ROWS) -> list[dict]:
    """The first rows as the center will read them (labels; region as 省·市)."""
    levels, courses = vocabulary.labels(TRAINER_LEVEL), vocabulary.labels(COURSE_TYPE)
    rows = checked.rows[:limit]
    orgs = (
        {
            o.id: o
            for o in db.session.scalars(select(Org).where(Org.id.in_({r["org_id"] for r in rows})))
        }
        if rows
        else {}
    )
    provinces = (
        dict(
            db.session.execute(
                select(Org.id, Org.name).where(
                    Org.id.in_({o.province_id for o in orgs.values() if o.province_id})
                )
            ).all()
        )
        if orgs
        else {}
    )

    def region(org):
        return "·".join(filter(None, (provinces.get(org.province_id), org.name)))

    return [
        {
            **r,
            "region": region(orgs[r["org_id"]]),
            "level_label": levels.get(r["level"], r["level"] or ""),
            "course_labels": "、".join(
                courses.get(c, c) for c in (r["course_types"] or "").split()
            ),
        }
        for r in rows
    ]


# ---------------------------------------------------------------- writing


def create_profiles(rows: list[dict], actor, now: datetime, filename: str) -> int:
    """Insert checked rows as approved profiles entered by the center, in the caller's
    transaction (commit or roll back there): three bulk INSERTs and one audit entry."""
    values = [
        {k: v for k, v in r.items() if k != "_row"}
        | {
            "status": APPROVED,
            "step": None,
            "revision": 1,
            "in_force_revision": 1,
            "version": 1,
            "submitted_at": now,
            "submitted_by_id": actor.id,
            "created_at": now,
            "created_by_id": actor.id,
            "service_status": ACTIVE,
        }
        for r in rows
    ]
    # Core INSERTs without RETURNING: the driver's own executemany. (The ORM's bulk path costs
    # twice as much per row; RETURNING makes SQLAlchemy inline every row's 30 parameters into one
    # statement, which psycopg then re-parses in Python: ~8 s for 5,000 rows on PostgreSQL.)
    db.session.execute(FacultyProfile.__table__.insert(), values)
    ids = _ids_by_id_number([v["id_number"] for v in values])
    opinion = _("Bulk import: %(file)s", file=filename)[:500]
    review.bulk_enter(faculty.FACULTY, list(zip(ids, values, strict=True)), actor, now, opinion)
    audit.record_import(db.session, "FacultyProfile", len(ids), filename=filename, now=now)
    return len(ids)


def _ids_by_id_number(numbers: list[str]) -> list[int]:
    """The new rows' ids, in the order of ``numbers`` (the ID number is unique)."""
    found = {}
    for start in range(0, len(numbers), CHUNK):
        found.update(
            db.session.execute(
                select(FacultyProfile.id_number, FacultyProfile.id).where(
                    FacultyProfile.id_number.in_(numbers[start : start + CHUNK])
                )
            ).all()
        )
    return [found[n] for n in numbers]


# ---------------------------------------------------------------- the error file


def error_workbook(data: bytes, errors: list[RowError], sheet: str, header_row: int) -> bytes:
    """The uploaded file back, unchanged but for a 错误说明 column (reused if the file already
    has one from an earlier round) holding every message of each row, those rows highlighted."""
    try:
        book = load_workbook(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - a file only calamine can read: a list of the errors instead
        return write_table(
            [Column(_("Row"), 8), Column(_("Column"), 8), Column(ERROR_HEADER, 80)],
            ([e.row, e.header, e.message] for e in errors),
            sheet="错误说明",
        )
    ws = book[sheet] if sheet in book.sheetnames else book.worksheets[0]
    column = next((c.column for c in ws[header_row] if c.value == ERROR_HEADER), None)
    if column is None:
        column = ws.max_column + 1
    else:
        for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=column, max_col=column):
            cell.value = None
    by_row: dict[int, list[str]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(f"{e.header}：{e.message}" if e.header else e.message)
    head = ws.cell(header_row, column, ERROR_HEADER)
    head.font = Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="FFE0E0")
    for row, messages in by_row.items():
        cell = ws.cell(row, column, "；".join(messages))
        cell.number_format, cell.fill = "@", fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions[head.column_letter].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
