"""[dispatch] issue 12 point 3: the center's choice page shows, beside every candidate (the
institution's and the system's list), the class's month(s) with the trainer's available, booked
and unmarked days and the class's days outlined — read in one SELECT (the statement counts are
tests/integration/test_dispatch_scale.py's).

The class: I1's (东城, 北京), 2026-04-01..02; trainers ta, tb (东城), tc (西城), td (广州, another
province: the center sees everyone) available 2026-03-27..04-15; tb booked 04-08..09 by a second
class of I1 whose center already asked it.
"""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import availability
from app.services import dispatch as svc
from app.services.tx import transaction
from models.application import TrainingClass
from models.dispatch import Dispatch, DispatchSeat
from models.user import MalanUser
from tests.factories import NOW, make_class, make_trainer, mark_available, post_form

START = NOW.date() + timedelta(days=30)  # 2026-04-01
OTHER = START + timedelta(days=7)  # 2026-04-08
CRITERIA = dict(wanted=2, level="", region="any", min_taught="", gender="", named_profile_id="")
DAY = re.compile(
    r'<span class="strip-day ([^"]*)" data-day="([\d-]+)" data-state="(\w+)"'
    r'( data-class-day="1")? title="([^"]*)" aria-label="([^"]*)"'
)


def _user(world, key):
    return db.session.get(MalanUser, world["user"][key])


def _open(world, start, proposed):
    klass = make_class(world, "I1", start, days=2)
    with transaction():
        d = svc.open_dispatch(db.session.get(TrainingClass, klass.id), _user(world, "i1"), NOW)
        svc.save_criteria(d, _user(world, "i1"), CRITERIA, NOW)
        svc.propose(d, _user(world, "i1"), proposed, NOW)
    return klass, d.id


@pytest.fixture()
def choosing(frozen_clock, world):
    p = {}
    for key, city in (("ta", "C1"), ("tb", "C1"), ("tc", "C1b"), ("td", "C2")):
        p[key] = make_trainer(world, key, city)
        mark_available(p[key], START - timedelta(days=5), 20)
    other, other_d = _open(world, OTHER, [p["tb"]])
    with transaction():
        svc.send_requests(
            db.session.get(Dispatch, other_d), _user(world, "center"), [p["tb"]], p["tb"], NOW
        )
    klass, d_id = _open(world, START, [p["ta"], p["tb"], p["tc"]])
    world.update(profile=p, class_id=klass.id, code=klass.code, other_code=other.code, d=d_id)
    return world


def _strips(html: str, pid: int) -> list[dict[str, tuple]]:
    """Each strip of trainer ``pid`` on the page (one per list it is in): day → (state, class
    day?, title, classes)."""
    out = []
    for m in re.finditer(rf'data-strip="{pid}"', html):
        end = html.find("data-strip=", m.end())
        block = html[m.end() : end if end > 0 else len(html)]
        out.append(
            {
                date.fromisoformat(day): (state, bool(in_class), title, classes, label)
                for classes, day, state, in_class, title, label in DAY.findall(block)
            }
        )
    return out


def test_center_sees_each_candidates_days_beside_both_lists(choosing, client, login):
    w, p = choosing, choosing["profile"]
    login("center")
    response = client.get(f"/dispatchview/show/{w['d']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="strip-legend"' in html and "本班日期" in html and "未标记" in html
    inst = html[html.index('id="institution-candidates"') : html.index('id="system-list"')]
    system = html[html.index('id="system-list"') : html.index('id="choose-form"') + 10**6]
    for key in ("ta", "tb", "tc"):  # the institution's candidates, each with its strip
        assert f'data-strip="{p[key]}"' in inst, key
    for key in ("ta", "tb", "tc", "td"):  # the system's list: td too, of another province
        assert f'data-strip="{p[key]}"' in system, key
    for key in ("ta", "tb", "tc", "td"):
        strips = _strips(html, p[key])
        assert len(strips) == (1 if key == "td" else 2), key
        for days in strips:
            assert sorted(days) == [date(2026, 4, n) for n in range(1, 31)]  # April only
            class_days = sorted(d for d, v in days.items() if v[1])
            assert class_days == [date(2026, 4, 1), date(2026, 4, 2)], key
            for d in class_days:
                assert days[d][0] == "available" and "strip-class" in days[d][3]
                assert "可授课" in days[d][2] and "本班日期" in days[d][2]
            assert days[date(2026, 4, 15)][0] == "available"
            assert days[date(2026, 4, 16)][0] == "free" and "未标记" in days[date(2026, 4, 16)][2]
            booked = sorted(d for d, v in days.items() if v[0] == "booked")
            if key == "tb":  # held by the other class, named in the day's title
                assert booked == [OTHER, OTHER + timedelta(days=1)]
                assert w["other_code"] in days[OTHER][2] and days[OTHER][2] == days[OTHER][4]
                assert not days[OTHER][1]
            else:
                assert booked == [] and days[OTHER][0] == "available"


def test_a_class_over_a_months_end_shows_both_months(frozen_clock, world):
    pid = make_trainer(world, "tz", "C1")
    mark_available(pid, date(2026, 4, 29), 4)
    today = date(2026, 4, 29)
    (rows,) = availability.strips([pid, pid], date(2026, 4, 30), date(2026, 5, 1), today).values()
    assert [ym for ym, _days in rows] == [(2026, 4), (2026, 5)]
    april, may = rows[0][1], rows[1][1]
    assert len(april) == 30 and len(may) == 31
    assert [d.day.day for d in april if d.in_class] == [30]
    assert [d.day.day for d in may if d.in_class] == [1]
    assert [d.day.day for d in may if d.state == "available"] == [1, 2]
    assert [d.state for d in april[27:]] == ["past", "available", "available"]  # 28th: past


def test_after_a_decline_the_freed_candidates_show_again_with_calendars(choosing, client, login):
    w, p = choosing, choosing["profile"]
    login("center")
    post_form(client, f"/dispatchview/choose/{w['d']}", trainers=[p["ta"]], lead=p["ta"])
    seat = db.session.scalar(
        select(DispatchSeat).where(
            DispatchSeat.profile_id == p["ta"], DispatchSeat.dispatch_id == w["d"]
        )
    )
    html = client.get(f"/dispatchview/show/{w['d']}").get_data(as_text=True)
    assert _strips(html, p["ta"]) == []  # asked (its days held): in neither list now
    login("ta")
    post_form(client, f"/dispatchseatview/decline/{seat.id}", reason="当周已有课程")
    login("center")
    html = client.get(f"/dispatchview/show/{w['d']}").get_data(as_text=True)
    assert 'id="choose-form"' in html
    inst = html[html.index('id="institution-candidates"') : html.index('id="system-list"')]
    for key in ("tb", "tc"):  # the freed list, each candidate with its calendar
        assert f'name="trainers" value="{p[key]}"' in inst and f'data-strip="{p[key]}"' in inst
    assert f'value="{p["ta"]}"' not in inst  # the one that declined is not offered again here


def test_a_province_opening_another_provinces_class_gets_404(choosing, client, login):
    w = choosing
    login("p2")
    assert client.get(f"/dispatchview/show/{w['d']}").status_code == 404
    login("p1")  # its own region's class: read, but no choice and no calendars
    html = client.get(f"/dispatchview/show/{w['d']}").get_data(as_text=True)
    assert 'id="dispatch-status"' in html and "data-strip=" not in html
    login("i1")  # the institution neither
    html = client.get(f"/dispatchview/show/{w['d']}").get_data(as_text=True)
    assert 'id="dispatch-status"' in html and "data-strip=" not in html
