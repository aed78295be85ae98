"""[dispatch] point 4: the PDF layout of `reports/pdf.py` — template markers, glyph check, and a
built PDF whose text (pypdf) holds every Chinese line and the verification code."""

import io

import pytest
from pypdf import PdfReader

from reports import pdf

LINES = [
    "# 派遣通知书",
    "## PQ-2026-00001",
    "",
    "张三同志：",
    "    经研究，派遣您担任主讲培训师。",
    "| 项目 | 内容 |",
    "| 培训地点 | 东城区教室 |",
    ">> 部中心",
]


def test_point4_template_markers_become_blocks():
    blocks = pdf.parse(LINES)
    assert blocks[0] == ("title", "派遣通知书") and blocks[1] == ("centred", "PQ-2026-00001")
    assert ("table", [["项目", "内容"], ["培训地点", "东城区教室"]]) in blocks
    assert blocks[-1] == ("right", "部中心")


@pytest.fixture(scope="module")
def cjk():
    path = pdf.find_font(None)
    if path is None:
        pytest.fail("no CJK font: apt-get install fonts-wqy-microhei")
    return pdf.load_font(path)


def test_point4_missing_glyphs_are_named(cjk):
    assert pdf.missing_glyphs(cjk, "派遣 通知书") == []
    assert pdf.missing_glyphs(cjk, "派\U00020000遣\U00020000") == ["\U00020000"]


def test_point4_built_pdf_embeds_the_font_and_holds_the_text(cjk):
    body = pdf.build(pdf.Document(LINES, "http://x/verify/ABC", "ABC", "部中心", "派遣通知书"), cjk)
    reader = PdfReader(io.BytesIO(body))
    text = "".join(reader.pages[0].extract_text().split())
    for expected in (
        "派遣通知书",
        "张三同志：",
        "经研究，派遣您担任主讲培训师。",
        "东城区教室",
        "验证码：ABC",
    ):
        assert expected in text
    assert b"/FontFile2" in body  # the TrueType font is embedded, not referenced
