"""Issue 17 point 8: text attachments are served in one charset, UTF-8. A GB18030/GBK upload (what
Chinese Windows tools write) is transcoded once when it is stored (a CSV keeps a BOM so that Excel
reads it as UTF-8); a file kept in GB18030 before that is transcoded on the way out."""

import hashlib

import pytest

from app.services import files
from tests.factories import keep_file as keep


@pytest.fixture()
def kept_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path / "files"))
    return tmp_path / "files"


TEXT = "学员名单\n张三,13800000000\n𠀀 (GB18030 四字节)\n"


@pytest.mark.parametrize(
    "name,encoding,mime,stored",
    [
        ("名单.csv", "gb18030", "text/csv", "utf-8-sig"),
        ("说明.txt", "gb18030", "text/plain", "utf-8"),
        ("说明.txt", "gbk", "text/plain", "utf-8"),
        ("说明.txt", "utf-8", "text/plain", "utf-8"),
        ("名单.csv", "utf-8-sig", "text/csv", "utf-8-sig"),
    ],
)
def test_point8_text_is_kept_and_served_as_utf8(
    client,
    login,
    world,
    kept_dir,
    name,
    encoding,
    mime,
    stored,
):
    text = TEXT if encoding != "gbk" else TEXT.replace("𠀀", "")
    attachment = keep(world, kept_dir, name=name, data=text.encode(encoding))
    kept = (kept_dir / attachment.stored_name).read_bytes()
    assert kept == text.encode(stored)
    assert attachment.content_type == f"{mime}; charset=utf-8"
    assert (attachment.size, attachment.sha256) == (len(kept), hashlib.sha256(kept).hexdigest())

    login("c1")
    response = client.get(f"/files/{attachment.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{mime}; charset=utf-8"
    assert response.data.decode("utf-8-sig") == text


def test_point8_a_file_kept_in_gb18030_before_is_served_as_utf8(
    client,
    login,
    world,
    kept_dir,
):
    attachment = keep(world, kept_dir, name="旧名单.txt", data=TEXT.encode("utf-8"))
    (kept_dir / attachment.stored_name).write_bytes(TEXT.encode("gb18030"))
    attachment.content_type = "text/plain; charset=gb18030"  # as stored before issue 17
    from app.extensions import db

    db.session.commit()
    login("c1")
    response = client.get(f"/files/{attachment.id}")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data.decode("utf-8") == TEXT


def test_point8_only_utf8_and_gb18030_text_is_accepted(world, kept_dir):
    with pytest.raises(files.FileRejected):
        keep(world, kept_dir, name="说明.txt", data=TEXT.encode("utf-16"))
