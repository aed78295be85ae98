"""[dispatch] point 3: two centers' tabs request the same trainer for two overlapping classes at
the same moment — exactly one request is made, the other hears it in Chinese.

Each tab is a thread with its own app context (its own session and connection) that loads its
dispatch, waits at a barrier and sends. SQLite needs a file database for that; on PostgreSQL
(DATABASE_URL) the suite's database is used. The eligibility check runs before the barrier in
both tabs (both see a free trainer): only the database's UNIQUE (trainer, day) decides.
"""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import dispatch as svc
from app.services import recommendation
from app.services.errors import Conflict
from app.services.tx import transaction
from models.dispatch import Booking, Dispatch, DispatchSeat
from models.user import MalanUser
from tests.factories import NOW, file_arena, make_class, make_trainer, mark_available

START = NOW.date() + timedelta(days=30)


@pytest.fixture()
def arena(app, request, tmp_path):
    """(app, ids) whose database the threads share."""
    with file_arena(app, request, tmp_path, lock_timeout=5) as pair:
        yield pair


def _two_proposed_dispatches(ids) -> tuple[int, int, int]:
    """Two overlapping classes (I1's, I2's), each proposing the same trainer; the ids."""
    pid = make_trainer(ids, "tt", "C1")
    mark_available(pid, START, 5)
    out = []
    for inst, user, offset in (("I1", "i1", 0), ("I2", "i2", 1)):
        klass = make_class(ids, inst, START + timedelta(days=offset), days=2)
        actor = db.session.get(MalanUser, ids["user"][user])
        with transaction():
            d = svc.open_dispatch(klass, actor, NOW)
            svc.save_criteria(d, actor, {"wanted": 1, "region": "any"}, NOW)
            svc.propose(d, actor, [pid], NOW)
        out.append(d.id)
    return pid, out[0], out[1]


def test_point3_two_tabs_booking_the_same_trainer_one_wins(arena, monkeypatch):
    application, ids = arena
    with application.app_context():
        pid, first, second = _two_proposed_dispatches(ids)
        center = ids["user"]["center"]
        db.session.remove()
    barrier = threading.Barrier(2)
    real = recommendation.check

    def check_then_wait(d, profile_ids, today, relax=()):
        result = real(d, profile_ids, today, relax)  # both tabs see the trainer free…
        if relax:
            barrier.wait(timeout=10)  # …then write at the same moment
        return result

    monkeypatch.setattr(svc, "check", check_then_wait)
    outcomes = [None, None]

    def tab(i, dispatch_id):
        with application.app_context():
            try:
                d = db.session.get(Dispatch, dispatch_id)
                actor = db.session.get(MalanUser, center)
                _ = actor.org, actor.roles
                with transaction():
                    svc.send_requests(d, actor, [pid], pid, NOW)
                outcomes[i] = "done"
            except Exception as exc:  # noqa: BLE001  (the loser's refusal, or the failure)
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tab, args=(i, d)) for i, d in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(o == "done" for o in outcomes) == [False, True], outcomes
    (loser,) = [o for o in outcomes if o != "done"]
    assert isinstance(loser, Conflict) and "重叠" in str(loser), repr(loser)
    with application.app_context():
        assert db.session.scalar(select(func.count(DispatchSeat.id))) == 1
        days = db.session.scalars(select(Booking.day).where(Booking.profile_id == pid)).all()
        assert len(days) == len(set(days)) == 2
        db.session.remove()
