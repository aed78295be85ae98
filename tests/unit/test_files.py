"""app/services/files.py, the checks that need no database: a file is judged by its content, not
by its name (issue 4 point 4, issue 5 point 1 attachments). `SAMPLES` are reused by
tests/integration/test_files.py."""

import pytest

from app.services import files
from app.services.files import FileRejected
from tests.factories import SAMPLES


@pytest.fixture()
def check(app, tmp_path):
    """Runs the content check of `store` on ``data`` claimed to be ``name``."""

    def _check(name, data):
        path = tmp_path / "upload"
        path.write_bytes(data)
        ftype = files.TYPES.get(files.extension(name))
        if ftype is None:
            raise FileRejected("not on the allowlist")
        return files._verify(path, ftype, name)

    return _check


@pytest.mark.parametrize(
    "name,sample,mime",
    [
        ("通知.pdf", "pdf", "application/pdf"),
        ("照片.PNG", "png", "image/png"),
        ("照片.jpeg", "jpg", "image/jpeg"),
        ("照片.jpg", "jpg", "image/jpeg"),
        ("动图.gif", "gif", "image/gif"),
        ("示范课.mp4", "mp4", "video/mp4"),
        ("示范课.webm", "webm", "video/webm"),
        ("旧文件.doc", "doc", "application/msword"),
        ("报名表.docx", "docx", files.TYPES["docx"].mime),
        ("名单.xlsx", "xlsx", files.TYPES["xlsx"].mime),
        ("课件.pptx", "pptx", files.TYPES["pptx"].mime),
        ("说明.txt", "txt", "text/plain; charset=utf-8"),
        ("名单.csv", "csv", "text/csv; charset=utf-8"),  # GBK in, transcoded (issue 17)
    ],
)
def test_point4_allowed_content_is_accepted(check, name, sample, mime):
    assert check(name, SAMPLES[sample]) == mime


@pytest.mark.parametrize(
    "name,sample",
    [
        ("通知.pdf", "exe"),  # a program disguised as a PDF
        ("通知.pdf", "zip"),
        ("通知.pdf", "html"),  # a page that a browser would run
        ("名单.xlsx", "zip"),  # a zip that is not a workbook
        ("名单.xlsx", "docx"),  # a Word file renamed .xlsx
        ("名单.xlsx", "pdf"),
        ("报名表.docx", "docm"),  # a macro document renamed .docx
        ("照片.png", "jpg"),
        ("照片.jpg", "exe"),
        ("示范课.mp4", "exe"),
        ("旧文件.doc", "docx"),
        ("说明.txt", "html"),
        ("说明.txt", "exe"),  # binary bytes are not text
        ("名单.csv", "png"),
    ],
)
def test_point4_disguised_content_is_refused(check, name, sample):
    with pytest.raises(FileRejected):
        check(name, SAMPLES[sample])


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "page.html",
        "logo.svg",
        "archive.zip",
        "script.js",
        "noextension",
        ".pdf",
        "macro.docm",
    ],
)
def test_point4_types_off_the_allowlist_are_refused(check, name):
    with pytest.raises(FileRejected):
        check(name, SAMPLES["pdf"])


def test_text_that_is_neither_utf8_nor_gb18030_is_refused(check):
    with pytest.raises(FileRejected):
        check("说明.txt", "中文".encode("utf-16"))


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("通知（第1号）.pdf", "通知（第1号）.pdf"),
        ("C:\\Users\\张三\\桌面\\名单.xlsx", "名单.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("report\u202eFDP.exe", "reportFDP.exe"),  # right-to-left override would show "exe.PDF"
        ("a\x00b.pdf", "ab.pdf"),
        ("  名单.xlsx  ", "名单.xlsx"),
        ("", ""),
        (None, ""),
    ],
)
def test_filenames_keep_chinese_and_lose_paths_and_invisible_characters(raw, clean):
    assert files.clean_filename(raw) == clean


def test_overlong_filenames_keep_their_extension():
    name = files.clean_filename("长" * 300 + ".pdf")
    assert len(name) <= 200 and name.endswith(".pdf")


def test_video_limit_is_larger_by_default(app):
    limits = app.config["ATTACHMENT_LIMITS"]
    assert limits["video"] > max(v for k, v in limits.items() if k != "video")
