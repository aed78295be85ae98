"""Issue 5, point 4 — a comment thread on any reviewable record: shown on the record's page to
whoever can see the record, posted by anyone who can see it, audited; a foreign record is 404."""

import pytest
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.message import RecordComment
from tests.factories import NOW, csrf_token, seed_plans


@pytest.fixture()
def login(login_en):
    """Signed in, in English (assertions on messages do not depend on the zh catalog)."""
    return login_en


@pytest.fixture()
def plans(world, frozen_clock):
    return seed_plans(world, NOW)


def comment(client, plan_id, text):
    return client.post(
        f"/planview/comment/{plan_id}",
        data={"csrf_token": csrf_token(client, "/password/change"), "comment": text},
    )


def comments() -> list[tuple]:
    db.session.rollback()
    return [
        (c.record_type, c.record_id, c.body)
        for c in db.session.scalars(select(RecordComment).order_by(RecordComment.id))
    ]


def test_point4_submitter_and_reviewer_discuss_on_the_record_page(client, login, world, plans):
    plan = plans["C1"]
    login("c1")
    response = comment(client, plan, "请省里确认第二期开班时间")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/planview/show/{plan}#record-comments"
    )
    login("p1")  # the reviewer sees the record, hence its comments, and answers
    page = client.get(f"/planview/show/{plan}").get_data(as_text=True)
    assert 'id="record-comments"' in page and "请省里确认第二期开班时间" in page
    assert "赵东城" in page  # the author
    assert comment(client, plan, "同意，按计划执行").status_code == 302
    login("center")
    page = client.get(f"/planview/show/{plan}").get_data(as_text=True)
    assert page.index("请省里确认第二期开班时间") < page.index("同意，按计划执行")
    assert comments() == [
        ("plan", plan, "请省里确认第二期开班时间"),
        ("plan", plan, "同意，按计划执行"),
    ]


def test_point4_comments_stay_on_their_record(client, login, world, plans):
    login("c1")
    comment(client, plans["C1"], "只属于东城区的计划")
    login("p1")
    assert "只属于东城区的计划" not in client.get(f"/planview/show/{plans['C1b']}").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("c1b", 404),
        ("c2", 404),
        ("p2", 404),  # may read plans, not this one
        ("i1", 403),  # may not read plans at all
    ],
)
def test_point4_who_cannot_see_the_record_cannot_read_or_post_comments(
    client, login, world, plans, key, status
):
    plan = plans["C1"]
    login("c1")
    comment(client, plan, "内部讨论")
    login(key)
    page = client.get(f"/planview/show/{plan}")
    assert page.status_code == status and "内部讨论" not in page.get_data(as_text=True)
    assert comment(client, plan, "越权评论").status_code == status
    assert comments() == [("plan", plan, "内部讨论")]


def test_point4_foreign_record_comment_is_404(client, login, world, plans):
    login("c2")  # has the Plan permissions, but not this city's plan
    assert comment(client, plans["C1"], "越权评论").status_code == 404
    assert comment(client, 999, "不存在").status_code == 404
    assert comments() == []


def test_point4_empty_comment_is_refused(client, login, world, plans):
    login("c1")
    comment(client, plans["C1"], "   ")
    assert comments() == []
    page = client.get(f"/planview/show/{plans['C1']}").get_data(as_text=True)
    assert "must not be empty" in page


def test_point4_comment_is_audited(client, login, world, plans):
    login("c1")
    comment(client, plans["C1"], "审计可查")
    db.session.rollback()
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.object_type == "RecordComment", AuditLog.event == "create")
    ).one()
    assert entry.username == world["username"]["c1"] and "审计可查" in entry.changes
