"""[dispatch] issue 12, points 1, 2, 3 and the dispatch part of 6 (Annex 1 rows 8–11).

The class of these tests: I1's (东城, 北京), 2 days, 30 days after the frozen clock; trainers
of the world made for it by `make_trainer`, available by `mark_available`.
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services import availability, review
from app.services import dispatch as svc
from app.services.errors import InvalidValue, NotAllowed
from app.services.recommendation import WEIGHTS, recommend
from app.services.tx import transaction
from models.application import TrainingClass
from models.audit import AuditLog
from models.dispatch import Availability, Booking, Dispatch, DispatchSeat
from models.faculty import FacultyProfile
from models.review import ReviewTask
from models.user import MalanUser
from tests.factories import (
    NOW,
    flashes,
    make_class,
    make_trainer,
    mark_available,
    post_form,
    propose_candidates,
    seat_of,
    snapshot,
    staffed_dispatch,
)

START = NOW.date() + timedelta(days=30)


def _user(world, key):
    return db.session.get(MalanUser, world["user"][key])


@pytest.fixture()
def staffing(frozen_clock, world):
    """I1's 2-day class, its dispatch opened, and four trainers (tests.factories)."""
    return staffed_dispatch(world, START)


def _d(world) -> Dispatch:
    return db.session.get(Dispatch, world["dispatch"])


def _criteria(world, **values):
    base = dict(wanted=2, level="", region="any", min_taught="", gender="", named_profile_id="")
    base.update(values)
    with transaction():
        svc.save_criteria(_d(world), _user(world, "i1"), base, NOW)


def _open_tasks(kind, record_id):
    return db.session.scalars(
        select(ReviewTask).where(
            ReviewTask.record_type == kind,
            ReviewTask.record_id == record_id,
            ReviewTask.done_at.is_(None),
        )
    ).all()


def _profile(pid):
    return db.session.get(FacultyProfile, pid)


# ---------------------------------------------------------------- point 1: availability


def test_point1_trainer_marks_a_tapped_day_and_a_weekday_range(frozen_clock, world, client, login):
    pid = make_trainer(world, "ta", "C1")
    login("ta")
    url = f"/availabilityview/mark/{pid}"
    assert post_form(client, url, toggle="mark:2026-03-10").status_code == 302
    # 2026-03-16 (Monday) .. 2026-03-22 (Sunday), weekdays only: five days
    post_form(client, url, start="2026-03-16", end="2026-03-22", every="weekday", op="mark")
    days = set(db.session.scalars(select(Availability.day).where(Availability.profile_id == pid)))
    assert days == {date(2026, 3, 10)} | {date(2026, 3, n) for n in range(16, 21)}
    html = client.get(f"/availabilityview/show/{pid}?month=2026-03").get_data(as_text=True)
    assert 'data-day="2026-03-10" data-state="available"' in html
    assert 'data-day="2026-03-01" data-state="past"' in html
    assert 'value="clear:2026-03-10"' in html  # tapping a marked day clears it
    assert "availability.js" in html
    post_form(client, url, toggle="clear:2026-03-10")
    left = select(func.count()).where(
        Availability.profile_id == pid, Availability.day == date(2026, 3, 10)
    )
    assert db.session.scalar(left) == 0
    assert db.session.scalar(select(func.count()).where(AuditLog.event == "availability")) == 3


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"toggle": "mark:2026-03-01"}, "过去"),  # yesterday
        ({"toggle": "mark:2026-09-03"}, "六个月"),  # the day after the window
        ({"start": "2026-04-01", "end": "2026-10-01", "every": "day"}, "六个月"),
        ({"toggle": "mark:2026-13-01"}, "YYYY-MM-DD"),
    ],
)
def test_point1_days_outside_the_window_are_refused_whole(
    frozen_clock, world, client, login, fields, message
):
    pid = make_trainer(world, "ta", "C1")
    login("ta")
    before = snapshot()
    post_form(client, f"/availabilityview/mark/{pid}", **fields)
    assert any(message in m for m in flashes(client)), flashes(client)
    assert snapshot() == before


def test_point1_booked_days_show_booked_and_cannot_be_cleared(staffing):
    w = staffing
    _criteria(w, wanted=1)
    ta = w["profile"]["ta"]
    with transaction():
        svc.propose(_d(w), _user(w, "i1"), [ta], NOW)
        svc.send_requests(_d(w), _user(w, "center"), [ta], ta, NOW)
    with pytest.raises(InvalidValue, match="派遣"):
        with transaction():
            availability.set_days(_profile(ta), _user(w, "ta"), [START], False, NOW)
    weeks = availability.month(_profile(ta), START.year, START.month, NOW.date())
    states = {c.day: c.state for week in weeks for c in week if c}
    assert states[START] == "booked" and states[START + timedelta(days=1)] == "booked"


def test_point1_only_the_trainer_marks_and_institutions_see_no_calendar(staffing, client, login):
    w = staffing
    pid = w["profile"]["ta"]
    with pytest.raises(NotAllowed):
        availability.set_days(_profile(pid), _user(w, "tb"), [START], True, NOW)
    login("c1")  # its region: reads, cannot write
    assert client.get(f"/availabilityview/show/{pid}").status_code == 200
    response = post_form(client, f"/availabilityview/mark/{pid}", toggle="mark:2026-03-10")
    assert response.status_code == 403
    login("c2")  # another region: 404
    assert client.get(f"/availabilityview/show/{pid}").status_code == 404
    login("i1")
    assert client.get(f"/availabilityview/show/{pid}").status_code == 403


# ---------------------------------------------------------------- point 2: recommendation


def test_point2_ranked_list_is_explained_and_deterministic(staffing):
    w = staffing
    p = w["profile"]
    _criteria(w, wanted=2, named_profile_id=str(p["tb"]))
    rec = recommend(_d(w), NOW.date())
    ranked = [r.profile.id for r in rec.ranked]
    # tb: same city + named; ta: same city; tc: same province; td: elsewhere
    assert ranked == [p["tb"], p["ta"], p["tc"], p["td"]]
    by_id = {r.profile.id: r for r in rec.ranked}
    assert by_id[p["tb"]].score == WEIGHTS["same_city"] + WEIGHTS["named"]
    assert by_id[p["tb"]].explained == "同市 +30，机构指定 +50"
    assert by_id[p["tc"]].explained == "同省 +20"
    assert by_id[p["td"]].explained == "外省 +0"
    assert [r.profile.id for r in recommend(_d(w), NOW.date()).ranked] == ranked


def test_point2_workload_and_experience_are_scored(staffing):
    w = staffing
    p = w["profile"]
    # ta taught an SYB class last year (accepted), and has one request on a class next month
    past = make_class(w, "I2", NOW.date() - timedelta(days=100), days=1).id
    soon = make_class(w, "I2", START + timedelta(days=10), days=1).id
    for class_id, status in ((past, "accepted"), (soon, "requested")):
        d = Dispatch(class_id=class_id, org_id=w["org"]["I2"], course_type="SYB", created_at=NOW)
        db.session.add(d)
        db.session.flush()
        db.session.add(
            DispatchSeat(
                dispatch_id=d.id,
                class_id=class_id,
                org_id=d.org_id,
                profile_id=p["ta"],
                trainer_user_id=w["user"]["ta"],
                status=status,
                requested_at=NOW,
            )
        )
    db.session.commit()
    _criteria(w, wanted=1)
    r = {x.profile.id: x for x in recommend(_d(w), NOW.date()).ranked}[p["ta"]]
    assert r.explained == "同市 +30，近12个月派遣2次 −10，本课程类型授课1次 +4"
    assert r.score == 30 - 10 + 4


def test_point2_filters_say_what_they_removed_and_a_criterion_can_be_relaxed(staffing):
    w = staffing
    make_trainer(w, "tx", "C1", course_types="GYB")  # not qualified for SYB
    make_trainer(w, "ty", "C1", certificate_expiry=START)  # expires before the last day
    make_trainer(w, "tz", "C1")  # marked nothing
    _criteria(w, wanted=1, region="province", gender="F")
    rec = recommend(_d(w), NOW.date())
    removed = {f.code: f.removed for f in rec.filters}
    assert (removed["course_type"], removed["certificate"], removed["available"]) == (1, 1, 1)
    assert removed["region"] == 1  # td (广州)
    assert removed["gender"] == 3 and rec.ranked == []
    assert rec.emptied_by.code == "gender" and rec.emptied_by.relaxable
    with transaction():
        svc.relax(_d(w), _user(w, "i1"), "gender", NOW)
    assert len(recommend(_d(w), NOW.date()).ranked) == 3


def test_point2_nobody_matches_page_names_the_filter_and_offers_relaxing(staffing, client, login):
    w = staffing
    _criteria(w, wanted=1, min_taught="3")
    login("i1")
    html = client.get(f"/dispatchview/show/{w['dispatch']}").get_data(as_text=True)
    assert 'id="nobody"' in html
    assert 'name="criterion" value="min_taught"' in html


def test_point2_statements_do_not_grow_with_the_pool(staffing):
    w = staffing
    _criteria(w, wanted=1)

    def statements():
        seen = []

        def count(*args):
            seen.append(args[2])

        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            rec = recommend(_d(w), NOW.date())
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), len(rec.ranked)

    small, ranked = statements()
    for n in range(12):
        mark_available(make_trainer(w, f"extra{n}", "C1b"), START, 2)
    assert statements() == (small, ranked + 12)


def test_point2_institution_proposes_at_most_twice_the_wanted(staffing, client, login):
    w = staffing
    p = w["profile"]
    _criteria(w, wanted=1)
    login("i1")
    url = f"/dispatchview/propose/{w['dispatch']}"
    before = snapshot()
    post_form(client, url, candidates=[p["ta"], p["tb"], p["tc"]])
    assert any("最多" in m for m in flashes(client)) and snapshot() == before
    post_form(client, url, candidates=[p["ta"], p["tc"]])
    db.session.expire_all()
    d = _d(w)
    assert d.status == "proposed" and [c.profile_id for c in d.candidates] == [p["ta"], p["tc"]]
    (task,) = _open_tasks("dispatch", d.id)
    assert task.level == "center" and task.due_at.date() == NOW.date() + timedelta(days=3)
    login("center")
    assert f"/dispatchview/show/{d.id}" in client.get("/todo/").get_data(as_text=True)


def test_point2_only_the_class_institution_enters_criteria(staffing):
    w = staffing
    with pytest.raises(NotAllowed):
        svc.save_criteria(_d(w), _user(w, "i1b"), {"wanted": 1, "region": "any"}, NOW)
    with pytest.raises(InvalidValue, match="1"):
        svc.save_criteria(_d(w), _user(w, "i1"), {"wanted": 6, "region": "any"}, NOW)


# ---------------------------------------------------------------- point 3: choice and answers


_proposed = propose_candidates
_seat_of = seat_of


def test_point3_whole_loop_with_a_decline(staffing, client, login):
    """2 seats: the center asks ta (lead) and td (outside the proposal); td declines with a
    reason, the center's step comes back, it asks tb; both accept; the class page shows it."""
    w = staffing
    p = w["profile"]
    _proposed(w)
    d_id = w["dispatch"]
    login("center")
    html = client.get(f"/dispatchview/show/{d_id}").get_data(as_text=True)
    assert 'id="institution-candidates"' in html and 'id="system-list"' in html
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["ta"], p["td"]], lead=p["ta"])
    assert _seat_of(p["ta"]).lead and not _seat_of(p["td"]).lead
    assert db.session.scalar(select(func.count(Booking.id))) == 4
    assert not _open_tasks("dispatch", d_id)
    td_seat = _seat_of(p["td"]).id
    (task,) = _open_tasks("dispatch_seat", td_seat)
    assert task.assignee_id == w["user"]["td"]
    assert task.due_at.date() == NOW.date() + timedelta(days=2)

    login("td")
    assert f"/dispatchseatview/show/{td_seat}" in client.get("/todo/").get_data(as_text=True)
    before = snapshot()
    post_form(client, f"/dispatchseatview/decline/{td_seat}", reason=" ")
    assert any("原因" in m for m in flashes(client)) and snapshot() == before
    post_form(client, f"/dispatchseatview/decline/{td_seat}", reason="当周已有课程")
    assert db.session.scalar(select(func.count(Booking.id))) == 2
    assert len(_open_tasks("dispatch", d_id)) == 1  # back to the center

    login("center")
    html = client.get(f"/dispatchview/show/{d_id}").get_data(as_text=True)
    assert f'name="trainers" value="{p["tb"]}"' in html  # the freed list, tb among it
    before = snapshot()
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["td"]])
    assert snapshot() == before  # requested twice: refused
    post_form(client, f"/dispatchview/choose/{d_id}", trainers=[p["tb"]])
    for key in ("ta", "tb"):
        seat_id = _seat_of(p[key]).id
        login(key)
        post_form(client, f"/dispatchseatview/accept/{seat_id}")
    db.session.expire_all()
    assert _d(w).status == "staffed"
    login("p1")
    html = client.get(f"/trainingclassview/show/{w['class']}").get_data(as_text=True)
    assert html.count('class="seat-accepted"') == 2 and "当周已有课程" in html
    login("tb")  # the trainer opens the class it teaches and sees only its own seat
    html = client.get(f"/trainingclassview/show/{w['class']}").get_data(as_text=True)
    assert html.count('class="seat-') == 1 and "当周已有课程" not in html
    events = {e for (e,) in db.session.execute(select(AuditLog.event))}
    assert {
        "dispatch_proposed",
        "dispatch_requested",
        "dispatch_declined",
        "dispatch_accepted",
    } <= events


def test_point3_wrong_actors_and_bad_requests_are_refused(staffing):
    w = staffing
    p = w["profile"]
    _proposed(w)
    with pytest.raises(NotAllowed):
        svc.send_requests(_d(w), _user(w, "p1"), [p["ta"]], p["ta"], NOW)
    with transaction():
        (seat,) = svc.send_requests(_d(w), _user(w, "center"), [p["ta"]], p["ta"], NOW)
    with pytest.raises(NotAllowed):
        svc.accept(seat, _user(w, "tb"), NOW)
    with pytest.raises(NotAllowed):
        svc.decline(seat, _user(w, "tb"), "不去", NOW)
    with pytest.raises(InvalidValue, match="已"):  # a trainer requested twice
        svc.send_requests(_d(w), _user(w, "center"), [p["ta"]], None, NOW)
    with pytest.raises(InvalidValue):  # a second lead
        svc.send_requests(_d(w), _user(w, "center"), [p["tb"]], p["tb"], NOW)
    with pytest.raises(InvalidValue):  # a decline without a reason
        svc.decline(seat, _user(w, "ta"), "  ", NOW)


def test_point3_a_trainer_cannot_be_booked_on_two_overlapping_classes(staffing):
    w = staffing
    ta = w["profile"]["ta"]
    _proposed(w)
    other = make_class(w, "I2", START + timedelta(days=1), days=2).id
    with transaction():
        d2 = svc.open_dispatch(db.session.get(TrainingClass, other), _user(w, "i2"), NOW)
        svc.save_criteria(d2, _user(w, "i2"), {"wanted": 1, "region": "any"}, NOW)
        svc.propose(d2, _user(w, "i2"), [ta], NOW)
    with transaction():
        (seat,) = svc.send_requests(_d(w), _user(w, "center"), [ta], ta, NOW)
    with pytest.raises(InvalidValue):  # the friendly check: no longer eligible
        svc.send_requests(d2, _user(w, "center"), [ta], ta, NOW)
    db.session.rollback()
    # and the database itself, were the check skipped
    db.session.add(
        Booking(profile_id=ta, day=START + timedelta(days=1), seat_id=seat.id, class_id=other)
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_point3_the_todo_of_a_trainer_is_its_own(staffing, client, login):
    w = staffing
    p = w["profile"]
    _proposed(w)
    with transaction():
        (seat,) = svc.send_requests(_d(w), _user(w, "center"), [p["ta"]], p["ta"], NOW)
    assert len(db.session.scalars(review.todo_tasks(_user(w, "ta"))).all()) == 1
    assert db.session.scalars(review.todo_tasks(_user(w, "tb"))).all() == []  # same city
    login("tb")
    assert client.get(f"/dispatchseatview/show/{seat.id}").status_code == 404
    assert f"/dispatchseatview/show/{seat.id}" not in client.get("/todo/").get_data(as_text=True)
