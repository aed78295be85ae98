"""PDF documents from a text template (ReportLab): a pure function, text lines in, bytes out.

Why ReportLab: pure Python plus its own binary wheels — no Cairo/Pango/GDK system libraries as
WeasyPrint needs — and it embeds (subsets) a TrueType font, so Chinese prints with the font's
own glyphs on any reader. The font must cover every character: `missing_glyphs` says which it
does not, and the caller refuses to build a PDF of boxes.

The template language is one marker per line (the templates are app/templates/pdf/*.txt):
``# `` title, ``## `` centred line (the document number), ``| a | b |`` table row (the first
row of a block is its header), ``>> `` right-aligned line (issuer, date), a blank line a gap,
anything else a paragraph.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_NAME = "MalanCJK"
# Looked for in this order when no font is configured (Debian packages fonts-wqy-microhei,
# fonts-wqy-zenhei, fonts-arphic-uming). Noto CJK ships CFF outlines, which ReportLab cannot
# embed: it is skipped by `load_font` if listed in PDF_CJK_FONT.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class FontUnusable(Exception):
    """No usable CJK TrueType font at the given path (missing, or not TrueType outlines)."""


@dataclass(frozen=True)
class Document:
    lines: list[str]  # the rendered template
    qr_url: str  # what the QR code encodes (the public verify page)
    code: str  # the verification code, printed beside the QR code
    author: str
    title: str


def find_font(configured: str | None) -> str | None:
    """The configured font, else the first candidate present (None: none)."""
    if configured:
        return configured
    return next((path for path in FONT_CANDIDATES if os.path.isfile(path)), None)


@cache
def load_font(path: str) -> TTFont:
    """The font registered with ReportLab (once per path)."""
    if not os.path.isfile(path):
        raise FontUnusable(path)
    try:
        font = TTFont(FONT_NAME + str(abs(hash(path))), path, subfontIndex=0)
    except Exception as exc:  # CFF outlines, a broken file: ReportLab raises its own TTFError
        raise FontUnusable(path) from exc
    pdfmetrics.registerFont(font)
    return font


def missing_glyphs(font: TTFont, text: str) -> list[str]:
    """The characters of ``text`` the font draws as a box (whitespace aside), in order."""
    have = font.face.charToGlyph
    seen: dict[str, None] = {}
    for ch in text:
        if not ch.isspace() and ord(ch) not in have:
            seen[ch] = None
    return list(seen)


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def parse(lines: list[str]) -> list[tuple[str, object]]:
    """The template's lines as blocks: ("title"|"centred"|"right"|"para", text), ("gap", None),
    ("table", rows of cells). Shared by the PDF and the page's HTML preview."""
    blocks: list[tuple[str, object]] = []
    rows: list[list[str]] = []
    for raw in lines:
        line = raw.rstrip()
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
            continue
        if rows:
            blocks.append(("table", rows))
            rows = []
        if not line.strip():
            blocks.append(("gap", None))
        elif line.startswith("## "):
            blocks.append(("centred", line[3:]))
        elif line.startswith("# "):
            blocks.append(("title", line[2:]))
        elif line.startswith(">> "):
            blocks.append(("right", line[3:]))
        else:
            blocks.append(("para", line))
    if rows:
        blocks.append(("table", rows))
    return blocks


def build(doc: Document, font: TTFont) -> bytes:
    """The PDF of a rendered template: A4, the font embedded, the QR code at the end."""
    name = font.fontName
    body = ParagraphStyle("body", fontName=name, fontSize=12, leading=20, wordWrap="CJK")
    styles = {
        "para": body,
        "title": ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER),
        "centred": ParagraphStyle("centred", parent=body, alignment=TA_CENTER),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    }
    cell = ParagraphStyle("cell", parent=body, fontSize=10.5, leading=15)
    flow = []
    for kind, content in parse(doc.lines):
        if kind == "gap":
            flow.append(Spacer(1, 3 * mm))
        elif kind == "table":
            table = Table(
                [[Paragraph(escape(c), cell) for c in row] for row in content],
                repeatRows=1,
                hAlign="CENTER",
            )
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ]
                )
            )
            flow.extend([table, Spacer(1, 4 * mm)])
        else:
            # Leading spaces of a paragraph are its indent (the body's first line).
            text = escape(content).replace("    ", "&nbsp;" * 8)
            flow.append(Paragraph(text, styles[kind]))
    qr = _qr(doc.qr_url, 30 * mm)
    verify = Paragraph(
        escape(f"验证码：{doc.code}") + "<br/>" + escape(f"扫码或访问 {doc.qr_url} 查验真伪"), cell
    )
    flow.extend([Spacer(1, 8 * mm), Table([[qr, verify]], colWidths=[34 * mm, None])])

    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=doc.title,
        author=doc.author,
    ).build(flow)
    return out.getvalue()


def fixed_strings() -> str:
    """The characters `build` adds itself (checked against the font with the template's)."""
    return "验证码：扫码或访问查验真伪"
