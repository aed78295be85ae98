"""Issue 6 point 7 (browser): in Chromium, a province uploads its Annex-2 roster, the center
approves it and downloads the account sheet once, and a new liaison signs in with the initial
password and is forced to change it before anything else."""

import io
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from models.roster import Roster
from tests.factories import (
    ARTIFACTS,
    annex2_corpus,
    build_xlsx,
    demo_account,
    sign_in_page,
    sign_out_page,
)

NEW_PASSWORD = "Neu#Kennwort2026"
ROWS = [
    [
        "1",
        "韩省联",
        "北京市人力资源和社会保障局",
        "处长",
        "010-65000000转1",
        "13700009001",
        None,
        "省级",
        None,
    ],
    [],
    ["2", "杨区联", "东城区就业局", None, None, 13700009002, None, None, "东城区"],
    [
        "3",
        "　朱　机构",
        "东城新苗培训学校",
        "校长",
        None,
        "１３７００００９００３",
        None,
        None,
        "东城区",
    ],
]


@pytest.mark.browser
def test_point7_roster_upload_approval_sheet_and_forced_change_in_chromium(
    page,
    live_server,
):
    base, app = live_server.url, live_server.app
    ARTIFACTS.mkdir(exist_ok=True)

    sign_in_page(page, base, demo_account(app, "province", "110000"))
    page.goto(f"{base}/rosterview/upload")
    page.set_input_files(
        "#file",
        files=[
            {
                "name": "北京联络员.xlsx",
                "buffer": build_xlsx(ROWS, province="北京市"),
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ],
    )
    page.click("#roster-upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#roster-errors").count() == 0, page.inner_text("#roster-errors")
    assert page.locator("#roster-create tr").count() == 1 + 3
    page.screenshot(path=ARTIFACTS / "roster_1_preview.png", full_page=True)
    page.click("#roster-confirm button")
    page.wait_for_load_state("networkidle")
    with app.app_context():
        pk = db.session.scalar(select(func.max(Roster.id)))
        db.session.remove()
    assert pk is not None

    sign_in_page(page, base, demo_account(app, "center", "000000"))
    page.goto(f"{base}/rosterview/show/{pk}")
    page.click("#review-form button[value=approve]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-danger").count() == 0, page.inner_text(".alert-danger")
    with page.expect_download() as download:
        page.click("#download-sheet")
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert [r[2] for r in rows] == ["韩省联", "杨区联", "朱机构"]
    page.goto(f"{base}/rosterview/show/{pk}")
    assert page.locator("#download-sheet").count() == 0  # once only
    page.screenshot(path=ARTIFACTS / "roster_2_center_after_download.png", full_page=True)

    username, password = rows[2][0], rows[2][1]
    sign_out_page(page, base)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[name=login] [type=submit]")
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path.endswith("/password/change")
    page.goto(f"{base}/")
    assert urlsplit(page.url).path.endswith("/password/change")  # no way around it
    page.fill("input[name=old_password]", password)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=confirm]", NEW_PASSWORD)
    page.click("#password-form [type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/")
    assert urlsplit(page.url).path == "/"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"


@pytest.mark.browser
def test_issue14_messy_original_layout_preview_in_chromium(page, live_server):
    """Issue 14: Annex 2 as a province fills it by hand (no 类型, no 所属地市, full-width digits,
    +86, blank rows, notes under the table): the preview says what it inferred and why, and shows
    each normalised value beside what was typed. The screenshot is the README's."""
    base, app = live_server.url, live_server.app
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in_page(page, base, demo_account(app, "province", "440000"))
    page.goto(f"{base}/rosterview/upload")
    page.set_input_files(
        "#file",
        files=[
            {
                "name": "附件2（广东省）.xlsx",
                "buffer": annex2_corpus()["messy"],
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ],
    )
    page.click("#roster-upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "省级" in body and "→" in body, body[:2000]  # row 1 and an inference with its reason
    assert "13900002001" in body  # "+86 139 0000 2001" normalised, shown beside the original
    page.screenshot(path=ARTIFACTS / "roster_messy_original_preview.png", full_page=True)
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"
