"""[ux] #15 point 5 "Find the next action": a to-do item opens the action itself, the center's
plan summary opens on the national view, bulk approvals confirm what will change."""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import review
from app.services.review import RETURN
from models.audit import AuditLog
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewEvent, ReviewTask
from tests.factories import (
    NOW,
    assign,
    csrf_token,
    enrol,
    make_class,
    make_plan,
    page_errors,
    post_form,
    propose_candidates,
    seat_of,
    staffed_dispatch,
)

SUBMITTED = datetime(2026, 3, 2, 9, 0)
DAY_AFTER = datetime(2026, 3, 3, 9, 0)
_proposed, _seat_of = propose_candidates, seat_of


@pytest.fixture()
def staffing(frozen_clock, world):
    """I1's class a month ahead, its dispatch opened, and four trainers."""
    return staffed_dispatch(world, NOW.date() + timedelta(days=30))


ROUND = {"year": "2026", "month": "6", "deadline": "2026-03-20", "notice": "请各市六月底前报送"}


def todo_links(client) -> list[str]:
    html = client.get("/todo/").get_data(as_text=True)
    table = html.split('id="malan-todo"', 1)[1]
    return re.findall(r'<td><a href="([^"]+)">', table)


def action_buttons(html) -> set[str]:
    return set(re.findall(r'name="action" value="([a-z_]+)"', html))


# ---------------------------------------------------------------- 1. the to-do item's target


def test_round_todo_opens_the_form_to_enter_the_plan_then_the_plan(
    client, login, world, frozen_clock
):
    login("center")
    assert post_form(client, "/planroundview/add", **ROUND).status_code == 302
    round_id = db.session.scalar(select(PlanRound.id))
    login("c1")
    [link] = todo_links(client)
    assert "/planview/add" in link and "/planroundview/" not in link  # not the round's page
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="contact_name"' in html  # the plan's form
    assert 'name="round"' not in html  # the round is the one the item is about
    # entering the plan through the linked form makes it the city's plan of that round
    response = post_form(client, link, contact_name="联系人", contact_phone="010-12345678")
    assert response.status_code == 302
    db.session.rollback()
    plan = db.session.scalars(select(TrainingPlan)).one()
    assert plan.round_id == round_id and plan.org_id == world["org"]["C1"]
    # the round's item (still open until the plan is submitted) now opens the plan with 报送
    [link] = todo_links(client)
    assert link.endswith(f"/planview/show/{plan.id}")
    html = client.get(link).get_data(as_text=True)
    assert "submit" in action_buttons(html)


def test_review_and_returned_items_open_the_record_with_its_buttons(
    client, login, world, u, frozen_clock
):
    frozen_clock.set(DAY_AFTER)
    plan = make_plan(world)
    review.submit(plan, u.c1, SUBMITTED)
    login("p1")
    [link] = todo_links(client)
    assert link.endswith(f"/planview/show/{plan.id}")
    assert {"approve", "return"} <= action_buttons(client.get(link).get_data(as_text=True))
    review.decide(plan, u.p1, RETURN, SUBMITTED, opinion="补充")
    db.session.commit()
    login("c1")
    [link] = todo_links(client)
    html = client.get(link).get_data(as_text=True)
    assert "submit" in action_buttons(html) and f"/planview/edit/{plan.id}" in html


def test_classroom_items_open_the_import_and_the_needs_form(client, login, world, frozen_clock):
    klass = make_class(world)
    login("i1")
    [link] = todo_links(client)
    html = client.get(link).get_data(as_text=True)
    assert f"/class_trainees/{klass.id}/import" in html  # 导入学员名单 on the linked page
    enrol(world, klass, [1, 2, 3])
    row = assign(world, klass, "trainer1")
    login("trainer1")
    [link] = todo_links(client)
    html = client.get(link).get_data(as_text=True)
    assert f'action="/needs_analysis/save/{row.id}"' in html and 'name="needs"' in html


def test_dispatch_items_open_the_choice_and_the_answer(staffing, client, login):
    w, p = staffing, staffing["profile"]
    _proposed(w, wanted=1)
    login("center")
    [link] = todo_links(client)
    html = client.get(link).get_data(as_text=True)
    assert f'action="/dispatchview/choose/{w["dispatch"]}"' in html  # 选派 on the linked page
    post_form(client, f"/dispatchview/choose/{w['dispatch']}", trainers=[p["ta"]], lead=p["ta"])
    seat = _seat_of(p["ta"]).id
    login("ta")
    [link] = todo_links(client)
    html = client.get(link).get_data(as_text=True)
    assert f'action="/dispatchseatview/accept/{seat}"' in html
    assert f'action="/dispatchseatview/decline/{seat}"' in html


# ---------------------------------------------------------------- 2. the center's plan summary


def test_plan_summary_menu_opens_the_national_view_for_the_center(client, login, world):
    login("center")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/plansummary/"' in home  # the menu entry
    response = client.get("/plansummary/", follow_redirects=True)
    assert response.request.path == "/plansummary/national"
    html = response.get_data(as_text=True)
    assert "<h3>全国计划汇总</h3>" in html and 'id="province"' not in html  # no picker
    login("p1")
    response = client.get("/plansummary/", follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/plansummary/province"


# ---------------------------------------------------------------- 3. bulk approval confirmed


def _submitted_plans(world, u, cities=("C1", "C1b", "C2")):
    plans = {}
    for city in cities:
        plan = make_plan(world, city)
        review.submit(plan, getattr(u, city.lower()), SUBMITTED)
        plans[city] = plan.id
    db.session.commit()
    return plans


def _state():
    db.session.expire_all()
    return (
        sorted(
            (p.id, p.status, p.step, p.version) for p in db.session.scalars(select(TrainingPlan))
        ),
        db.session.scalars(select(ReviewEvent.id).order_by(ReviewEvent.id)).all(),
        sorted((t.id, t.done_at, t.decision) for t in db.session.scalars(select(ReviewTask))),
    )


def _confirm(client, ids):
    token = csrf_token(client, "/password/change")
    return client.post(
        "/planview/action_post",
        data={"action": "bulk_approve", "rowid": [str(i) for i in ids], "csrf_token": token},
    )


def test_bulk_approval_confirms_the_rows_then_applies_one_opinion(
    client, login, world, u, frozen_clock
):
    frozen_clock.set(DAY_AFTER)
    plans = _submitted_plans(world, u)
    chosen = [plans["C1"], plans["C1b"]]
    login("p1")
    before = _state()
    page = _confirm(client, chosen)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _state() == before  # nothing changed yet
    assert "以下 2 条记录将一并处理" in html
    listed = html.split('id="bulk-records"', 1)[1].split("</table>", 1)[0]
    assert sorted(int(i) for i in re.findall(r'data-id="(\d+)"', listed)) == sorted(chosen)
    form = html.split('id="bulk-form"', 1)[1].split("</form>", 1)[0]
    assert sorted(int(i) for i in re.findall(r'name="rowid" value="(\d+)"', form)) == sorted(chosen)
    assert 'name="opinion"' in form
    response = post_form(
        client,
        "/planview/bulk_review",
        rowid=[str(i) for i in chosen],
        decision="approve",
        opinion="同意，报部中心",
    )
    assert response.status_code == 302
    db.session.expire_all()
    for pk in chosen:
        plan = db.session.get(TrainingPlan, pk)
        assert plan.step == 1  # now at the center
        event = db.session.scalars(
            select(ReviewEvent).where(
                ReviewEvent.record_type == "plan",
                ReviewEvent.record_id == pk,
                ReviewEvent.action == "approve",
            )
        ).one()
        assert event.opinion == "同意，报部中心" and event.actor_id == world["user"]["p1"]
    assert db.session.get(TrainingPlan, plans["C2"]).step == 0  # not chosen (and not p1's)


def test_bulk_approval_with_a_row_outside_the_scope_is_not_found(
    client, login, world, u, frozen_clock
):
    frozen_clock.set(DAY_AFTER)
    plans = _submitted_plans(world, u)
    mixed = [plans["C1"], plans["C2"]]  # 广州's plan is 广东's, not 北京's
    login("p1")
    before = _state()
    assert _confirm(client, mixed).status_code == 404
    response = post_form(
        client,
        "/planview/bulk_review",
        rowid=[str(i) for i in mixed],
        decision="approve",
        opinion="同意",
    )
    assert response.status_code == 404
    assert _state() == before


def test_bulk_approval_is_all_or_none(client, login, world, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    plans = _submitted_plans(world, u, ("C1", "C1b"))
    login("p1")
    page = _confirm(client, list(plans.values()))
    assert page.status_code == 200
    # someone else decides on one of them in the meantime: the other is not approved either
    review.decide(db.session.get(TrainingPlan, plans["C1b"]), u.p1, RETURN, DAY_AFTER, opinion="补")
    db.session.commit()
    before = _state()
    response = post_form(
        client,
        "/planview/bulk_review",
        rowid=[str(i) for i in plans.values()],
        decision="approve",
        opinion="同意",
    )
    assert response.status_code == 400
    assert _state() == before
    html = response.get_data(as_text=True)
    assert 'id="bulk-form"' in html and ">同意</textarea>" in html  # the opinion as typed


# ---------------------------------------------------------------- 4. plan lines on the plan's page


def _line(i, world, **over):
    values = {
        "course_type": "SYB",
        "classes": "2",
        "trainees_per_class": "30",
        "start_from": "2026-04-01",
        "start_to": "2026-05-31",
        "venue_city_id": str(world["org"]["C1"]),
        "contact_name": "钱老师",
        "contact_phone": "13800000002",
        **over,
    }
    return {f"{k}-{i}": v for k, v in values.items()}


def _lines(plan_id):
    db.session.expire_all()
    return sorted(
        (line.course_type, line.classes, line.contact_name or "")
        for line in db.session.get(TrainingPlan, plan_id).lines
    )


def test_several_plan_lines_are_added_on_the_plans_page(client, login, world, frozen_clock):
    plan = make_plan(world)
    db.session.commit()
    before = _lines(plan.id)
    login("c1")
    html = client.get(f"/planview/show/{plan.id}").get_data(as_text=True)
    assert 'id="plan-lines-form"' in html and 'name="classes-4"' in html  # five blank rows
    response = post_form(
        client,
        f"/planview/add_lines/{plan.id}",
        {**_line(0, world), **_line(2, world, classes="3", contact_name="孙老师")},
    )
    assert response.status_code == 302
    assert _lines(plan.id) == sorted([*before, ("SYB", 2, "钱老师"), ("SYB", 3, "孙老师")])


def test_a_refused_row_adds_none_and_keeps_what_was_typed(client, login, world, frozen_clock):
    plan = make_plan(world)
    db.session.commit()
    before = _lines(plan.id)
    login("c1")
    response = post_form(
        client,
        f"/planview/add_lines/{plan.id}",
        {**_line(0, world, contact_name="周老师"), **_line(1, world, start_to="2026-03-20")},
    )
    assert response.status_code == 400
    assert _lines(plan.id) == before
    html = response.get_data(as_text=True)
    assert "第 2 个计划班次" in html and "2026-03-20" in html  # the row at fault, named
    assert 'value="周老师"' in html and 'value="2026-03-20"' in html


def test_others_get_no_table_and_cannot_add_lines(client, login, world, u, frozen_clock):
    plan = make_plan(world)
    db.session.commit()
    before = _lines(plan.id)
    login("c2")  # another province's city: not found
    assert client.get(f"/planview/show/{plan.id}").status_code == 404
    response = post_form(client, f"/planview/add_lines/{plan.id}", _line(0, world))
    assert response.status_code == 404
    review.submit(db.session.get(TrainingPlan, plan.id), u.c1, SUBMITTED)
    db.session.commit()
    login("c1")  # under review: no table, and a post is refused
    html = client.get(f"/planview/show/{plan.id}").get_data(as_text=True)
    assert 'id="plan-lines-form"' not in html
    post_form(client, f"/planview/add_lines/{plan.id}", _line(0, world))
    assert _lines(plan.id) == before


# ------------------------------------------------- 5. existing plan lines edited on the plan's page


def _edit_form(line, **over):
    """The edit table's row of ``line`` as the page fills it, with ``over`` typed over it."""
    values = {
        "course_type": line.course_type,
        "classes": str(line.classes),
        "trainees_per_class": str(line.trainees_per_class),
        "start_from": line.start_from.isoformat(),
        "start_to": line.start_to.isoformat(),
        "venue_city_id": str(line.venue_city_id),
        "contact_name": line.contact_name or "",
        "contact_phone": line.contact_phone or "",
        **over,
    }
    return {"line_id": str(line.id), **{f"{k}-e{line.id}": v for k, v in values.items()}}


def _plan_with_two_lines(world):
    plan = make_plan(world)
    db.session.flush()
    second = PlanLine(org_id=plan.org_id)
    second.apply({**plan.lines[0].as_dict(), "classes": 5})
    plan.lines.append(second)
    db.session.commit()
    return plan.id, [line.id for line in plan.lines]


def _audited(event, object_type="PlanLine"):
    db.session.expire_all()
    return db.session.scalars(
        select(AuditLog.object_id).where(
            AuditLog.event == event, AuditLog.object_type == object_type
        )
    ).all()


def test_existing_plan_lines_are_edited_and_removed_on_the_plans_page(
    client, login, world, frozen_clock
):
    plan_id, (first, second) = _plan_with_two_lines(world)
    login("c1")
    html = client.get(f"/planview/show/{plan_id}").get_data(as_text=True)
    table = html.split('id="plan-edit-lines-form"', 1)[1].split("</form>", 1)[0]
    assert (
        f'name="classes-e{first}" value="2"' in table and f'name="remove" value="{second}"' in table
    )
    lines = {line.id: line for line in db.session.get(TrainingPlan, plan_id).lines}
    data = {
        **_edit_form(lines[first], classes="4", contact_name="吴老师"),
        "remove": str(second),
    }
    data["line_id"] = [str(first), str(second)]
    response = post_form(client, f"/planview/edit_lines/{plan_id}", data)
    assert response.status_code == 302
    assert _lines(plan_id) == [("SYB", 4, "吴老师")]
    assert str(first) in _audited("update") and str(second) in _audited("delete")


def test_a_refused_edit_changes_no_line_and_shows_the_message_at_the_rows_field(
    client, login, world, frozen_clock
):
    plan_id, (first, second) = _plan_with_two_lines(world)
    before = _lines(plan_id)
    login("c1")
    lines = {line.id: line for line in db.session.get(TrainingPlan, plan_id).lines}
    data = {
        **_edit_form(lines[first], classes="7", contact_name="郑老师"),
        **_edit_form(lines[second], start_to="2020-01-01"),
        "remove": str(first),
    }
    data["line_id"] = [str(first), str(second)]
    response = post_form(client, f"/planview/edit_lines/{plan_id}", data)
    assert response.status_code == 400
    assert _lines(plan_id) == before  # neither the edit nor the removal
    html = response.get_data(as_text=True)
    errors = page_errors(response)
    [message] = errors[f"start_to-e{second}"]
    assert message.startswith("第 2 个计划班次") and "2020-01-01" in message
    assert 'value="郑老师"' in html and 'value="2020-01-01"' in html  # as typed
    assert f'name="remove" value="{first}" checked' in html


def test_others_cannot_edit_lines_and_a_plan_under_review_offers_no_table(
    client, login, world, u, frozen_clock
):
    plan_id, (first, _second) = _plan_with_two_lines(world)
    before = _lines(plan_id)
    line = db.session.get(PlanLine, first)
    form = {**_edit_form(line, classes="9"), "remove": str(_second)}
    login("c2")  # another province's city: not found
    assert post_form(client, f"/planview/edit_lines/{plan_id}", form).status_code == 404
    review.submit(db.session.get(TrainingPlan, plan_id), u.c1, SUBMITTED)
    db.session.commit()
    login("c1")  # under review: no table, and a post is refused
    html = client.get(f"/planview/show/{plan_id}").get_data(as_text=True)
    assert 'id="plan-edit-lines-form"' not in html
    response = post_form(client, f"/planview/edit_lines/{plan_id}", form)
    assert response.status_code == 400 and "更正" in response.get_data(as_text=True)
    assert _lines(plan_id) == before


# ------------------------------------------------- 6. 批量报送 confirmed, all or nothing


def _two_drafts(world, empty_second=False):
    """Two draft plans of 东城 (two rounds); the second without lines when ``empty_second``."""
    first = make_plan(world)
    other = PlanRound(year=2027, month=1, deadline=datetime(2026, 12, 1).date(), opened_at=NOW)
    db.session.add(other)
    db.session.flush()
    second = make_plan(world, round=other)
    if empty_second:
        second.lines.clear()
    db.session.commit()
    return [first.id, second.id]


def _bulk_submit_page(client, ids):
    token = csrf_token(client, "/password/change")
    return client.post(
        "/planview/action_post",
        data={"action": "bulk_submit", "rowid": [str(i) for i in ids], "csrf_token": token},
    )


def test_bulk_submission_lists_the_drafts_then_submits_them_all(client, login, world, frozen_clock):
    ids = _two_drafts(world)
    login("c1")
    assert "批量报送" in client.get("/planview/list/").get_data(as_text=True)
    before = _state()
    page = _bulk_submit_page(client, ids)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _state() == before  # nothing submitted yet
    listed = html.split('id="bulk-records"', 1)[1].split("</table>", 1)[0]
    assert sorted(int(i) for i in re.findall(r'data-id="(\d+)"', listed)) == sorted(ids)
    form = html.split('id="bulk-form"', 1)[1].split("</form>", 1)[0]
    assert 'name="opinion"' not in form and ">提交</button>" in form
    response = post_form(client, "/planview/submit_all", rowid=[str(i) for i in ids])
    assert response.status_code == 302
    db.session.expire_all()
    assert [db.session.get(TrainingPlan, i).status for i in ids] == ["pending", "pending"]


def test_bulk_submission_names_what_cannot_go_and_submits_nothing(
    client, login, world, frozen_clock
):
    ids = _two_drafts(world, empty_second=True)
    login("c1")
    before = _state()
    html = _bulk_submit_page(client, ids).get_data(as_text=True)
    assert _state() == before
    refused = html.split('class="danger bulk-refused"', 1)[1].split("</tr>", 1)[0]
    assert f"<td>{ids[1]}</td>" in refused and "至少" in refused  # the empty plan, and why
    assert 'id="bulk-form"' not in html and 'id="bulk-refusals"' in html
    response = post_form(client, "/planview/submit_all", rowid=[str(i) for i in ids])
    assert response.status_code == 400 and _state() == before  # the first one did not go either
    assert "至少" in response.get_data(as_text=True)


def test_bulk_submission_of_a_foreign_draft_is_not_found(client, login, world, frozen_clock):
    ids = _two_drafts(world)
    login("c1b")  # another city of the same province
    before = _state()
    assert _bulk_submit_page(client, ids[:1]).status_code == 404
    assert post_form(client, "/planview/submit_all", rowid=[str(ids[0])]).status_code == 404
    assert _state() == before


# ------------------------------------------------- 7. the province's 汇总报送 confirmed first


def _summary(client, round_id, **confirmed):
    return post_form(client, "/planview/submit_summary", round_id=round_id, **confirmed)


def test_summary_submission_lists_the_plans_it_approves_then_applies(
    client, login, world, u, frozen_clock
):
    frozen_clock.set(DAY_AFTER)
    plans = _submitted_plans(world, u)
    round_id = db.session.get(TrainingPlan, plans["C1"]).round_id
    login("p1")
    summary = client.get(f"/plansummary/province?round={round_id}").get_data(as_text=True)
    assert 'id="submit-summary"' in summary
    before = _state()
    page = _summary(client, round_id)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _state() == before  # nothing changed yet
    assert "省级汇总" in html.split('id="bulk-intro"', 1)[1].split("</p>", 1)[0]
    listed = html.split('id="bulk-records"', 1)[1].split("</table>", 1)[0]
    mine = sorted([plans["C1"], plans["C1b"]])  # 广州's plan waits for 广东, not listed
    assert sorted(int(i) for i in re.findall(r'data-id="(\d+)"', listed)) == mine
    form = html.split('id="bulk-form"', 1)[1].split("</form>", 1)[0]
    assert 'name="confirmed" value="1"' in form
    rows = re.findall(r'name="rowid" value="(\d+)"', form)
    response = _summary(client, round_id, confirmed="1", rowid=rows, opinion="汇总报送")
    assert response.status_code == 302
    db.session.expire_all()
    assert [db.session.get(TrainingPlan, i).step for i in mine] == [1, 1]
    assert db.session.get(TrainingPlan, plans["C2"]).step == 0


def test_summary_submission_is_all_or_none_and_scoped(client, login, world, u, frozen_clock):
    frozen_clock.set(DAY_AFTER)
    plans = _submitted_plans(world, u)
    round_id = db.session.get(TrainingPlan, plans["C1"]).round_id
    login("p1")
    foreign = _summary(client, round_id, confirmed="1", rowid=[plans["C1"], plans["C2"]])
    assert foreign.status_code == 404
    review.decide(db.session.get(TrainingPlan, plans["C1b"]), u.p1, RETURN, DAY_AFTER, opinion="补")
    db.session.commit()
    before = _state()
    response = _summary(client, round_id, confirmed="1", rowid=[plans["C1"], plans["C1b"]])
    assert response.status_code == 400 and _state() == before
    assert 'id="bulk-form"' in response.get_data(as_text=True)
