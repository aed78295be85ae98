"""Issue 5, point 4 — messages between levels (信息沟通交流): who may write to whom (up to the direct
superior, down into the own subtree, never sideways nor outside), one thread per conversation with
replies, visibility limited to the two parties, the unread count, attachments."""

import io
import re

import pytest
from flask import g
from sqlalchemy import event, select

from app.extensions import db
from app.services import messages
from models.message import Conversation, Message
from models.org import Org
from models.user import MalanUser
from tests.factories import NOW, csrf_token

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture()
def login(login_en):
    """Signed in, in English (assertions on messages do not depend on the zh catalog)."""
    return login_en


def user(world, key) -> MalanUser:
    return db.session.get(MalanUser, world["user"][key])


def org(world, key) -> Org:
    return db.session.get(Org, world["org"][key])


def post(client, url, files=None, **data):
    data = {"csrf_token": csrf_token(client, "/password/change"), **data, **(files or {})}
    return client.post(url, data=data, content_type="multipart/form-data")


def write(client, login, world, sender, to, subject="培训计划报送", body="请查收。", files=None):
    login(sender)
    return post(
        client, "/messages/new", files=files, recipient=world["org"][to], subject=subject, body=body
    )


def conversation_ids() -> list[int]:
    db.session.rollback()
    return list(db.session.scalars(select(Conversation.id).order_by(Conversation.id)))


def message_count() -> int:
    db.session.rollback()
    return db.session.query(Message).count()


# ---------------------------------------------------------------- direction (decision documented
# in app/services/messages.py: up only to the direct superior, down anywhere in the own subtree)

DIRECTIONS = [
    ("i1", "C1", True),  # institution -> its city
    ("i1", "P1", False),  # over the city's head
    ("i1", "I1b", False),  # sideways: another institution of the same city
    ("i1", "I2", False),  # outside
    ("c1", "P1", True),  # city -> its province
    ("c1", "I1", True),  # city -> its institution
    ("c1", "C1b", False),  # sideways: another city of the same province
    ("c1", "C2", False),  # another province's city
    ("c1", "I2", False),  # outside its subtree
    ("c1", "center", False),  # not its direct superior
    ("p1", "center", True),
    ("p1", "C1", True),
    ("p1", "I1", True),  # into its subtree, skipping the city (decision)
    ("p1", "P2", False),  # sideways
    ("p1", "C2", False),
    ("p1", "I2", False),
    ("center", "P2", True),
    ("center", "I2", True),
    ("center", "center", False),
    ("trainer1", "C1", True),  # a trainer writes to the org its account belongs to
    ("trainer1", "P1", False),
    ("trainer1", "C2", False),
]


@pytest.mark.parametrize(("sender", "to", "allowed"), DIRECTIONS)
def test_point4_message_direction_rules(world, sender, to, allowed):
    assert messages.may_write_to(user(world, sender), org(world, to)) is allowed
    offered = {o.id for o in messages.recipients(user(world, sender))}
    assert (world["org"][to] in offered) is allowed


@pytest.mark.parametrize(("sender", "to"), [(s, t) for s, t, ok in DIRECTIONS if not ok][:6])
def test_point4_refused_direction_through_the_form_creates_nothing(
    client, login, world, sender, to
):
    response = write(client, login, world, sender, to)
    assert response.status_code == 200  # the form again, with the refusal
    assert "You may write only to your superior" in response.get_data(as_text=True)
    assert conversation_ids() == [] and message_count() == 0


def test_point4_roles_without_messaging_cannot_write(client, login, world):
    for key in ("trainee1", "auditor"):
        login(key)
        assert post(
            client, "/messages/new", recipient=world["org"]["I1"], subject="x", body="y"
        ).status_code in (302, 403)
    assert conversation_ids() == []


def test_point4_empty_subject_or_body_is_refused(client, login, world):
    assert "must not be empty" in write(client, login, world, "c1", "P1", subject=" ").get_data(
        as_text=True
    )
    assert "must not be empty" in write(client, login, world, "c1", "P1", body="").get_data(
        as_text=True
    )
    assert conversation_ids() == []


# ---------------------------------------------------------------- thread and replies


def test_point4_thread_with_replies(client, login, world):
    response = write(client, login, world, "c1", "P1", subject="东城区计划说明", body="第一条消息")
    [cid] = conversation_ids()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/messages/{cid}")

    login("p1")
    listing = client.get("/messages/").get_data(as_text=True)
    assert "东城区计划说明" in listing and "东城区" in listing
    assert "第一条消息" in client.get(f"/messages/{cid}").get_data(as_text=True)
    assert post(client, f"/messages/{cid}/reply", body="已收到，请补充材料").status_code == 302

    login("c1")
    page = client.get(f"/messages/{cid}").get_data(as_text=True)
    assert page.index("第一条消息") < page.index("已收到，请补充材料")
    post(client, f"/messages/{cid}/reply", body="材料已补充")
    db.session.rollback()
    thread = db.session.get(Conversation, cid)
    assert [m.body for m in thread.messages] == ["第一条消息", "已收到，请补充材料", "材料已补充"]
    assert [m.author_org_id for m in thread.messages] == [
        world["org"]["C1"],
        world["org"]["P1"],
        world["org"]["C1"],
    ]
    assert conversation_ids() == [cid]  # replies stay in the one conversation


def test_point4_a_new_message_to_the_same_org_is_a_new_conversation(client, login, world):
    write(client, login, world, "c1", "P1", subject="一")
    write(client, login, world, "c1", "P1", subject="二")
    assert len(conversation_ids()) == 2


# ---------------------------------------------------------------- visibility: the two parties only


@pytest.mark.parametrize(
    ("key", "sees"),
    [
        ("c1", True),
        ("i1", True),
        ("p1", False),  # above both parties: privacy, not supervision
        ("center", False),  # the center sees only its own conversations
        ("c1b", False),
        ("i1b", False),
        ("c2", False),
        ("i2", False),
        ("trainer1", False),
    ],
)
def test_point4_conversation_visible_only_to_its_two_parties(client, login, world, key, sees):
    write(client, login, world, "c1", "I1", subject="机构整改通知", body="请于三日内整改")
    [cid] = conversation_ids()
    login(key)
    assert client.get(f"/messages/{cid}").status_code == (200 if sees else 404)
    assert ("机构整改通知" in client.get("/messages/").get_data(as_text=True)) is sees
    reply = post(client, f"/messages/{cid}/reply", body="越权回复")
    assert reply.status_code == (302 if sees else 404)
    assert message_count() == (2 if sees else 1)


def test_point4_unknown_conversation_is_404(client, login, world):
    login("c1")
    assert client.get("/messages/999").status_code == 404


def test_point4_trainer_conversation_is_seen_by_the_trainer_and_its_org(client, login, world):
    write(client, login, world, "trainer1", "C1", subject="档期调整")
    [cid] = conversation_ids()
    for key, status in (
        ("trainer1", 200),
        ("c1", 200),
        ("c1b", 404),
        ("p1", 404),
        ("trainer2", 404),
    ):
        login(key)
        assert client.get(f"/messages/{cid}").status_code == status, key


# ---------------------------------------------------------------- unread count


def test_point4_unread_count_follows_reading_and_replies(client, login, world):
    write(client, login, world, "c1", "P1", subject="一")
    write(client, login, world, "i1", "C1", subject="二")
    first, second = conversation_ids()
    assert messages.unread_count(user(world, "c1")) == 1  # its own message is read, i1's is not
    assert messages.unread_count(user(world, "p1")) == 1
    assert messages.unread_count(user(world, "p2")) == 0

    login("p1")
    page = client.get("/messages/").get_data(as_text=True)
    assert 'id="messages-unread">1<' in page and 'class="unread"' in page
    client.get(f"/messages/{first}")
    assert messages.unread_count(user(world, "p1")) == 0
    assert 'id="messages-unread"' not in client.get("/messages/").get_data(as_text=True)
    post(client, f"/messages/{first}/reply", body="收到")
    assert messages.unread_count(user(world, "p1")) == 0
    assert messages.unread_count(user(world, "c1")) == 2  # p1's reply and i1's message


def test_point4_unread_badge_is_one_query_per_page(app, world):
    write_direct = messages.start(user(world, "c1"), org(world, "P1"), "一", "正文", NOW)
    db.session.commit()
    assert write_direct.id
    statements = []

    def count(*_args):
        statements.append(1)

    p1 = user(world, "p1")
    p1.roles, p1.org  # noqa: B018  (loaded before counting: the page has them already)
    # Its own app context: ``g.user`` set here must not outlive this test (the session-wide one
    # would lend it to the next test's AuditMixin columns).
    with app.app_context(), app.test_request_context("/"):
        g.user = p1
        from views.messages import unread_count

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert unread_count() == 1
            assert unread_count() == 1
            rendered = app.jinja_env.from_string("{{ message_unread_count() }}").render()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert rendered == "1"
    assert len(statements) == 1


# ---------------------------------------------------------------- attachments


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_point4_attachment_downloadable_by_the_two_parties_only(
    client, login, world, tmp_path, app, monkeypatch
):
    from models.attachment import Attachment

    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path))
    response = write(
        client,
        login,
        world,
        "c1",
        "I1",
        subject="附件",
        files={"attachments": (io.BytesIO(PDF), "整改要求.pdf")},
    )
    assert response.status_code == 302
    db.session.rollback()
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert attachment.owner_type == "message" and attachment.filename == "整改要求.pdf"
    [cid] = conversation_ids()
    login("i1")
    assert "整改要求.pdf" in client.get(f"/messages/{cid}").get_data(as_text=True)
    for key, status in (("i1", 200), ("c1", 200), ("p1", 404), ("c1b", 404), ("center", 404)):
        login(key)
        assert client.get(f"/files/{attachment.id}").status_code == status, key


def test_point4_refused_attachment_sends_nothing(client, login, world, tmp_path, app, monkeypatch):
    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path))
    response = write(
        client,
        login,
        world,
        "c1",
        "I1",
        subject="附件",
        files={"attachments": (io.BytesIO(b"MZ\x90\x00"), "病毒.exe")},
    )
    assert response.status_code == 200  # the form again, with the file's refusal
    assert conversation_ids() == [] and message_count() == 0
    assert list(tmp_path.iterdir()) == []


def test_point4_write_form_offers_only_allowed_recipients(client, login, world):
    # The recipient is a searchable picker (issue 15 point 4): its choices come from the org
    # picker's JSON, which offers exactly the orgs the service lets the user write to.
    def offered(**args):
        answer = client.get("/orgs/pick/", query_string={"purpose": "message", **args}).json
        return {r["id"] for r in answer["results"]}

    login("c1")
    page = client.get("/messages/new").get_data(as_text=True)
    assert 'data-purpose="message"' in page
    assert offered() == {world["org"][k] for k in ("P1", "I1", "I1b")}  # not 西城区, not 广东
    login("i1")
    assert offered() == {world["org"]["C1"]}
    page = client.get("/messages/new", query_string={"to": world["org"]["C1"]}).get_data(
        as_text=True
    )
    assert set(map(int, re.findall(r'<option value="(\d+)"', page))) == {world["org"]["C1"]}
