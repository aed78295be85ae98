"""Issue 3, point 6 — trainer-training plans (SPEC §7 rows 1–3): the center opens a round, each
city gets it in its to-do list, enters its plan lines and submits; the province reviews within
2 days (or submits its provincial summary), the center within 3 days. Bad input and scope."""

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.services.plans import ROUND
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewTask
from models.vocabulary import COURSE_TYPE, Term
from tests.factories import flashes, page_errors, post_form


@pytest.fixture()
def login(login_en):
    """Signed in, in English (assertions on messages do not depend on the zh catalog)."""
    return login_en


post = post_form  # every form here is posted with a session CSRF token


def count(model) -> int:
    db.session.rollback()
    return db.session.query(model).count()


def open_round(client, login, year=2026, month=6, deadline="2026-03-20"):
    login("center")
    return post(
        client,
        "/planroundview/add",
        year=year,
        month=month,
        deadline=deadline,
        notice="请各市按时报送",
    )


def line_form(world, **over):
    form = {
        "course_type": "SYB",
        "classes": 2,
        "trainees_per_class": 30,
        "start_from": "2026-04-01",
        "start_to": "2026-05-31",
        "venue_city_id": world["org"]["C1"],
        "contact_name": "赵老师",
        "contact_phone": "13800000000",
    }
    return {**form, **over}


def enter_plan(client, login, world, city="c1", lines=1):
    """As the city: a plan for the only round, with ``lines`` lines; returns the plan."""
    login(city)
    round_id = db.session.scalar(select(PlanRound.id))
    post(
        client, "/planview/add", round=round_id, contact_name="联系人", contact_phone="010-12345678"
    )
    db.session.rollback()
    plan = db.session.scalar(
        select(TrainingPlan).where(
            TrainingPlan.org_id == world["org"][city.upper().replace("C1B", "C1b")]
        )
    )
    venue = plan.org_id
    for _ in range(lines):
        post(client, "/planlineview/add", plan=plan.id, **line_form(world, venue_city_id=venue))
    db.session.refresh(plan)
    return plan


def act(client, plan, action, opinion=""):
    db.session.rollback()
    version = db.session.get(TrainingPlan, plan.id).version
    return post(
        client, f"/planview/review/{plan.id}", action=action, opinion=opinion, version=version
    )


def reload(plan):
    db.session.rollback()
    return db.session.get(TrainingPlan, plan.id)


def open_tasks(record_type="plan"):
    db.session.rollback()
    return db.session.scalars(
        select(ReviewTask).where(
            ReviewTask.record_type == record_type, ReviewTask.done_at.is_(None)
        )
    ).all()


# ---------------------------------------------------------------- rounds


def test_point6_center_opens_round_and_every_city_gets_it_in_its_todo(
    frozen_clock, client, login, world
):
    response = open_round(client, login)
    assert response.status_code == 302
    rnd = db.session.scalar(select(PlanRound))
    assert (rnd.year, rnd.month, rnd.deadline) == (2026, 6, date(2026, 3, 20))
    tasks = open_tasks(ROUND.name)
    cities = {world["org"][k] for k in ("C1", "C1b", "C2")}
    assert {t.reviewer_org_id for t in tasks} == cities and len(tasks) == 3
    assert all(
        t.level == "city"
        and t.step == -1
        and t.record_id == rnd.id
        and t.due_at == datetime(2026, 3, 20, 23, 59, 59)
        for t in tasks
    )


@pytest.mark.parametrize(
    "form,field",
    [
        ({"deadline": "2026-03-01"}, "Deadline"),  # in the past
        ({"deadline": "2026-03-02"}, "Deadline"),  # today is not in the future
        ({"year": 1999}, "Year"),
    ],
)
def test_point6_bad_round_is_refused_naming_the_field(
    frozen_clock, client, login, world, form, field
):
    response = open_round(client, login, **form)
    assert count(PlanRound) == 0 and count(ReviewTask) == 0
    # the form again, the message beside its field (issue 15 point 1)
    assert response.status_code == 200
    assert any(m.startswith(field) for m in page_errors(response)[field.lower()])


def test_point6_a_round_opens_once(frozen_clock, client, login, world):
    open_round(client, login)
    flashes(client)
    response = open_round(client, login, deadline="2026-04-01")
    assert count(PlanRound) == 1 and len(open_tasks(ROUND.name)) == 3
    assert any(m.startswith("Round") for m in page_errors(response)["month"])


def test_point6_cities_and_provinces_read_rounds_but_cannot_open_them(
    frozen_clock, client, login, world
):
    open_round(client, login)
    for who in ("c1", "p1"):
        login(who)
        assert client.get("/planroundview/list/").status_code == 200
        assert post(
            client, "/planroundview/add", year=2027, month=1, deadline="2026-12-01"
        ).status_code in (302, 403)
    assert count(PlanRound) == 1


# ---------------------------------------------------------------- the chain


def test_point6_city_plan_goes_province_then_center_with_deadlines(
    frozen_clock, client, login, world
):
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=2)
    assert len(plan.lines) == 2 and all(line.org_id == world["org"]["C1"] for line in plan.lines)
    assert plan.total_classes == 4 and plan.total_trainees == 120

    act(client, plan, "submit")
    plan = reload(plan)
    assert plan.status == "pending" and plan.step == 0
    (task,) = open_tasks()
    assert task.reviewer_org_id == world["org"]["P1"] and task.due_at == datetime(
        2026, 3, 4, 23, 59, 59
    )
    # The city's "submit your plan" to-do item is done; the other cities' are still open.
    assert world["org"]["C1"] not in {t.reviewer_org_id for t in open_tasks(ROUND.name)}
    assert len(open_tasks(ROUND.name)) == 2

    login("p2")  # another province: not its step (and not even its record)
    assert act(client, plan, "approve").status_code == 404
    login("p1")
    assert "approve" in client.get(f"/planview/show/{plan.id}").get_data(as_text=True)
    act(client, plan, "approve")
    plan = reload(plan)
    assert plan.status == "pending" and plan.step == 1
    (task,) = open_tasks()
    assert task.level == "center" and task.due_at == datetime(2026, 3, 5, 23, 59, 59)

    login("center")
    act(client, plan, "approve", "同意")
    plan = reload(plan)
    assert plan.status == "approved" and plan.in_force_revision == 1 and not open_tasks()


def test_point6_province_returns_with_opinion_and_city_resubmits(
    frozen_clock, client, login, world
):
    open_round(client, login)
    plan = enter_plan(client, login, world)
    act(client, plan, "submit")
    login("p1")
    act(client, plan, "return")  # no opinion: refused
    assert reload(plan).status == "pending"
    act(client, plan, "return", "班次过多")
    assert reload(plan).status == "returned"
    login("c1")
    line = reload(plan).lines[0]
    post(client, f"/planlineview/edit/{line.id}", **line_form(world, classes=1))
    act(client, plan, "submit")
    plan = reload(plan)
    assert plan.status == "pending" and plan.lines[0].classes == 1


def test_point6_lines_cannot_change_while_under_review(frozen_clock, client, login, world):
    open_round(client, login)
    plan = enter_plan(client, login, world)
    act(client, plan, "submit")
    line = reload(plan).lines[0]
    edited = post(client, f"/planlineview/edit/{line.id}", **line_form(world, classes=9))
    added = post(client, "/planlineview/add", plan=plan.id, **line_form(world))
    assert [x.classes for x in reload(plan).lines] == [2]
    assert any("Correct" in m for m in page_errors(edited)[""])
    assert any("Correct" in m for m in page_errors(added)[""])


def test_point6_an_empty_plan_cannot_be_submitted(frozen_clock, client, login, world):
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=0)
    response = act(client, plan, "submit")
    assert reload(plan).status == "draft"
    assert any(m.startswith("Plan lines") for m in page_errors(response)[""])


def test_point6_province_submits_its_summary_by_bulk_approval(frozen_clock, client, login, world):
    open_round(client, login)
    plans = [enter_plan(client, login, world, city) for city in ("c1", "c1b", "c2")]
    for city, plan in zip(("c1", "c1b", "c2"), plans, strict=True):
        login(city)
        act(client, plan, "submit")
    login("p1")
    page = post(client, "/planview/submit_summary", round_id=plans[0].round_id)
    assert page.status_code == 200 and [reload(p).step for p in plans] == [0, 0, 0]  # confirm
    listed = [plans[0].id, plans[1].id]
    response = post(
        client,
        "/planview/submit_summary",
        round_id=plans[0].round_id,
        confirmed="1",
        rowid=[str(i) for i in listed],
    )
    assert response.status_code == 302
    steps = [reload(p).step for p in plans]
    assert steps == [1, 1, 0]  # both cities of 北京 went to the center; 广州 still waits for 广东
    centre_tasks = [t for t in open_tasks() if t.level == "center"]
    assert len(centre_tasks) == 2


def approved_then_reopened(client, login, world):
    """A plan approved by the province and the center, then reopened for correction by its city
    (signed in as c1)."""
    open_round(client, login)
    plan = enter_plan(client, login, world)
    act(client, plan, "submit")
    for reviewer in ("p1", "center"):
        login(reviewer)
        act(client, plan, "approve")
    login("c1")
    act(client, plan, "correct")
    return plan


def test_point6_correction_keeps_approved_lines_in_force_until_approved(
    frozen_clock, client, login, world
):
    plan = approved_then_reopened(client, login, world)
    plan = reload(plan)
    line = plan.lines[0]
    post(client, f"/planlineview/edit/{line.id}", **line_form(world, classes=5))
    post(
        client, "/planlineview/add", plan=plan.id, **line_form(world, course_type="GYB", classes=1)
    )
    assert [(x.course_type, x.classes) for x in reload(plan).lines] == [("SYB", 2)]  # in force
    act(client, plan, "submit")
    login("p1")
    act(client, plan, "approve")
    assert [(x.course_type, x.classes) for x in reload(plan).lines] == [("SYB", 2)]
    login("center")
    act(client, plan, "approve")
    plan = reload(plan)
    assert plan.status == "approved" and plan.in_force_revision == 2
    assert [(x.course_type, x.classes) for x in plan.lines] == [("SYB", 5), ("GYB", 1)]
    assert plan.lines[0].id == line.id and all(x.org_id == plan.org_id for x in plan.lines)
    page = client.get(f"/planview/show/{plan.id}").get_data(as_text=True)
    assert "review-history" in page


def test_issue15_lines_edited_on_the_plans_page_during_a_correction_wait_for_approval(
    frozen_clock, client, login, world
):
    """The plan page's line table during a correction (第十条): the change goes into the
    revision; the approved line stays in force until the revision is approved."""
    plan = reload(approved_then_reopened(client, login, world))
    line = plan.lines[0]
    typed = {
        f"{k}-e{line.id}": v for k, v in line_form(world, classes=6, contact_name="冯老师").items()
    }
    response = post(client, f"/planview/edit_lines/{plan.id}", line_id=str(line.id), **typed)
    assert response.status_code == 302
    assert [x.classes for x in reload(plan).lines] == [2]  # in force
    page = client.get(f"/planview/show/{plan.id}").get_data(as_text=True)
    assert f'name="classes-e{line.id}" value="6"' in page  # the table shows the proposal
    act(client, plan, "submit")
    for reviewer in ("p1", "center"):
        login(reviewer)
        act(client, plan, "approve")
    assert [(x.id, x.classes, x.contact_name) for x in reload(plan).lines] == [
        (line.id, 6, "冯老师")
    ]


def test_point6_correction_of_the_plan_header_waits_for_approval(
    frozen_clock, client, login, world
):
    """第十条 on the plan's own fields: the contact in force changes only on approval."""
    plan = approved_then_reopened(client, login, world)
    post(client, f"/planview/edit/{plan.id}", contact_name="新联系人", contact_phone="010-87654321")
    assert reload(plan).contact_name == "联系人", flashes(client)
    act(client, plan, "submit")
    login("p1")
    act(client, plan, "approve")
    login("center")
    act(client, plan, "approve")
    assert reload(plan).contact_name == "新联系人"


# ---------------------------------------------------------------- bad input (issue "Bad input")


@pytest.mark.parametrize(
    "over,field",
    [
        ({"start_from": "2026-03-01"}, "Earliest start"),  # in the past
        (
            {"start_from": "2026-05-01", "start_to": "2026-04-01"},
            "Latest start",
        ),  # end before start
        ({"course_type": "XYZ"}, "Course type"),
        ({"classes": 0}, "Number of classes"),
        ({"trainees_per_class": -3}, "Trainees per class"),
        ({"contact_phone": "138abcd1234"}, "Contact phone"),
    ],
)
def test_point6_bad_plan_line_is_refused_naming_the_field(
    frozen_clock, client, login, world, over, field
):
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=0)
    response = post(client, "/planlineview/add", plan=plan.id, **line_form(world, **over))
    html = response.get_data(as_text=True)
    assert count(PlanLine) == 0
    # The form shows the error beside the field (issue 15 point 1).
    assert response.status_code == 200 and field in html, (response.status_code, flashes(client))
    assert any(field in m for messages in page_errors(response).values() for m in messages)


def retire(code):
    db.session.execute(
        update(Term).where(Term.kind == COURSE_TYPE, Term.code == code).values(active=False)
    )
    db.session.commit()


def test_issue11_plan_lines_take_the_course_types_the_center_configures(
    frozen_clock, client, login, world
):
    """The center's vocabulary (讲师级别与课程类型) decides: a type it adds is offered and
    accepted (a code longer than the old 16 characters too), a retired one is refused for new
    lines."""
    db.session.add(Term(kind=COURSE_TYPE, code="WCY-ONLINE-2026-PILOT", label="网创（试点）"))
    db.session.commit()
    retire("GYB")
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=0)
    page = client.get(f"/planlineview/add?_flt_0_plan={plan.id}").get_data(as_text=True)
    assert "网创（试点）" in page and 'value="GYB"' not in page
    response = post(
        client, "/planlineview/add", plan=plan.id, **line_form(world, course_type="GYB")
    )
    assert any(m.startswith("Course type") for m in page_errors(response)["course_type"])
    post(
        client,
        "/planlineview/add",
        plan=plan.id,
        **line_form(world, course_type="WCY-ONLINE-2026-PILOT"),
    )
    db.session.rollback()
    assert [line.course_type for line in reload(plan).lines] == ["WCY-ONLINE-2026-PILOT"]


def test_issue11_a_retired_course_type_stays_valid_on_the_line_that_holds_it(
    frozen_clock, client, login, world
):
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=1)
    line = reload(plan).lines[0]
    assert line.course_type == "SYB"
    retire("SYB")
    page = client.get(f"/planlineview/edit/{line.id}").get_data(as_text=True)
    assert 'value="SYB" selected' in page or 'selected value="SYB"' in page  # still offered
    response = post(
        client, f"/planlineview/edit/{line.id}", **line_form(world, course_type="SYB", classes=3)
    )
    assert response.status_code == 302, flashes(client)
    db.session.rollback()
    assert (reload(plan).lines[0].course_type, reload(plan).lines[0].classes) == ("SYB", 3)
    act(client, plan, "submit")  # the whole plan is checked again on submission
    assert reload(plan).status == "pending", flashes(client)


def test_point6_venue_city_of_another_province_is_refused(frozen_clock, client, login, world):
    open_round(client, login)
    plan = enter_plan(client, login, world, lines=0)
    page = client.get(f"/planlineview/add?_flt_0_plan={plan.id}").get_data(as_text=True)
    assert f'value="{world["org"]["C1b"]}"' in page  # a neighbouring city of 北京 is offered
    assert f'value="{world["org"]["C2"]}"' not in page  # 广州 is not
    response = post(
        client,
        "/planlineview/add",
        plan=plan.id,
        **line_form(world, venue_city_id=world["org"]["C2"]),
    )
    assert count(PlanLine) == 0
    assert any(m.startswith("Venue city") for m in page_errors(response)["venue_city_id"])
    post(
        client,
        "/planlineview/add",
        plan=plan.id,
        **line_form(world, venue_city_id=world["org"]["C1b"]),
    )
    assert count(PlanLine) == 1


def test_point6_a_second_plan_for_the_same_round_is_refused(frozen_clock, client, login, world):
    open_round(client, login)
    enter_plan(client, login, world, lines=0)
    flashes(client)
    round_id = db.session.scalar(select(PlanRound.id))
    response = post(client, "/planview/add", round=round_id, contact_name="又一份")
    assert count(TrainingPlan) == 1
    assert any(m.startswith("Plan round") for m in page_errors(response)["round"])
    assert 'value="又一份"' in response.get_data(as_text=True)  # nothing typed is lost


def test_point6_only_cities_enter_plans(frozen_clock, client, login, world):
    open_round(client, login)
    round_id = db.session.scalar(select(PlanRound.id))
    for who in ("p1", "center", "i1"):
        login(who)
        post(client, "/planview/add", round=round_id)
    assert count(TrainingPlan) == 0


# ---------------------------------------------------------------- scope


def test_point6_scope_province_sees_its_cities_city_only_its_own(
    frozen_clock, client, login, world
):
    open_round(client, login)
    plans = {city: enter_plan(client, login, world, city) for city in ("c1", "c1b", "c2")}
    expectations = {
        "p1": {"c1", "c1b"},
        "p2": {"c2"},
        "c1": {"c1"},
        "c1b": {"c1b"},
        "center": {"c1", "c1b", "c2"},
    }
    for who, mine in expectations.items():
        login(who)
        html = client.get("/planview/list/").get_data(as_text=True)
        for city, plan in plans.items():
            assert (f"/planview/show/{plan.id}" in html) == (city in mine), (who, city)
            status = client.get(f"/planview/show/{plan.id}").status_code
            assert status == (200 if city in mine else 404), (who, city)
            line = plan.lines[0]
            status = client.get(f"/planlineview/show/{line.id}").status_code
            assert status == (200 if city in mine else 404), (who, city)


def test_point6_city_cannot_touch_a_foreign_plan_or_line(frozen_clock, client, login, world):
    open_round(client, login)
    foreign = enter_plan(client, login, world, "c2")
    login("c1")
    line = foreign.lines[0]
    assert (
        post(client, f"/planlineview/edit/{line.id}", **line_form(world, classes=9)).status_code
        == 404
    )
    assert post(client, f"/planlineview/delete/{line.id}").status_code == 404
    post(client, "/planlineview/add", plan=foreign.id, **line_form(world))
    assert act(client, foreign, "submit").status_code == 404
    foreign = reload(foreign)
    assert [x.classes for x in foreign.lines] == [2] and foreign.status == "draft"
    assert count(PlanLine) == 1
