"""Issue 16 points 1, 2 and their part of 9 (Annex 1 rows 20–21): the lead trainer's
《讲师培训班活动报告》 — its to-do due 3 days after the end, submitted, returned, revised, approved,
corrected — and the institution's 《培训师授课意见反馈表》 on each trainer, whose scores feed the
dispatch recommendation; scope (another region: 404) and bad input (nothing changed)."""

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import activity_reports, review, trainer_feedback
from app.services.errors import NotAllowed
from app.services.recommendation import WEIGHTS, feedback_scores, recommend
from app.services.tx import transaction
from models.after_class import ActivityReport, TrainerFeedback
from models.attachment import Attachment
from models.classroom import (
    DAILY,
    SUBMITTED,
    EvaluationAnswer,
    EvaluationSubmission,
    Questionnaire,
)
from models.review import ReviewEvent, ReviewRevision, ReviewTask
from tests.factories import (
    NOW,
    SAMPLES,
    assign,
    enrol,
    file_upload,
    grant,
    make_class,
    post_form,
    rows,
    seed_faculty,
    staffed_dispatch,
    store_files_in,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture()
def finished(world, frozen_clock):
    """A 3-day class of I1: trainer1 (lead) and trainer2, trainees t1 and t2 whose daily forms
    rate trainer1 5 and trainer2 3; the clock on the day after the last day."""
    klass = make_class(world, days=3)
    assign(world, klass, "trainer1", lead=True)
    assign(world, klass, "trainer2")
    people = enrol(world, klass, [1, 2])
    questionnaire = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == DAILY))
    for trainee, _pw in people:
        at = datetime.combine(klass.start_date, time(18))
        form = EvaluationSubmission(
            class_id=klass.id,
            org_id=klass.org_id,
            user_id=trainee.user_id,
            trainee_id=trainee.id,
            questionnaire_id=questionnaire.id,
            kind=DAILY,
            day=klass.start_date,
            status=SUBMITTED,
            saved_at=at,
            submitted_at=at,
        )
        db.session.add(form)
        db.session.flush()
        for trainer, score in (("trainer1", 5), ("trainer2", 3)):
            db.session.add(
                EvaluationAnswer(
                    submission_id=form.id,
                    question="q1",
                    trainer_id=world["user"][trainer],
                    score=score,
                )
            )
    db.session.commit()
    frozen_clock.set(datetime.combine(klass.end_date + timedelta(days=1), time(10)))
    return klass


def page(klass):
    return f"/activity_report/class/{klass.id}"


def days_of(klass, text="讲授与练习"):
    return {f"day_{d.isoformat()}": text for d in activity_reports.class_dates(klass)}


def report_state():
    """What a refused request must not change."""
    return (
        rows(ActivityReport.__table__),
        rows(ReviewRevision.__table__),
        rows(ReviewEvent.__table__),
        rows(ReviewTask.__table__),
        rows(TrainerFeedback.__table__),
    )


def open_tasks(kind):
    return db.session.scalars(
        select(ReviewTask).where(ReviewTask.record_type == kind, ReviewTask.done_at.is_(None))
    ).all()


def fresh(klass):
    db.session.expire_all()
    return activity_reports.report_of(klass)


# ---------------------------------------------------------------- point 1: the activity report


def test_point1_lead_trainer_has_the_report_todo_due_three_days_after_the_end(
    world, finished, login, client, frozen_clock, app
):
    [task] = open_tasks("activity_report")
    assert task.assignee_id == world["user"]["trainer1"]
    assert task.due_at == datetime.combine(finished.end_date + timedelta(days=3), time(23, 59, 59))
    login("trainer1")
    html = client.get("/todo/").get_data(as_text=True)
    assert "提交讲师培训班活动报告" in html and f"/activity_report/show/{task.record_id}" in html
    login("trainer2")  # the other trainer of the class has no such item
    assert f"/activity_report/show/{task.record_id}" not in client.get("/todo/").get_data(
        as_text=True
    )
    # Late: on the overdue board of the class's institution's city and in the daily command.
    frozen_clock.set(task.due_at + timedelta(hours=10))
    assert task.id in {t.id for t in db.session.scalars(review.overdue_tasks(frozen_clock.now))}
    login("p1")
    assert "提交讲师培训班活动报告" in client.get("/overdue/").get_data(as_text=True)
    out = app.test_cli_runner().invoke(args=["malan", "overdue"]).output
    assert f"activity_report#{task.record_id}" in out


def test_point1_submit_return_revise_approve(world, finished, login, client):
    login("trainer1")
    response = post_form(
        client, f"{page(finished)}/save", overview="学员全勤，按计划完成。", **days_of(finished)
    )
    assert response.status_code == 302
    post_form(client, f"{page(finished)}/submit", version=fresh(finished).version)
    report = fresh(finished)
    assert report.status == "pending" and not open_tasks("activity_report")[0].assignee_id
    assert open_tasks("activity_report")[0].level == "center"

    login("center")
    html = client.get(page(finished)).get_data(as_text=True)
    assert "学员全勤" in html and 'id="report-approve"' in html
    response = post_form(
        client,
        f"{page(finished)}/review",
        action="return",
        opinion="请补充问题与建议",
        version=fresh(finished).version,
    )
    assert response.status_code == 302 and fresh(finished).status == "returned"
    [back] = open_tasks("activity_report")
    assert back.assignee_id == world["user"]["trainer1"]  # the lead trainer's to-do again
    login("trainer1")
    assert "提交讲师培训班活动报告" in client.get("/todo/").get_data(as_text=True)

    post_form(
        client,
        f"{page(finished)}/save",
        overview="学员全勤，按计划完成。",
        problems="试讲时间偏紧",
        suggestions="增加演练",
        **days_of(finished),
    )
    post_form(client, f"{page(finished)}/submit", version=fresh(finished).version)
    login("center")
    post_form(client, f"{page(finished)}/review", action="approve", version=fresh(finished).version)
    report = fresh(finished)
    assert (report.status, report.in_force_revision, report.problems) == (
        "approved",
        1,
        "试讲时间偏紧",
    )
    assert not open_tasks("activity_report")
    login("i1")  # the class's institution reads it, with the computed sections
    html = client.get(page(finished)).get_data(as_text=True)
    assert "试讲时间偏紧" in html and "已通过" in html
    assert "每日意见反馈表: 2" in html and "4.0" in html  # 2 forms; mean of 5,3,5,3


def test_point1_a_correction_after_approval_is_a_new_revision_reviewed_again(world, finished, u):
    now = datetime.combine(finished.end_date, time(17))
    activity_reports.save(finished, u.trainer1, {"overview": "第一版", **days_of(finished)}, now)
    activity_reports.submit(finished, u.trainer1, now)
    activity_reports.decide(fresh(finished), u.center, "approve", now)
    with transaction():
        activity_reports.correct(fresh(finished), u.trainer1, now)
    activity_reports.save(finished, u.trainer1, {"overview": "更正版", **days_of(finished)}, now)
    report = fresh(finished)
    assert report.overview == "第一版" and activity_reports.values(report)["overview"] == "更正版"
    activity_reports.submit(finished, u.trainer1, now)
    assert fresh(finished).overview == "第一版"  # in force until the center approves
    activity_reports.decide(fresh(finished), u.center, "approve", now)
    report = fresh(finished)
    assert (report.overview, report.revision, report.in_force_revision) == ("更正版", 2, 2)


def test_point1_bad_input_is_refused_in_chinese_and_changes_nothing(
    world, finished, login, client, frozen_clock, u
):
    login("trainer1")
    before = report_state()
    # Submitting without the overview: the message next to the field.
    response = post_form(client, f"{page(finished)}/submit", version=1)
    assert response.status_code == 400
    assert 'id="error-overview"' in response.get_data(as_text=True)
    # Too long: the message at the field, what was typed kept.
    response = post_form(client, f"{page(finished)}/save", overview="长" * 4001, problems="保留我")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="error-overview"' in html and "保留我" in html
    # The other trainer is not the lead.
    login("trainer2")
    response = post_form(client, f"{page(finished)}/save", overview="越权")
    assert response.status_code == 400 and "主讲" in response.get_data(as_text=True)
    # A class not finished yet.
    frozen_clock.set(datetime.combine(finished.start_date, time(10)))
    login("trainer1")
    response = post_form(client, f"{page(finished)}/save", overview="太早", **days_of(finished))
    assert response.status_code == 400 and "尚未结束" in response.get_data(as_text=True)
    assert report_state() == before
    # A closed class (read-only, SPEC §9).
    finished.closed_at = NOW
    with pytest.raises(NotAllowed, match="已关闭"):
        activity_reports.save(finished, u.trainer1, {"overview": "x"}, frozen_clock.now)
    db.session.rollback()
    assert report_state() == before


def test_point1_photos_follow_the_report(
    world, finished, login, client, app, monkeypatch, tmp_path
):
    store_files_in(app, monkeypatch, tmp_path)
    login("trainer1")
    response = post_form(
        client,
        f"{page(finished)}/photo",
        multipart=True,
        photo=file_upload("结业合影.png", SAMPLES["png"]),
    )
    assert response.status_code == 302
    [photo] = db.session.scalars(select(Attachment)).all()
    assert (photo.owner_type, photo.purpose) == ("activity_report", "photo")
    login("c1")
    assert "结业合影.png" in client.get(page(finished)).get_data(as_text=True)
    assert client.get(f"/files/{photo.id}").status_code == 200
    login("c2")
    assert client.get(f"/files/{photo.id}").status_code == 404


def test_point1_scope_readers_see_it_others_get_404(world, finished, login, client, app):
    for who in ("center", "p1", "c1", "i1", "trainer1", "trainer2"):
        login(who)
        assert client.get(page(finished)).status_code == 200, who
    login("c1")
    assert finished.code in client.get("/activity_report/").get_data(as_text=True)
    login("c2")
    assert finished.code not in client.get("/activity_report/").get_data(as_text=True)
    for role in ("trainee", "institution", "city", "province", "trainer"):
        grant(app, role, "ActivityReport", ["can_read", "can_write"])
    report_id = activity_reports.report_of(finished).id
    before = report_state()
    for who in ("p2", "c1b", "c2", "i2", "i1b", "trainee1"):
        login(who)
        assert client.get(page(finished)).status_code == 404, who
        assert client.get(f"/activity_report/show/{report_id}").status_code == 404, who
        for action, data in (
            ("save", {"overview": "越权"}),
            ("submit", {"version": "1"}),
            ("review", {"action": "approve", "version": "1"}),
            ("photo", {}),
        ):
            response = post_form(client, f"{page(finished)}/{action}", data)
            assert response.status_code == 404, (who, action)
    assert report_state() == before


# ---------------------------------------------------------------- point 2: feedback on trainers


def feedback_url(record):
    return f"/trainer_feedback/form/{record.id}"


def answers(score="5", **extra):
    return {"q1": score, "q2": score, "q3": score, "q4": score, "q5": score, **extra}


def test_point2_institution_has_one_feedback_todo_per_trainer_and_submits_once(
    world, finished, login, client
):
    items = open_tasks("trainer_feedback")
    assert len(items) == 2 and {t.level for t in items} == {"institution"}
    assert {t.due_at.date() for t in items} == {finished.end_date + timedelta(days=3)}
    login("i1")
    html = client.get("/todo/").get_data(as_text=True)
    assert html.count("填写培训师授课意见反馈表") == 2
    record = trainer_feedback.feedback_of(finished, world["user"]["trainer1"])
    response = post_form(client, feedback_url(record), answers("4", q5="5", q6="讲解清楚"))
    assert response.status_code == 302
    db.session.expire_all()
    assert record.score == 4.2 and record.submitted_at is not None
    assert len(open_tasks("trainer_feedback")) == 1
    before = report_state()
    response = post_form(client, feedback_url(record), answers("1"))  # a second submission
    assert response.status_code == 400 and "不能再次提交" in response.get_data(as_text=True)
    assert report_state() == before


def test_point2_bad_input_refused_next_to_the_field_nothing_stored(
    world, finished, login, client, frozen_clock
):
    record = trainer_feedback.feedback_of(finished, world["user"]["trainer2"])
    before = report_state()
    login("i1")
    response = post_form(client, feedback_url(record), answers("5", q3="9", q6="留着"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="error-q3"' in html and "留着" in html
    response = post_form(client, feedback_url(record), {"q1": "5"})
    assert 'id="error-q2"' in response.get_data(as_text=True)
    frozen_clock.set(datetime.combine(finished.start_date, time(10)))
    login("i1")
    response = post_form(client, feedback_url(record), answers())
    assert response.status_code == 400 and "尚未结束" in response.get_data(as_text=True)
    assert report_state() == before


def test_point2_trainer_sees_its_own_scores_without_the_text(
    world, finished, login, client, app, u, frozen_clock
):
    mine = trainer_feedback.feedback_of(finished, world["user"]["trainer1"])
    other = trainer_feedback.feedback_of(finished, world["user"]["trainer2"])
    trainer_feedback.submit(mine, u.i1, answers("5", q6="案例丰富"), frozen_clock.now)
    login("trainer1")
    html = client.get(feedback_url(mine)).get_data(as_text=True)
    assert "5.0" in html and "案例丰富" not in html and "意见和改进建议" not in html
    assert client.get(feedback_url(other)).status_code == 404
    login("c1")
    assert "案例丰富" in client.get(feedback_url(mine)).get_data(as_text=True)
    for role in ("institution", "city", "province"):
        grant(app, role, "TrainerFeedback", ["can_read", "can_write"])
    for who in ("i2", "c2", "p2", "i1b"):
        login(who)
        assert client.get(feedback_url(mine)).status_code == 404, who
        assert post_form(client, feedback_url(other), answers()).status_code == 404, who
    assert other.submitted_at is None


def test_point2_feedback_raises_the_trainer_in_the_recommendation(world, frozen_clock, u):
    """ta and tb are alike (东城, available); the institution rated tb 5 on an earlier class and
    its trainees gave tb 5: tb now ranks first, and the explanation shows why."""
    w = staffed_dispatch(world, NOW.date() + timedelta(days=30))
    past = make_class(w, "I1", NOW.date() - timedelta(days=20), days=2)
    assign(w, past, "tb", lead=True, now=NOW - timedelta(days=40))
    record = trainer_feedback.feedback_of(past, w["user"]["tb"])
    trainer_feedback.submit(record, u.i1, answers("5"), NOW)
    from models.dispatch import Dispatch

    rec = recommend(db.session.get(Dispatch, w["dispatch"]), NOW.date())
    ranked = [r.profile_id for r in rec.ranked]
    assert ranked.index(w["profile"]["tb"]) < ranked.index(w["profile"]["ta"])
    top = next(r for r in rec.ranked if r.profile_id == w["profile"]["tb"])
    points = round((5 - 3) * WEIGHTS["feedback"])
    assert f"授课评价5.0 +{points}" in top.explained
    assert all("授课评价" not in r.explained for r in rec.ranked if r is not top)


def test_point2_feedback_score_weighs_the_institution_and_the_trainees_alike(
    world, finished, u, frozen_clock
):
    """trainer1: trainees 5 (two answers), institution 3 → 4.0; trainer2: trainees 3 alone.
    A form older than 12 months no longer counts."""
    profile = seed_faculty(world)
    today = frozen_clock.now.date()
    assert feedback_scores(today) == {profile["trainer1"]: 5.0, profile["trainer2"]: 3.0}
    record = trainer_feedback.feedback_of(finished, world["user"]["trainer1"])
    trainer_feedback.submit(record, u.i1, answers("3"), frozen_clock.now)
    assert feedback_scores(today)[profile["trainer1"]] == 4.0
    assert feedback_scores(today + timedelta(days=400)) == {}


def test_point2_the_center_keeps_the_feedback_form_in_versions(world, login, client, frozen_clock):
    """The form is data: a new version from the questionnaire page applies to later classes."""
    login("center")
    assert "培训师授课意见反馈表" in client.get("/questionnaires/").get_data(as_text=True)
    scale = "很不满意;不满意;一般;满意;很满意"
    response = post_form(
        client,
        "/questionnaires/new/trainer_feedback",
        title="培训师授课意见反馈表（2026版）",
        questions=f"评分 | 是 | 否 | 课程思政融入 | {scale}\n文本 | 否 | 否 | 其他意见 |",
    )
    assert response.status_code == 302
    frozen_clock.advance(days=1)
    klass = make_class(world, start=frozen_clock.now.date() + timedelta(days=5), days=2)
    assign(world, klass, "trainer1", lead=True)
    record = trainer_feedback.feedback_of(klass, world["user"]["trainer1"])
    assert record.questionnaire.version == 2
    frozen_clock.set(datetime.combine(klass.end_date, time(17)))
    login("i1")
    html = client.get(feedback_url(record)).get_data(as_text=True)
    assert "课程思政融入" in html and "教学准备与课程设计" not in html
    assert post_form(client, feedback_url(record), {"q1": "4"}).status_code == 302
    db.session.expire_all()
    assert record.score == 4.0


def test_point1_a_new_lead_takes_the_item_over_a_removed_trainer_leaves_none(world, u):
    """Before the start: the center names another lead (the item follows), removes a trainer
    (its feedback form and item go with it)."""
    from app.services import classroom

    klass = make_class(world, days=2)
    assign(world, klass, "trainer1", lead=True)
    row = assign(world, klass, "trainer2", lead=True)  # the lead changes
    [task] = open_tasks("activity_report")
    assert task.assignee_id == world["user"]["trainer2"]
    assert activity_reports.report_of(klass).lead_user_id == world["user"]["trainer2"]
    with transaction():
        classroom.remove_trainer(row, u.center, NOW)
    assert not open_tasks("activity_report") and activity_reports.report_of(klass) is None
    assert trainer_feedback.feedback_of(klass, world["user"]["trainer2"]) is None
    assert len(open_tasks("trainer_feedback")) == 1  # trainer1's stays
