"""[closing] issue 16 points 3–4, Annex 1 rows 22–23: the province enters the certificates of the
qualified lecturers (pre-filled from the approved grade sheet, numbered by the rule), submits
them to the center; the center enters them into the faculty pool in one action (profiles linked
by ID number, never duplicated, certificate attached, course type added), which issues each
certificate (PDF, verify page) and closes the class, read-only from then on."""

import io
from datetime import date, datetime, time, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.services import certificates, classroom, documents, grades
from app.services.errors import Conflict
from app.services.tx import transaction
from models.application import TrainingClass
from models.audit import AuditLog
from models.certificate import Certificate, CertificateBatch
from models.document import IssuedDocument
from models.faculty import FacultyProfile
from models.review import ReviewTask
from security import passwords
from tests.factories import (
    ALL_SCORES,
    NOW,
    PASSWORD,
    Actors,
    approved_profile,
    graded_class,
    make_class,
    make_id,
    post_form,
    rows,
    snapshot,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")


def page(klass, tail=""):
    return f"/certificates/class/{klass.id}{tail}"


def id_of(seq):
    return make_id("110101", born="19900101", seq=seq)  # the trainee rows' ID numbers


@pytest.fixture()
def graded(world, frozen_clock):
    """I1's class, 学员1 and 学员2 passed, 学员3 failed; the clock the day after its end."""
    klass = graded_class(world)
    frozen_clock.set(datetime.combine(klass.end_date + timedelta(days=1), time(9)))
    return klass


def batch_of(klass):
    db.session.expire_all()
    return certificates.batch_of(klass)


def line_of(klass, seq):
    return next(line for line in batch_of(klass).lines if line.trainee.name == f"学员{seq}")


def state():
    return snapshot()


def submitted(world, klass, login, client):
    login("p1")
    response = post_form(client, page(klass, "/submit"), {"version": str(batch_of(klass).version)})
    assert response.status_code == 302, response.get_data(as_text=True)


def pooled(world, klass, login, client):
    submitted(world, klass, login, client)
    login("center")
    response = post_form(client, page(klass, "/pool"), {"version": str(batch_of(klass).version)})
    assert response.status_code == 302, response.get_data(as_text=True)


# ---------------------------------------------------------------- point 3: entry and numbering


def test_point3_prefilled_from_passed_lines_numbered_by_the_rule(world, graded, login, client):
    batch = batch_of(graded)
    year = graded.end_date.year
    assert [(line.trainee.name, line.number) for line in batch.lines] == [
        ("学员1", f"{year}110000SYB0001"),
        ("学员2", f"{year}110000SYB0002"),
    ]  # 学员3 failed: no line
    line = batch.lines[0]
    assert line.issued_on == graded.end_date and line.valid_until == date(year + 3, 3, 15)
    assert (line.course_type, line.level, batch.status) == ("SYB", "lecturer", "draft")
    login("p1")
    html = client.get(page(graded)).get_data(as_text=True)
    assert "合格讲师证书信息" in html and f"{year}110000SYB0001" in html and "学员3" not in html


def test_point3_numbering_rule_is_data(world, app, frozen_clock):
    app.config["CERTIFICATE_NUMBER_RULE"] = "ZS-{province_code}-{course_type}-{year}-{seq:03d}"
    try:
        klass = graded_class(world, passed=(1,), failed=())
    finally:
        app.config.pop("CERTIFICATE_NUMBER_RULE")
    year = klass.end_date.year
    assert [line.number for line in batch_of(klass).lines] == [f"ZS-110000-SYB-{year}-001"]


def test_point3_province_todo_due_one_month_after_the_end(
    world, graded, login, client, frozen_clock
):
    task = db.session.scalar(
        select(ReviewTask).where(
            ReviewTask.record_type == "certificates", ReviewTask.done_at.is_(None)
        )
    )
    assert (task.level, task.reviewer_org_id) == ("province", world["org"]["P1"])
    assert task.due_at == datetime(2026, 4, 16, 23, 59, 59)  # the class ends 2026-03-16
    login("p1")
    todo = client.get("/todo/", follow_redirects=True).get_data(as_text=True)
    assert "录入合格讲师证书信息" in todo and f"/certificates/show/{batch_of(graded).id}" in todo
    # past its due date the step is on the center's overdue board
    login("center")
    assert "录入合格讲师证书信息" not in client.get("/overdue/").get_data(as_text=True)
    frozen_clock.set(datetime(2026, 4, 17, 9, 0))
    login("center")
    assert "录入合格讲师证书信息" in client.get("/overdue/").get_data(as_text=True)


def test_point3_province_edits_numbers_dates_level(world, graded, login, client):
    line = line_of(graded, 1)
    login("p1")
    response = post_form(
        client,
        page(graded, "/save"),
        {
            f"number_{line.trainee_id}": "BJ-2026-001",
            f"issued_on_{line.trainee_id}": "2026-03-17",
            f"valid_until_{line.trainee_id}": "2029-03-16",
            f"level_{line.trainee_id}": "trainer",
        },
    )
    assert response.status_code == 302
    line = line_of(graded, 1)
    assert (line.number, line.issued_on, line.valid_until, line.level) == (
        "BJ-2026-001",
        date(2026, 3, 17),
        date(2029, 3, 16),
        "trainer",
    )


def test_point3_a_number_that_exists_is_refused_at_its_field(world, graded, login, client):
    one, two = line_of(graded, 1), line_of(graded, 2)
    before = state()
    login("p1")
    response = post_form(client, page(graded, "/save"), {f"number_{two.trainee_id}": one.number})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="error-number_{two.trainee_id}"' in html and "已存在" in html
    assert state() == before


def test_point3_a_future_issue_date_is_refused_at_its_field(world, graded, login, client):
    line = line_of(graded, 1)
    before = state()
    login("p1")
    field = f"issued_on_{line.trainee_id}"
    response = post_form(client, page(graded, "/save"), {field: "2099-01-01"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and f'id="error-{field}"' in html
    assert 'value="2099-01-01"' in html  # what was typed is kept
    assert state() == before


def test_point3_a_failed_trainee_gets_no_certificate(world, graded, login, client):
    failed = next(t for t in classroom.trainees_of(graded) if t.name == "学员3")
    before = state()
    login("p1")
    response = post_form(client, page(graded, "/save"), {"add_trainee": str(failed.id)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="error-add_trainee"' in html and "学员3" in html and "不合格" in html
    assert state() == before


def test_point3_before_the_grade_sheet_is_approved_nothing_is_entered(world, login, client):
    klass = make_class(world, days=5)
    before = state()
    login("p1")
    response = post_form(client, page(klass, "/save"), {})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="error-number"' in html and "成绩单" in html and "审核通过" in html
    assert state() == before and certificates.batch_of(klass) is None


def test_point3_province_submits_center_step_due_in_10_days(world, graded, login, client):
    submitted(world, graded, login, client)
    batch = batch_of(graded)
    assert batch.status == "pending"
    open_tasks = db.session.scalars(
        select(ReviewTask).where(
            ReviewTask.record_type == "certificates", ReviewTask.done_at.is_(None)
        )
    ).all()
    assert [(t.level, t.due_at.date()) for t in open_tasks] == [
        ("center", graded.end_date + timedelta(days=11))
    ]
    login("center")
    todo = client.get("/todo/", follow_redirects=True).get_data(as_text=True)
    assert "中心将合格讲师录入师资库" in todo


def test_point3_only_the_class_province_enters(world, graded, login, client):
    before = state()
    login("c1")
    response = post_form(client, page(graded, "/save"), {})
    assert response.status_code in (400, 403) and state() == before


# ---------------------------------------------------------------- point 4: the faculty pool


def test_point4_pool_entry_links_by_id_number_never_duplicates(world, graded, login, client):
    db.session.add(
        FacultyProfile(
            **approved_profile(
                "学员1",
                900,
                world["org"]["C1"],
                world["user"]["trainer2"],
                datetime(2025, 1, 1),
                id_number=id_of(1),
                course_types="GYB",
                gender="M",
                birth_year=1990,
            )
        )
    )
    db.session.commit()
    submitted(world, graded, login, client)
    login("center")
    html = client.get(page(graded, "/pool")).get_data(as_text=True)
    assert "关联现有档案" in html and "新建档案" in html
    response = post_form(client, page(graded, "/pool"), {"version": str(batch_of(graded).version)})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    for seq in (1, 2):
        count = db.session.scalar(
            select(func.count()).where(FacultyProfile.id_number == id_of(seq))
        )
        assert count == 1
    linked = db.session.scalar(select(FacultyProfile).where(FacultyProfile.id_number == id_of(1)))
    line = line_of(graded, 1)
    assert linked.user_id == world["user"]["trainer2"] and line.profile_id == linked.id
    assert linked.certificate_no == line.number and linked.course_type_codes == ["GYB", "SYB"]
    new = db.session.scalar(select(FacultyProfile).where(FacultyProfile.id_number == id_of(2)))
    assert new.in_force_revision is not None and new.certificate_no == line_of(graded, 2).number
    assert new.course_type_codes == ["SYB"] and new.level == "lecturer"
    klass = db.session.get(TrainingClass, graded.id)
    assert klass.closed_at is not None and batch_of(graded).status == "approved"
    assert all(line.document_id for line in batch_of(graded).lines)
    events = set(db.session.scalars(select(AuditLog.event)))
    assert {"faculty_pool_entered", "class_closed", "document_issued"} <= events
    html = client.get(page(graded)).get_data(as_text=True)
    assert "已结班" in html


def test_point3_a_lecturer_reads_and_downloads_its_own_certificate_only(
    world, graded, login, client
):
    """The issued certificate is addressed to the trainee's account: it finds it under 通知书与证书
    and downloads its PDF; its classmate's certificate is not found."""
    pooled(world, graded, login, client)
    own, other = line_of(graded, 1), line_of(graded, 2)
    passwords.set_password(own.trainee.user, PASSWORD, NOW, must_change=False)
    world["user"]["lecturer"], world["username"]["lecturer"] = (
        own.trainee.user_id,
        own.trainee.user.username,
    )
    db.session.commit()
    login("lecturer")
    listing = client.get("/issueddocumentview/list/").get_data(as_text=True)
    assert "通知书与证书" in listing and own.number in listing and other.number not in listing
    download = client.get(f"/issueddocumentview/download/{own.document_id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert client.get(f"/issueddocumentview/show/{other.document_id}").status_code == 404
    assert client.get(f"/issueddocumentview/download/{other.document_id}").status_code == 404


def test_point4_entering_the_pool_twice_is_refused(world, graded, login, client):
    pooled(world, graded, login, client)
    before = state()
    response = post_form(client, page(graded, "/pool"), {"version": str(batch_of(graded).version)})
    assert response.status_code == 400
    assert "已在师资库" in response.get_data(as_text=True)
    assert state() == before


def test_point4_all_or_nothing(world, graded, login, client):
    """学员2's mobile already belongs to another profile: nobody enters, nothing is issued."""
    db.session.add(
        FacultyProfile(
            **approved_profile(
                "别人", 901, world["org"]["C1"], None, datetime(2025, 1, 1), mobile="13700000002"
            )
        )
    )
    db.session.commit()
    submitted(world, graded, login, client)
    login("center")
    before = state()
    response = post_form(client, page(graded, "/pool"), {"version": str(batch_of(graded).version)})
    assert response.status_code == 400 and "手机" in response.get_data(as_text=True)
    assert state() == before
    assert db.session.get(TrainingClass, graded.id).closed_at is None


def test_point4_center_returns_to_the_province(world, graded, login, client):
    submitted(world, graded, login, client)
    login("center")
    response = post_form(
        client,
        page(graded, "/return"),
        {"version": str(batch_of(graded).version), "opinion": "编号有误"},
    )
    assert response.status_code == 302
    assert batch_of(graded).status == "returned"


def test_point4_a_closed_class_is_read_only(world, graded, login, client):
    pooled(world, graded, login, client)
    klass = db.session.get(TrainingClass, graded.id)
    actors = Actors(world)
    trainee = classroom.trainees_of(klass)[0]
    now = datetime.combine(klass.end_date + timedelta(days=2), time(9))
    before = state()
    attempts = [
        lambda: grades.score_trial(klass, trainee.id, actors.trainer1, ALL_SCORES, now),
        lambda: grades.correct(grades.sheet_of(klass), actors.trainer1, now),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="已结班"):
            with transaction():
                attempt()
        db.session.rollback()
    assert state() == before
    # the page's form answers the same, in Chinese, next to nothing changed
    login("trainer1")
    before = state()
    response = post_form(
        client, f"/grades/class/{klass.id}/written", {f"written_{trainee.id}": "99"}
    )
    assert response.status_code == 400 and "已结班" in response.get_data(as_text=True)
    assert state() == before
    html = client.get(f"/grades/class/{klass.id}").get_data(as_text=True)
    assert 'id="class-closed"' in html and 'id="grade-correct"' not in html


# ---------------------------------------------------------------- the issued certificate


def test_point3_certificate_pdf_embeds_the_chinese_font(world, graded, login, client):
    pooled(world, graded, login, client)
    line = line_of(graded, 1)
    body = db.session.scalar(
        select(IssuedDocument.pdf).where(IssuedDocument.id == line.document_id)
    )
    assert b"/FontFile2" in body  # the TrueType font is embedded, not referenced
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(body)).pages)
    assert "合格讲师证书" in text and line.number in text and "学员1" in text
    response = client.get(f"/issueddocumentview/download/{line.document_id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_point3_verify_page_shows_a_certificate_then_its_withdrawal(
    world, graded, login, client, app
):
    pooled(world, graded, login, client)
    line = line_of(graded, 1)
    doc = db.session.get(IssuedDocument, line.document_id)
    anonymous = app.test_client()
    html = anonymous.get(f"/verify/{doc.code}").get_data(as_text=True)
    assert "真实有效" in html and line.number in html and "合格讲师证书" in html
    assert "学*" in html and "学员1" not in html  # the holder's name masked
    assert "创业培训" in html or "SYB" in html
    assert "讲师" in html and line.valid_until.isoformat() in html and "有效" in html
    with transaction():
        documents.withdraw(doc, Actors(world).center, "证书信息有误", datetime(2026, 3, 20))
    html = anonymous.get(f"/verify/{doc.code}").get_data(as_text=True)
    assert "已撤回" in html and line.number in html


# ---------------------------------------------------------------- scope


def test_point3_scope_another_region_gets_404(world, graded, login, client):
    batch = batch_of(graded)
    for who in ("p2", "c2", "i2"):
        login(who)
        assert client.get(page(graded)).status_code == 404
        assert client.get(f"/certificates/show/{batch.id}").status_code == 404
    for who in ("p1", "c1", "i1", "center"):
        login(who)
        assert client.get(page(graded)).status_code == 200
        listed = client.get("/certificates/").get_data(as_text=True)
        assert graded.code in listed
    login("p2")
    assert graded.code not in client.get("/certificates/").get_data(as_text=True)
    assert rows(CertificateBatch.__table__) and rows(Certificate.__table__)
