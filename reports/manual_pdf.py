"""One role's chapter of the user manual as a printable A4 PDF (ReportLab, the CJK font embedded,
like the issued documents of `reports.pdf`): a pure function, sections in, bytes out."""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

WIDTH = A4[0] - 40 * mm  # the text frame (20 mm margins)
MAX_SHOT_HEIGHT = 150 * mm  # a full-page screenshot is scaled to fit half a page and a bit


@dataclass(frozen=True)
class Section:
    heading: str  # "第 4 步 提交开班申请"
    facts: list[str]  # "菜单：…", "期限：…"
    paragraphs: list[str]
    image: str | None  # a PNG file, or None (the placeholder line is then a paragraph)


def _image(path: str) -> Image:
    width, height = ImageReader(path).getSize()
    scale = min(WIDTH / width, MAX_SHOT_HEIGHT / height)
    return Image(path, width=width * scale, height=height * scale)


def build(
    title: str, intro: list[str], parts: list[tuple[str, list[Section]]], font: TTFont
) -> bytes:
    """The chapter: its title, the intro, then each part (步骤, 日常页面) and its sections."""
    name = font.fontName
    body = ParagraphStyle("body", fontName=name, fontSize=11, leading=18, wordWrap="CJK")
    styles = {
        "title": ParagraphStyle("t", parent=body, fontSize=20, leading=30, alignment=TA_CENTER),
        "part": ParagraphStyle("p", parent=body, fontSize=15, leading=24, spaceBefore=8),
        "heading": ParagraphStyle("h", parent=body, fontSize=12.5, leading=20, spaceBefore=6),
        "fact": ParagraphStyle("f", parent=body, fontSize=10, textColor=colors.HexColor("#555555")),
    }
    flow = [Paragraph(escape(title), styles["title"]), Spacer(1, 4 * mm)]
    flow += [Paragraph(escape(line), body) for line in intro]
    for part_title, sections in parts:
        if not sections:
            continue
        flow.append(Paragraph(escape(part_title), styles["part"]))
        for section in sections:
            head = [Paragraph(escape(section.heading), styles["heading"])]
            head += [Paragraph(escape(fact), styles["fact"]) for fact in section.facts]
            head += [Paragraph(escape(p), body) for p in section.paragraphs]
            flow.append(KeepTogether(head))
            if section.image:
                flow += [Spacer(1, 2 * mm), _image(section.image)]
            flow.append(Spacer(1, 4 * mm))
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
        author="马兰花创业培训平台",
    ).build(flow)
    return out.getvalue()
