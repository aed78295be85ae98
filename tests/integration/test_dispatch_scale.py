"""[dispatch] issue 12 point 7: the recommendation's SQL does not grow with the faculty pool.

The bench (B1/B2) measures the institution's recommendation page and the center's choice page at
50 and 50,000 trainers; here the same pages are counted at two pool sizes: the statements must
be the same, while the larger pool really ranks more trainers, from more regions, some with past
dispatches (workload, experience). Both pages read the dispatch's stored run (recomputed before
each measure, as the institution's or the center's 重新计算 would); the computations are counted
too, and so is submitting candidates (the ticked trainers re-checked, not the pool).
"""

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.services import dispatch as svc
from app.services.recommendation import SHOWN, recommend
from app.services.tx import transaction
from models.application import TrainingClass
from models.dispatch import ACCEPTED, Dispatch, DispatchSeat
from models.faculty import FacultyProfile
from models.org import CITY, Org
from models.user import MalanUser
from tests.factories import (
    NOW,
    csrf_token,
    make_class,
    make_trainer,
    mark_available,
    post_form,
)

START = NOW.date() + timedelta(days=30)
REGIONS = ("C1", "C1b", "C2", "P1", "P2")
NEW_CITIES = (
    ("110105", "朝阳区"),
    ("440300", "深圳市"),
    ("110106", "丰台区"),
    ("440400", "珠海市"),
)
NEW_CITIES += (("110107", "石景山区"),)


def _user(world, key):
    return db.session.get(MalanUser, world["user"][key])


def _trainers(world, first: int, n: int, regions=REGIONS) -> list[int]:
    """``n`` trainers available around the class, spread over ``regions``."""
    ids = []
    for k in range(first, first + n):
        pid = make_trainer(world, f"s{regions[0]}{k}", regions[k % len(regions)])
        mark_available(pid, START - timedelta(days=3), 10)
        ids.append(pid)
    return ids


def _past_seats(world, profile_ids):
    """Accepted seats on a class held last month (the workload and experience parts)."""
    klass = make_class(world, "I2", NOW.date() - timedelta(days=40), days=2)
    d = Dispatch(
        class_id=klass.id, org_id=klass.org_id, course_type="SYB", status="staffed", created_at=NOW
    )
    db.session.add(d)
    db.session.flush()
    for pid in profile_ids:
        db.session.add(
            DispatchSeat(
                dispatch_id=d.id,
                class_id=klass.id,
                org_id=klass.org_id,
                profile_id=pid,
                trainer_user_id=db.session.get(FacultyProfile, pid).user_id,
                status=ACCEPTED,
                requested_at=NOW,
            )
        )
    db.session.commit()


@pytest.fixture()
def classes(frozen_clock, world):
    """Two SYB classes of I1: one whose institution is choosing (draft), one whose candidates
    wait for the center (proposed)."""
    out = {}
    for which, start in (("draft", START), ("proposed", START + timedelta(days=2))):
        klass = make_class(world, "I1", start, days=2)
        with transaction():
            d = svc.open_dispatch(db.session.get(TrainingClass, klass.id), _user(world, "i1"), NOW)
            svc.save_criteria(
                d,
                _user(world, "i1"),
                dict(
                    wanted=2, level="", region="any", min_taught="", gender="", named_profile_id=""
                ),
                NOW,
            )
        out[which] = d.id
    return out


def _statements(client, url) -> tuple[int, str]:
    seen = []

    def count(*args):
        seen.append(args[2])

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)


def _count_recommend(d_id) -> tuple[int, int]:
    seen = []

    def count(*args):
        seen.append(args[2])

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        rec = recommend(db.session.get(Dispatch, d_id), NOW.date())
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), len(rec.ranked)


def _count(call) -> int:
    seen = []

    def count(*args):
        seen.append(args[2])

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def _measure(world, client, login, classes) -> dict:
    out = {"service": _count_recommend(classes["draft"])}
    login("i1")
    recompute = f"/dispatchview/recompute/{classes['draft']}"
    token = csrf_token(client, "/password/change")
    out["recompute"] = _count(lambda: client.post(recompute, data={"csrf_token": token}))
    out["institution"] = _statements(client, f"/dispatchview/show/{classes['draft']}")
    login("center")
    recompute = f"/dispatchview/recompute/{classes['proposed']}"
    token = csrf_token(client, "/password/change")
    out["center recompute"] = _count(lambda: client.post(recompute, data={"csrf_token": token}))
    out["center"] = _statements(client, f"/dispatchview/show/{classes['proposed']}")
    return out


def test_point7_recommendation_statements_do_not_grow_with_the_pool(classes, world, client, login):
    # Every region is there from the start: the orgs a page loads anyway (the user's, the
    # class's) are then in the session's identity map in both measures alike.
    small_pool = _trainers(world, 0, len(REGIONS))
    # The candidates: 广州 and 广东 (other province for 东城's class), with a past dispatch: at
    # the bottom of the list, out of the 50 shown once the pool is larger, as at national scale.
    candidates = [small_pool[2], small_pool[4]]
    _past_seats(world, candidates)
    login("i1")
    post_form(client, f"/dispatchview/propose/{classes['proposed']}", candidates=candidates)
    small = _measure(world, client, login, classes)
    assert small["service"][1] == len(REGIONS)

    # 60 more, ten of them in five cities no page loads otherwise: a SELECT per trainer's org
    # would show here.
    for n, (code, name) in enumerate(NEW_CITIES):
        city = Org(kind=CITY, code=code, name=name)
        city.parent = db.session.get(Org, world["org"]["P1" if n % 2 else "P2"])
        db.session.add(city)
        db.session.flush()
        world["org"][code] = city.id
    db.session.commit()
    larger = _trainers(world, len(REGIONS), 50)
    larger += _trainers(world, 0, 10, regions=[code for code, _n in NEW_CITIES])
    _past_seats(world, larger[:6])
    large = _measure(world, client, login, classes)

    total = len(small_pool) + len(larger)
    assert large["service"] == (small["service"][0], total)  # more ranked, the same statements
    assert large["recompute"] == small["recompute"]
    for page in ("institution", "center"):
        assert large[page][0] == small[page][0], page
    assert large["institution"][1].count("data-profile=") == SHOWN < total
    assert "推荐结果生成于" in large["institution"][1]
    ranked = recommend(db.session.get(Dispatch, classes["proposed"]), NOW.date()).ranked
    assert not {r.profile_id for r in ranked[:SHOWN]} & set(candidates)
    center = large["center"][1]
    assert all(f'data-profile="{pid}"' in center for pid in candidates)
    # The center's page reads the run its 重新计算 stored: 50 of the larger pool, bounded.
    system = center[center.index('id="system-list"') :]
    assert system.count("data-profile=") == SHOWN and "推荐结果生成于" in system


def test_submitting_candidates_checks_the_ticked_only(classes, world):
    """Submitting re-checks the ticked trainers: its statements do not grow with the pool."""
    counts = []
    for first, n in ((0, len(REGIONS)), (len(REGIONS), 40)):
        ticked = _trainers(world, first, n)[:2]
        d = db.session.get(Dispatch, classes["draft"])
        counts.append(_count(lambda: svc.propose(d, _user(world, "i1"), ticked, NOW)))  # noqa: B023
        assert d.status == "proposed"
        db.session.rollback()
    assert counts[0] == counts[1]
