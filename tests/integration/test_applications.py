"""Point 7 (SPEC §7 rows 4–7): class applications through the real pages.

An institution applies ≥ 14 days ahead; the city links a line of its approved plan (or marks the
application 计划外); province and center review; the center's approval creates the class with its
code. Every refusal leaves the database as it was.
"""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import review
from models.application import ClassApplication, TrainingClass
from models.audit import AuditLog
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewEvent, ReviewTask
from tests.factories import NOW, page_errors

pytestmark = pytest.mark.usefixtures("frozen_clock")

START = date(2026, 4, 1)  # 30 days ahead of NOW
BASE = "/applicationview"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def make_plan(world, city="C1", classes=1, course="SYB", approved=True, month=1):
    rnd = db.session.scalar(
        select(PlanRound).where(PlanRound.year == 2026, PlanRound.month == month)
    )
    if rnd is None:
        rnd = PlanRound(year=2026, month=month, deadline=date(2026, 1, 31), opened_at=NOW)
        db.session.add(rnd)
        db.session.flush()
    city_id = world["org"][city]
    plan = TrainingPlan(
        round_id=rnd.id,
        org_id=city_id,
        contact_name="联系人",
        contact_phone="010-12345678",
        status="approved" if approved else "pending",
        in_force_revision=1 if approved else None,
    )
    db.session.add(plan)
    db.session.flush()
    line = PlanLine(
        plan_id=plan.id,
        org_id=city_id,
        course_type=course,
        classes=classes,
        trainees_per_class=30,
        start_from=date(2026, 3, 1),
        start_to=date(2026, 6, 30),
    )
    db.session.add(line)
    db.session.commit()
    return line.id


def form(**overrides):
    data = {
        "course_type": "SYB",
        "start_date": START.isoformat(),
        "end_date": "2026-04-05",
        "venue": "东城区创业大厦",
        "expected_trainees": "30",
        "contact_name": "周老师",
        "contact_phone": "13800000000",
        "trainer_criteria": "SYB 讲师，三年以上",
    }
    data.update(overrides)
    return data


class Walk:
    """The pages a user clicks through, as the test client."""

    def __init__(self, client, login):
        self.client, self.login = client, login

    def token(self, url="/orgview/list/"):  # any page with a form carries the token
        match = CSRF.search(self.client.get(url).get_data(as_text=True))
        return match.group(1) or match.group(2)

    def create(self, **overrides):
        self.client.post(
            f"{BASE}/add", data={**form(**overrides), "csrf_token": self.token(f"{BASE}/add")}
        )
        return db.session.scalar(select(func.max(ClassApplication.id)))

    def act(self, pk, action, version=None, opinion="", **fields):
        db.session.expire_all()
        record = db.session.get(ClassApplication, pk)
        data = {
            "action": action,
            "opinion": opinion,
            "csrf_token": self.token(),
            "version": version if version is not None else record.version,
            **fields,
        }
        response = self.client.post(f"{BASE}/review/{pk}", data=data, follow_redirects=True)
        db.session.expire_all()
        return response

    def allow_late(self, pk, reason):
        db.session.expire_all()
        record = db.session.get(ClassApplication, pk)
        response = self.client.post(
            f"{BASE}/allow_late/{pk}",
            follow_redirects=True,
            data={"late_reason": reason, "version": record.version, "csrf_token": self.token()},
        )
        db.session.expire_all()
        return response

    def as_(self, key):
        self.login(key)
        return self


@pytest.fixture()
def walk(client, login):
    return Walk(client, login)


def app_row(pk) -> ClassApplication:
    db.session.expire_all()
    return db.session.get(ClassApplication, pk)


def text(response) -> str:
    return response.get_data(as_text=True)


def snapshot(pk):
    """What a refused step must leave unchanged."""
    row = app_row(pk)
    tasks = db.session.scalar(select(func.count(ReviewTask.id)))
    events = db.session.scalar(select(func.count(ReviewEvent.id)))
    return (
        row.status,
        row.step,
        row.version,
        row.plan_line_id,
        row.is_extra,
        tasks,
        events,
        db.session.scalar(select(func.count(TrainingClass.id))),
    )


def submitted(walk, **overrides):
    pk = walk.as_("i1").create(**overrides)
    assert app_row(pk) is not None, "the application was not created"
    walk.act(pk, "submit")
    assert app_row(pk).status == "pending"
    return pk


# ---------------------------------------------------------------- the two chains


def test_point7_in_plan_chain_creates_the_class_with_its_code(world, walk):
    line_id = make_plan(world, classes=2)
    pk = walk.as_("i1").create()
    row = app_row(pk)
    assert (row.org_id, row.status, row.course_type) == (world["org"]["I1"], "draft", "SYB")
    walk.act(pk, "submit")
    assert review.open_task(app_row(pk)).reviewer_org_id == world["org"]["C1"]

    page = text(walk.as_("c1").client.get(f"{BASE}/show/{pk}"))
    assert 'id="city-choice"' in page and f'value="{line_id}"' in page
    walk.act(pk, "approve", choice="line", plan_line_id=line_id)
    row = app_row(pk)
    assert (row.plan_line_id, row.is_extra, review.chain_of(row).name) == (
        line_id,
        False,
        "application_in_plan",
    )
    assert review.open_task(row).reviewer_org_id == world["org"]["P1"]

    walk.as_("p1").act(pk, "approve")
    assert review.open_task(app_row(pk)).reviewer_org_id == world["org"]["center"]
    walk.as_("center").act(pk, "approve", opinion="同意开班")

    row = app_row(pk)
    assert row.status == "approved"
    klass = db.session.get(TrainingClass, row.class_id)
    assert klass.code == "JS2026110001"
    assert (klass.org_id, klass.plan_line_id, klass.start_date, klass.course_type) == (
        world["org"]["I1"],
        line_id,
        START,
        "SYB",
    )
    actors = [e.actor_id for e in review.history(row)]
    assert actors == [world["user"][k] for k in ("i1", "c1", "p1", "center")]

    # The class page (read by the institution) shows the whole application history.
    page = text(walk.as_("i1").client.get(f"/trainingclassview/show/{klass.id}"))
    assert "JS2026110001" in page and 'id="application-history"' in page
    assert "同意开班" in page and page.count("<tr><td>2026-03-02") == 4

    # The next class of the same province and year gets the next number.
    pk2 = submitted(walk)
    walk.as_("c1").act(pk2, "approve", choice="line", plan_line_id=line_id)
    walk.as_("p1").act(pk2, "approve")
    walk.as_("center").act(pk2, "approve")
    assert app_row(pk2).training_class.code == "JS2026110002"


def test_point7_out_of_plan_chain_is_marked_additional(world, walk):
    pk = submitted(walk)  # C1 has no plan at all
    walk.as_("c1").act(pk, "approve", choice="extra")
    row = app_row(pk)
    assert (row.is_extra, row.plan_line_id, review.chain_of(row).name) == (
        True,
        None,
        "application_extra",
    )
    assert review.open_task(row).level == "province"
    walk.as_("p1").act(pk, "approve")
    walk.as_("center").act(pk, "approve")
    row = app_row(pk)
    assert row.status == "approved" and row.training_class.is_extra
    assert row.training_class.code.startswith("JS202611")


# ---------------------------------------------------------------- who may act


@pytest.mark.parametrize("actor", ["c1b", "c2", "p1", "p2", "center", "i1b", "i1"])
def test_point7_city_step_refuses_every_other_actor(world, walk, actor):
    """Another city, another province, a higher level acting early, another institution, the
    submitter itself: nothing changes."""
    line_id = make_plan(world)
    pk = submitted(walk)
    before = snapshot(pk)
    response = walk.as_(actor).act(pk, "approve", choice="line", plan_line_id=line_id)
    assert response.status_code in (200, 403, 404)
    assert snapshot(pk) == before


@pytest.mark.parametrize("actor", ["c1", "p2", "center", "i1"])
def test_point7_province_step_refuses_wrong_level_and_foreign_province(world, walk, actor):
    pk = submitted(walk)
    walk.as_("c1").act(pk, "approve", choice="extra")
    before = snapshot(pk)
    walk.as_(actor).act(pk, "approve")
    assert snapshot(pk) == before


def test_point7_foreign_scope_cannot_even_read_the_application(world, walk):
    pk = submitted(walk)
    for actor in ("c2", "p2", "i1b", "i2"):
        assert walk.as_(actor).client.get(f"{BASE}/show/{pk}").status_code == 404, actor
    assert walk.as_("c1").client.get(f"{BASE}/show/{pk}").status_code == 200


def test_point7_only_institutions_create_and_only_their_own(world, walk):
    assert walk.as_("c1").client.get(f"{BASE}/add").status_code in (302, 403)
    pk = walk.as_("i1").create(org=str(world["org"]["I2"]))  # a smuggled org is ignored
    assert app_row(pk).org_id == world["org"]["I1"]


# ---------------------------------------------------------------- the 14-day rule


def test_point7_fourteen_day_rule_and_the_centers_late_allowance(world, walk):
    pk = walk.as_("i1").create(start_date="2026-03-10", end_date="2026-03-12")
    response = walk.act(pk, "submit")
    assert app_row(pk).status == "draft"
    assert "2026-03-10" in text(response) and "14" in text(response)

    # Neither the institution nor the city may allow it; the center must give a reason.
    assert walk.allow_late(pk, "急需").status_code == 403
    assert walk.as_("c1").allow_late(pk, "急需").status_code == 403
    page = text(walk.as_("center").client.get(f"{BASE}/show/{pk}"))
    assert 'id="allow-late"' in page
    walk.allow_late(pk, "   ")
    assert app_row(pk).late_reason is None
    walk.allow_late(pk, "省里急需的SYB讲师班")
    row = app_row(pk)
    assert row.late_reason == "省里急需的SYB讲师班"
    assert row.late_allowed_by_id == world["user"]["center"] and row.late_allowed_at == NOW
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "application_allow_late"))
    assert entry is not None and entry.object_id == str(pk)

    walk.as_("i1").act(pk, "submit")
    assert app_row(pk).status == "pending"


def test_point7_exactly_fourteen_days_ahead_is_on_time(world, walk):
    pk = walk.as_("i1").create(start_date="2026-03-16", end_date="2026-03-16")
    walk.act(pk, "submit")
    assert app_row(pk).status == "pending"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"start_date": "2026-03-01", "end_date": "2026-03-05"}, "2026-03-01"),
        ({"end_date": "2026-03-31"}, "2026-03-31"),
        ({"expected_trainees": "0"}, None),
    ],
)
def test_point7_bad_dates_are_refused_and_nothing_is_saved(world, walk, overrides, message):
    walk.as_("i1")
    response = walk.client.post(
        f"{BASE}/add",
        follow_redirects=True,
        data={**form(**overrides), "csrf_token": walk.token(f"{BASE}/add")},
    )
    assert db.session.scalar(select(func.count(ClassApplication.id))) == 0
    if message:
        assert message in text(response)


def test_point7_capacity_exceeded_is_refused(world, walk):
    line_id = make_plan(world, classes=1)
    first, second = submitted(walk), submitted(walk)
    walk.as_("c1").act(first, "approve", choice="line", plan_line_id=line_id)
    before = snapshot(second)
    response = walk.act(second, "approve", choice="line", plan_line_id=line_id)
    assert snapshot(second) == before
    assert "1" in text(response) and app_row(second).plan_line_id is None
    # A rejected application gives its place back.
    walk.as_("p1").act(first, "reject", opinion="不符合条件")
    walk.as_("c1").act(second, "approve", choice="line", plan_line_id=line_id)
    assert app_row(second).plan_line_id == line_id


def test_point7_capacity_is_recounted_at_final_approval(world, walk):
    """A line overfilled behind the city's back (e.g. two approvals racing) stops at the center."""
    line_id = make_plan(world, classes=1)
    first, second = submitted(walk), submitted(walk)
    walk.as_("c1").act(first, "approve", choice="line", plan_line_id=line_id)
    walk.as_("c1").act(second, "approve", choice="extra")
    walk.as_("p1").act(second, "approve")
    # Force the overfill the lock prevents, then let the center try.
    db.session.execute(
        ClassApplication.__table__.update()
        .where(ClassApplication.id == second)
        .values(plan_line_id=line_id)
    )
    db.session.commit()
    before = snapshot(second)
    walk.as_("center").act(second, "approve")
    assert snapshot(second) == before


@pytest.mark.parametrize("case", ["other_city", "unapproved", "wrong_course", "missing", "none"])
def test_point7_city_must_pick_a_valid_line_of_its_own_approved_plan(world, walk, case):
    line_id = {
        "other_city": lambda: make_plan(world, city="C1b"),
        "unapproved": lambda: make_plan(world, approved=False),
        "wrong_course": lambda: make_plan(world, course="GYB"),
        "missing": lambda: 999999,
        "none": lambda: "",
    }[case]()
    pk = submitted(walk)
    before = snapshot(pk)
    response = walk.as_("c1").act(pk, "approve", choice="line", plan_line_id=line_id)
    assert snapshot(pk) == before
    # the page again, the refusal beside the plan line (issue 15 point 1)
    assert response.status_code == 200
    assert page_errors(response)["plan_line_id"][0].startswith("计划班次")


def test_point7_acting_on_a_step_no_longer_pending_is_refused(world, walk):
    line_id = make_plan(world, classes=2)
    pk = submitted(walk)
    stale = app_row(pk).version
    walk.as_("c1").act(pk, "approve", choice="line", plan_line_id=line_id)
    before = snapshot(pk)
    response = walk.act(pk, "approve", version=stale, choice="line", plan_line_id=line_id)
    assert snapshot(pk) == before
    assert "赵东城" in text(response)  # "already handled by 赵东城（…） at …"


def test_point7_bulk_approval_at_the_city_needs_the_choice_on_the_page(world, walk):
    pk = submitted(walk)
    walk.as_("c1")
    before = snapshot(pk)
    walk.client.post(
        f"{BASE}/action_post",
        data={"action": "bulk_approve", "rowid": [str(pk)], "csrf_token": walk.token()},
    )
    assert snapshot(pk) == before


def test_point7_only_a_draft_never_submitted_can_be_deleted(world, walk):
    pk = submitted(walk)
    walk.client.post(f"{BASE}/delete/{pk}", data={"csrf_token": walk.token()})
    assert app_row(pk) is not None
    draft = walk.create()
    walk.client.post(f"{BASE}/delete/{draft}", data={"csrf_token": walk.token()})
    assert app_row(draft) is None


def test_issue15_point5_a_drafts_record_page_offers_edit_and_a_submitted_one_does_not(world, walk):
    """编辑 is on the record page while the institution may still change its draft; once
    submitted the page offers no edit (a correction goes through review)."""
    draft = walk.as_("i1").create()
    page = text(walk.client.get(f"{BASE}/show/{draft}"))
    assert f'href="{BASE}/edit/{draft}' in page and "编辑" in page
    walk.act(draft, "submit")
    page = text(walk.client.get(f"{BASE}/show/{draft}"))
    assert f"{BASE}/edit/{draft}" not in page
    walk.as_("c1")
    page = text(walk.client.get(f"{BASE}/show/{draft}"))
    assert f"{BASE}/edit/{draft}" not in page
