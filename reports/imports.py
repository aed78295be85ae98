"""The one way we read spreadsheets: xlsx bytes → validated rows, or errors naming row and column.

Every import (liaison rosters, the faculty pool, trainee lists) declares an `ImportSpec` — its
columns as data — and calls `read_xlsx`. The file is checked *before* any parser sees it: size,
that it is a zip holding a workbook, and the zip's declared uncompressed sizes and ratios (a zip
bomb is a few KB that inflate to gigabytes). Then it copes with what real officials send:

- title rows (and a "省份：…" line) above the header: the header is the first row of the first
  rows that names enough of the spec's columns, on whichever sheet has one (any sheet name);
- merged cells: every cell of a merged range reads as its top-left value;
- full-width letters, digits and spaces (NFKC), leading/trailing blanks, empty rows;
- numbers: every cell is read as text (PITFALLS): a phone typed as a number (13800138000.0)
  comes back as "13800138000"; text keeps its leading zeros. A CODE column (an ID number) typed
  as a number of more than 15 digits has already lost its last digits: that cell is an error.

calamine reads here (it exposes merged ranges too): ~20x faster than openpyxl, which took 2.3 s
for the 5,000 rows × 17 columns of a faculty import (PITFALLS: 1.7 s vs 7.7 s at 100k rows).
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.cell import range_boundaries
from python_calamine import CalamineWorkbook, SheetTypeEnum

from app.services import fields as field_rules
from app.services.errors import InvalidValue

MAX_BYTES = 2 * 1024 * 1024  # a roster of a few hundred rows is ~30 KB
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100  # deflate of worksheet XML reaches ~10-20; bombs reach 1000+
MAX_MEMBERS = 200
# Every cell of a merged range is filled in (and openpyxl, writing an error file back, makes one
# object per cell): a 5 KB file merging A3:XFD1048576 would take the worker down. Title rows merge a few dozen cells; this is far above any real sheet.
MAX_MERGED_CELLS = 100_000
MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]{1,3}\d+(?::[A-Z]{1,3}\d+)?)"')
# The parser (calamine) allocates the whole rectangle up to the farthest cell: a 5 KB file with
# one cell at XFD1048576 makes it abort the process (Rust out-of-memory). Refused before parsing.
MAX_GRID_CELLS = 2_000_000
# A cell's r="B12" (a row's r has no letters), any spacing or quotes; loose on purpose (an
# attribute merely ending in "r" only makes the bound larger) and fast (a literal "r" to seek).
CELL_REF = re.compile(rb'r\s*=\s*["\']\s*([A-Z]{1,3})(\d+)')
ROW_REF = re.compile(rb'row\b[^>]*?\sr\s*=\s*["\']\s*(\d+)')
HEADER_SCAN_ROWS = 15
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")

TEXT, PHONE, CODE = "text", "phone", "code"
EXACT_DIGITS = 15  # a spreadsheet number (IEEE double) keeps 15 significant digits


class ImportRefused(InvalidValue):
    """The whole file is refused (not xlsx, too large, a zip bomb, no header); message for the user.
    Its field is the upload's (``file``)."""

    def __init__(self, message, field: str | None = "file"):
        super().__init__(message, field=field)


@dataclass(frozen=True)
class ImportField:
    key: str
    headers: tuple[str, ...]  # accepted header texts, compared after normalising
    required: bool = False
    kind: str = TEXT  # PHONE: blanks removed and a numeric cell read as its digits;
    # CODE: a numeric cell of more than EXACT_DIGITS digits is refused (its digits are lost)
    max_length: int = 128
    squash_spaces: bool = False  # remove inner blanks too (names: "张　三" → "张三")
    is_data: bool = True  # False: a row holding only this (a pre-numbered 序号) is an empty row


@dataclass(frozen=True)
class ImportSpec:
    fields: tuple[ImportField, ...]
    max_rows: int = 2000
    max_bytes: int = MAX_BYTES
    # Forms filled in by hand (Annex 2): rows hidden in the sheet are not read, and a line of
    # notes under the table ("注：…", "填表人：…", a line merged across the columns) ends it.
    # Both are reported in `ImportResult.skipped`, never silently dropped.
    hand_filled: bool = False

    def header_of(self, key: str) -> str:
        return next(f.headers[0] for f in self.fields if f.key == key)


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (1-based, as Excel shows it)
    column: str  # the column letter ("" for a file-level error)
    header: str
    message: str

    def __str__(self) -> str:
        if not self.column:
            return _("Row %(row)d: %(message)s", row=self.row, message=self.message)
        return _(
            "Row %(row)d, column %(col)s (%(header)s): %(message)s",
            row=self.row,
            col=self.column,
            header=self.header,
            message=self.message,
        )


@dataclass
class ImportResult:
    rows: list[dict] = field(default_factory=list)  # {"_row": n, key: text or None, ...}
    errors: list[RowError] = field(default_factory=list)
    sheet: str = ""
    columns: dict = field(default_factory=dict)  # key -> column letter
    header_row: int = 0  # the header's row number (1-based), for writing the file back
    above: list = field(default_factory=list)  # the texts of the rows above the header
    skipped: list = field(default_factory=list)  # (row number, why) rows not read (hand_filled)

    def error(self, row: dict | int, key: str, message: str) -> None:
        """Record an error at a row (dict from `rows`, or a row number) and a spec field."""
        number = row["_row"] if isinstance(row, dict) else row
        self.errors.append(
            RowError(number, self.columns.get(key, ""), self._headers.get(key, key), message)
        )

    _headers: dict = field(default_factory=dict)


def normalise(value) -> str:
    """Full-width → half-width (NFKC turns the ideographic space into a space), trimmed."""
    text = unicodedata.normalize("NFKC", value) if isinstance(value, str) else str(value)
    return text.strip()


def cell_text(value, kind: str = TEXT) -> str | None:
    """A cell as the text the person typed. Numbers lose Excel's float noise (138….0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime):
        text = (
            value.strftime("%Y-%m-%d %H:%M")
            if value.time() != datetime.min.time()
            else value.strftime("%Y-%m-%d")
        )
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = normalise(value)
    if kind == PHONE:
        text = re.sub(r"\s+", "", text)
    return text or None


def check_file(data: bytes, max_bytes: int = MAX_BYTES) -> None:
    """Refuse, before parsing, anything that is not a reasonable xlsx."""
    if not data:
        raise ImportRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise ImportRefused(_("The file is larger than %(mb).1f MB.", mb=max_bytes / 1024 / 1024))
    if not data.startswith(b"PK\x03\x04"):
        raise ImportRefused(_("The file is not an Excel workbook (.xlsx)."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ImportRefused(_("The file is not an Excel workbook (.xlsx).")) from exc
    names = {m.filename for m in members}
    if not all(part in names for part in REQUIRED_PARTS):
        raise ImportRefused(_("The file is not an Excel workbook (.xlsx)."))
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(_("The workbook is malformed (too many parts)."))
    total = sum(m.file_size for m in members)
    worst = max((m.file_size / max(m.compress_size, 1) for m in members), default=0)
    if total > MAX_UNCOMPRESSED or worst > MAX_RATIO:
        raise ImportRefused(_("The workbook expands to an unreasonable size and is refused."))
    # Every XML part, not only xl/worksheets/: the workbook's relations may put a sheet anywhere.
    merged, grid = 0, 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for m in members:
            if m.filename.endswith(".xml"):
                xml = archive.read(m)
                merged += _merged_cells(xml)
                grid = max(grid, _grid_cells(xml))
    if merged > MAX_MERGED_CELLS or grid > MAX_GRID_CELLS:
        raise ImportRefused(_("The workbook expands to an unreasonable size and is refused."))


def _merged_cells(sheet_xml: bytes) -> int:
    """How many cells the merged ranges of one worksheet cover."""
    total = 0
    for ref in MERGE_REF.findall(sheet_xml):
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
        total += (max_col - min_col + 1) * (max_row - min_row + 1)
    return total


def _grid_cells(sheet_xml: bytes) -> int:
    """The rectangle a parser allocates for one worksheet: up to its farthest row and column.
    Cells and rows without a reference take the next position, so their counts bound it too
    (counted loosely, e.g. "<col" as a cell: the bound only grows)."""
    if b"sheetData" not in sheet_xml:
        return 0
    cells = CELL_REF.findall(sheet_xml)
    max_row = max((int(r) for r in ROW_REF.findall(sheet_xml)), default=0)
    max_row = max(
        max_row,
        max((int(r) for _c, r in cells), default=0),
        sheet_xml.count(b"<row") + sheet_xml.count(b":row"),
    )
    max_col = max((column_index_from_string(c.decode()) for c in {c for c, _r in cells}), default=0)
    max_col = max(max_col, sheet_xml.count(b"<c") + sheet_xml.count(b":c") - len(cells))
    return max_row * max_col


def _header_key(text: str) -> str:
    return re.sub(r"[\s:：*＊()（）]", "", normalise(text))


def _find_header(grid: list[list], spec: ImportSpec) -> tuple[int, dict] | None:
    """The first row naming at least half the spec's columns (and every required one)."""
    needed = max(2, (len(spec.fields) + 1) // 2)
    required = {f.key for f in spec.fields if f.required}
    for r, found in _header_candidates(grid, spec):
        if len(found) >= needed and required <= set(found):
            return r, found
    return None


def _header_candidates(grid: list[list], spec: ImportSpec):
    """(row index, {key: column index}) for each of the first rows, by the headers it names."""
    wanted = {_header_key(h): f.key for f in spec.fields for h in f.headers}
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        found = {}
        for c, value in enumerate(row):
            key = wanted.get(_header_key(value)) if isinstance(value, str) else None
            if key and key not in found:
                found[key] = c
        yield r, found


def _missing_columns(grids, spec: ImportSpec) -> str | None:
    """For the refusal message: the required headers missing from the best header-like row
    (one naming at least two of the spec's columns), or None when no row looks like a header."""
    best = None
    for _title, grid in grids:
        for r, found in _header_candidates(grid, spec):
            if len(found) >= 2 and (best is None or len(found) > len(best[1])):
                best = (r, found)
    if best is None:
        return None
    missing = [f.headers[0] for f in spec.fields if f.required and f.key not in best[1]]
    return (
        _(
            "Row %(row)d looks like the header but lacks the required column(s): %(cols)s. "
            "Use the template.",
            row=best[0] + 1,
            cols="、".join(missing),
        )
        if missing
        else None
    )


def load_workbook(stream) -> CalamineWorkbook:
    """The one place a workbook is parsed (tests patch it to prove refusals come before)."""
    return CalamineWorkbook.from_filelike(stream)


def _worksheets(book: CalamineWorkbook):
    """The worksheets (not chart sheets), in the workbook's order, hidden ones included."""
    for meta in book.sheets_metadata:
        if meta.typ == SheetTypeEnum.WorkSheet:
            yield book.get_sheet_by_name(meta.name)


def _grid(sheet) -> list[list]:
    """The sheet's values from A1 (empty cells None) with every merged range filled from its
    top-left cell."""
    grid = [[None if v == "" else v for v in row] for row in sheet.to_python(skip_empty_area=False)]
    for (top_row, left), (bottom, right) in sheet.merged_cell_ranges or ():
        top = grid[top_row][left] if top_row < len(grid) and left < len(grid[top_row]) else None
        for r in range(top_row, min(bottom + 1, len(grid))):
            for c in range(left, min(right + 1, len(grid[r]))):
                grid[r][c] = top
    return grid


def read_xlsx(data: bytes, spec: ImportSpec) -> ImportResult:
    """Checked file → rows of text keyed by the spec's fields, plus per-cell errors
    (required, length). Domain validation adds its own errors through `ImportResult.error`."""
    check_file(data, spec.max_bytes)
    try:
        book = load_workbook(io.BytesIO(data))
        grids = [(sheet.name, _grid(sheet)) for sheet in _worksheets(book)]
    except Exception as exc:  # the parser raises many kinds for a damaged file
        raise ImportRefused(
            _("The workbook could not be read: %(e)s", e=type(exc).__name__)
        ) from exc
    hidden = _hidden_rows(data) if spec.hand_filled else {}
    for title, grid in grids:
        header = _find_header(grid, spec)
        if header is not None:
            return _rows(grid, header, spec, title, hidden.get(title, set()))
    missing = _missing_columns(grids, spec)
    raise ImportRefused(
        missing
        or _(
            "No header row found. Expected columns: %(cols)s",
            cols="、".join(f.headers[0] for f in spec.fields),
        )
    )


# A line under the table that is not a person: a note, the person who filled the form, a date.
NOTE_LINE = re.compile(r"^(注|说明|备注|附注|填表|填报|制表|联系人|审核|负责人|单位盖章|盖章|日期)")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")


def _attr(attrs: bytes, name: bytes) -> str | None:
    m = re.search(rb"(?:^|\s)" + name + rb'\s*=\s*["\']([^"\']*)["\']', attrs)
    return m.group(1).decode("utf-8", "replace") if m else None


def _hidden_rows(data: bytes) -> dict[str, set[int]]:
    """{sheet name: row numbers hidden in it} (calamine does not say which rows are hidden)."""
    out: dict[str, set[int]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            rels = {}
            if "xl/_rels/workbook.xml.rels" in names:
                for attrs in _REL_TAG.findall(archive.read("xl/_rels/workbook.xml.rels")):
                    target = _attr(attrs, b"Target") or ""
                    target = target.lstrip("/") if target.startswith("/") else "xl/" + target
                    rels[_attr(attrs, b"Id")] = target
            for attrs in _SHEET_TAG.findall(archive.read("xl/workbook.xml")):
                name, rid = _attr(attrs, b"name"), _attr(attrs, b"r:id")
                part = rels.get(rid)
                if not name or part not in names:
                    continue
                hidden = set()
                for row in _ROW_TAG.findall(archive.read(part)):
                    if _attr(row, b"hidden") in ("1", "true") and _attr(row, b"r"):
                        hidden.add(int(_attr(row, b"r")))
                out[name] = hidden
    except (zipfile.BadZipFile, KeyError, ValueError):
        return {}
    return out


def _is_note_line(row: list) -> bool:
    """A line of notes under the table: starts like a note, or one text merged across."""
    texts = [normalise(v) for v in row if v is not None and normalise(str(v))]
    if not texts:
        return False
    return bool(NOTE_LINE.match(texts[0])) or (len(texts) >= 3 and len(set(texts)) == 1)


def _rows(grid, header, spec: ImportSpec, title: str, hidden=frozenset()) -> ImportResult:
    header_row, found = header
    result = ImportResult(sheet=title)
    result.above = [
        " ".join(dict.fromkeys(normalise(str(v)) for v in row if v is not None))
        for row in grid[:header_row]
    ]
    result.columns = {key: get_column_letter(c + 1) for key, c in found.items()}
    result._headers = {f.key: f.headers[0] for f in spec.fields}
    result.header_row = header_row + 1
    fields = [f for f in spec.fields if f.key in found]
    data_rows = [(r, row) for r, row in enumerate(grid[header_row + 1 :], start=header_row + 2)]
    kept = 0
    ended = False  # a note line was met: the table is over
    for number, row in data_rows:
        if spec.hand_filled and any(v is not None for v in row):
            if number in hidden:
                result.skipped.append((number, _("hidden row, not read")))
                continue
            if ended or _is_note_line(row):
                ended = True
                result.skipped.append((number, _("note below the table, not read")))
                continue
        values = {"_row": number}
        lost = []  # CODE cells typed as too long a number
        for f in fields:
            c = found[f.key]
            raw = row[c] if c < len(row) else None
            if f.kind == CODE and _lost_digits(raw):
                lost.append(f.key)
                raw = f"{raw:.5E}"  # as a spreadsheet shows it (1.10101E+17), never as digits
            text = cell_text(raw, f.kind)
            if text and f.squash_spaces:
                text = re.sub(r"\s+", "", text)
            values[f.key] = text
            if spec.hand_filled and isinstance(raw, str) and text and raw.strip() != text:
                values.setdefault("_typed", {})[f.key] = raw.strip()  # as typed, for the preview
        if all(values[f.key] is None for f in fields if f.is_data):
            continue  # an empty row (or one with a formatting leftover)
        kept += 1
        if kept > spec.max_rows:
            raise ImportRefused(_("The file has more than %(n)d rows.", n=spec.max_rows))
        for f in fields:
            if f.required and not values[f.key]:
                result.error(values, f.key, field_rules.required())
            elif values[f.key] and len(values[f.key]) > f.max_length:
                result.error(values, f.key, field_rules.too_long(f.max_length, len(values[f.key])))
        for key in lost:
            result.error(
                values,
                key,
                _(
                    "Typed as a number (%(v)s): a spreadsheet keeps only 15 digits, so the last "
                    "digits are lost. Format the column as text and type the value again.",
                    v=values[key],
                ),
            )
        result.rows.append(values)
    return result


def _lost_digits(value) -> bool:
    """A numeric cell too long for a spreadsheet number to hold exactly."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) >= 10**EXACT_DIGITS
