"""[classroom] points 0–2 (issue 13): a class's trainers, the trainee import and accounts (Annex 1
row 15) and the trainers' needs analyses (row 16)."""

import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from models.audit import AuditLog
from models.classroom import ClassTrainee, ClassTrainer, NeedsAnalysis
from models.review import ReviewTask
from models.staging import StagedUpload
from models.user import MalanUser
from tests.factories import (
    NOW,
    PASSWORD,
    assign,
    csrf_token,
    enrol,
    flashes,
    make_class,
    make_id,
    post_form,
    trainee_row,
    trainee_xlsx,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _upload(client, klass, data, filename="学员.xlsx"):
    return post_form(
        client,
        f"/class_trainees/{klass.id}/import",
        {"file": (io.BytesIO(data), filename)},
        multipart=True,
    )


def _confirm(client, klass, preview_html):
    token = re.search(r'name="token" value="([^"]+)"', preview_html).group(1)
    return post_form(client, f"/class_trainees/{klass.id}/confirm", {"token": token})


def _counts():
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(ClassTrainee)),
        db.session.scalar(select(func.count()).select_from(MalanUser)),
    )


# ---------------------------------------------------------------- point 1: the import


def test_point1_template_has_every_column_as_text(world, client, login):
    login("i1")
    response = client.get("/class_trainees/template.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data))["学员名单"]
    headers = [c.value for c in ws[1]]
    assert headers[:9] == [
        "姓名",
        "性别",
        "身份证号",
        "手机号",
        "工作单位",
        "职务",
        "所在地市",
        "从事创业培训年限",
        "已获证书",
    ]
    assert all(ws.cell(1, c).number_format == "@" for c in range(1, 10))
    assert b"<col " in __import__("zipfile").ZipFile(io.BytesIO(response.data)).read(
        "xl/worksheets/sheet1.xml"
    )


def test_point1_good_file_adds_trainees_and_opens_accounts_once(world, client, login):
    klass = make_class(world)
    login("i1")
    before = _counts()
    preview = _upload(client, klass, trainee_xlsx([trainee_row(n) for n in range(1, 4)]))
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "学员1" in html and _counts() == before  # nothing written by the preview
    done = _confirm(client, klass, html)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    passwords = re.findall(r"<td><code>([^<]+)</code></td>", page)
    assert len(passwords) == 3
    assert 'download="' in page and "base64," in page  # the one-time sheet, in this page only
    trainees = db.session.scalars(select(ClassTrainee).order_by(ClassTrainee.id)).all()
    assert [t.name for t in trainees] == ["学员1", "学员2", "学员3"]
    users = [t.user for t in trainees]
    assert [u.username for u in users] == [
        f"xy1101010001{n:03d}" for n in range(2, 5)
    ]  # trainee1: 001
    assert all(u.must_change_password and u.role_kind == "trainee" for u in users)
    assert all((u.class_start, u.class_end) == (klass.start_date, klass.end_date) for u in users)
    # Stored nowhere in clear: not in any account column, not in a staged upload.
    for password in passwords:
        assert not db.session.scalar(select(MalanUser.id).where(MalanUser.password == password))
    assert not any(
        password.encode() in (s.data or b"")
        for s in db.session.scalars(select(StagedUpload))
        for password in passwords
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.event == "trainee_import")
        )
        == 1
    )
    # The institution's to-do is done; a second confirm of the same preview writes nothing.
    task = db.session.scalar(select(ReviewTask).where(ReviewTask.record_type == "class_trainees"))
    assert task.done_at is not None
    again = _confirm(client, klass, html)
    assert again.status_code == 302 and _counts()[0] == 3


def test_point1_messy_file_is_read(world, client, login):
    klass = make_class(world)
    login("i1")
    rows = [
        trainee_row(1, name="张　三", gender=" 女 ", mobile="+86 137 0000 0001"),
        trainee_row(
            2, id_number=make_id(born="19900101", seq=2).lower().replace("x", "x"), years="5年"
        ),
        [],
        trainee_row(3, mobile="１３７００００００03"),
    ]
    preview = _upload(client, klass, trainee_xlsx(rows, title="东城创业学校参训学员名单"))
    assert preview.status_code == 200, preview.get_data(as_text=True)
    _confirm(client, klass, preview.get_data(as_text=True))
    trainees = db.session.scalars(select(ClassTrainee).order_by(ClassTrainee.id)).all()
    assert [(t.name, t.gender, t.mobile) for t in trainees][0] == ("张三", "F", "13700000001")
    assert trainees[1].years == 5 and trainees[2].mobile == "13700000003"


def test_point1_bad_rows_are_named_and_nothing_is_written(world, client, login):
    klass = make_class(world)
    login("i1")
    good = make_id(born="19900101", seq=1)
    rows = [
        trainee_row(1, id_number=good[:-1] + ("0" if good[-1] != "0" else "1")),  # check digit
        trainee_row(2, id_number=float("110101199001010021")),  # typed as a number
        trainee_row(3, gender="未知", mobile="12345"),
        trainee_row(4, id_number=trainee_row(5)[2]),
        trainee_row(5),  # the same person as row 4 (ID number)
    ]
    before = _counts()
    response = _upload(client, klass, trainee_xlsx(rows))
    html = response.get_data(as_text=True)
    errors = re.findall(r'<li class="list-group-item">([^<]*)</li>', html)
    assert response.status_code == 400 and len(errors) == 5
    assert errors[0].startswith("第 2 行，C 列（身份证号）：校验位错误")
    assert errors[1].startswith("第 3 行，C 列（身份证号）：以数字格式填写")
    assert "第 4 行，B 列（性别）" in errors[2] and "第 4 行，D 列（手机号）" in errors[3]
    assert "已在第 5 行出现" in errors[4]
    assert 'name="token"' not in html and _counts() == before


def test_point1_person_on_an_overlapping_class_is_refused_naming_it(world, client, login):
    first = make_class(world, org="I1b", code="JS-OTHER-1")
    enrol(world, first, [7], actor="i1b")
    klass = make_class(world, start=first.start_date + timedelta(days=2))
    login("i1")
    response = _upload(client, klass, trainee_xlsx([trainee_row(1), trainee_row(7)]))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "JS-OTHER-1" in html
    assert _counts()[0] == 1


def test_point1_a_person_of_an_earlier_class_keeps_its_account(world):
    first = make_class(world, start=NOW.date() + timedelta(days=3), days=3)
    ((old, password),) = enrol(world, first, [9])
    assert password
    later = make_class(world, start=first.end_date + timedelta(days=60))
    ((again, second),) = enrol(world, later, [9])
    assert second is None and again.user_id == old.user_id  # one account per person
    user = db.session.get(MalanUser, old.user_id)
    assert (user.class_start, user.class_end) == (first.start_date, later.end_date)


def test_point1_add_and_withdraw_until_the_start_audited(world, client, login, frozen_clock):
    klass = make_class(world)
    login("i1")
    values = dict(
        zip(["name", "gender", "id_number", "mobile", "employer"], trainee_row(4)[:5], strict=True)
    )
    response = post_form(client, f"/class_trainees/{klass.id}/add", values)
    assert response.status_code == 200 and re.search(
        r"<code>[^<]+</code>", response.get_data(as_text=True)
    )
    trainee = db.session.scalar(select(ClassTrainee))
    response = post_form(client, f"/class_trainees/withdraw/{trainee.id}")
    assert response.status_code == 302
    db.session.rollback()
    trainee = db.session.get(ClassTrainee, trainee.id)
    assert trainee.withdrawn_at is not None and not trainee.user.active
    events = set(db.session.scalars(select(AuditLog.event)))
    assert {"trainee_add", "trainee_withdraw"} <= events
    # Once the class has started: refused with the reason, nothing changes.
    frozen_clock.set(datetime.combine(klass.start_date, datetime.min.time()) + timedelta(hours=8))
    login("i1")
    before = _counts()
    post_form(
        client,
        f"/class_trainees/{klass.id}/add",
        values | {"id_number": trainee_row(6)[2], "mobile": "13700009999"},
    )
    assert any(klass.code in m for m in flashes(client))
    assert _counts() == before


def test_point1_only_the_class_institution_changes_the_list(world, client, login):
    klass = make_class(world)
    login("i1b")  # same city, another institution: the class is not in its scope
    assert post_form(client, f"/class_trainees/{klass.id}/add", {"name": "x"}).status_code == 404
    login("c1")  # sees the class, may not write trainees
    assert post_form(client, f"/class_trainees/{klass.id}/add", {"name": "x"}).status_code in (
        302,
        403,
    )
    assert _counts()[0] == 0


# ---------------------------------------------------------------- point 1: the account window


@pytest.mark.parametrize(
    "offset,opens",
    [(-3, False), (-2, True), (0, True), ("end+30", True), ("end+31", False)],
)
def test_point1_account_window_before_during_after(world, client, frozen_clock, offset, opens):
    klass = make_class(world)
    ((trainee, _pw),) = enrol(world, klass, [1])
    user = trainee.user
    user.must_change_password = False
    from security import passwords

    passwords.set_password(user, PASSWORD, NOW, must_change=False)
    db.session.commit()
    if isinstance(offset, str):
        day = klass.end_date + timedelta(days=int(offset.split("+")[1]))
    else:
        day = klass.start_date + timedelta(days=offset)
    frozen_clock.set(datetime.combine(day, datetime.min.time()) + timedelta(hours=9))
    response = client.post(
        "/login/",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    signed_in = response.status_code == 302 and "/login" not in response.headers["Location"]
    assert signed_in is opens
    if opens:  # the session ends with the window
        frozen_clock.set(datetime.combine(klass.end_date + timedelta(days=31), datetime.min.time()))
        assert client.get("/evaluation/").status_code in (302, 401)


# ---------------------------------------------------------------- point 1: to-do and the class page


def test_point1_institution_todo_due_two_days_before_then_overdue(
    world, client, login, frozen_clock
):
    klass = make_class(world)
    task = db.session.scalar(select(ReviewTask).where(ReviewTask.record_type == "class_trainees"))
    assert task.reviewer_org_id == world["org"]["I1"] and task.level == "institution"
    assert task.due_at == datetime.combine(
        klass.start_date - timedelta(days=2), datetime.max.time().replace(microsecond=0)
    )
    login("i1")
    assert klass.code in client.get("/todo/").get_data(as_text=True)
    frozen_clock.set(task.due_at + timedelta(minutes=1))
    login("p1")  # the province's overdue board
    assert klass.code in client.get("/overdue/").get_data(as_text=True)


@pytest.mark.parametrize(
    "who,sees",
    [
        ("center", True),
        ("p1", True),
        ("c1", True),
        ("i1", True),
        ("p2", False),
        ("c1b", False),
        ("i1b", False),
        ("i2", False),
    ],
)
def test_point1_class_page_lists_trainees_to_those_who_see_the_class(
    world, client, login, who, sees
):
    klass = make_class(world)
    enrol(world, klass, [1, 2])
    login(who)
    response = client.get(f"/trainingclassview/show/{klass.id}")
    assert (response.status_code == 200 and "学员2" in response.get_data(as_text=True)) is sees
    if sees and who != "center" and who != "i1":
        assert make_id(born="19900101", seq=1) not in response.get_data(as_text=True)  # masked


def test_point1_trainers_see_their_class_others_not(world, client, login):
    klass = make_class(world)
    enrol(world, klass, [1])
    assign(world, klass, "trainer1", lead=True)
    login("trainer1")
    assert "学员1" in client.get(f"/teaching/class/{klass.id}").get_data(as_text=True)
    assert klass.code in client.get("/teaching/").get_data(as_text=True)
    login("trainer2")
    assert client.get(f"/teaching/class/{klass.id}").status_code == 404


# ---------------------------------------------------------------- point 0: trainers


def test_point0_center_assigns_trainers_on_the_class_page(world, client, login):
    klass = make_class(world)
    other = make_class(world, org="I2", start=klass.start_date + timedelta(days=1))
    login("center")
    response = post_form(
        client,
        f"/class_trainers/{klass.id}/assign",
        {"username": world["username"]["trainer1"], "is_lead": "1"},
    )
    assert response.status_code == 302
    row = db.session.scalar(select(ClassTrainer))
    assert row.is_lead and row.user_id == world["user"]["trainer1"] and row.source == "center"
    post_form(
        client, f"/class_trainers/{klass.id}/assign", {"username": world["username"]["trainer1"]}
    )
    assert any("already" in m or "已" in m for m in flashes(client))
    post_form(
        client, f"/class_trainers/{other.id}/assign", {"username": world["username"]["trainer1"]}
    )
    assert any(klass.code in m for m in flashes(client))  # overlapping class named
    assert db.session.scalar(select(func.count()).select_from(ClassTrainer)) == 1
    login("i1")
    response = post_form(
        client, f"/class_trainers/{klass.id}/assign", {"username": world["username"]["trainer2"]}
    )
    assert (
        response.status_code in (302, 403)
        and db.session.scalar(select(func.count()).select_from(ClassTrainer)) == 1
    )


# ---------------------------------------------------------------- point 2: needs analysis


def test_point2_needs_analysis_todo_prefilled_submitted_and_visible(world, client, login):
    klass = make_class(world)
    enrol(world, klass, [1, 2, 3])
    row = assign(world, klass, "trainer1")
    login("trainer1")
    todo = client.get("/todo/").get_data(as_text=True)
    assert f"/needs_analysis/show/{row.id}" in todo
    page = client.get(f"/needs_analysis/show/{row.id}").get_data(as_text=True)
    assert "3" in page and ("名学员" in page or "trainees" in page)  # the background summary
    response = post_form(
        client,
        f"/needs_analysis/save/{row.id}",
        {"background": "略", "needs": "", "adjustments": "x"},
    )
    assert response.status_code == 400 and not db.session.scalar(select(NeedsAnalysis.id))
    response = post_form(
        client,
        f"/needs_analysis/save/{row.id}",
        {"background": "略", "needs": "创业实务", "adjustments": "增加试讲"},
    )
    assert response.status_code == 302
    task = db.session.scalar(select(ReviewTask).where(ReviewTask.record_type == "needs_analysis"))
    assert task.done_at is not None and task.reviewer_org_id == world["org"]["I1"]
    for who in ("i1", "c1", "p1", "center"):
        login(who)
        assert "创业实务" in client.get(f"/needs_analysis/show/{row.id}").get_data(as_text=True), (
            who
        )
    for who in ("i2", "p2", "trainer2"):
        login(who)
        assert client.get(f"/needs_analysis/show/{row.id}").status_code in (403, 404), who
    login("i1")
    assert post_form(client, f"/needs_analysis/save/{row.id}", {"needs": "改"}).status_code in (
        302,
        403,
    )
    assert db.session.scalar(select(NeedsAnalysis.needs)) == "创业实务"
