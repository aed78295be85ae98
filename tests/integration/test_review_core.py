"""[review] points 1, 2, 4 and 8: the review mechanism, proved on a city's trainer-training plan.

The chain "plan": the city submits → its province reviews within 2 days → the center within 3.
Most tests call `app.services.review` directly; the last ones go through the plans view.
"""

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import review
from app.services.review import (
    APPROVE,
    REJECT,
    RETURN,
    SUBMITTER_STEP,
    AlreadyHandled,
    NotYourStep,
    ReviewError,
)
from models.audit import AuditLog
from models.review import ReviewRevision, ReviewTask
from tests.factories import NOW, make_plan

END = (23, 59, 59)


def events(plan):
    return [(e.action, e.from_status, e.to_status, e.actor_id) for e in review.history(plan)]


def review_audits(plan):
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(
                AuditLog.event.like("review_%"),
                AuditLog.object_type == "TrainingPlan",
                AuditLog.object_id == str(plan.id),
            )
            .order_by(AuditLog.id)
        )
    )


def open_tasks(plan):
    return list(
        db.session.scalars(
            select(ReviewTask).where(
                ReviewTask.record_type == "plan",
                ReviewTask.record_id == plan.id,
                ReviewTask.done_at.is_(None),
            )
        )
    )


# ---------------------------------------------------------------- point 1: transitions


def test_point1_plan_chain_happy_path_city_province_center(world, u):
    plan = make_plan(world)
    assert review.allowed_actions(plan, u.c1) == ["submit"]
    review.submit(plan, u.c1, NOW)
    assert (plan.status, plan.step, plan.submitted_by_id) == ("pending", 0, u.c1.id)
    (task,) = open_tasks(plan)
    assert (task.level, task.reviewer_org_id) == ("province", world["org"]["P1"])
    assert task.due_at == datetime(2026, 3, 4, *END)  # 2 days
    assert review.allowed_actions(plan, u.p1) == [APPROVE, RETURN, REJECT]
    assert review.allowed_actions(plan, u.center) == []

    review.decide(plan, u.p1, APPROVE, datetime(2026, 3, 3, 10, 0), opinion="同意")
    (task,) = open_tasks(plan)
    assert (task.level, task.reviewer_org_id) == ("center", world["org"]["center"])
    assert task.due_at == datetime(2026, 3, 6, *END)  # 3 days from the province's approval
    review.decide(plan, u.center, APPROVE, datetime(2026, 3, 5, 10, 0))
    assert (plan.status, plan.step, plan.in_force_revision) == ("approved", None, 1)
    assert open_tasks(plan) == []
    assert events(plan) == [
        ("submit", "draft", "pending", u.c1.id),
        ("approve", "pending", "pending", u.p1.id),
        ("approve", "pending", "approved", u.center.id),
    ]
    history = review.history(plan)
    assert (history[1].role, history[1].org_name, history[1].opinion) == (
        "province",
        "北京市",
        "同意",
    )
    assert review.allowed_actions(plan, u.c1) == ["correct"]


def test_point8_every_transition_writes_an_event_and_an_audit_entry(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, RETURN, NOW, opinion="补充联系人")
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, APPROVE, NOW)
    review.decide(plan, u.center, REJECT, NOW, opinion="不符合要求")
    audits = review_audits(plan)
    assert [a.event for a in audits] == [
        "review_submit",
        "review_return",
        "review_resubmit",
        "review_approve",
        "review_reject",
    ]
    assert len(review.history(plan)) == len(audits) == 5
    assert audits[1].username == u.p1.username and "补充联系人" in audits[1].summary
    assert audits[4].org_name == "部中心"


WRONG_AT_PROVINCE_STEP = [
    ("p2", "another province"),
    ("center", "the next level acting before its turn"),
    ("c1", "the submitting city"),
    ("c1b", "another city of the same province"),
    ("i1", "an institution below"),
    ("trainer1", "a trainer"),
    ("sysadmin", "an administrator at the center"),
]


@pytest.mark.parametrize("key,who", WRONG_AT_PROVINCE_STEP)
def test_point1_wrong_actor_cannot_decide(world, u, key, who):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    version = plan.version
    for decision in (APPROVE, RETURN, REJECT):
        assert decision not in review.allowed_actions(plan, getattr(u, key))
        with pytest.raises(NotYourStep):
            review.decide(plan, getattr(u, key), decision, NOW, opinion="x")
        db.session.rollback()
    db.session.expire_all()
    assert (plan.status, plan.step, plan.version) == ("pending", 0, version)
    assert len(review.history(plan)) == 1 and len(review_audits(plan)) == 1


def test_point1_wrong_actor_at_center_step_and_province_acting_twice(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, APPROVE, NOW)
    for key in ("p1", "p2", "c1"):
        with pytest.raises(NotYourStep):
            review.decide(plan, getattr(u, key), APPROVE, NOW)
        db.session.rollback()
    assert plan.step == 1 and plan.status == "pending"


def test_point1_no_self_approval(world, u):
    """Whoever submitted the record may not decide on it, even with the reviewer's role and org."""
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    plan.submitted_by_id = u.p1.id  # as if the province's account had submitted it
    db.session.commit()
    assert review.allowed_actions(plan, u.p1) == []
    with pytest.raises(NotYourStep, match="本人|own submission"):
        review.decide(plan, u.p1, APPROVE, NOW)
    db.session.rollback()
    assert plan.status == "pending" and len(review.history(plan)) == 1


@pytest.mark.parametrize("key", ["c1b", "c2", "p1", "i1", "center"])
def test_point1_only_the_plans_city_may_submit(world, u, key):
    plan = make_plan(world)
    with pytest.raises(NotYourStep):
        review.submit(plan, getattr(u, key), NOW)
    db.session.rollback()
    assert plan.status == "draft" and review.history(plan) == []


@pytest.mark.parametrize("decision", [RETURN, REJECT])
@pytest.mark.parametrize("opinion", [None, "", "   "])
def test_point1_opinion_required_to_return_or_reject(world, u, decision, opinion):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    with pytest.raises(ReviewError, match="审核意见|opinion"):
        review.decide(plan, u.p1, decision, NOW, opinion=opinion)
    db.session.rollback()
    assert plan.status == "pending" and len(open_tasks(plan)) == 1
    assert len(review.history(plan)) == 1


def test_point1_point4_return_gives_the_submitter_a_task_and_resubmission_recomputes_due(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, RETURN, datetime(2026, 3, 3, 15, 0), opinion="请补充联系人电话")
    assert plan.status == "returned"
    (task,) = open_tasks(plan)
    assert (task.step, task.level, task.reviewer_org_id) == (
        SUBMITTER_STEP,
        "city",
        world["org"]["C1"],
    )
    assert task.due_at == datetime(2026, 3, 5, *END)
    assert [t.id for t in db.session.scalars(review.todo_tasks(u.c1))] == [task.id]
    assert list(db.session.scalars(review.todo_tasks(u.p1))) == []
    assert review.allowed_actions(plan, u.c1) == ["submit"]

    plan.contact_phone = "13800000002"  # a returned record is edited in place
    review.stage_edit(plan)
    db.session.commit()
    review.submit(plan, u.c1, datetime(2026, 3, 10, 8, 30))
    assert task.done_at == datetime(2026, 3, 10, 8, 30) and task.decision == "submit"
    (task2,) = open_tasks(plan)
    assert (task2.level, task2.entered_at) == ("province", datetime(2026, 3, 10, 8, 30))
    assert task2.due_at == datetime(
        2026, 3, 12, *END
    )  # from the resubmission, not the first submit
    assert [e[0] for e in events(plan)] == ["submit", "return", "resubmit"]
    assert json.loads(review.current_revision(plan).data)["contact_phone"] == "13800000002"


def test_point1_reject_ends_the_chain(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, REJECT, NOW, opinion="重复计划")
    assert (plan.status, plan.step, plan.in_force_revision) == ("rejected", None, None)
    assert open_tasks(plan) == []
    for key in ("c1", "p1", "center"):
        assert review.allowed_actions(plan, getattr(u, key)) == []
    with pytest.raises(ReviewError):
        review.submit(plan, u.c1, NOW)
    db.session.rollback()
    assert review.history(plan)[-1].opinion == "重复计划"


def test_point1_acting_on_a_step_no_longer_pending_says_who_handled_it(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, REJECT, datetime(2026, 3, 2, 11, 5), opinion="不同意")
    with pytest.raises(AlreadyHandled) as exc:
        review.decide(plan, u.p1, APPROVE, NOW)
    assert u.p1.full_name in str(exc.value) and "2026-03-02 11:05" in str(exc.value)


# ---------------------------------------------------------------- point 4: due times of tasks


def test_point4_working_day_mode_spring_festival(world, u, app, monkeypatch):
    monkeypatch.setitem(app.config, "DEADLINE_MODE", "working")
    plan = make_plan(world)
    # Friday 13 Feb 2026, eve of the Spring Festival holiday (15–23 Feb; 14 Feb is a make-up day).
    review.submit(plan, u.c1, datetime(2026, 2, 13, 16, 0))
    assert open_tasks(plan)[0].due_at == datetime(2026, 2, 24, *END)
    review.decide(plan, u.p1, APPROVE, datetime(2026, 2, 24, 9, 0))
    # 3 working days after Tue 24 Feb: 25, 26, 27 Feb.
    assert open_tasks(plan)[0].due_at == datetime(2026, 2, 27, *END)


def test_point4_working_day_mode_national_day_and_resubmission(world, u, app, monkeypatch):
    monkeypatch.setitem(app.config, "DEADLINE_MODE", "working")
    plan = make_plan(world)
    review.submit(plan, u.c1, datetime(2026, 9, 30, 10, 0))
    assert open_tasks(plan)[0].due_at == datetime(2026, 10, 9, *END)
    review.decide(plan, u.p1, RETURN, datetime(2026, 10, 9, 9, 0), opinion="退回")
    review.submit(plan, u.c1, datetime(2026, 10, 9, 17, 0))  # Friday: Sat 10 Oct is a make-up day
    assert open_tasks(plan)[0].due_at == datetime(2026, 10, 12, *END)


def test_point4_calendar_mode_is_the_default(world, u, app):
    assert app.config["DEADLINE_MODE"] == "calendar"
    plan = make_plan(world)
    review.submit(plan, u.c1, datetime(2026, 9, 30, 10, 0))
    assert open_tasks(plan)[0].due_at == datetime(2026, 10, 2, *END)


# ---------------------------------------------------------------- point 2: corrections (第十条)


def approved_plan(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, APPROVE, NOW)
    review.decide(plan, u.center, APPROVE, NOW)
    return plan


def test_point2_approved_record_cannot_be_edited_in_place(world, u):
    plan = approved_plan(world, u)
    plan.contact_name = "改名"
    with pytest.raises(ReviewError):
        review.stage_edit(plan)
    db.session.rollback()
    assert plan.contact_name == "赵联系"


def test_point2_pending_record_cannot_be_edited_either(world, u):
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    plan.note = "偷偷改"
    with pytest.raises(ReviewError):
        review.stage_edit(plan)


def correct(plan, u, **changes):
    review.start_correction(plan, u.c1, datetime(2026, 4, 1, 9, 0))
    for field, value in changes.items():
        setattr(plan, field, value)
    review.stage_edit(plan)
    db.session.commit()


def test_point2_correction_goes_up_the_chain_and_approved_values_stay_in_force(world, u):
    plan = approved_plan(world, u)
    assert review.allowed_actions(plan, u.p1) == []  # only the submitter corrects
    with pytest.raises(NotYourStep):
        review.start_correction(plan, u.p1, NOW)
    db.session.rollback()

    correct(plan, u, contact_name="钱联系", note="第二稿")
    db.session.expire_all()
    assert (plan.revision, plan.in_force_revision, plan.status) == (2, 1, "draft")
    assert (plan.contact_name, plan.note) == ("赵联系", "第一稿")  # the row: values in force
    assert review.proposed_values(plan)["contact_name"] == "钱联系"

    review.submit(plan, u.c1, datetime(2026, 4, 1, 10, 0))
    review.decide(plan, u.p1, APPROVE, datetime(2026, 4, 2, 10, 0))
    db.session.expire_all()
    assert plan.contact_name == "赵联系" and plan.in_force_revision == 1
    review.decide(plan, u.center, APPROVE, datetime(2026, 4, 3, 10, 0))
    db.session.expire_all()
    assert (plan.contact_name, plan.note, plan.in_force_revision) == ("钱联系", "第二稿", 2)

    views = review.revisions_with_changes(plan)
    assert [v.revision.revision for v in views] == [1, 2]
    assert [v.revision.status for v in views] == ["approved", "approved"]
    assert views[0].changes == {}
    assert views[1].changes == {"contact_name": ("赵联系", "钱联系"), "note": ("第一稿", "第二稿")}
    assert [e.action for e in views[0].events] == ["submit", "approve", "approve"]
    assert [e.action for e in views[1].events] == ["correct", "submit", "approve", "approve"]
    assert [e.action for e in review.history(plan)].count("correct") == 1


def test_point2_rejected_correction_leaves_the_approved_revision_in_force(world, u):
    plan = approved_plan(world, u)
    correct(plan, u, contact_phone="13900000000")
    review.submit(plan, u.c1, datetime(2026, 4, 1, 10, 0))
    review.decide(plan, u.p1, REJECT, datetime(2026, 4, 2, 10, 0), opinion="电话有误")
    db.session.expire_all()
    assert (plan.status, plan.in_force_revision, plan.contact_phone) == (
        "approved",
        1,
        "13800000001",
    )
    assert not review.is_correction(plan)
    revs = {r.revision: r.status for r in db.session.scalars(select(ReviewRevision))}
    assert revs == {1: "approved", 2: "rejected"}
    assert review.allowed_actions(plan, u.c1) == ["correct"]
    review.start_correction(plan, u.c1, datetime(2026, 4, 5, 9, 0))  # a fresh attempt
    assert plan.revision == 3


def test_point2_returned_correction_is_edited_in_its_revision(world, u):
    plan = approved_plan(world, u)
    correct(plan, u, note="第二稿")
    review.submit(plan, u.c1, datetime(2026, 4, 1, 10, 0))
    review.decide(plan, u.p1, RETURN, datetime(2026, 4, 2, 10, 0), opinion="再改")
    plan.note = "第三稿"
    review.stage_edit(plan)
    db.session.commit()
    db.session.expire_all()
    assert plan.note == "第一稿"
    assert review.proposed_values(plan)["note"] == "第三稿"


# ---------------------------------------------------------------- through the plans view


def csrf_token(client, url):
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else ""


def plan_view(app):
    """The view the plan kind declares as its record page (a missing one fails here)."""
    endpoint = review.KINDS["plan"].record_page
    return next(v for v in app.appbuilder.baseviews if v.endpoint == endpoint)


def test_point1_review_history_and_buttons_on_the_record_page(app, client, login, world, u):
    view = plan_view(app)
    plan = make_plan(world)
    review.submit(plan, u.c1, NOW)
    review.decide(plan, u.p1, RETURN, NOW, opinion="请补充附件说明")
    login("c1")
    html = client.get(f"/{view.route_base.strip('/')}/show/{plan.id}").get_data(as_text=True)
    assert 'id="review-history"' in html and "请补充附件说明" in html
    assert u.p1.full_name in html
    assert 'value="submit"' in html and 'value="approve"' not in html


def test_point1_buttons_through_the_http_endpoint(app, client, login, world, u):
    view = plan_view(app)
    plan = make_plan(world)
    base = "/" + view.route_base.strip("/")
    login("c1")
    token = csrf_token(client, f"{base}/show/{plan.id}")
    client.post(
        f"{base}/review/{plan.id}",
        data={"action": "submit", "version": plan.version, "csrf_token": token},
    )
    db.session.expire_all()
    assert plan.status == "pending"
    own = make_plan(world, "C2")
    login("p2")  # another province: the record is not even visible
    token = csrf_token(client, f"{base}/show/{own.id}")
    assert token
    response = client.post(
        f"{base}/review/{plan.id}", data={"action": "approve", "csrf_token": token}
    )
    assert response.status_code == 404
    login("p1")
    token = csrf_token(client, f"{base}/show/{plan.id}")
    client.post(
        f"{base}/review/{plan.id}",
        data={"action": "return", "opinion": "", "version": plan.version, "csrf_token": token},
    )
    db.session.expire_all()
    assert plan.status == "pending"  # no opinion: refused
    client.post(
        f"{base}/review/{plan.id}",
        data={"action": "approve", "version": plan.version, "csrf_token": token},
    )
    db.session.expire_all()
    assert plan.step == 1


def test_point2_edit_form_of_an_approved_record_changes_nothing(app, client, login, world, u):
    view = plan_view(app)
    plan = approved_plan(world, u)
    base = "/" + view.route_base.strip("/")
    login("c1")
    page = client.get(f"{base}/edit/{plan.id}")
    assert page.status_code == 200, "the city cannot open the edit form of its plan"
    token = csrf_token(client, f"{base}/edit/{plan.id}")
    updates_before = db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.event == "update", AuditLog.object_type == "TrainingPlan")
    )
    version = plan.version
    form = {
        "contact_name": "篡改",
        "contact_phone": "13800000001",
        "note": "篡改",
        "csrf_token": token,
    }
    response = client.post(f"{base}/edit/{plan.id}", data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert re.search(r"alert-danger", html)
    db.session.expire_all()
    assert (plan.contact_name, plan.note, plan.version) == ("赵联系", "第一稿", version)
    count = db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.event == "update", AuditLog.object_type == "TrainingPlan")
    )
    assert count == updates_before
