"""Issue 5 — 通知公告: publishing downward (1), who sees what (2), read receipts (3),
revisions (5), audit (6), and the audience matrix of point 7."""

import io
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import notices as svc
from models.attachment import Attachment
from models.audit import AuditLog
from models.notice import Notice, NoticeRead, NoticeRevision
from models.user import MalanUser
from tests.factories import NOW, csrf_token, grant

EVERYONE = [
    "center",
    "p1",
    "p2",
    "c1",
    "c1b",
    "c2",
    "i1",
    "i1b",
    "i2",
    "trainer1",
    "trainer2",
    "trainee1",
]


def user(world, key) -> MalanUser:
    return db.session.get(MalanUser, world["user"][key])


def publish(world, who, orgs, groups=("authorities", "institutions"), now=NOW, **kw) -> int:
    draft = svc.Draft(
        title=kw.pop("title", f"{who}的通知"),
        body=kw.pop("body", "<p>内容</p>"),
        org_ids=[world["org"][o] for o in orgs],
        groups=list(groups),
        **kw,
    )
    notice = svc.publish(draft, user(world, who), now)
    db.session.commit()
    return notice.id


def seers(world, notice_id, now=NOW) -> set:
    """Fixture users who see the notice, by the one audience rule."""
    out = set()
    for key in EVERYONE:
        if svc.get_visible(notice_id, user(world, key), now) is not None:
            out.add(key)
    return out


def post(client, url, data, **kw):
    data = dict(data, csrf_token=csrf_token(client, "/password/change"))
    return client.post(url, data=data, **kw)


def form(world, orgs, **kw):
    data = {
        "title": "关于开展创业培训的通知",
        "body": "<p>请各单位做好准备。</p>",
        "category": "notice",
        "org_ids": [str(world["org"][o]) for o in orgs],
        "groups": ["authorities", "institutions"],
    }
    data.update(kw)
    return data


def events(name) -> list[AuditLog]:
    return db.session.scalars(
        select(AuditLog).where(AuditLog.event == name).order_by(AuditLog.id)
    ).all()


# ---------------------------------------------------------------- point 1: publishing


def test_point1_province_publishes_with_attachment_category_pin_and_expiry(
    world, login, client, frozen_clock
):
    login("p1")
    data = form(world, ["C1"], category="document", pinned="y", expires_at="2026-04-01T18:00")
    data["files"] = (io.BytesIO("附件内容".encode()), "培训安排.txt")
    response = post(client, "/notices/new", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    notice = db.session.scalar(select(Notice))
    assert (notice.category, notice.pinned, notice.expires_at) == (
        "document",
        True,
        datetime(2026, 4, 1, 18, 0),
    )
    assert notice.publish_at == NOW and notice.publisher_org_id == world["org"]["P1"]
    assert [a.org_id for a in notice.audience] == [world["org"]["C1"]]
    [attachment] = db.session.scalars(select(Attachment)).all()
    assert (attachment.owner_type, attachment.owner_id, attachment.filename) == (
        "notice",
        notice.id,
        "培训安排.txt",
    )
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "培训安排.txt" in page and f"/files/{attachment.id}" in page


def test_point1_body_is_sanitised_on_save(world, login, client, frozen_clock):
    login("c1")
    body = (
        '<p onclick="steal()">正文<script>alert(1)</script>'
        '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">点我</a>'
        '<a href="https://www.mohrss.gov.cn/">人社部</a><b>重点</b></p>'
    )
    assert post(client, "/notices/new", form(world, ["I1"], body=body)).status_code == 302
    stored = db.session.scalar(select(Notice.body))
    for bad in ("<script", "alert(", "onclick", "onerror", "javascript:"):
        assert bad not in stored
    assert "<b>重点</b>" in stored and 'href="https://www.mohrss.gov.cn/"' in stored
    shown = client.get(f"/notices/{db.session.scalar(select(Notice.id))}").get_data(as_text=True)
    assert "alert(1)" not in shown and "<b>重点</b>" in shown


@pytest.mark.parametrize(
    "who, target",
    [
        ("p1", "C2"),  # another province's city
        ("p1", "P2"),  # another province
        ("p1", "center"),  # upward
        ("c1", "I2"),  # another province's institution
        ("c1", "C1b"),  # sideways
        ("c1", "P1"),  # its own province: upward
    ],
)
def test_point1_addressing_outside_the_subtree_is_refused(
    world, login, client, frozen_clock, who, target
):
    login(who)
    response = post(
        client, "/notices/new", form(world, ["I1", target] if who == "c1" else ["C1", target])
    )
    assert response.status_code == 422
    assert db.session.scalar(select(Notice.id)) is None
    with pytest.raises(svc.NoticeError):
        publish(world, who, [target])


@pytest.mark.parametrize("who", ["i1", "trainer1", "trainee1"])
def test_point1_institutions_trainers_trainees_cannot_publish(
    world, login, client, frozen_clock, who
):
    login(who)
    assert client.get("/notices/new").status_code != 200
    post(client, "/notices/new", form(world, ["I1"]))
    assert db.session.scalar(select(Notice.id)) is None
    with pytest.raises(svc.NoticeError):
        publish(world, who, ["I1"])


def test_point1_bad_input_is_refused(world, login, client, frozen_clock):
    login("c1")
    for data in (
        form(world, ["I1"], category="secret"),
        form(world, ["I1"], title=" "),
        form(world, [], title="无受众"),
        form(world, ["I1"], groups=[]),
        form(world, ["I1"], expires_at="2026-03-01T00:00"),
        form(world, ["I1"], publish_at="not a date"),
    ):
        assert post(client, "/notices/new", data).status_code == 422
    assert db.session.scalar(select(Notice.id)) is None


@pytest.mark.parametrize(
    "change, field, message",
    [
        (dict(category="secret"), "category", "未知"),
        (dict(expires_at="2026-03-01T00:00"), "expires_at", "失效时间"),
        (dict(groups=[]), "groups", "接收"),
    ],
)
def test_point1_a_refusal_is_shown_beside_its_field_with_the_text_kept(
    world, login, client, frozen_clock, change, field, message
):
    """Issue 15 point 1: the publish form comes back with the message next to the refused field
    and every typed value (title, body) still there."""
    login("c1")
    data = form(world, ["I1"], title="暑期培训安排", body="<p>请各单位做好准备</p>", **change)
    response = post(client, "/notices/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    beside = html.split(f'data-field="{field}"', 1)
    assert len(beside) == 2 and message in beside[1].split("</div>", 1)[0]
    assert 'value="暑期培训安排"' in html and "请各单位做好准备" in html


def test_point1_scheduled_notice_appears_at_its_time_and_expires(world, frozen_clock):
    nid = publish(
        world, "c1", ["I1"], publish_at=NOW + timedelta(days=1), expires_at=NOW + timedelta(days=3)
    )
    assert seers(world, nid) == {"c1"}  # the publisher sees it scheduled; the audience not yet
    assert seers(world, nid, NOW + timedelta(days=1)) == {"c1", "i1"}
    assert seers(world, nid, NOW + timedelta(days=3)) == {"c1"}  # expired


# ---------------------------------------------------------------- point 2 / 7: audience matrix


@pytest.mark.parametrize(
    "who, orgs, groups, expected",
    [
        (
            "center",
            ["center"],
            ("authorities", "institutions"),
            {"center", "p1", "p2", "c1", "c1b", "c2", "i1", "i1b", "i2"},
        ),
        ("center", ["P1", "P2"], ("authorities",), {"center", "p1", "p2", "c1", "c1b", "c2"}),
        (
            "center",
            ["P2", "I1"],
            ("authorities", "institutions"),
            {"center", "p2", "c2", "i2", "i1"},
        ),
        ("center", ["center"], ("trainers",), {"center", "trainer1", "trainer2"}),
        ("p1", ["C1"], ("authorities", "institutions"), {"p1", "c1", "i1", "i1b"}),
        ("p1", ["C1", "C1b"], ("authorities",), {"p1", "c1", "c1b"}),
        ("p1", ["P1"], ("institutions",), {"p1", "i1", "i1b"}),
        ("c1", ["I1"], ("authorities", "institutions"), {"c1", "i1"}),
        ("c1", ["C1"], ("institutions", "trainers"), {"c1", "i1", "i1b", "trainer1"}),
    ],
)
def test_point7_audience_matrix(world, frozen_clock, who, orgs, groups, expected):
    nid = publish(world, who, orgs, groups)
    assert seers(world, nid) == expected


@pytest.mark.parametrize(
    "start, end, sees",
    [
        (date(2026, 3, 5), date(2026, 3, 10), False),  # three days before the class: not yet
        (date(2026, 3, 4), date(2026, 3, 10), True),  # two days before
        (date(2026, 2, 25), date(2026, 3, 2), True),  # last day of the class
        (date(2026, 2, 20), date(2026, 3, 1), False),  # the class is over
        (None, None, False),  # no class
    ],
)
def test_point7_trainee_sees_trainee_notices_only_while_its_class_runs(
    world, frozen_clock, start, end, sees
):
    trainee = user(world, "trainee1")
    trainee.class_start, trainee.class_end = start, end
    db.session.commit()
    to_trainees = publish(world, "c1", ["I1"], ("institutions", "trainees"))
    not_to_trainees = publish(world, "c1", ["I1"], ("authorities", "institutions", "trainers"))
    assert ("trainee1" in seers(world, to_trainees)) is sees
    assert "trainee1" not in seers(world, not_to_trainees)


def test_point2_nothing_outside_the_audience_by_list_page_attachment_or_search(
    world, login, client, frozen_clock
):
    login("p1")
    data = form(world, ["C1"], title="北京专属通知")
    data["files"] = (io.BytesIO(b"only for Beijing"), "beijing.txt")
    post(client, "/notices/new", data, content_type="multipart/form-data")
    nid = db.session.scalar(select(Notice.id))
    aid = db.session.scalar(select(Attachment.id))
    login("c1")
    assert "北京专属通知" in client.get("/notices/?q=北京专属").get_data(as_text=True)
    assert client.get(f"/notices/{nid}").status_code == 200
    assert client.get(f"/files/{aid}").status_code == 200
    for outsider in ("c2", "p2", "c1b", "i2"):
        login(outsider)
        assert "北京专属通知" not in client.get("/notices/").get_data(as_text=True)
        assert "北京专属通知" not in client.get("/notices/?q=北京专属").get_data(as_text=True)
        assert client.get(f"/notices/{nid}").status_code == 404
        assert client.get(f"/files/{aid}").status_code == 404
        assert client.get(f"/notices/{nid}/receipts").status_code in (403, 404)
    # No REST API exposes notices: there is no path around the audience rule.
    assert not [
        r.rule
        for r in client.application.url_map.iter_rules()
        if r.rule.startswith("/api/") and "notice" in r.rule.lower()
    ]


def test_point2_province_and_city_see_what_they_published(world, frozen_clock):
    by_p1 = publish(world, "p1", ["C1b"], ("institutions",))  # nobody at C1b is an institution
    by_c1 = publish(world, "c1", ["I1"], ("institutions",))
    assert seers(world, by_p1) == {"p1"}
    assert seers(world, by_c1) == {"c1", "i1"}


def test_point2_list_is_pinned_first(world, login, client, frozen_clock):
    publish(world, "c1", ["I1"], title="普通通知", publish_at=NOW - timedelta(hours=1))
    publish(world, "c1", ["I1"], title="置顶通知", pinned=True, publish_at=NOW - timedelta(hours=2))
    login("i1")
    html = client.get("/notices/").get_data(as_text=True)
    assert html.index("置顶通知") < html.index("普通通知")


def test_point2_list_pages_newest_first_with_one_pager(world, login, client, frozen_clock):
    for n in range(26):  # a page holds 25
        publish(world, "c1", ["I1"], title=f"第{n:02d}号通知", publish_at=NOW - timedelta(hours=n))
    login("i1")
    first = client.get("/notices/").get_data(as_text=True)
    assert "第00号通知" in first and "第25号通知" not in first
    assert re.findall(r'<a rel="(\w+)" href="[^"]*page=(\d+)', first) == [("next", "2")]
    second = client.get("/notices/?page=2").get_data(as_text=True)
    assert "第25号通知" in second and "第00号通知" not in second
    assert re.findall(r'<a rel="(\w+)" href="[^"]*page=(\d+)', second) == [("prev", "1")]


# ---------------------------------------------------------------- point 3: read receipts


def test_point3_opening_marks_read_unread_bold_and_counted(world, login, client, frozen_clock):
    nid = publish(world, "p1", ["C1", "C1b"], ("authorities",), title="请阅读")
    login("c1")
    html = client.get("/notices/").get_data(as_text=True)
    assert "<strong>请阅读</strong>" in html and 'id="notice-unread-total"' in html
    assert svc.unread_count(user(world, "c1"), NOW) == 1
    assert client.get(f"/notices/{nid}").status_code == 200
    client.get(f"/notices/{nid}")  # a second opening is not a second receipt
    reads = db.session.scalars(select(NoticeRead)).all()
    assert [(r.notice_id, r.user_id, r.read_at) for r in reads] == [(nid, world["user"]["c1"], NOW)]
    html = client.get("/notices/").get_data(as_text=True)
    assert "<strong>请阅读</strong>" not in html and 'id="notice-unread-total"' not in html
    assert svc.unread_count(user(world, "c1"), NOW) == 0
    assert svc.unread_count(user(world, "c1b"), NOW) == 1
    assert svc.unread_count(user(world, "c2"), NOW) == 0


def test_point3_publisher_sees_counts_by_org_and_who_has_not_read(
    world, login, client, frozen_clock
):
    nid = publish(world, "p1", ["C1", "C1b"], ("authorities", "institutions"))
    login("i1")
    client.get(f"/notices/{nid}")
    rows = {
        r.org.code: (r.read, [u.username for u in r.unread])
        for r in svc.receipts(db.session.get(Notice, nid), NOW)
    }
    assert rows == {
        "110101": (0, [world["username"]["c1"]]),
        "110102": (0, [world["username"]["c1b"]]),
        "1101010001": (1, []),
        "1101010002": (0, [world["username"]["i1b"]]),
    }
    login("p1")
    html = client.get(f"/notices/{nid}/receipts").get_data(as_text=True)
    assert 'id="receipt-read">1<' in html and 'id="receipt-unread">3<' in html
    assert "钱西城" in html and "周机构" not in html  # c1b has not read; i1 has
    response = client.get(f"/notices/{nid}/receipts/export")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    names = {row[2] for row in sheet.iter_rows(values_only=True)}
    assert {"赵东城", "钱西城", "吴机构"} <= names and "周机构" not in names
    [entry] = events("export")
    assert entry.object_type == "NoticeRead" and entry.summary.startswith("3 rows")


@pytest.mark.parametrize("who", ["c1", "p2", "i1"])
def test_point3_only_the_publisher_sees_receipts(world, login, client, frozen_clock, who):
    nid = publish(world, "p1", ["C1"])
    login(who)
    assert client.get(f"/notices/{nid}/receipts").status_code in (403, 404)
    assert client.get(f"/notices/{nid}/receipts/export").status_code in (403, 404)
    assert not events("export")


# ---------------------------------------------------------------- point 5: revisions


def test_point5_correction_keeps_every_version_and_who_changed_what(
    world, login, client, frozen_clock
):
    nid = publish(world, "p1", ["C1"], title="初稿标题", body="<p>旧内容</p>")
    login("p1")
    response = post(
        client,
        f"/notices/{nid}/correct",
        {"title": "更正后标题", "body": "<p>新内容</p>", "category": "notice", "note": "标题有误"},
    )
    assert response.status_code == 302
    notice = db.session.get(Notice, nid)
    db.session.refresh(notice)
    assert (notice.title, notice.version) == ("更正后标题", 2)
    revs = db.session.scalars(select(NoticeRevision).order_by(NoticeRevision.version)).all()
    assert [(r.version, r.title, r.body, r.changed_by_id) for r in revs] == [
        (1, "初稿标题", "<p>旧内容</p>", world["user"]["p1"]),
        (2, "更正后标题", "<p>新内容</p>", world["user"]["p1"]),
    ]
    assert revs[1].note == "标题有误"
    [entry] = events("notice_correct")
    assert "初稿标题" in entry.changes and "更正后标题" in entry.changes
    html = client.get(f"/notices/{nid}").get_data(as_text=True)
    assert 'id="notice-history"' in html and "初稿标题" in html
    # The audience sees the corrected text; another city cannot correct it.
    login("c1")
    assert "新内容" in client.get(f"/notices/{nid}").get_data(as_text=True)
    assert (
        post(client, f"/notices/{nid}/correct", {"title": "篡改", "category": "notice"}).status_code
        == 404
    )
    db.session.refresh(notice)
    assert notice.title == "更正后标题"


def test_point5_withdrawn_notice_disappears_for_the_audience(world, login, client, frozen_clock):
    nid = publish(world, "p1", ["C1"])
    login("c1b")  # same province, not the publisher
    assert post(client, f"/notices/{nid}/withdraw", {}).status_code == 404
    login("p1")
    assert post(client, f"/notices/{nid}/withdraw", {}).status_code == 302
    assert seers(world, nid) == {"p1"}
    login("c1")
    assert client.get(f"/notices/{nid}").status_code == 404
    login("p1")
    assert 'id="notice-withdrawn"' in client.get(f"/notices/{nid}").get_data(as_text=True)
    assert svc.get_visible(nid, user(world, "auditor"), NOW) is not None
    grant(client.application, "auditor", "Notice", ["can_read"])  # pending in the shipped table
    login("auditor")
    assert client.get(f"/notices/{nid}").status_code == 200


# ---------------------------------------------------------------- point 6: audit


def test_point6_publish_correct_withdraw_and_download_are_audited(
    world, login, client, frozen_clock
):
    login("c1")
    data = form(world, ["I1"], title="审计通知")
    data["files"] = (io.BytesIO(b"text"), "a.txt")
    post(client, "/notices/new", data, content_type="multipart/form-data")
    nid = db.session.scalar(select(Notice.id))
    post(
        client,
        f"/notices/{nid}/correct",
        {"title": "审计通知（更正）", "category": "notice", "body": "x"},
    )
    login("i1")
    aid = db.session.scalar(select(Attachment.id))
    assert client.get(f"/files/{aid}").status_code == 200
    login("c1")
    post(client, f"/notices/{nid}/withdraw", {})
    for name, who in (
        ("notice_publish", "c1"),
        ("notice_correct", "c1"),
        ("notice_withdraw", "c1"),
        ("download", "i1"),
    ):
        [entry] = events(name)
        assert entry.username == world["username"][who], name
    assert events("notice_publish")[0].object_id == str(nid)


def test_point3_unread_count_badges_for_menu_and_home(world, app, frozen_clock):
    """The partials the navbar and the home page include show the user's unread count."""
    from flask import g, render_template_string

    publish(world, "p1", ["C1"], ("authorities",))
    publish(world, "p1", ["C1"], ("authorities",), title="第二份")
    template = '{% include "notices/_navbar.html" %}|{% include "notices/_home_panel.html" %}'
    # The auditor reads every notice but none is addressed to it: no badge.
    for key, count in (("c1", 2), ("c2", 0), ("auditor", 0)):
        with app.test_request_context("/"):
            g.user = user(world, key)
            html = render_template_string(template)
        navbar, home = html.split("|")
        assert (f'<span class="badge">{count}</span>' in navbar) is bool(count)
        assert (f'id="home-notice-unread">{count}<' in home) is bool(count)


def test_issue15_home_panel_lists_the_latest_unread_titles_newest_first(
    world, login, client, frozen_clock
):
    """The home page names what is unread (newest first, at most five), not only a count; a
    notice once opened leaves the list."""
    for n in range(6):
        at = NOW + timedelta(minutes=n)
        publish(world, "p1", ["C1"], ("authorities",), now=at, publish_at=at, title=f"第{n}号通知")
    frozen_clock.advance(hours=1)
    login("c1")
    panel = client.get("/").get_data(as_text=True).split('id="home-notices"')[1]
    titles = [f"第{n}号通知" for n in range(6)]
    shown = [t for t in titles if t in panel]
    assert shown == titles[1:]  # the oldest of six is left for the full list
    assert panel.index("第5号通知") < panel.index("第1号通知")
    newest = db.session.scalar(select(Notice.id).where(Notice.title == "第5号通知"))
    client.get(f"/notices/{newest}")
    panel = client.get("/").get_data(as_text=True).split('id="home-notices"')[1]
    assert "第5号通知" not in panel and "第0号通知" in panel
    login("c2")
    panel = client.get("/").get_data(as_text=True).split('id="home-notices"')[1]
    assert "第" not in panel.split("panel-footer")[0] and "没有未读" in panel


# ---------------------------------------------------------------- issue 11 point 2: refusals


def test_issue11_a_refused_attachment_publishes_nothing_and_names_the_file(
    world, login, client, frozen_clock, app, monkeypatch, tmp_path
):
    """The notice and its files are one transaction: a refused file leaves no notice, no
    audit entry and no file, and the page says which file, in Chinese."""
    monkeypatch.setitem(app.config, "FILES_DIR", str(tmp_path))
    login("p1")
    data = form(world, ["C1"])
    data["files"] = (io.BytesIO(b"MZ\x90\x00"), "病毒.exe")
    response = post(client, "/notices/new", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "病毒.exe: " in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Notice.id)) is None
    assert events("notice_publish") == [] and list(tmp_path.iterdir()) == []


def test_issue11_withdrawing_a_withdrawn_notice_is_refused(world, login, client, frozen_clock):
    notice_id = publish(world, "p1", ["C1"])
    login("p1")
    post(client, f"/notices/{notice_id}/withdraw", {})
    db.session.rollback()
    first = db.session.get(Notice, notice_id).withdrawn_at
    response = post(client, f"/notices/{notice_id}/withdraw", {}, follow_redirects=True)
    assert "此通知已撤回。" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Notice, notice_id).withdrawn_at == first
    assert len(events("notice_withdraw")) == 1
