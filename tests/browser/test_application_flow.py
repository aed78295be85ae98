"""Point 9 (and 7): in a real Chromium, a class application walks from the institution to the
center's approval through the real pages, and each role's to-do page is photographed on the way.
Nothing may be requested from another host than 127.0.0.1."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from models.application import ClassApplication, TrainingClass
from models.org import Org
from models.plan import PlanLine, PlanRound, TrainingPlan
from tests.factories import ARTIFACTS, demo_account, sign_in_page

CITY_CODE = "110101"  # 北京市东城区 of the demo


@pytest.fixture()
def approved_plan(live_server):
    """The demo city's approved plan with one SYB line of two classes. Tables that no migration"""
    today = clock.now().date()
    with live_server.app.app_context():
        city = db.session.scalar(select(Org).where(Org.code == CITY_CODE))
        rnd = PlanRound(year=today.year + 1, month=1, deadline=today, opened_at=clock.now())
        db.session.add(rnd)
        db.session.flush()
        plan = TrainingPlan(
            round_id=rnd.id,
            org_id=city.id,
            status="approved",
            in_force_revision=1,
            contact_name="赵东城",
            contact_phone="010-12345678",
        )
        db.session.add(plan)
        db.session.flush()
        line = PlanLine(
            plan_id=plan.id,
            org_id=city.id,
            course_type="SYB",
            classes=2,
            trainees_per_class=30,
            start_from=today,
            start_to=today + timedelta(90),
        )
        db.session.add(line)
        db.session.commit()
        line_id = line.id
        db.session.remove()
    return line_id


def todo_shot(page, base, name) -> str:
    page.goto(f"{base}/todo/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / f"todo_{name}.png", full_page=True)
    return page.inner_text("body")


def approve(page, base, pk, **city_choice):
    page.goto(f"{base}/applicationview/show/{pk}")
    if city_choice:
        page.check("#choice-line")
        page.select_option("#plan_line_id", str(city_choice["line_id"]))
    page.fill("#opinion", "同意")
    page.click("#review-form button[value=approve]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert-danger").count() == 0, page.inner_text(".alert-danger")


def state(app, pk):
    with app.app_context():
        row = db.session.get(ClassApplication, pk)
        result = (
            row.status,
            row.step,
            row.plan_line_id,
            row.training_class.code if row.training_class else None,
        )
        db.session.remove()
    return result


@pytest.mark.browser
def test_point9_application_walks_from_institution_to_center_in_chromium(
    page, live_server, approved_plan
):
    base, app = live_server.url, live_server.app
    ARTIFACTS.mkdir(exist_ok=True)
    start = clock.now().date() + timedelta(days=30)
    institution = demo_account(app, "institution", CITY_CODE)

    # The institution fills the form and submits.
    sign_in_page(page, base, institution)
    page.goto(f"{base}/applicationview/add")
    page.select_option("select[name=course_type]", "SYB")
    for name, day in (("start_date", start), ("end_date", start + timedelta(days=4))):
        page.click(f"input[name={name}]")
        page.keyboard.type(day.isoformat())
        page.keyboard.press("Escape")  # close the picker (it clears a value set by fill())
    page.fill("input[name=venue]", "东城区创业大厦三层")
    page.fill("input[name=expected_trainees]", "30")
    page.fill("input[name=contact_name]", "孙老师")
    page.fill("input[name=contact_phone]", "13800000001")
    page.fill("[name=trainer_criteria]", "SYB 讲师，三年以上经验")
    page.click("#model_form [type=submit]")
    page.wait_for_load_state("networkidle")
    with app.app_context():
        pk = db.session.scalar(select(func.max(ClassApplication.id)))
        db.session.remove()
    assert pk is not None, f"not saved: {page.url} {page.inner_text('body')[:1500]}"
    page.goto(f"{base}/applicationview/show/{pk}")
    page.click("#review-form button[value=submit]")
    page.wait_for_load_state("networkidle")
    assert state(app, pk)[:2] == ("pending", 0)
    todo_shot(page, base, "1_institution_after_submit")

    # The city sees it in its to-do, links the plan line and approves.
    sign_in_page(page, base, demo_account(app, "city", CITY_CODE))
    assert institution["org_name"] in todo_shot(page, base, "2_city")
    approve(page, base, pk, line_id=approved_plan)
    assert state(app, pk)[:3] == ("pending", 1, approved_plan)

    sign_in_page(page, base, demo_account(app, "province", "110000"))
    assert institution["org_name"] in todo_shot(page, base, "3_province")
    approve(page, base, pk)
    assert state(app, pk)[:2] == ("pending", 2)

    sign_in_page(page, base, demo_account(app, "center", "000000"))
    assert institution["org_name"] in todo_shot(page, base, "4_center")
    approve(page, base, pk)
    status, _step, _line, code = state(app, pk)
    assert status == "approved" and code and code.startswith(f"JS{start.year}11")

    # The class page shows the code and the whole history of the application.
    with app.app_context():
        class_id = db.session.scalar(select(TrainingClass.id).where(TrainingClass.code == code))
        db.session.remove()
    page.goto(f"{base}/trainingclassview/show/{class_id}")
    assert code in page.inner_text("body")
    assert page.locator("#application-history tr").count() == 1 + 4
    page.screenshot(path=ARTIFACTS / "class_page_center.png", full_page=True)
    assert todo_shot(page, base, "5_center_after_approval")

    assert page.requested, "the guard saw no request: the test would prove nothing"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"
