"""The shared attachment mechanism (issue 4 point 4; issue 5 points 1, 4 and 6): content checks and
size limits through `store`, files kept in step with the transaction (no orphans), downloads only
for who may see the owner (404 otherwise), the original Chinese name, nosniff, audit."""

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import url_for
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.services import files
from app.services.files import FileRejected
from models.attachment import Attachment
from models.audit import AuditLog
from models.org import INSTITUTION, Org
from models.user import MalanUser
from tests.factories import ATTACHMENT_NAME, SAMPLES, file_upload, keep_file

NAME = ATTACHMENT_NAME


@pytest.fixture()
def files_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path / "files"))
    return tmp_path / "files"


upload = file_upload


def on_disk(files_dir) -> set:
    return {p.name for p in Path(files_dir).glob("*")} if Path(files_dir).exists() else set()


def org(world, key):
    return db.session.get(Org, world["org"][key])


def user(world, key):
    return db.session.get(MalanUser, world["user"][key])


keep = keep_file


def rows() -> int:
    db.session.rollback()
    return db.session.query(Attachment).count()


# --- accepting and refusing ----------------------------------------------------------------


def test_point4_store_keeps_the_file_under_a_random_name_outside_static(app, world, files_dir):
    a = keep(world, files_dir)
    assert a.filename == NAME
    assert a.stored_name != NAME and len(a.stored_name) == 32 and "." not in a.stored_name
    assert (a.owner_type, a.owner_id) == ("org", world["org"]["C1"])
    assert a.content_type == "application/pdf" and a.size == len(SAMPLES["pdf"])
    assert a.created_by_id == world["user"]["c1"]
    assert (files_dir / a.stored_name).read_bytes() == SAMPLES["pdf"]
    assert not str(files_dir).startswith(app.static_folder)
    assert files.attachments_of(org(world, "C1")) == [a]
    assert files.attachments_of(org(world, "C2")) == []


def test_point4_default_files_dir_is_outside_the_static_folder(app):
    from app.config import INSTANCE, Config

    assert Path(Config.FILES_DIR) == INSTANCE / "files"
    assert not Path(Config.FILES_DIR).resolve().is_relative_to(Path(app.static_folder).resolve())


@pytest.mark.parametrize(
    "name,sample",
    [
        ("通知.pdf", "exe"),
        ("通知.pdf", "html"),
        ("名单.xlsx", "zip"),
        ("报名表.docx", "docm"),
        ("setup.exe", "exe"),
        ("page.html", "html"),
        ("说明.txt", "html"),
    ],
)
def test_point4_disguised_or_foreign_types_are_refused_and_leave_nothing(
    world, files_dir, name, sample
):
    with pytest.raises(FileRejected):
        files.store(
            upload(name, SAMPLES[sample]),
            owner=org(world, "C1"),
            actor=user(world, "c1"),
            now=clock.now(),
        )
    db.session.commit()
    assert rows() == 0
    assert on_disk(files_dir) == set()


def test_point4_empty_files_are_refused(world, files_dir):
    with pytest.raises(FileRejected, match="empty|为空"):
        files.store(upload("空.pdf", b""), owner=org(world, "C1"), actor=None, now=clock.now())
    assert on_disk(files_dir) == set()


def test_point4_size_limit_per_type_video_larger(app, world, files_dir, monkeypatch):
    monkeypatch.setitem(
        app.config, "ATTACHMENT_LIMITS", {"image": 1, "document": 1, "text": 1, "video": 3}
    )
    two_mb = 2 * files.MB
    with pytest.raises(FileRejected, match="larger than 1 MB|超过 1 MB"):
        files.store(
            upload("大图.png", SAMPLES["png"].ljust(two_mb, b"\x00")),
            owner=org(world, "C1"),
            actor=None,
            now=clock.now(),
        )
    with pytest.raises(FileRejected):
        files.store(
            upload("大文件.pdf", SAMPLES["pdf"].ljust(two_mb, b" ")),
            owner=org(world, "C1"),
            actor=None,
            now=clock.now(),
        )
    assert on_disk(files_dir) == set()
    video = files.store(
        upload("示范课.mp4", SAMPLES["mp4"].ljust(two_mb, b"\x00")),
        owner=org(world, "C1"),
        actor=None,
        now=clock.now(),
    )
    db.session.commit()
    assert video.size == two_mb
    with pytest.raises(FileRejected, match="larger than 3 MB|超过 3 MB"):
        files.store(
            upload("长视频.mp4", SAMPLES["mp4"].ljust(4 * files.MB, b"\x00")),
            owner=org(world, "C1"),
            actor=None,
            now=clock.now(),
        )
    assert on_disk(files_dir) == {video.stored_name}


# --- no orphans --------------------------------------------------------------------------


def test_point4_a_rolled_back_upload_leaves_no_file(world, files_dir):
    files.store(upload(NAME, SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now())
    assert len(on_disk(files_dir)) == 1
    db.session.rollback()
    assert on_disk(files_dir) == set()
    assert rows() == 0


def test_point4_an_upload_whose_transaction_fails_leaves_no_file(world, files_dir):
    files.store(upload(NAME, SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now())
    # Another row of the same transaction breaks a constraint: the commit fails.
    db.session.add(
        Org(kind=INSTITUTION, code="1101010001", name="重复代码", parent=org(world, "C1"))
    )
    with pytest.raises(Exception):  # noqa: B017 (IntegrityError, whatever the driver)
        db.session.commit()
    db.session.rollback()
    assert on_disk(files_dir) == set()
    assert rows() == 0


def test_point4_a_session_closed_without_commit_leaves_no_file(world, files_dir):
    files.store(upload(NAME, SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now())
    db.session.remove()
    assert on_disk(files_dir) == set()


def test_point4_a_rolled_back_savepoint_removes_only_its_files(world, files_dir):
    kept = files.store(
        upload("保留.pdf", SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now()
    )
    savepoint = db.session.begin_nested()
    files.store(
        upload("撤销.pdf", SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now()
    )
    savepoint.rollback()
    savepoint = db.session.begin_nested()
    released = files.store(
        upload("释放.pdf", SAMPLES["pdf"]), owner=org(world, "C1"), actor=None, now=clock.now()
    )
    savepoint.commit()
    db.session.commit()
    assert on_disk(files_dir) == {kept.stored_name, released.stored_name}
    assert rows() == 2


def test_point4_delete_all_of_removes_files_only_after_commit(world, files_dir):
    a = keep(world, files_dir)
    files.delete_all_of(org(world, "C1"))
    db.session.rollback()  # the deletion is abandoned: the file must still be there
    assert on_disk(files_dir) == {a.stored_name} and rows() == 1
    files.delete_all_of(org(world, "C1"))
    db.session.flush()
    assert on_disk(files_dir) == {a.stored_name}, "not before the commit"
    db.session.commit()
    assert on_disk(files_dir) == set() and rows() == 0


def test_point4_deleting_the_owner_deletes_its_attachments_and_files(world, files_dir):
    owner = Org(kind=INSTITUTION, code="1101010099", name="临时机构", parent=org(world, "C1"))
    db.session.add(owner)
    db.session.flush()
    a = files.store(upload(NAME, SAMPLES["pdf"]), owner=owner, actor=None, now=clock.now())
    other = keep(world, files_dir, key="C2")
    db.session.commit()
    owner_id = owner.id
    db.session.delete(owner)
    db.session.commit()
    assert db.session.get(Org, owner_id) is None
    assert db.session.scalars(select(Attachment.id)).all() == [other.id]
    assert on_disk(files_dir) == {other.stored_name}
    deleted = db.session.scalars(
        select(AuditLog).where(AuditLog.event == "delete", AuditLog.object_type == "Attachment")
    )
    assert [e.object_id for e in deleted] == [str(a.id)], "the cascade is audited too"


def test_point4_store_gives_a_new_owner_its_id(world, files_dir):
    owner = Org(kind=INSTITUTION, code="1101010098", name="新机构", parent=org(world, "C1"))
    db.session.add(owner)
    a = files.store(upload(NAME, SAMPLES["pdf"]), owner=owner, actor=None, now=clock.now())
    db.session.commit()
    assert a.owner_id == owner.id is not None


def test_point4_a_replacement_keeps_the_old_file_until_promoted(world, files_dir):
    old = keep(world, files_dir, name="旧版.pdf")
    new = keep(world, files_dir, name="新版.pdf", purpose="pending")
    owner = org(world, "C1")
    assert files.attachments_of(owner, "attachment") == [old], "the revision is not approved yet"
    assert on_disk(files_dir) == {old.stored_name, new.stored_name}
    assert files.promote(owner, pending="pending") == [new]
    db.session.commit()
    assert files.attachments_of(owner, "attachment") == [new]
    assert files.attachments_of(owner, "pending") == []
    assert on_disk(files_dir) == {new.stored_name}


def test_promote_without_a_replacement_keeps_the_files(world, files_dir):
    old = keep(world, files_dir)
    assert files.promote(org(world, "C1"), pending="pending") == []
    db.session.commit()
    assert files.attachments_of(org(world, "C1")) == [old]


# --- downloading -------------------------------------------------------------------------


def test_point4_download_sends_the_chinese_name_nosniff_and_is_audited(
    client, login, world, files_dir
):
    a = keep(world, files_dir)
    login("c1")
    response = client.get(f"/files/{a.id}")
    assert response.status_code == 200
    assert response.data == SAMPLES["pdf"]
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline"), "a PDF is previewed in the browser"
    assert f"filename*=UTF-8''{quote(NAME)}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    db.session.rollback()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.event == "download")).one()
    assert (entry.object_type, entry.object_id, entry.user_id, entry.success) == (
        "Attachment",
        str(a.id),
        world["user"]["c1"],
        True,
    )
    assert NAME in entry.summary


def test_point4_documents_are_downloaded_not_shown(client, login, world, files_dir):
    a = keep(world, files_dir, name="学员名单.xlsx", data=SAMPLES["xlsx"])
    login("c1")
    response = client.get(f"/files/{a.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert quote("学员名单.xlsx") in response.headers["Content-Disposition"]


def test_point4_url_for_names_the_download_view(app, world, files_dir):
    a = keep(world, files_dir)
    with app.test_request_context():
        assert url_for("FileView.download", attachment_id=a.id) == f"/files/{a.id}"


@pytest.mark.parametrize(
    "key,status",
    [
        ("c1", 200),
        ("p1", 200),
        ("center", 200),  # the owner's region and above
        ("c2", 404),
        ("c1b", 404),
        ("p2", 404),
        ("i1", 404),  # beside or below
        ("trainer1", 404),
        ("trainee1", 404),
    ],
)
def test_point4_download_only_for_who_sees_the_owner(client, login, world, files_dir, key, status):
    a = keep(world, files_dir)
    login(key)
    assert client.get(f"/files/{a.id}").status_code == status


@pytest.mark.parametrize(
    "key,status",
    [
        ("trainer1", 404),
        ("trainer2", 404),
        ("c1", 200),
        ("c2", 404),
        ("sysadmin", 200),
        ("auditor", 404),
    ],
)
def test_point4_files_of_a_person_follow_the_owner_scope(
    client, login, world, files_dir, key, status
):
    """A file attached to an account follows the account: whoever may read accounts (the
    permission) in that region (the scope) — c1 and the sysadmin; not another city, not the
    auditor (who sees every region but may not read accounts), not trainers (no account screens)."""
    a = files.store(
        upload("证件照.png", SAMPLES["png"]),
        owner=user(world, "trainer1"),
        actor=user(world, "trainer1"),
        now=clock.now(),
        purpose="photo",
    )
    db.session.commit()
    login(key)
    response = client.get(f"/files/{a.id}")
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "image/png"
        assert response.headers["Content-Disposition"].startswith("inline")


def test_point4_a_refused_download_is_audited_as_failed(client, login, world, files_dir):
    a = keep(world, files_dir)
    login("c2")
    assert client.get(f"/files/{a.id}").status_code == 404
    db.session.rollback()
    entry = db.session.scalars(select(AuditLog).where(AuditLog.event == "download")).one()
    assert (entry.object_id, entry.user_id, entry.success) == (
        str(a.id),
        world["user"]["c2"],
        False,
    )


def test_download_needs_a_signed_in_user(client, world, files_dir):
    a = keep(world, files_dir)
    response = client.get(f"/files/{a.id}")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert SAMPLES["pdf"] not in response.data


def test_unknown_and_missing_files_answer_404(client, login, world, files_dir):
    a = keep(world, files_dir)
    login("center")
    assert client.get(f"/files/{a.id + 1000}").status_code == 404
    os.unlink(files_dir / a.stored_name)
    assert client.get(f"/files/{a.id}").status_code == 404


def test_an_owner_type_nobody_declared_is_visible_to_nobody(client, login, world, files_dir):
    a = keep(world, files_dir)
    db.session.get(Attachment, a.id).owner_type = "nobody_declared_this"
    db.session.commit()
    login("center")
    assert client.get(f"/files/{a.id}").status_code == 404


def test_register_owner_decides_who_sees(client, login, world, files_dir, monkeypatch):
    a = keep(world, files_dir)
    db.session.get(Attachment, a.id).owner_type = "custom_owner"
    db.session.commit()
    monkeypatch.setattr(files, "_owners", {})
    seen = []

    def only_c2(owner_id):
        from flask import g

        seen.append(owner_id)
        return object() if g.user.username == world["username"]["c2"] else None

    files.register_owner("custom_owner", only_c2)
    login("c1")
    assert client.get(f"/files/{a.id}").status_code == 404
    login("c2")
    assert client.get(f"/files/{a.id}").status_code == 200
    assert seen == [a.owner_id, a.owner_id]


def test_video_supports_range_requests(client, login, world, files_dir):
    a = keep(world, files_dir, name="示范课.mp4", data=SAMPLES["mp4"])
    login("c1")
    response = client.get(f"/files/{a.id}", headers={"Range": "bytes=0-7"})
    assert response.status_code == 206
    assert response.data == SAMPLES["mp4"][:8]
