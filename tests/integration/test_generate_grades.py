"""Issue 13 point 7: `flask malan generate` writes the grade sheets of the classes already
finished (bench/generate_grades.py), on the test database at the smallest scale that has classes
with trainees.

Every finished class with trainees gets a sheet whose lines are what the service itself would
compute from the generated trial scores and daily feedback; most are approved by the center, the
latest waits for it; the center's grade pages show a generated class.
Issue 16 point 9: the history after the class is complete — reports, feedback per trainer,
certificates for the passed trainees only, the older classes closed with their lecturers pooled.
"""

import json
import re

import pytest
from flask_appbuilder import Model
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.services import certificates, grades
from bench.generate import BENCH_PASSWORD, generate
from models.after_class import ActivityReport, TrainerFeedback
from models.application import TrainingClass
from models.certificate import Certificate
from models.classroom import ClassTrainee, ClassTrainer
from models.dispatch import DispatchSeat
from models.faculty import FacultyProfile
from models.grades import GradeEntry, GradeSheet, TrialScore
from models.review import ReviewEvent, ReviewTask
from models.user import MalanUser
from tests.factories import csrf_token

SCALE = 0.01  # the smallest with trainee accounts: the whole tree takes ~480 accounts first


@pytest.fixture(scope="module")
def generated(app, tmp_path_factory):
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        generate(
            SCALE,
            7,
            now=clock.now(),
            files_dir=str(tmp_path_factory.mktemp("files")),
            echo=lambda *_a: None,
        )
    yield
    db.session.remove()  # the tests' session (PostgreSQL: its locks would block the drop)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        Model.metadata.drop_all(db.engine)  # the next test's world is rebuilt


def _finished_with_trainees():
    today = clock.now().date()
    return set(
        db.session.scalars(
            select(TrainingClass.id)
            .join(ClassTrainee, ClassTrainee.class_id == TrainingClass.id)
            .where(TrainingClass.end_date < today)
        )
    )


def test_issue13_point7_every_finished_class_has_a_grade_sheet(app, generated):
    finished = _finished_with_trainees()
    assert finished, "the scale must generate finished classes with trainees"
    sheets = list(db.session.scalars(select(GradeSheet)))
    assert {s.class_id for s in sheets} == finished  # none for a class still running
    for sheet in sheets:
        trainees = db.session.scalar(
            select(func.count()).where(ClassTrainee.class_id == sheet.class_id)
        )
        assert len(sheet.entry_rows) == trainees
        assert sheet.submitted_by_id is not None
    statuses = [s.status for s in sheets]
    assert set(statuses) <= {"approved", "pending"}
    assert "pending" in statuses and statuses.count("approved") >= statuses.count("pending")
    for sheet in sheets:
        tasks = list(
            db.session.scalars(
                select(ReviewTask).where(
                    ReviewTask.record_type == "grade_sheet", ReviewTask.record_id == sheet.id
                )
            )
        )
        actions = set(
            db.session.scalars(
                select(ReviewEvent.action).where(
                    ReviewEvent.record_type == "grade_sheet", ReviewEvent.record_id == sheet.id
                )
            )
        )
        assert len(tasks) == 1 and tasks[0].level == "center"
        if sheet.status == "approved":
            assert sheet.in_force_revision == 1 and tasks[0].decision == "approve"
            assert actions == {"submit", "approve"}
        else:
            assert sheet.in_force_revision is None and tasks[0].done_at is None
            assert actions == {"submit"}


def test_issue13_point7_generated_lines_follow_the_services_rule(app, generated):
    sheets = list(db.session.scalars(select(GradeSheet).order_by(GradeSheet.id).limit(5)))
    checked = 0
    for sheet in sheets:
        klass = sheet.training_class
        trainers = db.session.scalar(
            select(func.count(func.distinct(TrialScore.user_id))).where(
                TrialScore.class_id == klass.id
            )
        )
        assert trainers >= 1
        # What the service computes from the generated inputs (trial scores, daily feedback,
        # the written scores and marked attendance as entered) is what the sheet holds.
        assert grades.compute(klass, sheet.scheme, sheet.entries) == sheet.entries
        for entry in sheet.entry_rows:
            assert entry.trial_count == trainers
            assert entry.total == grades.total_of(sheet.scheme, entry.trial, entry.written)
            days = grades.class_days(klass)
            assert entry.passed == grades.passes(sheet.scheme, entry.total, entry.attendance, days)
            checked += 1
    assert checked
    outcomes = {e.passed for e in db.session.scalars(select(GradeEntry))}
    assert outcomes == {True, False}  # plausible scores: most pass, some do not


def test_issue13_point7_center_sees_a_generated_grade_sheet(app, generated):
    sheet = db.session.scalars(
        select(GradeSheet).where(GradeSheet.status == "approved").limit(1)
    ).first()
    code, entry = sheet.training_class.code, sheet.entry_rows[0]
    name = entry.trainee.name
    username = db.session.scalar(
        select(MalanUser.username).where(MalanUser.username.like("zx%")).order_by(MalanUser.id)
    )
    with app.test_client() as client:
        response = client.post(
            "/login/",
            data={
                "username": username,
                "password": BENCH_PASSWORD,
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-500:]
        listing = client.get("/grades/")
        assert listing.status_code == 200
        assert code in listing.get_data(as_text=True)
        page = client.get(f"/grades/class/{sheet.class_id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert name in html
        assert re.search(rf"{entry.total:g}|{entry.total:.1f}", html)


# ---------------------------------------------------------------- issue 16 point 9: after class


def test_issue16_point9_finished_classes_have_report_and_feedback_per_trainer(app, generated):
    today = clock.now().date()
    staffed = {
        k.id: k
        for k in db.session.scalars(
            select(TrainingClass).join(ClassTrainer, ClassTrainer.class_id == TrainingClass.id)
        )
    }
    finished = {i for i, k in staffed.items() if k.end_date < today}
    assert finished
    reports = {r.class_id: r for r in db.session.scalars(select(ActivityReport))}
    assert set(reports) == set(staffed)  # every class with a lead trainer has its report
    for class_id, report in reports.items():
        if class_id in finished:
            assert report.status in ("approved", "pending") and report.submitted_at is not None
            assert (
                report.overview and report.lead_user_id == grades.lead_of(staffed[class_id]).user_id
            )
        else:
            assert report.status == "draft"
    assert {r.status for r in reports.values() if r.class_id in finished} >= {"approved"}
    trainers = {(t.class_id, t.user_id) for t in db.session.scalars(select(ClassTrainer))}
    feedback = list(db.session.scalars(select(TrainerFeedback)))
    assert {(f.class_id, f.trainer_user_id) for f in feedback} == trainers
    for f in feedback:
        if f.class_id in finished:
            answers = json.loads(f.answers)
            scale = [v for v in answers.values() if isinstance(v, int)]
            assert f.submitted_at is not None and f.score == round(sum(scale) / len(scale), 2)
        else:
            assert f.submitted_at is None and f.score is None


def test_issue16_point9_class_trainers_are_the_dispatched_seats(app, generated):
    seats = {
        (s.class_id, s.trainer_user_id, s.lead)
        for s in db.session.scalars(select(DispatchSeat).where(DispatchSeat.status == "accepted"))
    }
    assert seats
    staffed = {c for c, _u, _l in seats}
    trainers = {
        (t.class_id, t.user_id, t.is_lead)
        for t in db.session.scalars(select(ClassTrainer))
        if t.class_id in staffed
    }
    assert trainers == seats


def test_issue16_point9_certificates_only_for_passed_and_closed_classes_pooled(app, generated):
    lines = list(db.session.scalars(select(Certificate)))
    assert lines
    numbers = [c.number for c in lines]
    assert len(set(numbers)) == len(numbers)
    passed = {
        e.trainee_id
        for e in db.session.scalars(
            select(GradeEntry)
            .join(GradeSheet, GradeSheet.id == GradeEntry.sheet_id)
            .where(GradeSheet.in_force_revision.is_not(None), GradeEntry.passed.is_(True))
        )
    }
    assert {c.trainee_id for c in lines} == passed  # every passed trainee, nobody else
    for c in lines:
        province = certificates.province_of(c.batch.training_class)
        assert re.fullmatch(rf"{c.issued_on.year}{province.code}{c.course_type}\d{{4}}", c.number)
    closed = list(
        db.session.scalars(select(TrainingClass).where(TrainingClass.closed_at.isnot(None)))
    )
    assert closed
    for klass in closed:
        batch = certificates.batch_of(klass)
        assert batch.status == "approved" and batch.pooled_at == klass.closed_at
        for line in batch.lines:
            profile = db.session.get(FacultyProfile, line.profile_id)
            assert profile.status == "approved" and line.course_type in profile.course_types
            assert profile.id_number == line.trainee.id_number or profile.mobile == (
                line.trainee.mobile
            )
            assert line.document.number == line.number and line.document.status == "valid"
    open_lines = [c for c in lines if c.batch.pooled_at is None]
    assert all(c.document_id is None and c.profile_id is None for c in open_lines)


def test_issue16_point9_a_generated_certificate_verifies(app, generated):
    line = db.session.scalars(
        select(Certificate).where(Certificate.document_id.isnot(None)).limit(1)
    ).first()
    with app.test_client() as client:
        page = client.get(f"/verify/{line.document.code}", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert line.number in html and line.batch.training_class.code in html
