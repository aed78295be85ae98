"""Issue 4 point 7: in a real Chromium, a trainer uploads a course resource with a small PDF, the
center approves it, and a city user finds it in the course library by search and opens it (the
PDF shown in the page from our own server, and downloaded under its Chinese name)."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.course import CourseResource
from tests.factories import ARTIFACTS, demo_account, sign_in_page

TITLE = "SYB市场评估示范课（浏览器测试）"
PDF_NAME = "市场评估示范课讲义.pdf"


def small_pdf() -> bytes:
    """A valid one-page PDF saying "SYB" (offsets computed, so viewers accept it)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # the content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 36 Tf 80 90 Td (SYB) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def latest(app):
    with app.app_context():
        pk = db.session.scalar(
            select(func.max(CourseResource.id)).where(CourseResource.title == TITLE)
        )
        row = db.session.get(CourseResource, pk) if pk else None
        result = (pk, row.status if row else None, row.published_at if row else None)
        db.session.remove()
    return result


def no_error(tab):
    assert tab.locator(".alert-danger").count() == 0, tab.inner_text(".alert-danger")


@pytest.mark.browser
def test_point7_trainer_uploads_center_approves_city_finds_and_opens(
    page,
    live_server,
    tmp_path,
):
    base, app = live_server.url, live_server.app
    ARTIFACTS.mkdir(exist_ok=True)
    trainer, center = demo_account(app, "trainer", "110101"), demo_account(app, "center", "000000")
    city = demo_account(app, "city", "110101")
    pdf = Path(tmp_path) / PDF_NAME
    pdf.write_bytes(small_pdf())

    # The trainer uploads from the library page, then submits for review.
    sign_in_page(page, base, trainer)
    page.goto(f"{base}/courselibrary/")
    page.click("#course-upload")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name=course_type]", "SYB")
    page.select_option("select[name=category]", "demo")
    page.fill("#model_form [name=description]", "第三单元：如何评估你的市场")
    page.fill("input[name=tags]", "市场评估,示范课")
    page.fill("input[name=author]", trainer["name"])
    page.set_input_files("input[name=upload_files]", str(pdf))
    page.click("#model_form [type=submit]")
    page.wait_for_load_state("networkidle")
    no_error(page)
    pk, status, published = latest(app)
    assert pk and status == "draft" and published is None, page.inner_text("body")[:1500]
    assert PDF_NAME in page.inner_text("#course-attachments")
    page.click("#review-form button[value=submit]")
    page.wait_for_load_state("networkidle")
    no_error(page)
    assert latest(app)[1] == "pending"
    page.screenshot(path=ARTIFACTS / "course_1_trainer_submitted.png", full_page=True)

    # Not yet in the library: the city finds nothing.
    sign_in_page(page, base, city)
    page.goto(f"{base}/courselibrary/?q=市场评估")
    assert TITLE not in page.inner_text("body")
    assert page.goto(f"{base}/courselibrary/{pk}").status == 404

    # The center approves it (it reviews a trainer's upload).
    sign_in_page(page, base, center)
    page.goto(f"{base}/courseresourceview/show/{pk}")
    page.fill("#opinion", "同意发布")
    page.click("#review-form button[value=approve]")
    page.wait_for_load_state("networkidle")
    no_error(page)
    assert latest(app)[1] == "approved" and latest(app)[2] is not None
    page.screenshot(path=ARTIFACTS / "course_2_center_approved.png", full_page=True)

    # The city searches the library, opens the resource, sees the PDF in the page, downloads it.
    # Chromium's own PDF viewer loads its parts from inside the browser (chrome://,
    # chrome-extension://): let those through; the network guard stays on for everything else.
    page.context.route(
        lambda url: url.startswith(("chrome://", "chrome-extension://")),
        lambda route: route.continue_(),
    )
    sign_in_page(page, base, city)
    page.goto(f"{base}/courselibrary/")
    page.fill("#course-search input[name=q]", "市场评估")
    page.click("#course-search button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(f"#course-rows a:has-text('{TITLE}')").count() == 1
    page.screenshot(path=ARTIFACTS / "course_3_city_search.png", full_page=True)
    page.click(f"#course-rows a:has-text('{TITLE}')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/courselibrary/{pk}")
    frame = page.locator("iframe.course-pdf")
    assert frame.count() == 1
    src = frame.get_attribute("src")
    assert src.startswith(f"/courselibrary/{pk}/view/")
    preview = page.request.get(f"{base}{src}")
    assert preview.status == 200 and preview.headers["content-type"] == "application/pdf"
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"
    page.screenshot(path=ARTIFACTS / "course_4_city_resource.png", full_page=True)
    with page.expect_download() as info:
        page.click(".course-download")
    assert info.value.suggested_filename == PDF_NAME
    page.reload()
    assert page.inner_text("#course-download-count") == "1"

    assert page.requested, "the guard saw no request: the test would prove nothing"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"
