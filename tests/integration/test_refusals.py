"""Issue 11 point 2: a refusal is one family (`DomainError`) with the user's message. An action
a rule refuses shows that message (in Chinese) and leaves the database as it was — for the
domains whose views became thin: messages, record comments, organisations (API)."""

import html
import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.services import accounts, messages, notices, rosters
from app.services.errors import DomainError
from models.message import Conversation, Message, RecordComment
from models.org import Org
from reports.imports import ImportRefused
from tests.factories import api_headers, browser, csrf_token, grant, seed_plans, snapshot

NOW = datetime(2026, 3, 2, 9, 0)


@pytest.mark.parametrize(
    "error",
    [
        accounts.AccountError,
        rosters.RosterError,
        notices.NoticeError,
        messages.MessageError,
        ImportRefused,
    ],
)
def test_issue11_refusals_are_domain_errors_not_value_errors(error):
    """`perform` and the review endpoints catch DomainError: a refusal raised as a ValueError
    would reach the user as a server error."""
    assert issubclass(error, DomainError) and not issubclass(error, ValueError)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, url, **data):
    data = {"csrf_token": csrf_token(client, "/password/change"), **data}
    return client.post(url, data=data, content_type="multipart/form-data", follow_redirects=True)


def test_issue11_an_empty_message_is_refused_in_chinese_and_sends_nothing(
    client, login, world, monkeypatch
):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    login("c1")
    response = post(
        client,
        "/messages/new",
        recipient=str(world["org"]["I1"]),
        subject="培训计划报送",
        body="   ",
        attachments=(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf"),
    )
    assert "消息不能为空。" in html.unescape(response.get_data(as_text=True))
    assert count(Conversation) == 0 and count(Message) == 0


def test_issue11_writing_sideways_is_refused_in_chinese(client, login, world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    login("c1")
    response = post(
        client, "/messages/new", recipient=str(world["org"]["C1b"]), subject="横向", body="正文"
    )
    assert "上级" in html.unescape(response.get_data(as_text=True))
    assert count(Conversation) == 0


def test_issue11_an_empty_comment_is_refused_in_chinese_and_stores_nothing(
    client, login, world, monkeypatch
):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    plan = seed_plans(world, NOW)["C1"]
    login("c1")
    response = post(client, f"/planview/comment/{plan}", comment=" ")
    assert "评论不能为空。" in html.unescape(response.get_data(as_text=True))
    assert count(RecordComment) == 0


def test_issue11_an_institution_under_a_province_is_refused_by_the_api(app, world):
    """The org rules are the service's (`app.services.orgs`): the API answers 422 with the
    rule's message beside its field, and writes nothing."""
    headers = api_headers(app, world["username"]["center"])
    grant(app, "center", "Org", ["can_write"])
    before = snapshot()
    for body, field, message in (
        ({"parent": world["org"]["P1"], "name": "省下机构"}, "parent", "请选择机构所属地市。"),
        (
            {"parent": world["org"]["C1"], "name": "x", "credit_code": "91110101MA01A2B3CB"},
            "credit_code",
            "统一社会信用代码无效。",
        ),
    ):
        response = browser(app).post(
            "/api/v1/org/", json=body, headers={**headers, "Accept-Language": "zh"}
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["message"] == {field: [message]}
    assert snapshot() == before
    assert count(Org) == len(before["org"])
