"""Issue 11 point 3: one staging mechanism for upload → preview → confirm (`app.services.staging`).

A staged upload is given back only to its uploader, only for its kind of import, only within
the hour, and only once — also when two confirms arrive at the same moment (threads, each with
its own app context, session and connection: a file database on SQLite, the suite's database on
PostgreSQL).
"""

import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.services import staging
from app.services.errors import Conflict, NotAllowed
from models.staging import StagedUpload
from tests.conftest import build_world

NOW = datetime(2026, 3, 2, 9, 0)
KIND = "test_import"
CJK = re.compile(r"[\u4e00-\u9fff]")
STAGED = object()  # a parameter: the id the fixture staged


@pytest.fixture()
def staged(world):
    return staging.stage(
        KIND, world["user"]["center"], NOW, filename="名单.xlsx", data=b"xlsx", meta={"n": 1}
    )


def test_point3_staged_upload_is_taken_once_by_its_uploader(app, world, staged):
    center = world["user"]["center"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", staged)  # opaque, unguessable
    got = staging.take(staged, center, KIND, NOW + timedelta(minutes=59))
    assert (got.filename, got.data, got.meta) == ("名单.xlsx", b"xlsx", {"n": 1})
    with app.test_request_context(), pytest.raises(Conflict) as second:
        staging.take(staged, center, KIND, NOW + timedelta(minutes=59))
    assert CJK.search(str(second.value)), "the replayed confirm's message is not translated"
    row = db.session.scalar(select(StagedUpload).where(StagedUpload.id == staged))
    assert row.consumed_at is not None and row.data == b"" and row.meta == "{}"  # no data left


def test_point3_another_users_id_is_refused_and_left_for_its_owner(app, world, staged):
    with app.test_request_context(), pytest.raises(NotAllowed) as refused:
        staging.take(staged, world["user"]["p1"], KIND, NOW)
    assert CJK.search(str(refused.value))
    assert staging.peek(staged, world["user"]["p1"], KIND, NOW) is None
    assert staging.take(staged, world["user"]["center"], KIND, NOW).data == b"xlsx"


@pytest.mark.parametrize(
    "staged_id,kind,at",
    [
        (STAGED, KIND, NOW + staging.MAX_AGE),  # an hour later: expired
        (STAGED, "other_import", NOW),  # another kind of import
        ("x" * 43, KIND, NOW),  # never staged
        ("../../etc/passwd", KIND, NOW),
        ("", KIND, NOW),
    ],
)
def test_point3_expired_unknown_or_other_kind_is_refused(app, world, staged, staged_id, kind, at):
    staged_id = staged if staged_id is STAGED else staged_id
    with app.test_request_context(), pytest.raises(staging.Expired) as refused:
        staging.take(staged_id, world["user"]["center"], kind, at)
    assert CJK.search(str(refused.value))
    assert staging.peek(staged_id, world["user"]["center"], kind, at) is None


def test_point3_peek_leaves_it_and_old_uploads_are_purged(world, staged):
    center = world["user"]["center"]
    assert staging.peek(staged, center, KIND, NOW).data == b"xlsx"
    assert staging.peek(staged, center, KIND, NOW).data == b"xlsx"  # still there
    later = NOW + staging.MAX_AGE + timedelta(seconds=1)
    newer = staging.stage(KIND, center, later, data=b"new")  # each upload purges the old ones
    assert db.session.scalar(select(func.count(StagedUpload.id))) == 1
    assert staging.peek(newer, center, KIND, later).data == b"new"


def test_point3_purge_command_removes_expired_uploads(app, world, staged, monkeypatch):
    from app import clock

    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(hours=2))
    result = app.test_cli_runner().invoke(args=["malan", "purge-staged"])
    assert result.exit_code == 0 and "1 staged uploads purged" in result.output
    assert db.session.scalar(select(func.count(StagedUpload.id))) == 0


# ---------------------------------------------------------------- two confirms at once


@pytest.fixture()
def arena(app, request, tmp_path):
    """(app, user id): an app whose database several threads share, and a user in it."""
    if db.engine.dialect.name != "sqlite":
        yield app, request.getfixturevalue("world")["user"]["center"]
        return

    class FileConfig(TestConfig):  # an in-memory SQLite is one connection shared by all
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'staging.db'}"

    file_app = create_app(FileConfig)
    with file_app.app_context():
        yield file_app, build_world(file_app, NOW)["user"]["center"]
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("round_", range(3))
def test_point3_two_confirms_at_once_one_wins(arena, round_):
    application, user_id = arena
    with application.app_context():
        staged_id = staging.stage(KIND, user_id, NOW, data=b"file")
        db.session.remove()
    contenders = 4
    barrier = threading.Barrier(contenders)
    outcomes = [None] * contenders

    def confirm(i):
        with application.app_context():
            try:
                db.session.scalar(select(StagedUpload.kind))  # a page has read before it confirms
                barrier.wait(timeout=10)
                outcomes[i] = staging.take(staged_id, user_id, KIND, NOW).data
            except Exception as exc:  # noqa: BLE001  (a refusal, or the failure we look for)
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [o for o in outcomes if o == b"file"] == [b"file"], outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if o != b"file"), outcomes
