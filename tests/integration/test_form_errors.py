"""Issue 15 points 1 and 2 — never lose what was typed, one validation per kind of field.

Every case is posted through the HTTP form a user fills, signed in in Chinese. A refused form
answers 200 with the form again: the field's Chinese message beside that field
(app/templates/forms/_errors.html), every typed value still in the form, the database unchanged.
"""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.extensions import db
from models.application import ClassApplication
from models.audit import AuditLog
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewTask
from models.user import MalanUser
from tests.factories import NOW, flashes, page_errors, post_form

pytestmark = pytest.mark.usefixtures("frozen_clock")

TODAY = NOW.date()  # 2026-03-02
TABLES = (PlanRound, TrainingPlan, PlanLine, ClassApplication, ReviewTask, MalanUser, AuditLog)


def state() -> dict:
    """Every row a refused form must leave as it was."""
    db.session.rollback()
    return {
        model.__tablename__: sorted(
            tuple(str(v) for k, v in row._mapping.items() if k not in ("last_login", "changed_on"))
            for row in db.session.execute(select(model.__table__)).all()
        )
        for model in TABLES
    }


def page(response) -> str:
    return unescape(response.get_data(as_text=True))


def refused(response, field, *words):
    """The form again (200), the message beside ``field`` holding each of ``words``."""
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    errors = page_errors(response)
    assert field in errors, errors
    message = " ".join(errors[field])
    for word in words:
        assert word in message, message
    return message


def kept(response, **typed):
    """Each typed value is back in its input (value="…", a selected option or a textarea)."""
    html = page(response)
    for name, value in typed.items():
        value = str(value)
        tag = re.search(rf'<(input|textarea|select)[^>]*\bname="{name}"[^>]*>', html)
        assert tag, name
        if tag.group(1) == "input":
            assert f'value="{value}"' in tag.group(0), (name, tag.group(0))
        elif tag.group(1) == "textarea":
            body = html[tag.end() : html.index("</textarea>", tag.end())]
            assert body.strip() == value, (name, body)
        else:
            select_html = html[tag.end() : html.index("</select>", tag.end())]
            assert re.search(
                rf'<option[^>]*selected[^>]*value="{value}"', select_html
            ) or re.search(rf'<option[^>]*value="{value}"[^>]*selected', select_html), (name, value)


# ---------------------------------------------------------------- plan rounds (center)

ROUND = {"year": "2026", "month": "6", "deadline": "2026-03-20", "notice": "请各市六月底前报送"}


@pytest.mark.parametrize(
    "over,field,words",
    [
        ({"deadline": "2026-02-20"}, "deadline", ("截止日期", "2026-03-02")),  # in the past
        ({"year": "2025"}, "year", ("年度", "2026")),  # a past year
    ],
)
def test_point1_a_refused_round_keeps_what_was_typed(client, login, world, over, field, words):
    login("center")
    before = state()
    form = {**ROUND, **over}
    response = post_form(client, "/planroundview/add", **form)
    refused(response, field, *words)
    kept(response, year=form["year"], deadline=form["deadline"], notice=form["notice"])
    assert state() == before


def test_point1_a_refused_edit_keeps_what_was_typed(client, login, world):
    login("center")
    assert post_form(client, "/planroundview/add", **ROUND).status_code == 302
    round_id = db.session.scalar(select(PlanRound.id))
    before = state()
    response = post_form(
        client, f"/planroundview/edit/{round_id}", deadline="2026-03-01", notice="改过的通知"
    )
    refused(response, "deadline", "截止日期")
    kept(response, deadline="2026-03-01", notice="改过的通知")
    assert state() == before


# ---------------------------------------------------------------- plan lines and plans (city)


def open_round_and_plan(client, login, world) -> int:
    login("center")
    assert post_form(client, "/planroundview/add", **ROUND).status_code == 302
    login("c1")
    round_id = db.session.scalar(select(PlanRound.id))
    response = post_form(
        client, "/planview/add", round=round_id, contact_name="联系人", contact_phone="010-12345678"
    )
    assert response.status_code == 302
    db.session.rollback()
    return db.session.scalar(select(TrainingPlan.id))


def line_form(world, **over):
    return {
        "course_type": "SYB",
        "classes": "2",
        "trainees_per_class": "30",
        "start_from": "2026-04-01",
        "start_to": "2026-05-31",
        "venue_city_id": str(world["org"]["C1"]),
        "contact_name": "赵老师",
        "contact_phone": "13800000000",
        **over,
    }


@pytest.mark.parametrize(
    "over,field,words",
    [
        ({"start_to": "2026-03-20"}, "start_to", ("2026-03-20", "2026-04-01")),  # reversed window
        ({"start_from": "2026-02-01"}, "start_from", ("2026-02-01",)),  # already past
        ({"trainees_per_class": "-5"}, "trainees_per_class", ("1",)),  # negative
        ({"contact_phone": "138abcd1234"}, "contact_phone", ("联系电话", "138abcd1234")),
        ({"contact_name": "赵" * 65}, "contact_name", ("64", "65")),  # longer than its column
    ],
)
def test_point1_a_refused_plan_line_keeps_what_was_typed(client, login, world, over, field, words):
    plan_id = open_round_and_plan(client, login, world)
    before = state()
    form = line_form(world, **over)
    response = post_form(client, "/planlineview/add", plan=plan_id, **form)
    refused(response, field, *words)
    kept(
        response,
        start_from=form["start_from"],
        start_to=form["start_to"],
        contact_name=form["contact_name"],
        contact_phone=form["contact_phone"],
        classes=form["classes"],
        trainees_per_class=form["trainees_per_class"],
        venue_city_id=form["venue_city_id"],
    )
    assert state() == before


def test_point2_a_plan_refuses_a_mobile_with_letters_beside_the_field(client, login, world):
    plan_id = open_round_and_plan(client, login, world)
    before = state()
    response = post_form(
        client, f"/planview/edit/{plan_id}", contact_name="钱主任", contact_phone="138abcd1234"
    )
    refused(response, "contact_phone", "138abcd1234")
    kept(response, contact_name="钱主任", contact_phone="138abcd1234")
    assert state() == before


# ---------------------------------------------------------------- class applications (institution)

APPLICATION = {
    "course_type": "SYB",
    "start_date": "2026-04-01",
    "end_date": "2026-04-05",
    "venue": "东城区创业大厦三层",
    "expected_trainees": "30",
    "contact_name": "周老师",
    "contact_phone": "13800000000",
    "trainer_criteria": "SYB 讲师，三年以上",
}


@pytest.mark.parametrize(
    "over,field,words",
    [
        ({"start_date": "2026-02-20"}, "start_date", ("2026-02-20",)),  # already past
        ({"end_date": "2026-03-25"}, "end_date", ("2026-03-25", "2026-04-01")),  # end < start
        ({"expected_trainees": "-3"}, "expected_trainees", ("1",)),  # negative
        ({"contact_phone": "138abcd1234"}, "contact_phone", ("138abcd1234",)),
        ({"venue": "楼" * 256}, "venue", ("255", "256")),  # longer than its column
    ],
)
def test_point1_a_refused_application_keeps_what_was_typed(
    client, login, world, over, field, words
):
    login("i1")
    before = state()
    form = {**APPLICATION, **over}
    response = post_form(client, "/applicationview/add", **form)
    refused(response, field, *words)
    kept(
        response,
        **{k: v for k, v in form.items() if k not in ("course_type",)},
    )
    # no maxlength on the input: the browser would cut a pasted text without a word
    assert not re.search(r'<input[^>]*name="venue"[^>]*maxlength', page(response))
    assert state() == before


def test_point1_a_start_under_14_days_away_is_warned_at_save(client, login, world):
    login("i1")
    soon = (TODAY + timedelta(days=10)).isoformat()
    response = post_form(
        client,
        "/applicationview/add",
        **{**APPLICATION, "start_date": soon, "end_date": soon},
    )
    assert response.status_code == 302  # saved as a draft …
    assert db.session.scalar(select(func.count(ClassApplication.id))) == 1
    warning = " ".join(flashes(client))
    assert soon in warning and "14" in warning and "中心" in warning  # … with the warning now


# ---------------------------------------------------------------- the review form (city)


def approved_line(world) -> int:
    rnd = PlanRound(year=2026, month=1, deadline=date(2026, 1, 31), opened_at=NOW)
    db.session.add(rnd)
    db.session.flush()
    plan = TrainingPlan(
        round_id=rnd.id,
        org_id=world["org"]["C1"],
        contact_name="联系人",
        contact_phone="010-12345678",
        status="approved",
        in_force_revision=1,
    )
    db.session.add(plan)
    db.session.flush()
    line = PlanLine(
        plan_id=plan.id,
        org_id=world["org"]["C1"],
        course_type="SYB",
        classes=2,
        trainees_per_class=30,
        start_from=date(2026, 3, 1),
        start_to=date(2026, 6, 30),
    )
    db.session.add(line)
    db.session.commit()
    return line.id


def test_point1_a_city_approving_without_the_plan_line_keeps_its_opinion(client, login, world):
    approved_line(world)
    login("i1")
    assert post_form(client, "/applicationview/add", **APPLICATION).status_code == 302
    pk = db.session.scalar(select(ClassApplication.id))
    version = db.session.get(ClassApplication, pk).version
    assert (
        post_form(
            client, f"/applicationview/review/{pk}", action="submit", version=version
        ).status_code
        == 302
    )
    login("c1")
    db.session.rollback()
    version = db.session.get(ClassApplication, pk).version
    before = state()
    opinion = "同意开班，请按计划执行。"
    response = post_form(
        client,
        f"/applicationview/review/{pk}",
        action="approve",
        choice="line",
        plan_line_id="",
        opinion=opinion,
        version=version,
    )
    refused(response, "plan_line_id", "计划班次")
    kept(response, opinion=opinion)
    assert 'id="choice-line" checked' in page(response)
    assert state() == before


# ---------------------------------------------------------------- accounts (administrator)


def test_point1_a_new_account_with_letters_in_its_mobile_keeps_what_was_typed(client, login, world):
    login("sysadmin")
    before = state()
    response = post_form(
        client,
        "/userview/add",
        first_name="蒋学员",
        role_kind="trainee",
        org=world["org"]["I1"],
        mobile="138abcd1234",
    )
    refused(response, "mobile", "手机", "138abcd1234")
    kept(response, first_name="蒋学员", mobile="138abcd1234", role_kind="trainee")
    assert state() == before


def test_point2_a_taken_value_names_the_field_and_the_other_record(client, login, world):
    login("sysadmin")
    first = post_form(
        client,
        "/userview/add",
        first_name="蒋学员",
        role_kind="trainee",
        org=world["org"]["I1"],
        mobile="13912345678",
    )
    assert first.status_code == 302
    before = state()
    response = post_form(
        client,
        "/userview/add",
        first_name="同一个人",
        role_kind="trainee",
        org=world["org"]["I1"],
        mobile="13912345678",
    )
    message = refused(response, "mobile", "手机号", "蒋学员")
    assert message != "已存在。"
    kept(response, first_name="同一个人", mobile="13912345678")
    assert state() == before


# ---------------------------------------------------------------- rounds: past years, withdrawal


def test_point2_an_unused_round_can_be_withdrawn_and_is_audited(client, login, world):
    login("center")
    assert post_form(client, "/planroundview/add", **ROUND).status_code == 302
    round_id = db.session.scalar(select(PlanRound.id))
    assert db.session.scalar(select(func.count(ReviewTask.id))) > 0  # the cities' to-do items
    show = client.get(f"/planroundview/show/{round_id}").get_data(as_text=True)
    assert "撤回" in show  # the button
    response = post_form(client, "/planroundview/action_post", action="withdraw", rowid=round_id)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(PlanRound, round_id) is None
    assert db.session.scalar(select(func.count(ReviewTask.id))) == 0
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "withdraw_round"))
    assert entry is not None and entry.object_id == str(round_id)
    assert any("撤回" in m for m in flashes(client))


def test_point2_a_round_a_city_has_used_cannot_be_withdrawn(client, login, world):
    open_round_and_plan(client, login, world)
    round_id = db.session.scalar(select(PlanRound.id))
    login("center")
    before = state()
    post_form(client, "/planroundview/action_post", action="withdraw", rowid=round_id)
    assert state() == before
    assert any("不能撤回" in m for m in flashes(client))
