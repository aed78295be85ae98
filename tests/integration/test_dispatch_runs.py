"""[dispatch] issue 12, B1: the recommendation is a stored run.

The page shows the run computed when the institution saved its criteria (or clicked 重新计算),
with its time; it says so when a calendar or a booking on the class's days changed since;
submitting re-checks the ticked trainers against today's calendars and bookings; the center's
choice page shows the same newest run (whoever computed it, named), with the same staleness
notice and its own audited 重新计算 (by the pool's rules). The class: I1's (东城), 2 days, 30 days after the frozen clock
(tests.factories.staffed_dispatch: ta, tb in 东城, tc in 西城, td in 广州, all available).
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import availability
from app.services import dispatch as svc
from app.services.tx import transaction
from models.application import TrainingClass
from models.audit import AuditLog
from models.dispatch import Dispatch, RecommendationRun
from models.faculty import FacultyProfile
from models.user import MalanUser
from tests.factories import (
    NOW,
    flashes,
    make_class,
    make_trainer,
    mark_available,
    post_form,
    propose_candidates,
    snapshot,
    staffed_dispatch,
)

START = NOW.date() + timedelta(days=30)
STALE = "档期或派遣情况已变化，请重新计算"


@pytest.fixture()
def staffing(frozen_clock, world):
    return staffed_dispatch(world, START)


def _user(world, key):
    return db.session.get(MalanUser, world["user"][key])


def _page(client, world) -> str:
    response = client.get(f"/dispatchview/show/{world['dispatch']}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _runs(world) -> int:
    return db.session.scalar(
        select(func.count(RecommendationRun.id)).where(
            RecommendationRun.dispatch_id == world["dispatch"]
        )
    )


def _clear_a_class_day(world, key) -> None:
    """The trainer clears the class's first day from its calendar (through the service)."""
    profile = db.session.get(FacultyProfile, world["profile"][key])
    with transaction():
        availability.set_days(profile, _user(world, key), [START], False, NOW)


def test_the_page_shows_the_stored_run_with_its_time_until_recomputed(
    staffing, frozen_clock, client, login
):
    w = staffing
    login("i1")
    html = _page(client, w)
    assert f"推荐结果生成于 {NOW:%Y-%m-%d %H:%M}" in html
    assert all(f'data-profile="{pid}"' in html for pid in w["profile"].values())
    assert "同市 +30" in html  # the explanation, as stored

    # A trainer joins the pool: the stored run does not know it until the institution recomputes.
    newcomer = make_trainer(w, "te", "C1")
    mark_available(newcomer, START, 2)
    assert f'data-profile="{newcomer}"' not in _page(client, w)

    frozen_clock.now = NOW + timedelta(minutes=10)
    post_form(client, f"/dispatchview/recompute/{w['dispatch']}")
    assert "推荐结果已重新计算。" in flashes(client)
    html = _page(client, w)
    assert f'data-profile="{newcomer}"' in html
    assert f"推荐结果生成于 {NOW + timedelta(minutes=10):%Y-%m-%d %H:%M}" in html
    assert _runs(w) == 2  # the first (opening the dispatch) is kept as history
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.event == "recommendation_computed")
        )
        == 2
    )


def test_saving_criteria_stores_a_run_with_the_filters_counts(staffing, client, login):
    w = staffing
    login("i1")
    post_form(
        client,
        f"/dispatchview/criteria/{w['dispatch']}",
        wanted="1",
        region="province",
        level="",
        min_taught="",
        gender="",
        named_profile_id="",
    )
    html = _page(client, w)
    assert f'data-profile="{w["profile"]["td"]}"' not in html  # 广州: another province
    assert 'data-filter="region"' in html and "排除 1" in html


def test_a_calendar_change_on_the_class_days_makes_the_run_stale_until_recomputed(
    staffing, client, login
):
    w = staffing
    login("i1")
    assert STALE not in _page(client, w)

    # A change on days the class does not cover: still current.
    profile = db.session.get(FacultyProfile, w["profile"]["tb"])
    with transaction():
        availability.set_days(profile, _user(w, "tb"), [START + timedelta(days=7)], True, NOW)
    assert STALE not in _page(client, w)

    _clear_a_class_day(w, "ta")
    html = _page(client, w)
    assert STALE in html and f'data-profile="{w["profile"]["ta"]}"' in html  # as computed

    post_form(client, f"/dispatchview/recompute/{w['dispatch']}")
    html = _page(client, w)
    assert STALE not in html and f'data-profile="{w["profile"]["ta"]}"' not in html


def test_submitting_refuses_a_ticked_trainer_no_longer_available(staffing, client, login):
    w = staffing
    p = w["profile"]
    _clear_a_class_day(w, "ta")
    login("i1")
    before = snapshot()
    post_form(client, f"/dispatchview/propose/{w['dispatch']}", candidates=[p["tb"], p["ta"]])
    (message,) = [m for m in flashes(client) if "讲师ta" in m]
    assert "已不符合条件" in message and "每个上课日都有档期" in message
    assert snapshot() == before
    assert db.session.get(Dispatch, w["dispatch"]).status == "draft"


def test_submitting_refuses_a_ticked_trainer_booked_since(staffing, world, client, login):
    w = staffing
    p = w["profile"]
    # Another class of 东城 on the same days: the center books ta there.
    other = make_class(world, "I1", START, days=1)
    with transaction():
        d2 = svc.open_dispatch(db.session.get(TrainingClass, other.id), _user(w, "i1"), NOW)
        svc.propose(d2, _user(w, "i1"), [p["ta"]], NOW)
    with transaction():
        svc.send_requests(d2, _user(w, "center"), [p["ta"]], p["ta"], NOW)

    login("i1")
    assert STALE in _page(client, w)  # the booking is a change on the class's days
    post_form(client, f"/dispatchview/propose/{w['dispatch']}", candidates=[p["ta"]])
    assert any("讲师ta" in m and "已不符合条件" in m for m in flashes(client))
    post_form(client, f"/dispatchview/propose/{w['dispatch']}", candidates=[p["tb"]])
    assert db.session.get(Dispatch, w["dispatch"]).status == "proposed"


def _newest_run(world) -> RecommendationRun:
    return db.session.scalar(
        select(RecommendationRun)
        .where(RecommendationRun.dispatch_id == world["dispatch"])
        .order_by(RecommendationRun.id.desc())
    )


def _system_list(html) -> str:
    return html[html.index('id="system-list"') :]


def test_the_center_sees_the_newest_run_with_its_author_and_the_ticked_marked(
    staffing, client, login
):
    w = staffing
    propose_candidates(w)
    run = _newest_run(w)
    institution = _user(w, "i1").full_name
    login("center")
    system = _system_list(_page(client, w))
    assert f"推荐结果生成于 {run.computed_at:%Y-%m-%d %H:%M}，由 {institution} 计算" in system
    assert system.count("已勾选") == 3  # ta, tb, tc ticked; td shown, not ticked
    assert f'data-profile="{w["profile"]["td"]}"' in system
    assert STALE not in system and 'id="recompute"' in system


def test_the_center_is_told_when_the_run_is_stale_and_recomputes_it(
    staffing, frozen_clock, client, login
):
    w = staffing
    propose_candidates(w)
    _clear_a_class_day(w, "ta")
    login("center")
    system = _system_list(_page(client, w))
    assert STALE in system and f'data-profile="{w["profile"]["ta"]}"' in system  # as computed

    frozen_clock.now = NOW + timedelta(minutes=5)
    before = _runs(w)
    post_form(client, f"/dispatchview/recompute/{w['dispatch']}")
    assert "推荐结果已重新计算。" in flashes(client)
    system = _system_list(_page(client, w))
    center = _user(w, "center")
    assert STALE not in system and f'data-profile="{w["profile"]["ta"]}"' not in system
    assert (
        f"推荐结果生成于 {NOW + timedelta(minutes=5):%Y-%m-%d %H:%M}，由 {center.full_name} 计算"
        in system
    )
    assert "已放宽机构的条件" in system  # the center ranks by the pool's rules
    # Audited and kept: the institution's runs stay as history beside the center's.
    assert _runs(w) == before + 1
    entry = db.session.scalar(
        select(AuditLog)
        .where(AuditLog.event == "recommendation_computed")
        .order_by(AuditLog.id.desc())
    )
    assert entry.user_id == center.id and entry.object_id == str(_newest_run(w).id)


def test_the_center_cannot_recompute_before_the_proposal_nor_the_institution_after(
    staffing, client, login
):
    w = staffing
    login("center")
    post_form(client, f"/dispatchview/recompute/{w['dispatch']}")
    assert "培训机构尚未提交候选人" in " ".join(flashes(client))
    assert _runs(w) == 1
    propose_candidates(w)
    runs = _runs(w)
    login("i1")
    post_form(client, f"/dispatchview/recompute/{w['dispatch']}")
    assert _runs(w) == runs


def test_another_region_gets_404_and_cannot_recompute(staffing, client, login):
    w = staffing
    for key in ("c2", "i2"):  # 广州's city and one of its institutions
        login(key)
        assert client.get(f"/dispatchview/show/{w['dispatch']}").status_code == 404
    assert post_form(client, f"/dispatchview/recompute/{w['dispatch']}").status_code == 404
    assert _runs(w) == 1
