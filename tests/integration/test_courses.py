"""Issue 4 point 3 (course library 创业培训课程库) and point 4 (its files): upload per role and the
right reviewer, publication only after review (the center's own at once), the shared library
(everyone but trainees; trainees only what the center marks), search, preview per type,
counted downloads, attachment rules, corrections that keep the old file until approved, and
deletion that leaves no file behind. `seed_courses` feeds the scope matrix."""

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import courses as svc
from models.attachment import Attachment
from models.audit import AuditLog
from models.course import COURSE_CHAINS, CourseResource
from models.review import ReviewEvent, ReviewTask
from models.user import MalanUser
from tests.factories import NOW, SAMPLES, csrf_token, page_errors, seed_courses

PDF_NAME = "SYB示范课讲义.pdf"
BUSINESS = ["center", "p1", "p2", "c1", "c1b", "c2", "i1", "i1b", "i2", "trainer1", "trainer2"]
# org key -> the fixture user who uploads for it (seed_courses)


@pytest.fixture()
def files_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path / "files"))
    return tmp_path / "files"


def on_disk(files_dir) -> set:
    return {p.name for p in Path(files_dir).glob("*")} if Path(files_dir).exists() else set()


def user(world, key) -> MalanUser:
    return db.session.get(MalanUser, world["user"][key])


def post(client, url, data=None, **kw):
    data = dict(data or {}, csrf_token=csrf_token(client, "/password/change"))
    client.posted_page = client.post(url, data=data, **kw)
    return client.posted_page


def resource_form(title="SYB创办你的企业示范课", files=((PDF_NAME, SAMPLES["pdf"]),), **kw):
    data = {
        "title": title,
        "course_type": "SYB",
        "category": "demo",
        "description": "第三单元：市场评估的示范课",
        "tags": "市场评估,示范",
        "author": "冯讲师",
        "upload_files": [(io.BytesIO(content), name) for name, content in files],
    }
    data.update(kw)
    return data


def upload(client, login, who, **kw) -> CourseResource | None:
    """``who`` uploads through the form; the new row (None if refused)."""
    login(who)
    before = db.session.scalar(select(db.func.max(CourseResource.id))) or 0
    response = post(
        client, "/courseresourceview/add", resource_form(**kw), content_type="multipart/form-data"
    )
    assert response.status_code in (200, 302)  # refused: the form again, as typed (issue 15)
    db.session.rollback()
    return db.session.scalar(select(CourseResource).where(CourseResource.id > before))


def act(client, record_id, action, opinion=""):
    db.session.rollback()
    version = db.session.get(CourseResource, record_id).version
    return post(
        client,
        f"/courseresourceview/review/{record_id}",
        {"action": action, "opinion": opinion, "version": version},
    )


def reload(record_id) -> CourseResource:
    db.session.rollback()
    return db.session.get(CourseResource, record_id)


def attachments(record_id, purpose=None) -> list[Attachment]:
    db.session.rollback()
    query = select(Attachment).where(
        Attachment.owner_type == "course_resource", Attachment.owner_id == record_id
    )
    if purpose:
        query = query.where(Attachment.purpose == purpose)
    return db.session.scalars(query.order_by(Attachment.id)).all()


def flashed(client) -> str:
    """What the user was told: the refusals on the form posted last (shown again with them,
    issue 15), then the messages flashed onto the next page."""
    page = getattr(client, "posted_page", None)
    shown = page_errors(page) if page is not None and page.status_code == 200 else {}
    told = " ".join(m for messages in shown.values() for m in messages)
    return told + client.get("/courselibrary/").get_data(as_text=True)


def library_ids(client) -> set:
    html = client.get("/courselibrary/?page=1").get_data(as_text=True)
    return {int(i) for i in re.findall(r'data-course="(\d+)"', html)}


# ---------------------------------------------------------------- point 3: upload and review

REVIEWERS = [  # uploader, right reviewer, a wrong reviewer (same level, elsewhere, or below)
    ("trainer1", "center", "c1"),
    ("i1", "c1", "c1b"),
    ("c1", "p1", "p2"),
    ("p1", "center", "p2"),
]


@pytest.mark.parametrize("uploader,reviewer,wrong", REVIEWERS)
def test_point3_upload_per_role_is_reviewed_by_the_next_level(
    world, client, login, frozen_clock, files_dir, uploader, reviewer, wrong
):
    record = upload(client, login, uploader)
    assert record is not None
    me = user(world, uploader)
    assert (record.status, record.published_at, record.chain) == (
        "draft",
        None,
        COURSE_CHAINS[me.role_kind],
    )
    assert (record.org_id, record.owner_id) == (me.org_id, me.id)
    [attachment] = attachments(record.id)
    assert attachment.filename == PDF_NAME and attachment.purpose == "attachment"

    assert act(client, record.id, "submit").status_code == 302
    task = db.session.scalar(
        select(ReviewTask).where(
            ReviewTask.record_id == record.id, ReviewTask.record_type == "course"
        )
    )
    assert task.reviewer_org_id == user(world, reviewer).org_id

    # Not published yet: nobody finds it in the library, the uploader neither.
    for key in BUSINESS:
        assert svc.get_visible(record.id, user(world, key)) is None

    login(wrong)
    act(client, record.id, "approve")
    assert reload(record.id).status == "pending"

    login(reviewer)
    assert act(client, record.id, "approve", "同意发布").status_code == 302
    record = reload(record.id)
    assert (record.status, record.published_at) == ("approved", NOW)
    for key in BUSINESS:
        assert svc.get_visible(record.id, user(world, key)) is not None, key
    event = db.session.scalars(
        select(ReviewEvent).where(ReviewEvent.record_id == record.id).order_by(ReviewEvent.id)
    ).all()[-1]
    assert (event.action, event.actor_id, event.opinion) == (
        "approve",
        world["user"][reviewer],
        "同意发布",
    )


def test_point3_center_upload_is_published_at_once_with_history(
    world, client, login, frozen_clock, files_dir
):
    record = upload(client, login, "center", title="部中心GYB课件")
    assert (record.status, record.chain, record.published_at) == ("approved", None, NOW)
    [event] = db.session.scalars(select(ReviewEvent).where(ReviewEvent.record_id == record.id))
    assert (event.action, event.actor_id, event.at) == ("enter", world["user"]["center"], NOW)
    page = client.get(f"/courseresourceview/show/{record.id}").get_data(as_text=True)
    assert "张中心" in page and 'id="review-form"' not in page
    assert svc.get_visible(record.id, user(world, "c2")) is not None


def test_point3_center_corrects_its_own_resource_at_once_with_history(
    world, client, login, frozen_clock, files_dir
):
    record = upload(client, login, "center", title="部中心GYB课件")
    response = post(
        client,
        f"/courseresourceview/edit/{record.id}",
        resource_form(title="部中心GYB课件（第二版）", files=()),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    record = reload(record.id)
    assert (record.title, record.status, record.in_force_revision) == (
        "部中心GYB课件（第二版）",
        "approved",
        2,
    )
    actions = db.session.scalars(
        select(ReviewEvent.action)
        .where(ReviewEvent.record_id == record.id)
        .order_by(ReviewEvent.id)
    ).all()
    assert actions == ["enter", "change"]
    html = client.get(f"/courseresourceview/show/{record.id}").get_data(as_text=True)
    assert "部中心GYB课件（第二版）" in html and 'id="review-form"' not in html
    # No review action applies to it, whatever is posted.
    act(client, record.id, "correct")
    assert reload(record.id).status == "approved"


def test_point3_trainee_institution_cannot_upload_and_reviewers_cannot_edit(
    world, client, login, frozen_clock, files_dir
):
    login("trainee1")
    response = post(
        client, "/courseresourceview/add", resource_form(), content_type="multipart/form-data"
    )
    assert response.status_code in (302, 403)
    assert db.session.query(CourseResource).count() == 0

    record = upload(client, login, "i1")
    login("c1")  # sees it (its institution) and reviews it, but does not rewrite it
    response = post(
        client,
        f"/courseresourceview/edit/{record.id}",
        resource_form(title="市里改的标题", files=()),
        content_type="multipart/form-data",
    )
    assert reload(record.id).title == "SYB创办你的企业示范课"
    login("i1b")  # another institution of the same city: not found
    assert client.get(f"/courseresourceview/show/{record.id}").status_code == 404


def test_point3_a_resource_needs_a_file_and_known_values(
    world, client, login, frozen_clock, files_dir
):
    assert upload(client, login, "c1", files=()) is None
    assert upload(client, login, "c1", category="nonsense") is None
    assert upload(client, login, "c1", course_type="XYZ") is None
    assert db.session.query(Attachment).count() == 0 and on_disk(files_dir) == set()


# ---------------------------------------------------------------- point 3: the shared library


def test_point3_published_visible_to_all_but_trainees_unpublished_to_nobody(
    world, app, client, login, frozen_clock, files_dir
):
    seeded = seed_courses(world)
    draft = upload(client, login, "i1", title="未发布的草稿")
    published = set(seeded.values())
    for key in BUSINESS:
        login(key)
        assert library_ids(client) == published, key
        assert client.get(f"/courselibrary/{draft.id}").status_code == 404
    login("trainee1")
    assert library_ids(client) == set()
    assert client.get(f"/courselibrary/{seeded['I1']}").status_code == 404
    for admin in ("sysadmin", "auditor"):
        login(admin)
        assert client.get("/courselibrary/").status_code in (302, 403)

    # The center marks one for trainees: the trainee sees exactly that one.
    login("center")
    response = post(client, f"/courselibrary/{seeded['C2']}/trainees", {"for_trainees": "y"})
    assert response.status_code == 302 and reload(seeded["C2"]).for_trainees is True
    assert reload(seeded["C2"]).version == 1  # a flag beside the review: no version bump
    login("trainee1")
    assert library_ids(client) == {seeded["C2"]}
    assert client.get(f"/courselibrary/{seeded['C2']}").status_code == 200
    login("center")
    post(client, f"/courselibrary/{seeded['C2']}/trainees", {"for_trainees": ""})
    login("trainee1")
    assert library_ids(client) == set()


def test_point3_only_the_center_marks_for_trainees(world, client, login, frozen_clock):
    seeded = seed_courses(world)
    for key in ("p1", "c1", "i1", "trainer1"):
        login(key)
        response = post(client, f"/courselibrary/{seeded['I1']}/trainees", {"for_trainees": "y"})
        assert response.status_code in (302, 403)
        assert reload(seeded["I1"]).for_trainees is False


def test_point3_search_by_keyword_type_and_category_with_paging(world, client, login, frozen_clock):
    seeded = seed_courses(world)
    record = db.session.get(CourseResource, seeded["C1"])
    record.title, record.tags, record.course_type, record.category = (
        "市场营销案例",
        "营销,案例",
        "GYB",
        "case",
    )
    other = db.session.get(CourseResource, seeded["P2"])
    other.description = "本讲义讨论市场营销的基本方法"
    db.session.commit()
    login("c2")
    html = client.get("/courselibrary/?q=营销").get_data(as_text=True)
    assert set(map(int, re.findall(r'data-course="(\d+)"', html))) == {seeded["C1"], seeded["P2"]}
    html = client.get("/courselibrary/?q=营销&course_type=GYB").get_data(as_text=True)
    assert set(map(int, re.findall(r'data-course="(\d+)"', html))) == {seeded["C1"]}
    html = client.get("/courselibrary/?category=case").get_data(as_text=True)
    assert set(map(int, re.findall(r'data-course="(\d+)"', html))) == {seeded["C1"]}
    assert "案例" in html
    # Paging: 20 a page.
    for _round in range(15):
        seed_courses(world)
    first = client.get("/courselibrary/").get_data(as_text=True)
    assert len(re.findall(r'data-course="\d+"', first)) == 20 and 'id="course-pages"' in first
    assert "160" in first  # the total
    # One pager: where you are and the next page, never a link per page (1,000 pages nationally).
    assert re.findall(r'<a rel="(\w+)" href="[^"]*page=(\d+)', first) == [("next", "2")]
    last = client.get("/courselibrary/?page=8&category=").get_data(as_text=True)
    assert len(re.findall(r'data-course="\d+"', last)) == 20
    assert re.findall(r'<a rel="(\w+)" href="[^"]*page=(\d+)', last) == [("prev", "7")]
    assert "第 8 页，共 8 页" in last
    past = client.get("/courselibrary/?page=99").get_data(as_text=True)  # past the end: the last
    assert len(re.findall(r'data-course="\d+"', past)) == 20 and "第 8 页，共 8 页" in past


# ---------------------------------------------------------------- point 4: files


@pytest.mark.parametrize(
    "name,sample",
    [
        ("示范课.pdf", "exe"),
        ("示范课.pdf", "html"),
        ("示范课.mp4", "exe"),
        ("示范课.mp4", "html"),
        ("setup.exe", "exe"),
    ],
)
def test_point4_disguised_files_are_refused_and_nothing_is_kept(
    world, client, login, frozen_clock, files_dir, name, sample
):
    assert upload(client, login, "i1", files=((name, SAMPLES[sample]),)) is None
    assert name in flashed(client)
    assert db.session.query(CourseResource).count() == 0
    assert db.session.query(Attachment).count() == 0 and on_disk(files_dir) == set()


def test_point4_oversize_refused_video_may_be_larger(
    world, app, client, login, frozen_clock, files_dir, monkeypatch
):
    monkeypatch.setitem(
        app.config, "ATTACHMENT_LIMITS", {"image": 1, "document": 1, "text": 1, "video": 3}
    )
    two_mb = 2 * 1024 * 1024
    big_pdf = SAMPLES["pdf"].ljust(two_mb, b" ")
    assert upload(client, login, "i1", files=(("大讲义.pdf", big_pdf),)) is None
    assert on_disk(files_dir) == set()
    video = SAMPLES["mp4"].ljust(two_mb, b"\x00")
    record = upload(client, login, "i1", files=(("示范课录像.mp4", video),), category="video")
    assert record is not None and attachments(record.id)[0].size == two_mb
    assert (
        upload(client, login, "i1", files=(("长录像.mp4", video.ljust(4 * 1024 * 1024, b"\x00")),))
        is None
    )


def _published_with(client, login, files, who="center"):
    record = upload(client, login, who, files=files)
    assert record.published_at is not None
    return record, attachments(record.id)


def test_point4_download_counts_and_chinese_filename(world, client, login, frozen_clock, files_dir):
    record, [pdf] = _published_with(client, login, ((PDF_NAME, SAMPLES["pdf"]),))
    version = record.version
    login("c2")
    for n in (1, 2):
        response = client.get(f"/courselibrary/{record.id}/download/{pdf.id}")
        assert response.status_code == 200 and response.data == SAMPLES["pdf"]
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and quote(PDF_NAME) in disposition
        assert reload(record.id).download_count == n
    assert reload(record.id).version == version  # counting never trips the review's version
    downloads = db.session.scalars(
        select(AuditLog).where(AuditLog.event == "download").order_by(AuditLog.id)
    ).all()
    assert len(downloads) == 2 and PDF_NAME in downloads[0].summary
    page = client.get(f"/courselibrary/{record.id}").get_data(as_text=True)
    assert 'id="course-download-count">2<' in page
    # The preview source is inline and not counted; only it may be framed, by our own pages.
    inline = client.get(f"/courselibrary/{record.id}/view/{pdf.id}")
    assert inline.headers["Content-Disposition"].startswith("inline")
    assert inline.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in inline.headers["Content-Security-Policy"]
    assert reload(record.id).download_count == 2
    assert client.get("/courselibrary/").headers["X-Frame-Options"] == "DENY"


def test_point4_preview_element_per_type_and_video_ranges(
    world, client, login, frozen_clock, files_dir
):
    video = SAMPLES["mp4"].ljust(4096, b"\x00")
    record, files_ = _published_with(
        client,
        login,
        (
            (PDF_NAME, SAMPLES["pdf"]),
            ("课堂照片.png", SAMPLES["png"]),
            ("示范课录像.mp4", video),
            ("报名表.docx", SAMPLES["docx"]),
        ),
    )
    pdf, png, mp4, docx = files_
    login("i2")
    html = client.get(f"/courselibrary/{record.id}").get_data(as_text=True)
    view = f"/courselibrary/{record.id}/view/"
    assert re.search(rf'<iframe class="course-pdf" src="{view}{pdf.id}"', html)
    assert re.search(rf'<img class="course-image img-responsive" src="{view}{png.id}"', html)
    assert re.search(rf'<video class="course-video" controls[^>]*src="{view}{mp4.id}"', html)
    assert f"{view}{docx.id}" not in html and f"/download/{docx.id}" in html
    assert "<script" not in html.split('id="course-resource"')[1].split("</div>")[0]
    assert client.get(f"{view}{docx.id}").status_code == 404  # no inline Word
    ranged = client.get(f"{view}{mp4.id}", headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.data == video[100:200]
    assert ranged.headers["Content-Type"] == "video/mp4"


def test_point4_foreign_or_unpublished_files_are_404(world, client, login, frozen_clock, files_dir):
    draft = upload(client, login, "i1", title="草稿")
    [a] = attachments(draft.id)
    login("c2")  # another province: neither the page nor the file
    for url in (
        f"/courselibrary/{draft.id}",
        f"/courselibrary/{draft.id}/download/{a.id}",
        f"/courselibrary/{draft.id}/view/{a.id}",
        f"/files/{a.id}",
        f"/courseresourceview/show/{draft.id}",
    ):
        assert client.get(url).status_code == 404, url
    login("c1")  # its city reviews it: the record's file, not yet the library
    assert client.get(f"/files/{a.id}").status_code == 200
    assert client.get(f"/courselibrary/{draft.id}/download/{a.id}").status_code == 404
    # An attachment id of another resource, under a visible one: 404.
    record, [b] = _published_with(client, login, (("讲义.pdf", SAMPLES["pdf"]),))
    login("c2")
    assert client.get(f"/courselibrary/{record.id}/download/{a.id}").status_code == 404
    assert client.get(f"/courselibrary/{record.id}/download/{b.id}").status_code == 200
    assert client.get(f"/files/{b.id}").status_code == 200  # published: /files follows the library


def test_point4_correction_keeps_the_old_file_until_approved(
    world, client, login, frozen_clock, files_dir
):
    record = upload(client, login, "i1")
    act(client, record.id, "submit")
    login("c1")
    act(client, record.id, "approve")
    [old] = attachments(record.id)
    login("i1")
    act(client, record.id, "correct")
    response = post(
        client,
        f"/courseresourceview/edit/{record.id}",
        resource_form(
            title="SYB示范课（修订版）", files=(("讲义修订版.pdf", SAMPLES["pdf"] + b"%2"),)
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    [pending] = attachments(record.id, f"pending:{reload(record.id).revision}")
    assert attachments(record.id, "attachment") == [old]
    assert reload(record.id).title == "SYB创办你的企业示范课"  # the approved values stay
    login("c2")  # the library still serves the approved file, never the replacement
    html = client.get(f"/courselibrary/{record.id}").get_data(as_text=True)
    assert PDF_NAME in html and "讲义修订版.pdf" not in html
    assert client.get(f"/courselibrary/{record.id}/download/{pending.id}").status_code == 404
    assert client.get(f"/files/{pending.id}").status_code == 404
    login("c1")  # a draft's replacement is the uploader's own until it is submitted
    assert client.get(f"/files/{pending.id}").status_code == 404
    login("i1")
    assert client.get(f"/files/{pending.id}").status_code == 200
    act(client, record.id, "submit")
    login("c1")
    assert client.get(f"/files/{pending.id}").status_code == 200  # the reviewer sees it
    act(client, record.id, "approve")
    assert [a.filename for a in attachments(record.id, "attachment")] == ["讲义修订版.pdf"]
    assert reload(record.id).title == "SYB示范课（修订版）"
    assert old.stored_name not in on_disk(files_dir)
    assert reload(record.id).published_at == NOW


def test_point4_deleting_a_resource_deletes_its_files(
    world, client, login, frozen_clock, files_dir
):
    draft = upload(
        client, login, "i1", files=(("a.pdf", SAMPLES["pdf"]), ("b.png", SAMPLES["png"]))
    )
    assert len(on_disk(files_dir)) == 2
    assert post(client, f"/courseresourceview/delete/{draft.id}").status_code == 302
    assert reload(draft.id) is None
    assert attachments(draft.id) == [] and on_disk(files_dir) == set()

    # Submitted: the uploader may no longer delete; the center (keeper of the library) may.
    record = upload(client, login, "i1")
    act(client, record.id, "submit")
    post(client, f"/courseresourceview/delete/{record.id}")
    assert reload(record.id) is not None and len(on_disk(files_dir)) == 1
    login("center")
    assert post(client, f"/courseresourceview/delete/{record.id}").status_code == 302
    assert reload(record.id) is None and on_disk(files_dir) == set()
    assert (
        db.session.scalar(
            select(ReviewTask).where(
                ReviewTask.record_id == record.id, ReviewTask.done_at.is_(None)
            )
        )
        is None
    )


def test_point4_draft_files_can_be_added_and_removed(world, client, login, frozen_clock, files_dir):
    record = upload(client, login, "trainer1")
    [first] = attachments(record.id)
    form = client.get(f"/courseresourceview/edit/{record.id}").get_data(as_text=True)
    assert re.search(rf'<option[^>]*value="{first.id}"[^>]*>{PDF_NAME}</option>', form)
    response = post(
        client,
        f"/courseresourceview/edit/{record.id}",
        resource_form(files=(("补充材料.png", SAMPLES["png"]),), remove_files=[str(first.id)]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert [a.filename for a in attachments(record.id)] == ["补充材料.png"]
    assert first.stored_name not in on_disk(files_dir)


# ---------------------------------------------------------------- issue 11 point 2: refusals
# A refused act is one transaction rolled back: the user reads why (in Chinese, the default
# language), and the database is as it was.


def test_issue11_an_edit_by_a_reviewer_is_refused_in_chinese(
    world, client, login, frozen_clock, files_dir
):
    record = upload(client, login, "i1")
    login("c1")  # its city sees it and reviews it, but does not rewrite it
    post(
        client,
        f"/courseresourceview/edit/{record.id}",
        resource_form(title="市里改的标题", files=(("市里的.pdf", SAMPLES["pdf"]),)),
        content_type="multipart/form-data",
    )
    assert "只有上传方可以修改此资源。" in flashed(client)
    assert (reload(record.id).title, reload(record.id).revision) == ("SYB创办你的企业示范课", 1)
    assert [a.filename for a in attachments(record.id)] == [PDF_NAME]


def test_issue11_deleting_a_submitted_resource_is_refused_in_chinese(
    world, client, login, frozen_clock, files_dir
):
    record = upload(client, login, "i1")
    act(client, record.id, "submit")
    post(client, f"/courseresourceview/delete/{record.id}")
    assert "只有从未提交过的草稿才能删除。" in flashed(client)
    assert reload(record.id).status == "pending"
    assert len(attachments(record.id)) == 1 and len(on_disk(files_dir)) == 1
