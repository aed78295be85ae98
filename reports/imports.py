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
  comes back as "13800138000"; text keeps its leading zeros.

openpyxl (not calamine) reads here because it exposes merged ranges; the size limit keeps it fast.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries

MAX_BYTES = 2 * 1024 * 1024  # a roster of a few hundred rows is ~30 KB
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100  # deflate of worksheet XML reaches ~10-20; bombs reach 1000+
MAX_MEMBERS = 200
# openpyxl makes one object per cell of a merged range: a 5 KB file merging A3:XFD1048576 would
# take the worker down. Title rows merge a few dozen cells; this is far above any real sheet.
MAX_MERGED_CELLS = 100_000
MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]{1,3}\d+(?::[A-Z]{1,3}\d+)?)"')
HEADER_SCAN_ROWS = 15
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")

TEXT, PHONE = "text", "phone"


class ImportRefused(ValueError):
    """The whole file is refused (not xlsx, too large, a zip bomb, no header); message for the user."""


@dataclass(frozen=True)
class ImportField:
    key: str
    headers: tuple[str, ...]  # accepted header texts, compared after normalising
    required: bool = False
    kind: str = TEXT  # PHONE: blanks removed and a numeric cell read as its digits
    max_length: int = 128
    squash_spaces: bool = False  # remove inner blanks too (names: "张　三" → "张三")
    is_data: bool = True  # False: a row holding only this (a pre-numbered 序号) is an empty row


@dataclass(frozen=True)
class ImportSpec:
    fields: tuple[ImportField, ...]
    max_rows: int = 2000
    max_bytes: int = MAX_BYTES

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
        return _("Row %(row)d, column %(col)s (%(header)s): %(message)s", row=self.row,
                 col=self.column, header=self.header, message=self.message)


@dataclass
class ImportResult:
    rows: list[dict] = field(default_factory=list)  # {"_row": n, key: text or None, ...}
    errors: list[RowError] = field(default_factory=list)
    sheet: str = ""
    columns: dict = field(default_factory=dict)  # key -> column letter

    def error(self, row: dict | int, key: str, message: str) -> None:
        """Record an error at a row (dict from `rows`, or a row number) and a spec field."""
        number = row["_row"] if isinstance(row, dict) else row
        self.errors.append(RowError(number, self.columns.get(key, ""), self._headers.get(key, key),
                                    message))

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
        text = value.strftime("%Y-%m-%d %H:%M") if value.time() != datetime.min.time() \
            else value.strftime("%Y-%m-%d")
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
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        merged = sum(_merged_cells(archive.read(m)) for m in members
                     if m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml"))
    if merged > MAX_MERGED_CELLS:
        raise ImportRefused(_("The workbook expands to an unreasonable size and is refused."))


def _merged_cells(sheet_xml: bytes) -> int:
    """How many cells the merged ranges of one worksheet cover."""
    total = 0
    for ref in MERGE_REF.findall(sheet_xml):
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
        total += (max_col - min_col + 1) * (max_row - min_row + 1)
    return total


def _header_key(text: str) -> str:
    return re.sub(r"[\s:：*＊()（）]", "", normalise(text))


def _find_header(grid: list[list], spec: ImportSpec) -> tuple[int, dict] | None:
    """The first row naming at least half the spec's columns (and every required one)."""
    wanted = {_header_key(h): f.key for f in spec.fields for h in f.headers}
    required = {f.key for f in spec.fields if f.required}
    needed = max(2, (len(spec.fields) + 1) // 2)
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        found = {}
        for c, value in enumerate(row):
            key = wanted.get(_header_key(value)) if isinstance(value, str) else None
            if key and key not in found:
                found[key] = c
        if len(found) >= needed and required <= set(found):
            return r, found
    return None


def _grid(sheet) -> list[list]:
    """The sheet's values with every merged range filled from its top-left cell."""
    grid = [list(row) for row in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
    for merged in sheet.merged_cells.ranges:
        top = grid[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(grid) else None
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, merged.max_col):
                if c < len(grid[r]):
                    grid[r][c] = top
    return grid


def read_xlsx(data: bytes, spec: ImportSpec) -> ImportResult:
    """Checked file → rows of text keyed by the spec's fields, plus per-cell errors
    (required, length). Domain validation adds its own errors through `ImportResult.error`."""
    check_file(data, spec.max_bytes)
    try:
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRefused(_("The workbook could not be read: %(e)s", e=type(exc).__name__)) from exc
    try:
        for sheet in book.worksheets:
            grid = _grid(sheet)
            header = _find_header(grid, spec)
            if header is not None:
                return _rows(grid, header, spec, sheet.title)
    finally:
        book.close()
    raise ImportRefused(_("No header row found. Expected columns: %(cols)s",
                          cols="、".join(f.headers[0] for f in spec.fields)))


def _rows(grid, header, spec: ImportSpec, title: str) -> ImportResult:
    header_row, found = header
    result = ImportResult(sheet=title)
    result.columns = {key: get_column_letter(c + 1) for key, c in found.items()}
    result._headers = {f.key: f.headers[0] for f in spec.fields}
    fields = [f for f in spec.fields if f.key in found]
    data_rows = [(r, row) for r, row in enumerate(grid[header_row + 1:], start=header_row + 2)]
    kept = 0
    for number, row in data_rows:
        values = {"_row": number}
        for f in fields:
            c = found[f.key]
            text = cell_text(row[c] if c < len(row) else None, f.kind)
            if text and f.squash_spaces:
                text = re.sub(r"\s+", "", text)
            values[f.key] = text
        if all(values[f.key] is None for f in fields if f.is_data):
            continue  # an empty row (or one with a formatting leftover)
        kept += 1
        if kept > spec.max_rows:
            raise ImportRefused(_("The file has more than %(n)d rows.", n=spec.max_rows))
        for f in fields:
            if f.required and not values[f.key]:
                result.error(values, f.key, _("This field is required."))
            elif values[f.key] and len(values[f.key]) > f.max_length:
                result.error(values, f.key, _("At most %(n)d characters.", n=f.max_length))
        result.rows.append(values)
    return result
