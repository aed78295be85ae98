"""[dispatch] issue 12, points 4 and 5, the class link and their part of 6 and 8 (Annex 1 rows
12–14): the two notices (PDF, number, verification code, public verify page), the trainers' and
the institution's confirmations, an objection answered by replacing a trainer, and the confirmed
seats put on the class.

The class: I1's (东城创业学校), 2 days, 30 days after the frozen clock, 2 trainers wanted; the
trainers of `make_trainer`, available around it.
"""

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.services import dispatch as svc
from app.services import dispatch_notices as notices
from app.services import documents, review
from app.services.errors import Conflict, NotAllowed
from app.services.tx import transaction
from models.application import TrainingClass
from models.audit import AuditLog
from models.classroom import ClassTrainer
from models.dispatch import Booking, Dispatch, DispatchSeat
from models.document import IssuedDocument
from models.review import ReviewTask
from models.user import MalanUser
from reports import pdf
from tests.factories import (
    NOW,
    flashes,
    make_class,
    make_trainer,
    mark_available,
    post_form,
    rows,
    staffed_dispatch,
)

START = NOW.date() + timedelta(days=30)


def _user(world, key):
    return db.session.get(MalanUser, world["user"][key])


def _d(world) -> Dispatch:
    return db.session.get(Dispatch, world["dispatch"])


def _seat(profile_id) -> DispatchSeat:
    return db.session.scalar(select(DispatchSeat).where(DispatchSeat.profile_id == profile_id))


def _open(kind, record_id):
    return db.session.scalars(
        select(ReviewTask).where(
            ReviewTask.record_type == kind,
            ReviewTask.record_id == record_id,
            ReviewTask.done_at.is_(None),
        )
    ).all()


def _docs(kind=None, status=None):
    query = select(IssuedDocument).order_by(IssuedDocument.id)
    if kind:
        query = query.where(IssuedDocument.kind == kind)
    if status:
        query = query.where(IssuedDocument.status == status)
    return db.session.scalars(query).all()


def _state():
    """What a refused step must not change: the dispatch's tables, the notices, the to-dos."""
    documents_ = IssuedDocument.__table__
    return {
        "dispatch": rows(Dispatch.__table__),
        "seat": rows(DispatchSeat.__table__),
        "booking": rows(Booking.__table__),
        "doc": rows(select(*[c for c in documents_.c if c.name not in ("pdf", "text")])),
        "task": rows(ReviewTask.__table__),
        "trainer": rows(ClassTrainer.__table__),
    }


def _pdf_text(doc_id) -> str:
    body = db.session.scalar(select(IssuedDocument.pdf).where(IssuedDocument.id == doc_id))
    reader = PdfReader(io.BytesIO(body))
    return "".join(page.extract_text() for page in reader.pages)


def _no_space(text: str) -> str:
    return "".join(text.split())


@pytest.fixture()
def staffed(frozen_clock, world):
    """I1's class, 2 trainers wanted, ta (lead) and tb requested and accepted; tc, td free."""
    staffed_dispatch(world, START)
    p = world["profile"]
    i1, center = _user(world, "i1"), _user(world, "center")
    with transaction():
        d = _d(world)
        svc.save_criteria(d, i1, {"wanted": 2, "region": "any"}, NOW)
        svc.propose(d, i1, [p["ta"], p["tb"], p["tc"]], NOW)
        svc.send_requests(d, center, [p["ta"], p["tb"]], p["ta"], NOW)
    for key in ("ta", "tb"):
        with transaction():
            svc.accept(_seat(p[key]), _user(world, key), NOW)
    return world


def _issue(w):
    with transaction():
        return [doc.id for doc in notices.issue_notices(_d(w), _user(w, "center"), NOW)]


# ---------------------------------------------------------------- the whole loop


def test_point4_5_whole_loop_with_a_decline_an_objection_and_a_replacement(
    frozen_clock, world, client, login
):
    """2 seats: td declines, tb replaces it; notices issued; the institution objects to tb; the
    center replaces tb by tc (tb's notice withdrawn); notices again; everyone confirms; ta (lead)
    and tc are on the class, tb is not."""
    class_id = make_class(world, "I1", START, days=2).id
    for key, city in (("ta", "C1"), ("tb", "C1"), ("tc", "C1b"), ("td", "C2")):
        mark_available(make_trainer(world, key, city), START - timedelta(days=5), 20)
    p = world["profile"]
    login("i1")
    post_form(client, f"/trainingclassview/open_dispatch/{class_id}")
    d_id = db.session.scalar(select(Dispatch.id).where(Dispatch.class_id == class_id))
    world["dispatch"] = d_id
    post_form(client, f"/dispatchview/criteria/{d_id}", wanted="2", region="any")
    post_form(client, f"/dispatchview/propose/{d_id}", candidates=[p["ta"], p["tb"], p["tc"]])
    login("center")
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["ta"], p["td"]], lead=p["ta"])
    login("td")
    post_form(client, f"/dispatchseatview/decline/{_seat(p['td']).id}", reason="当周已有课程")
    login("center")
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["tb"]])
    for key in ("ta", "tb"):
        login(key)
        post_form(client, f"/dispatchseatview/accept/{_seat(p[key]).id}")
    db.session.expire_all()
    assert _d(world).status == "staffed"

    # Row 12: the center's step "issue the notices", due in 2 days, in its to-do
    (step,) = _open("dispatch", d_id)
    assert step.due_at.date() == NOW.date() + timedelta(days=2)
    login("center")
    todo = client.get("/todo/").get_data(as_text=True)
    assert "签发派遣通知书" in todo and f"/dispatchview/show/{d_id}" in todo
    page = client.get(f"/dispatchview/show/{d_id}").get_data(as_text=True)
    assert 'id="issue-form"' in page
    post_form(client, f"/dispatchview/issue/{d_id}")
    db.session.expire_all()
    assert _d(world).status == "notified" and not _open("dispatch", d_id)
    trainer_notices = _docs("dispatch_notice")
    (task_notice,) = _docs("task_notice")
    assert [n.owner_user_id for n in trainer_notices] == [world["user"]["ta"], world["user"]["tb"]]
    assert {_seat(p["ta"]).status, _seat(p["tb"]).status} == {"notified"}
    klass = db.session.get(TrainingClass, class_id)

    # The PDFs: every Chinese string of the notice is in the text extracted from it.
    ta_text = _no_space(_pdf_text(trainer_notices[0].id))
    for expected in (
        "派遣通知书",
        trainer_notices[0].number,
        "讲师ta同志",
        "主讲培训师",
        klass.code,
        "东城创业学校",
        f"{START.isoformat()}至{(START + timedelta(days=1)).isoformat()}",
        "共2天",
        "教室",
        "讲师ta（主讲）、讲师tb",
        "部中心",
        "2026年3月2日",
        f"验证码：{trainer_notices[0].code}",
        f"/verify/{trainer_notices[0].code}",
    ):
        assert expected in ta_text, expected
    task_text = _no_space(_pdf_text(task_notice.id))
    for expected in (
        "培训师执行任务通知书",
        task_notice.number,
        "东城创业学校：",
        "讲师ta（主讲）",
        "讲师tb",
        "东城区",
        "确认或提出异议",
        "部中心",
        f"验证码：{task_notice.code}",
    ):
        assert expected in task_text, expected

    # Rows 13–14: each addressee's to-do, due in 2 days
    (ta_step,) = _open("issued_document", trainer_notices[0].id)
    assert ta_step.assignee_id == world["user"]["ta"]
    assert ta_step.due_at.date() == NOW.date() + timedelta(days=2)
    (i1_step,) = _open("issued_document", task_notice.id)
    assert i1_step.level == "institution" and i1_step.reviewer_org_id == world["org"]["I1"]
    login("ta")
    assert "确认派遣通知书" in client.get("/todo/").get_data(as_text=True)
    login("tb")  # tb cannot even see ta's notice, let alone confirm it
    before = _state()
    assert client.get(f"/issueddocumentview/show/{trainer_notices[0].id}").status_code == 404
    assert (
        post_form(client, f"/issueddocumentview/confirm/{trainer_notices[0].id}").status_code == 404
    )
    assert _state() == before
    for key, doc in (("ta", trainer_notices[0]), ("tb", trainer_notices[1])):
        login(key)
        post_form(client, f"/issueddocumentview/confirm/{doc.id}")
    db.session.expire_all()
    assert {_seat(p["ta"]).status, _seat(p["tb"]).status} == {"confirmed"}

    # Row 14: the institution objects to tb, with a reason (none: refused, nothing changed)
    login("i1")
    assert "确认执行任务通知书或提出异议" in client.get("/todo/").get_data(as_text=True)
    before = _state()
    post_form(client, f"/issueddocumentview/object/{task_notice.id}", reason="  ")
    assert any("原因" in m for m in flashes(client)) and _state() == before
    tb_seat = _seat(p["tb"]).id
    post_form(
        client,
        f"/issueddocumentview/object/{task_notice.id}",
        reason="讲师tb不熟悉本地情况",
        seat=str(tb_seat),
    )
    db.session.expire_all()
    assert _d(world).status == "objected" and _seat(p["tb"]).status == "objected"
    (answer_step,) = _open("dispatch", d_id)
    assert answer_step.due_at.date() == NOW.date() + timedelta(days=2)
    login("center")
    assert "答复培训机构的异议" in client.get("/todo/").get_data(as_text=True)

    # The center replaces tb: its seat and notice withdrawn, its days freed; back to row 10
    post_form(client, f"/dispatchview/answer/{d_id}", decision="replace", seat=str(tb_seat))
    db.session.expire_all()
    tb_notice = db.session.get(IssuedDocument, trainer_notices[1].id)
    assert tb_notice.status == "withdrawn" and _seat(p["tb"]).status == "withdrawn"
    assert db.session.get(IssuedDocument, task_notice.id).status == "withdrawn"
    assert db.session.scalar(select(Booking.id).where(Booking.seat_id == tb_seat)) is None
    assert _d(world).status == "requesting"
    html = client.get(f"/verify/{tb_notice.code}").get_data(as_text=True)
    assert "已撤回" in html
    page = client.get(f"/dispatchview/show/{d_id}").get_data(as_text=True)
    assert f'name="trainers" value="{p["tc"]}"' in page  # the freed list again
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["tc"]])
    login("tc")
    post_form(client, f"/dispatchseatview/accept/{_seat(p['tc']).id}")
    login("center")
    post_form(client, f"/dispatchview/issue/{d_id}")
    db.session.expire_all()
    tc_notice = _docs("dispatch_notice", "valid")[-1]
    assert tc_notice.owner_user_id == world["user"]["tc"]
    (new_task,) = _docs("task_notice", "valid")
    text = _no_space(_pdf_text(new_task.id))
    assert "讲师tc" in text and "讲师tb" not in text
    assert len(_docs("dispatch_notice", "valid")) == 2  # ta's stays valid, tb's withdrawn

    login("tc")
    post_form(client, f"/issueddocumentview/confirm/{tc_notice.id}")
    assert not db.session.scalars(select(ClassTrainer)).all()  # the institution has not yet
    login("i1")
    post_form(client, f"/issueddocumentview/confirm/{new_task.id}")
    db.session.expire_all()
    assert _d(world).status == "confirmed"
    on_class = {
        (r.user_id, r.is_lead, r.source)
        for r in db.session.scalars(select(ClassTrainer).where(ClassTrainer.class_id == class_id))
    }
    assert on_class == {
        (world["user"]["ta"], True, "dispatch"),
        (world["user"]["tc"], False, "dispatch"),
    }

    # The class page: every seat's state and history
    login("p1")
    html = client.get(f"/trainingclassview/show/{class_id}").get_data(as_text=True)
    assert html.count('class="seat-confirmed"') == 2
    assert 'class="seat-withdrawn"' in html and 'class="seat-declined"' in html
    assert "已撤回" in html and "异议" in html and "讲师tb不熟悉本地情况" in html
    events = {e for (e,) in db.session.execute(select(AuditLog.event))}
    assert {
        "document_issued",
        "document_withdrawn",
        "dispatch_issued",
        "dispatch_confirmed",
        "dispatch_objected",
        "dispatch_replaced",
        "dispatch_completed",
        "trainer_assign",
    } <= events


def test_point5_keep_the_choice_puts_the_task_notice_back_before_the_institution(staffed):
    w = staffed
    _issue(w)
    (task,) = _docs("task_notice")
    with transaction():
        notices.object_to(task, _user(w, "i1"), "请说明主讲人选", None, NOW)
    before = _state()
    with pytest.raises(Exception, match="答复"):  # keeping needs an answer
        with transaction():
            notices.answer_objection(_d(w), _user(w, "center"), "keep", None, " ", NOW)
    assert _state() == before
    with transaction():
        notices.answer_objection(_d(w), _user(w, "center"), "keep", None, "主讲人经验丰富", NOW)
    assert _d(w).status == "notified" and _d(w).objection_answer == "主讲人经验丰富"
    assert len(_open("issued_document", task.id)) == 1  # back in the institution's to-do
    assert not _open("dispatch", w["dispatch"])
    assert {s.status for s in _d(w).seats} == {"notified"}


# ---------------------------------------------------------------- bad input, wrong actors


def test_point4_no_cjk_font_refuses_with_the_package_name(staffed, app, monkeypatch):
    w = staffed
    before = _state()
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", None)
    monkeypatch.setattr(pdf, "FONT_CANDIDATES", ("/nonexistent/wqy-microhei.ttc",))
    with pytest.raises(Conflict, match="fonts-wqy-microhei"):
        _issue(w)
    assert _state() == before
    # A font without Chinese glyphs (DejaVu): refused too, never a PDF of boxes.
    monkeypatch.setitem(
        app.config, "PDF_CJK_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )
    with pytest.raises(Conflict, match="fonts-wqy-microhei") as refused:
        _issue(w)
    assert "派" in str(refused.value)  # it names characters it cannot draw
    assert _state() == before


def test_point4_the_page_shows_the_font_message(staffed, app, monkeypatch, client, login):
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", "/nonexistent/font.ttf")
    login("center")
    post_form(client, f"/dispatchview/issue/{staffed['dispatch']}")
    assert any("fonts-wqy-microhei" in m and "中文字体" in m for m in flashes(client))
    assert not _docs()


def test_point4_only_the_center_issues_and_only_once_staffed(staffed, client, login):
    w = staffed
    before = _state()
    for key in ("i1", "p1", "ta"):
        with pytest.raises(NotAllowed):
            notices.issue_notices(_d(w), _user(w, key), NOW)
    login("i1")  # the institution may write its dispatch, not issue: refused, nothing changed
    post_form(client, f"/dispatchview/issue/{w['dispatch']}")
    assert any("部中心" in m for m in flashes(client))
    assert _state() == before
    _issue(w)
    with pytest.raises(Conflict):  # a second click
        _issue(w)


def test_point5_wrong_actors_are_refused(staffed):
    w = staffed
    _issue(w)
    ta_notice, _tb_notice = _docs("dispatch_notice")
    (task,) = _docs("task_notice")
    before = _state()
    refusals = [
        lambda: notices.confirm(ta_notice, _user(w, "tb"), NOW),  # someone else's notice
        lambda: notices.confirm(ta_notice, _user(w, "i1"), NOW),
        lambda: notices.confirm(task, _user(w, "ta"), NOW),  # a trainer, the task notice
        lambda: notices.confirm(task, _user(w, "i2"), NOW),  # another institution
        lambda: notices.confirm(task, _user(w, "center"), NOW),
        lambda: notices.object_to(ta_notice, _user(w, "i1"), "不行", None, NOW),
        lambda: notices.object_to(task, _user(w, "ta"), "不行", None, NOW),
        lambda: notices.answer_objection(_d(w), _user(w, "i1"), "keep", None, "好", NOW),
    ]
    for refused in refusals:
        with pytest.raises(NotAllowed):
            refused()
        db.session.rollback()
    with pytest.raises(Conflict):  # no objection waiting
        notices.answer_objection(_d(w), _user(w, "center"), "keep", None, "好", NOW)
    db.session.rollback()
    assert _state() == before
    with transaction():
        notices.confirm(ta_notice, _user(w, "ta"), NOW)
    with pytest.raises(Conflict):  # twice
        notices.confirm(ta_notice, _user(w, "ta"), NOW)


def test_point4_downloads_are_scoped(staffed, client, login):
    w = staffed
    _issue(w)
    ta_notice, tb_notice = _docs("dispatch_notice")
    (task,) = _docs("task_notice")
    for key, doc, status in (
        ("center", task, 200),
        ("p1", ta_notice, 200),
        ("c1", task, 200),
        ("i1", ta_notice, 200),
        ("ta", ta_notice, 200),
        ("ta", tb_notice, 404),  # another trainer's notice
        ("ta", task, 404),  # the institution's
        ("p2", ta_notice, 404),
        ("c2", task, 404),
        ("i2", task, 404),
    ):
        login(key)
        response = client.get(f"/issueddocumentview/download/{doc.id}")
        assert response.status_code == status, (key, doc.kind)
        if status == 200:
            assert response.mimetype == "application/pdf"
            assert response.data.startswith(b"%PDF")
            assert "attachment" in response.headers["Content-Disposition"]
    downloads = select(AuditLog.id).where(AuditLog.event == "document_download")
    assert len(db.session.scalars(downloads).all()) == 5  # each served download is audited


def test_point4_verify_page_valid_withdrawn_and_unknown(staffed, app):
    w = staffed
    _issue(w)
    ta_notice, tb_notice = _docs("dispatch_notice")
    with transaction():
        documents.withdraw(tb_notice, _user(w, "center"), "更换", NOW)
    anonymous = app.test_client()
    html = anonymous.get(f"/verify/{ta_notice.code}").get_data(as_text=True)
    assert "真实有效" in html and ta_notice.number in html and "派遣通知书" in html
    assert ta_notice.subject_code in html and START.isoformat() in html
    assert "有效" in html and "讲师ta" not in html  # only the facts listed, no names
    html = anonymous.get(f"/verify/{tb_notice.code.lower()}").get_data(as_text=True)
    assert "已撤回" in html and tb_notice.number in html
    for forged in ("AAAAAAAAAAAAAAAA", "not-a-code", ta_notice.code[:-1] + "2"):
        if forged == ta_notice.code:
            continue
        response = anonymous.get(f"/verify/{forged}")
        assert response.status_code == 404
        assert "未找到" in response.get_data(as_text=True)


def test_point4_verify_page_is_rate_limited(staffed, app, monkeypatch):
    _issue(staffed)
    monkeypatch.setitem(app.config, "VERIFY_RATE_LIMIT", "3 per minute")
    anonymous = app.test_client()
    codes = [anonymous.get("/verify/AAAAAAAAAAAAAAAA").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_point6_notice_steps_are_on_the_overdue_board(staffed):
    w = staffed
    _issue(w)
    late = NOW + timedelta(days=3)
    kinds = {t.record_type for t in db.session.scalars(review.overdue_tasks(late))}
    assert "issued_document" in kinds
    ta_items = review.task_items(db.session.scalars(review.todo_tasks(_user(w, "ta"))))
    assert [i.step_label for i in ta_items] == ["Confirm the dispatch notice"]
