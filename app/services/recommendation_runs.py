"""推荐结果, stored (issue 12, B1): the recommendation is computed once and read many times.

Computing reads the whole pool — each hard filter's count is over every profile — so it runs
when the institution saves its criteria, opens the dispatch or asks to recompute (重新计算), or
when the center recomputes on its choice page, never when a page is shown. A run keeps what the institution saw: the criteria, each filter's count,
the shown ranked trainers with their names and explained scores (as rendered then), the time
and the user. The page reads the newest run of its dispatch (one indexed row) and tells whether
it may be out of date: a `CalendarChange` newer than the run on one of the class's days (an
index range on the change log's id, not a read of the pool). Submitting candidates checks the
ticked trainers again against the hard filters (`recommendation.check`, O(ticked)).

One mechanism for both pages: the center's choice page shows the same newest run, whoever
computed it. The center's own 重新计算 ranks by the pool's rules (``relax``: the institution's
relaxable criteria ignored, since the center may pick outside them); the run keeps what was
relaxed so the page says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, literal, select

from app import audit
from app.extensions import db
from app.services.recommendation import Filter, recommend
from models.application import TrainingClass
from models.dispatch import CalendarChange, Dispatch, RecommendationRun
from models.user import MalanUser

CRITERIA = ("wanted", "level", "region", "min_taught", "gender", "named_profile_id")


@dataclass(frozen=True)
class Shown:
    """One ranked trainer as the run showed it."""

    profile_id: int
    name: str
    org_name: str
    score: int
    explained: str


@dataclass
class Stored:
    """A stored run, as the pages read it (the attributes the live `Recommendation` has)."""

    run: RecommendationRun
    filters: list[Filter]
    shown: list[Shown]
    ranked_count: int
    pool: int
    stale: bool = False
    computed_by: str = ""  # the user's name ("生成于 … 由 …")
    relaxed: tuple[str, ...] = ()  # criteria ignored (the center's run: the pool's rules)

    @property
    def computed_at(self) -> datetime:
        return self.run.computed_at

    @property
    def removing(self) -> list[Filter]:
        return [f for f in self.filters if f.removed]

    @property
    def emptied_by(self) -> Filter | None:
        if self.ranked_count:
            return None
        return next((f for f in reversed(self.filters) if f.removed), None)


def compute(d: Dispatch, actor, now: datetime, relax: tuple[str, ...] = ()) -> RecommendationRun:
    """Compute the dispatch's recommendation and store it (O(pool): a click, not a page view).
    ``relax``: criteria to ignore (the center's run)."""
    # Read before computing: a change committed meanwhile makes the run stale, never unseen.
    seen = db.session.scalar(select(func.max(CalendarChange.id))) or 0
    rec = recommend(d, now.date(), relax=relax)
    shown = [
        {
            "id": r.profile_id,
            "name": r.profile.name,
            "org": r.profile.org.name if r.profile.org else "",
            "score": r.score,
            "explained": r.explained,
        }
        for r in rec.shown
    ]
    counts = {
        "pool": rec.pool,
        "ranked": len(rec.ranked),
        "filters": [
            {"code": f.code, "label": str(f.label), "relaxable": f.relaxable, "removed": f.removed}
            for f in rec.filters
        ],
    }
    run = RecommendationRun(
        dispatch_id=d.id,
        class_id=d.class_id,
        org_id=d.org_id,
        criteria=json.dumps(
            {k: getattr(d, k) for k in CRITERIA} | {"relaxed": list(relax)}, ensure_ascii=False
        ),
        counts=json.dumps(counts, ensure_ascii=False),
        ranked=json.dumps(shown, ensure_ascii=False),
        computed_at=now,
        computed_by_id=actor.id,
        seen_change_id=seen,
    )
    db.session.add(run)
    db.session.flush()
    audit.record(
        db.session,
        "recommendation_computed",
        object_type="RecommendationRun",
        object_id=run.id,
        summary=f"{d.training_class} ranked={len(rec.ranked)} pool={rec.pool}"
        + (f" relaxed={','.join(relax)}" if relax else ""),
        user=actor,
        now=now,
    )
    return run


def _newer_change(klass: TrainingClass):
    """A calendar or booking changed on one of the class's days since the run was computed."""
    return exists().where(
        CalendarChange.id > RecommendationRun.seen_change_id,
        CalendarChange.first_day <= klass.end_date,
        CalendarChange.last_day >= klass.start_date,
    )


def stored(d: Dispatch, klass: TrainingClass, check_stale: bool = True) -> Stored | None:
    """The dispatch's newest run, read back, with who computed it and whether it may be out of
    date (one statement; None before the first computation)."""
    stale = _newer_change(klass) if check_stale else literal(False)
    found = db.session.execute(
        select(RecommendationRun, stale, MalanUser.first_name, MalanUser.last_name)
        .outerjoin(MalanUser, MalanUser.id == RecommendationRun.computed_by_id)
        .where(RecommendationRun.dispatch_id == d.id)
        .order_by(RecommendationRun.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    run, is_stale, first_name, last_name = found
    counts = json.loads(run.counts)
    return Stored(
        run=run,
        filters=[
            Filter(f["code"], f["label"], f["relaxable"], f["removed"]) for f in counts["filters"]
        ],
        shown=[
            Shown(r["id"], r["name"], r["org"], r["score"], r["explained"])
            for r in json.loads(run.ranked)
        ],
        ranked_count=counts["ranked"],
        pool=counts["pool"],
        stale=bool(is_stale),
        computed_by=f"{first_name or ''}{last_name or ''}",
        relaxed=tuple(json.loads(run.criteria).get("relaxed", ())),
    )


def note_change(profile_id: int, days: list[date], now: datetime) -> None:
    """Log a change of a trainer's availability or bookings on ``days`` (the staleness check's
    input); called by every writer of `Availability` and `Booking`."""
    if days:
        db.session.add(
            CalendarChange(profile_id=profile_id, first_day=min(days), last_day=max(days), at=now)
        )
