"""The one way we write spreadsheets: safe against formula injection, streamed, Chinese headers.

PITFALLS: every default writer turns user text starting with ``=`` into a live formula, so the
workbook is opened with formulas/URLs off and such text is prefixed with an apostrophe-free
quote character ("'") that Excel shows as text.
"""

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import xlsxwriter

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Text that a spreadsheet would run as a formula is kept as plain text."""
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    header: str  # already translated
    width: int = 14
    number: bool = False


def write_table(columns: Sequence[Column], rows: Iterable[Sequence], *, sheet: str = "Sheet1",
                title: str | None = None, totals: Sequence | None = None) -> bytes:
    """Rows (in order) → xlsx bytes: frozen header, widths, numbers as numbers, optional totals.
    Written in constant_memory mode so 100k rows stay small in memory."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    title_fmt = book.add_format({"bold": True, "font_size": 14})
    text = book.add_format({"num_format": "@"})
    first = 0
    if title:
        ws.write_string(0, 0, title, title_fmt)
        first = 1
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width, None if col.number else text)
        ws.write_string(first, c, col.header, bold)
    ws.freeze_panes(first + 1, 0)
    r = first
    for r, row in enumerate(rows, start=first + 1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if columns[c].number and isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(neutralise(value if isinstance(value, str) else str(value))))
    if totals is not None:
        for c, value in enumerate(totals):
            if isinstance(value, (int, float)):
                ws.write_number(r + 1, c, value, bold)
            elif value is not None:
                ws.write_string(r + 1, c, str(value), bold)
    book.close()
    return buffer.getvalue()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def dataframe_to_xlsx(frame, columns: Sequence[Column], **kwargs) -> bytes:
    """A pandas report (scoped query → DataFrame) written the safe way."""
    rows = (list(t) for t in frame.itertuples(index=False, name=None))
    return write_table(columns, rows, **kwargs)
