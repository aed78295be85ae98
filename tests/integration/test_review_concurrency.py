"""[review] point 3: two reviewers on the same step at once, or a double click — one transition.

Each contender is a thread with its own app context, hence its own session and connection, that
loads the record, waits at a barrier and decides. On SQLite this needs a file database (an
in-memory one is a single shared connection); on PostgreSQL the suite's database is used.
"""

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import accounts, review
from app.services.review import (
    APPROVE,
    REJECT,
    RETURN,
    AlreadyHandled,
    transitions,  # the internals the races are staged in
)
from models.org import Org
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewEvent, ReviewTask
from models.user import MalanUser
from tests.factories import NOW, PASSWORD, file_arena


@pytest.fixture()
def arena(app, request, tmp_path):
    """(app, ids): the app whose database the threads share, and the world's ids in it."""
    with file_arena(app, request, tmp_path, lock_timeout=0.2) as pair:
        yield pair


def _second_province_reviewer(ids) -> int:
    """Another account of the same province: two legitimate reviewers of the same step."""
    org = db.session.get(Org, ids["org"]["P1"])
    user, _pw = accounts.create_account(
        name="周北京", role_kind="province", org=org, now=NOW, password=PASSWORD
    )
    db.session.commit()
    return user.id


def _submitted_plan(ids) -> int:
    rnd = PlanRound(year=2026, month=6, deadline=date(2026, 3, 31), opened_at=NOW)
    db.session.add(rnd)
    db.session.flush()
    plan = TrainingPlan(round_id=rnd.id, org_id=ids["org"]["C1"], contact_name="赵联系")
    plan.lines.append(
        PlanLine(
            org_id=ids["org"]["C1"],
            course_type="SYB",
            classes=1,
            trainees_per_class=30,
            start_from=date(2026, 7, 1),
            start_to=date(2026, 7, 31),
            venue_city_id=ids["org"]["C1"],
        )
    )
    db.session.add(plan)
    db.session.commit()
    review.submit(plan, db.session.get(MalanUser, ids["user"]["c1"]), NOW)
    return plan.id


def _race(application, plan_id, contenders):
    """Run ``contenders`` [(user_id, decision, opinion)] at the same moment; their outcomes."""
    barrier = threading.Barrier(len(contenders))
    outcomes = [None] * len(contenders)

    def run(i, user_id, decision, opinion):
        with application.app_context():
            try:
                plan = db.session.get(TrainingPlan, plan_id)
                actor = db.session.get(MalanUser, user_id)
                version = plan.version  # what the reviewer's form carried
                _ = actor.org, actor.roles, plan.org_id  # loaded before the race, as a page would
                barrier.wait(timeout=10)
                review.decide(
                    plan,
                    actor,
                    decision,
                    datetime(2026, 3, 3, 10, i),
                    opinion=opinion,
                    expected_version=version,
                )
                outcomes[i] = "done"
            except AlreadyHandled as exc:
                db.session.rollback()
                outcomes[i] = exc
            except Exception as exc:  # noqa: BLE001  (anything else is the failure we look for)
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def _decisions_at_step0(plan_id):
    db.session.expire_all()
    return db.session.scalar(
        select(func.count())
        .select_from(ReviewEvent)
        .where(
            ReviewEvent.record_type == "plan",
            ReviewEvent.record_id == plan_id,
            ReviewEvent.step == 0,
            ReviewEvent.action != "submit",
        )
    )


def _assert_exactly_one(outcomes, plan_id, names):
    assert sorted(o == "done" for o in outcomes) == [False, True], outcomes
    (loser,) = [o for o in outcomes if o != "done"]
    assert isinstance(loser, AlreadyHandled), repr(loser)
    assert any(name in str(loser) for name in names), str(loser)
    assert _decisions_at_step0(plan_id) == 1
    open_tasks = db.session.scalars(
        select(ReviewTask).where(
            ReviewTask.record_type == "plan",
            ReviewTask.record_id == plan_id,
            ReviewTask.done_at.is_(None),
        )
    ).all()
    assert len(open_tasks) <= 1  # never two next steps


@pytest.mark.parametrize("round_", range(3))
def test_point3_two_reviewers_approve_at_once_exactly_one_transition(arena, round_):
    application, ids = arena
    with application.app_context():
        other = _second_province_reviewer(ids)
        plan_id = _submitted_plan(ids)
        outcomes = _race(
            application, plan_id, [(ids["user"]["p1"], APPROVE, None), (other, APPROVE, None)]
        )
        _assert_exactly_one(outcomes, plan_id, ["李北京", "周北京"])
        plan = db.session.get(TrainingPlan, plan_id)
        assert (plan.status, plan.step) == ("pending", 1)


def test_point3_both_past_every_check_still_one_transition(arena, monkeypatch):
    """The worst interleaving: both requests have read the open step and passed every check
    before either writes. The database decides; the loser is told who won."""
    application, ids = arena
    inside = threading.Barrier(2)
    close = transitions._close

    def close_together(*args, **kwargs):
        try:
            inside.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return close(*args, **kwargs)

    monkeypatch.setattr(transitions, "_close", close_together)
    with application.app_context():
        other = _second_province_reviewer(ids)
        plan_id = _submitted_plan(ids)
        outcomes = _race(
            application, plan_id, [(ids["user"]["p1"], APPROVE, None), (other, RETURN, "退回")]
        )
        _assert_exactly_one(outcomes, plan_id, ["李北京", "周北京"])


def test_point3_loser_waiting_on_a_held_lock_is_told_who_won(arena, monkeypatch):
    """The winner holds its write lock longer than SQLite's lock wait: the loser must still get
    "already handled by X", not a 500 (OperationalError: database is locked)."""
    application, ids = arena
    inside = threading.Barrier(2)
    close, event = transitions._close, transitions._event
    slow = threading.local()

    def close_together(*args, **kwargs):
        try:
            inside.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        close(*args, **kwargs)
        slow.winner = True  # only the one whose close went through gets here first

    def slow_event(*args, **kwargs):
        if getattr(slow, "winner", False):
            import time

            time.sleep(0.6)
        return event(*args, **kwargs)

    monkeypatch.setattr(transitions, "_close", close_together)
    monkeypatch.setattr(transitions, "_event", slow_event)
    with application.app_context():
        other = _second_province_reviewer(ids)
        plan_id = _submitted_plan(ids)
        outcomes = _race(
            application, plan_id, [(ids["user"]["p1"], APPROVE, None), (other, APPROVE, None)]
        )
        _assert_exactly_one(outcomes, plan_id, ["李北京", "周北京"])


def test_point3_double_click_approves_once(arena):
    application, ids = arena
    with application.app_context():
        plan_id = _submitted_plan(ids)
        p1 = ids["user"]["p1"]
        outcomes = _race(application, plan_id, [(p1, APPROVE, None), (p1, APPROVE, None)])
        _assert_exactly_one(outcomes, plan_id, ["李北京"])


def test_point3_approve_and_return_at_once_one_wins(arena):
    application, ids = arena
    with application.app_context():
        other = _second_province_reviewer(ids)
        plan_id = _submitted_plan(ids)
        outcomes = _race(
            application, plan_id, [(ids["user"]["p1"], APPROVE, None), (other, RETURN, "请补充")]
        )
        _assert_exactly_one(outcomes, plan_id, ["李北京", "周北京"])
        plan = db.session.get(TrainingPlan, plan_id)
        assert plan.status in ("pending", "returned")


def test_point3_stale_version_from_a_form_is_refused(arena):
    application, ids = arena
    with application.app_context():
        other = _second_province_reviewer(ids)
        plan_id = _submitted_plan(ids)
        plan = db.session.get(TrainingPlan, plan_id)
        seen = plan.version  # both reviewers opened the page at this version
        review.decide(
            plan,
            db.session.get(MalanUser, other),
            REJECT,
            datetime(2026, 3, 2, 14, 30),
            opinion="不同意",
            expected_version=seen,
        )
        with pytest.raises(AlreadyHandled, match="周北京") as exc:
            review.decide(
                plan,
                db.session.get(MalanUser, ids["user"]["p1"]),
                APPROVE,
                datetime(2026, 3, 2, 14, 31),
                expected_version=seen,
            )
        assert "2026-03-02 14:30" in str(exc.value)
        db.session.rollback()
        assert _decisions_at_step0(plan_id) == 1
