"""Issue 16 point 8, the user manual (第十四条): menu 帮助, one chapter per role with every
Annex-1 step (SPEC §7) of that role, the acceptance test's screenshots or a placeholder, a PDF
per role with the CJK font embedded, readable on a phone, nothing of any region's data."""

import io
import json
import re

import pytest
from pypdf import PdfReader

from app.services import manual
from security.permissions import READ, ROLE_MATRIX
from tests.factories import ORGS, USERS, tiny_png

PLACEHOLDER = "截图将由验收测试生成：make manual"

# SPEC §7: each row and the roles that act in it (row 1: the city submits its plan; the round
# it answers is opened by the center, step 1a of the center's chapter).
ANNEX1_ACTORS = {
    "1": {"city", "center"},
    "2": {"province"},
    "3": {"center"},
    "4": {"institution"},
    "5": {"city"},
    "5'": {"city"},
    "6": {"province"},
    "7": {"center"},
    "8": {"trainer"},
    "9": {"institution"},
    "10": {"center"},
    "11": {"trainer"},
    "12": {"center"},
    "13": {"trainer"},
    "14": {"institution"},
    "15": {"institution"},
    "16": {"trainer"},
    "17": {"trainee"},
    "18": {"institution", "trainer"},
    # the institution marks attendance, the trainer scores and submits, the center approves
    "19": {"institution", "trainer", "center"},
    "20": {"trainer"},
    "21": {"institution"},
    "22": {"province"},
    "23": {"center"},
}
ONE_PER_ROLE = {kind: key for key, kind, _org, _name in reversed(USERS)}  # key of each kind


@pytest.fixture()
def manual_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "manual"
    monkeypatch.setitem(app.config, "MANUAL_DIR", str(folder))
    return folder


def published(manual_dir, tmp_path, steps):
    """The acceptance test's output for ``steps`` (ids), published as `make manual` does."""
    source = tmp_path / "artifacts"
    (source / "lifecycle").mkdir(parents=True, exist_ok=True)
    index = []
    for order, step in enumerate(steps, 1):
        shot = source / "lifecycle" / f"step-{step}.png"
        shot.write_bytes(tiny_png(4, 3))
        index.append(
            {
                "order": order,
                "step": step,
                "role": "x",
                "title": "标题",
                "due": "2027-01-01",
                "screenshot": f"lifecycle/{shot.name}",
            }
        )
    return manual.publish(index, source, manual_dir)


def test_point8_the_nine_roles_each_have_a_chapter_and_read_the_manual():
    assert {c.kind for c in manual.chapters()} == set(ROLE_MATRIX) == set(ONE_PER_ROLE)
    for role, grants in ROLE_MATRIX.items():
        assert (READ, "Help") in grants, role


@pytest.mark.parametrize("kind", sorted(ONE_PER_ROLE))
def test_point8_every_role_sees_help_and_its_own_chapter_first(client, login, manual_dir, kind):
    login(ONE_PER_ROLE[kind])
    home = client.get("/").get_data(as_text=True)
    assert "帮助" in home and "/help/" in home
    page = client.get("/help/").get_data(as_text=True)
    kinds = re.findall(r'class="list-group-item manual-chapter[^"]*" data-kind="(\w+)"', page)
    assert kinds[0] == kind and sorted(kinds) == sorted(ONE_PER_ROLE)
    assert "您的角色" in page
    for other in ("center", "trainee"):  # other roles' chapters are readable too
        assert client.get(f"/help/{other}").status_code == 200
    assert client.get("/help/nobody").status_code == 404


def test_point8_every_annex1_step_is_described_in_its_actors_chapter():
    described = {}
    for chapter in manual.chapters():
        for step in chapter.steps:
            assert step.title and step.do and step.deadline, (chapter.kind, step.id)
            described.setdefault(step.row, set()).add(chapter.kind)
    missing = {row: actors - described.get(row, set()) for row, actors in ANNEX1_ACTORS.items()}
    assert {row: m for row, m in missing.items() if m} == {}
    assert set(described) <= set(ANNEX1_ACTORS)  # no step outside SPEC §7
    ids = [s.id for c in manual.chapters() for s in c.steps]
    assert len(ids) == len(set(ids))  # a screenshot belongs to one step


def test_point8_every_step_and_page_points_to_a_menu_entry_its_role_sees():
    """The manual never sends a user to a menu entry that does not exist or is not theirs."""
    wrong = []
    for chapter in manual.chapters():
        for item in (*chapter.steps, *chapter.pages):
            found = manual.menu_entry(item.menu)
            if item.menu is None and item.where:
                continue
            if found is None or (READ, found[1].resource) not in ROLE_MATRIX[chapter.kind]:
                wrong.append((chapter.kind, item.title, item.menu))
    assert wrong == []


def test_point8_placeholder_when_no_screenshot_was_taken(client, login, manual_dir):
    login("i1")
    page = client.get("/help/institution").get_data(as_text=True)
    steps = manual.chapter("institution").steps
    assert page.count(PLACEHOLDER) == len(steps)
    assert "manual-shot" not in page
    assert "第 4 步：提交开班申请" in page
    assert "菜单：讲师培训管理 › 开班申请" in page and "期限：开班前至少 14 日" in page


def test_point8_screenshot_shown_from_the_manual_folder_to_signed_in_users(
    client, login, manual_dir, tmp_path
):
    published(manual_dir, tmp_path, ["4", "9"])
    login("i1")
    page = client.get("/help/institution").get_data(as_text=True)
    assert 'src="/help/shot/step-4.png"' in page and 'src="/help/shot/step-9.png"' in page
    assert page.count(PLACEHOLDER) == len(manual.chapter("institution").steps) - 2
    assert "截图由验收测试生成于" in page
    shot = client.get("/help/shot/step-4.png")
    assert shot.status_code == 200 and shot.mimetype == "image/png"
    assert shot.data == tiny_png(4, 3)
    # Only what the index names: no other file, no way out of the folder.
    (manual_dir / "other.png").write_bytes(tiny_png())
    for name in ("other.png", "steps.json", "..%2Fsecret_key", "step-1.png"):
        assert client.get(f"/help/shot/{name}").status_code == 404, name


def test_point8_screenshots_need_a_sign_in(app, manual_dir, tmp_path, world):
    published(manual_dir, tmp_path, ["4"])
    with app.test_client() as anonymous:
        assert anonymous.get("/help/shot/step-4.png").status_code in (302, 401)
        assert anonymous.get("/help/").status_code in (302, 401)


def test_point8_publishing_again_drops_the_screens_of_steps_no_longer_photographed(
    manual_dir, tmp_path
):
    published(manual_dir, tmp_path, ["4", "9"])
    published(manual_dir, tmp_path / "again", ["4"])
    assert set(manual.shots(str(manual_dir)).files) == {"4"}
    assert sorted(p.name for p in manual_dir.iterdir()) == ["step-4.png", "steps.json"]
    assert (
        json.loads((manual_dir / "steps.json").read_text("utf-8"))[0]["screenshot"] == "step-4.png"
    )


def pdf_text(body: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_point8_a_pdf_per_role_with_the_font_embedded_and_its_steps(
    client, login, manual_dir, tmp_path
):
    login("p1")
    response = client.get("/help/province/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E7%94%A8%E6%88%B7%E6%89%8B%E5%86%8C" in disposition  # 用户手册
    assert b"/FontFile2" in response.data  # the TrueType CJK subset is embedded
    text = pdf_text(response.data)
    for step in manual.chapter("province").steps:
        assert step.title in text, step.title
    assert "用户手册" in text and PLACEHOLDER in text
    # With a screenshot published, the picture is in the PDF.
    published(manual_dir, tmp_path, ["2"])
    with_shot = client.get("/help/province/pdf").data
    assert b"/Subtype /Image" in with_shot and pdf_text(with_shot).count(PLACEHOLDER) == 2


def test_point8_chapter_reads_on_a_phone(client, login, manual_dir, tmp_path):
    """375 px: the layout's viewport, one column of panels, pictures that scale, no wide table."""
    published(manual_dir, tmp_path, ["17a"])
    login("trainee1")
    page = client.get("/help/trainee").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width' in page
    assert re.search(r'<img class="img-responsive[^"]*manual-shot"', page)
    body = page.split('id="malan-manual-chapter"', 1)[1]
    assert "<table" not in body and "width:" not in body


def test_point8_the_manual_shows_nothing_of_any_region(client, login, manual_dir):
    """Text and the acceptance test's pictures only: no org or user of the database appears."""
    # Every org and person of the world; 部中心 and the three administrators are named like their
    # roles, which the manual is about.
    names = {name for key, _kind, _code, name, _parent in ORGS if key != "center"}
    names |= {name for _key, _kind, org, name in USERS if org != "center"}
    login("c2")
    pages = [client.get("/help/").get_data(as_text=True)]
    for chapter in manual.chapters():
        html = client.get(f"/help/{chapter.kind}").get_data(as_text=True)
        pages.append(html.split('id="malan-manual', 1)[1])
        pages.append(pdf_text(client.get(f"/help/{chapter.kind}/pdf").data))
    pages[0] = pages[0].split('id="malan-manual', 1)[1]
    leaked = {name for name in names for text in pages if name in text}
    assert leaked == set()
