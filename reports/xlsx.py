"""The one way we write spreadsheets: safe against formula injection, streamed, Chinese headers.

PITFALLS: every default writer turns user text starting with ``=`` into a live formula. Here the
workbook is opened with formulas/URLs/numbers conversion off, every text cell is written as a
string, and text that a spreadsheet would take for a formula (leading ``= + - @``, tab, CR) also
gets Excel's "quote prefix" style, so it stays text even when a user edits the cell. The value
itself is kept exactly, so an export read back (or re-imported) is not altered.
"""

import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from numbers import Number
from urllib.parse import quote

import xlsxwriter

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_dangerous(value) -> bool:
    """Text that a spreadsheet would run as a formula."""
    return isinstance(value, str) and value.startswith(DANGEROUS_START)


def _is_number(value) -> bool:
    # numbers.Number covers numpy's ints too; a bool is not a figure.
    return isinstance(value, Number) and not isinstance(value, bool)


def _is_blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class Column:
    header: str  # already translated
    width: int = 14
    number: bool = False


class _Writer:
    """Cell writing with the formats of one workbook."""

    def __init__(self, book):
        self.text = book.add_format({"num_format": "@"})
        self.quoted = book.add_format({"num_format": "@", "quote_prefix": True})
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.total = book.add_format({"bold": True})
        self.title = book.add_format({"bold": True, "font_size": 14})

    def cell(self, ws, r, c, value, number: bool, bold: bool = False):
        if _is_blank(value):
            return
        if number and _is_number(value):
            value = float(value) if isinstance(value, Decimal) else value
            ws.write_number(r, c, value, self.total if bold else None)
            return
        text = value if isinstance(value, str) else str(value)
        fmt = self.quoted if is_dangerous(text) else (self.total if bold else self.text)
        ws.write_string(r, c, text, fmt)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its (translated) name, columns, rows and optional totals."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence]
    title: str | None = None
    totals: Sequence | None = None
    preamble: Sequence[str] = ()
    footer: Sequence[Sequence] = ()


def _open_book(buffer):
    return xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "nan_inf_to_errors": True,
        },
    )


def _write_sheet(book, fmt: "_Writer", sheet: Sheet) -> None:
    ws = book.add_worksheet(sheet.name[:31])
    columns = sheet.columns
    first = 0
    if sheet.title:
        ws.write_string(0, 0, sheet.title, fmt.title)
        first = 1
    for line in sheet.preamble:
        fmt.cell(ws, first, 0, line, False)
        first += 1
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width, None if col.number else fmt.text)
        ws.write_string(first, c, str(col.header), fmt.header)
    ws.freeze_panes(first + 1, 0)
    r = first
    for r, row in enumerate(sheet.rows, start=first + 1):
        for c, value in enumerate(row):
            fmt.cell(ws, r, c, value, columns[c].number)
    if sheet.totals is not None:
        for c, value in enumerate(sheet.totals):
            fmt.cell(ws, r + 1, c, value, _is_number(value), bold=True)
        r += 1
    for extra in sheet.footer:
        r += 1
        for c, value in enumerate(extra):
            fmt.cell(ws, r, c, value, _is_number(value), bold=True)


def write_sheets(sheets: Iterable[Sheet]) -> bytes:
    """Several sheets (each written in order, in constant_memory mode) → xlsx bytes."""
    buffer = io.BytesIO()
    book = _open_book(buffer)
    fmt = _Writer(book)
    for sheet in sheets:
        _write_sheet(book, fmt, sheet)
    book.close()
    return buffer.getvalue()


def write_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    *,
    sheet: str = "Sheet1",  # every export names its sheet in Chinese (test_chinese_ui)
    title: str | None = None,
    totals: Sequence | None = None,
    preamble: Sequence[str] = (),
    footer: Sequence[Sequence] = (),
) -> bytes:
    """Rows (in order) → xlsx bytes: frozen header, widths, numbers as numbers, optional totals.
    An official layout adds ``preamble`` lines under the title (class code, dates …) and
    ``footer`` rows after the totals (a pass rate). Written in constant_memory mode so 100k rows
    stay small in memory."""
    return write_sheets([Sheet(sheet, columns, rows, title, totals, preamble, footer)])


def dataframe_to_xlsx(frame, columns: Sequence[Column], **kwargs) -> bytes:
    """A pandas report (scoped query → DataFrame) written the safe way; NaN/NA become blanks."""
    frame = frame.astype(object).where(frame.notna(), None)
    rows = (list(t) for t in frame.itertuples(index=False, name=None))
    return write_table(columns, rows, **kwargs)


# ------------------------------------------------------------ the name a download is saved under

# Characters no file system takes in a name (Windows' set, the strictest), and control characters.
_NOT_IN_A_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def download_name(*parts, when: date | datetime | None = None, ext: str = "xlsx") -> str:
    """The Chinese name every download is saved under: its parts (translated titles, an org's
    name, a round) joined by "-", then the date (and time) it was made: 师资库-20260302.xlsx."""
    words = [str(p).strip() for p in parts if p is not None and str(p).strip()]
    if isinstance(when, datetime):
        words.append(f"{when:%Y%m%d-%H%M%S}")
    elif isinstance(when, date):
        words.append(f"{when:%Y%m%d}")
    stem = _NOT_IN_A_NAME.sub("_", "-".join(words)).strip(" .") or "download"
    return f"{stem}.{ext}"


def content_disposition(filename: str, inline: bool = False) -> str:
    """``Content-Disposition`` for a (Chinese) name per RFC 6266/5987: ``filename*=UTF-8''…`` for
    every current browser, and a plain ASCII ``filename=`` (what is left of the name that is
    ASCII) for the rest."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "", stem).strip("._-") or "download"
    fallback = f"{ascii_stem}.{ext}" if ext else ascii_stem
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
