"""[classroom] points 3, 4 and 8 (issue 13), Annex 1 rows 17–18 in a real Chromium: a trainee on a
375 px phone finds today's form on its home page, saves a draft, submits once (a second tab's
submission is refused in Chinese); the institution on a 1280 px screen reads the results as
charts and tables, sees who has not responded and reminds that trainee; the trainer reads the
same results without names and responds; the reminded trainee's home page then starts with the
reminder and shows the response. Nothing may be requested from another host than 127.0.0.1."""

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.services import classroom
from app.services.demo import DEMO_PASSWORD
from models.application import ClassApplication, TrainingClass
from models.classroom import EvaluationSubmission
from models.org import Org
from models.user import MalanUser
from security import passwords
from tests.factories import ARTIFACTS, demo_account, fields_clean, sign_in_page, trainee_row

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
HEADER = ["name", "gender", "id_number", "mobile", "employer", "position", "city", "years"]
HEADER += ["certificates"]


@pytest.fixture()
def running_class(live_server):
    """A 3-day class of the demo's 东城 institution running today, taught by the demo trainer
    吴讲师, with two trainees whose accounts use the demo password."""
    app = live_server.app
    now = clock.now()
    today = now.date()
    if now > datetime.combine(today, time(23, 50)):
        pytest.fail("run again after midnight: today's form closes at 23:59")
    with app.app_context():
        institution = db.session.scalar(
            select(MalanUser).where(
                MalanUser.username == demo_account(app, "institution", "110101")["username"]
            )
        )
        center = db.session.scalar(
            select(MalanUser).where(
                MalanUser.username == demo_account(app, "center", "000000")["username"]
            )
        )
        trainer = db.session.scalar(
            select(MalanUser).where(
                MalanUser.username == demo_account(app, "trainer", "110101")["username"]
            )
        )
        org = db.session.get(Org, institution.org_id)
        application = ClassApplication(
            org_id=org.id,
            course_type="SYB",
            start_date=today,
            end_date=today + timedelta(days=2),
            venue="东城创业园",
            expected_trainees=30,
            contact_name="孙机构",
            contact_phone="010-12345678",
            status="approved",
        )
        db.session.add(application)
        db.session.flush()
        klass = TrainingClass(
            code=f"JS-E2E-{today:%m%d}",
            application_id=application.id,
            org_id=org.id,
            course_type="SYB",
            start_date=today,
            end_date=today + timedelta(days=2),
            venue="东城创业园",
            created_at=now - timedelta(days=20),
        )
        db.session.add(klass)
        db.session.flush()
        spec = classroom.trainee_fields()
        rows = [
            fields_clean(spec, dict(zip(HEADER, trainee_row(seq), strict=True)))
            for seq in (901, 902)
        ]
        # The list is imported before the start; the trainer is assigned on the first day.
        enrolled = classroom.enrol(klass, rows, institution, now - timedelta(days=3), source="e2e")
        classroom.assign_trainer(klass, center, now, user=trainer, is_lead=True)
        people = []
        for trainee, _password in enrolled:
            passwords.set_password(trainee.user, DEMO_PASSWORD, now, must_change=False)
            people.append(
                {"username": trainee.user.username, "password": DEMO_PASSWORD, "name": trainee.name}
            )
        db.session.commit()
        found = {
            "id": klass.id,
            "day": today.isoformat(),
            "trainer_id": trainer.id,
            "trainees": people,
        }
        db.session.remove()
    return found


def submissions(app, class_id):
    with app.app_context():
        found = db.session.execute(
            select(EvaluationSubmission.user_id, EvaluationSubmission.status).where(
                EvaluationSubmission.class_id == class_id
            )
        ).all()
        db.session.remove()
    return found


def no_sideways_scroll(page, width):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"page is {scroll_width}px wide on a {width}px screen"


@pytest.mark.browser
def test_point8_trainee_fills_on_a_phone_institution_reads_results_and_reminds(
    page, live_server, running_class
):
    base, app = live_server.url, live_server.app
    first, second = running_class["trainees"]
    form_path = f"/evaluation/{running_class['id']}/daily/{running_class['day']}"
    ARTIFACTS.mkdir(exist_ok=True)

    # ---- the trainee, on its phone: today's form is on its home page
    page.set_viewport_size(PHONE)
    sign_in_page(page, base, first)
    due = page.locator("#home-due-today")
    assert "每日意见反馈表" in due.inner_text()
    due.locator(f"a[href='{form_path}']").click()
    page.wait_for_load_state("networkidle")
    assert "不显示" in page.inner_text("#evaluation-anonymity") or "姓名" in page.inner_text(
        "#evaluation-anonymity"
    )
    # Big touch targets: every choice is at least 44 px high.
    heights = page.locator(".malan-choice").evaluate_all("els => els.map(e => e.offsetHeight)")
    assert heights and min(heights) >= 44, heights
    no_sideways_scroll(page, PHONE["width"])

    # A draft with two answers, kept when the page comes back.
    page.locator(f"input[name=q1_{running_class['trainer_id']}][value='5']").check()
    page.locator("input[name=q2][value='4']").check()
    page.click("#evaluation-draft")
    page.wait_for_load_state("networkidle")
    assert "草稿已保存" in page.inner_text("body")
    assert page.locator("input[name=q2][value='4']").is_checked()

    # A second tab opens the same form before the first one submits.
    other_tab = page.context.new_page()
    other_tab.set_viewport_size(PHONE)
    other_tab.goto(f"{base}{form_path}")
    other_tab.wait_for_load_state("networkidle")

    page.locator("input[name=q3][value='5']").check()
    page.locator("input[name=q4][value='2']").check()
    page.fill("textarea[name=q5]", "案例教学很实用")
    page.click("#evaluation-submit")
    page.wait_for_load_state("networkidle")
    assert page.locator("#evaluation-submitted").is_visible()
    assert page.locator("#evaluation-submit").count() == 0  # nothing left to tap
    page.screenshot(path=ARTIFACTS / "evaluation_trainee_phone_375.png", full_page=True)

    # The other tab submits too: refused, in Chinese, and nothing changes.
    for name, value in (("q3", "1"), ("q4", "1")):
        other_tab.locator(f"input[name={name}][value='{value}']").check()
    other_tab.locator(f"input[name=q1_{running_class['trainer_id']}][value='1']").check()
    other_tab.locator("input[name=q2][value='1']").check()
    with other_tab.expect_response(lambda r: r.request.method == "POST") as answer:
        other_tab.click("#evaluation-submit")
    assert answer.value.status == 400
    other_tab.wait_for_load_state("networkidle")
    assert "已于" in other_tab.inner_text("body") and "提交" in other_tab.inner_text("body")
    other_tab.screenshot(path=ARTIFACTS / "evaluation_second_submit_refused_375.png")
    other_tab.close()
    assert [s for _u, s in submissions(app, running_class["id"])] == ["submitted"]

    # ---- the institution, on a desktop: results as charts and tables, who has not responded
    page.set_viewport_size(DESKTOP)
    sign_in_page(page, base, demo_account(app, "institution", "110101"))
    page.goto(f"{base}/evaluation_results/{running_class['id']}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#results-daily").is_visible()
    drawn = page.locator(".malan-chart[data-drawn='1'] canvas")
    assert drawn.count() >= 4, "the charts were not drawn"
    assert "1 / 2" in page.inner_text("#results-daily-count")
    missing = page.inner_text("#missing-daily")
    assert second["name"] in missing and first["name"] not in missing
    q5 = page.inner_text("#result-daily-q5")
    assert f"{first['name']}：案例教学很实用" in q5.replace("\n", "")  # the institution sees names
    page.screenshot(path=ARTIFACTS / "evaluation_results_institution_1280.png", full_page=True)
    no_sideways_scroll(page, DESKTOP["width"])

    page.locator("#missing-daily .remind-one").first.click()
    page.wait_for_load_state("networkidle")
    assert "提醒已发送" in page.inner_text("body")
    assert ":" in page.inner_text("#missing-daily")  # the time it was sent

    # ---- the trainer: the same numbers without names, and a response to the day's feedback
    sign_in_page(page, base, demo_account(app, "trainer", "110101"))
    page.goto(f"{base}/evaluation_results/{running_class['id']}")
    page.wait_for_load_state("networkidle")
    assert page.locator(".malan-chart[data-drawn='1'] canvas").count() >= 4
    q5 = page.inner_text("#result-daily-q5")
    assert "案例教学很实用" in q5 and first["name"] not in q5
    assert page.locator(".results-individual").count() == 0
    page.fill("#response-text", "明天上午增加案例讨论时间。")
    page.click("#respond-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "明天上午增加案例讨论时间。" in page.inner_text("#responses")
    page.screenshot(path=ARTIFACTS / "evaluation_results_trainer_1280.png", full_page=True)

    # ---- the reminded trainee: the reminder opens its home page, the response follows
    page.set_viewport_size(PHONE)
    sign_in_page(page, base, second)
    first_panel = page.locator("#home-notes, #malan-who").first
    assert first_panel.get_attribute("id") == "home-notes"
    assert "提醒您" in page.inner_text(".home-reminder")
    assert "明天上午增加案例讨论时间。" in page.inner_text("#home-responses")
    page.screenshot(path=ARTIFACTS / "evaluation_reminder_home_375.png")

    assert page.requested, "the guard saw no request: the test would prove nothing"
    assert page.foreign == [], f"requests left 127.0.0.1: {page.foreign}"
