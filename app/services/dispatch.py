"""Dispatching trainers to a class (Annex 1 rows 9–11): criteria, candidates, requests, answers.

- The institution of an approved class enters its criteria and ticks candidates from the
  recommendation (`app.services.recommendation`), at most twice the number wanted, and submits:
  a step for the center, due in 3 days (row 10).
- The center picks the trainers (one lead; it may pick outside the proposal) and sends each a
  request: a step for that trainer only (`assignee_id`), due in 2 days (row 11).
- The trainer accepts, or declines with a reason: a decline frees its days and puts a step back
  on the center (choose another).

Booking exclusivity: sending a request inserts one `Booking` per class day; its UNIQUE
(profile_id, day) refuses a second request on an overlapping class in the database itself, so two
centers' tabs asking the same trainer at once end with exactly one request (the other hears it
in Chinese). Booking at the request, not at the acceptance: the trainer's days are held while it
decides, so it is never asked for two overlapping classes; a decline deletes them.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import fields, review, vocabulary
from app.services import recommendation_runs as runs
from app.services.deadlines import CALENDAR, due_at
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.recommendation import REGION_LABELS, check
from app.services.review import actor_fields
from models.application import TrainingClass
from models.dispatch import (
    ACCEPTED,
    CONFIRMED,
    DECLINED,
    DRAFT,
    NOTIFIED,
    OBJECTED,
    OPEN_SEATS,
    PROPOSED,
    REQUESTED,
    REQUESTING,
    STAFFED,
    TAUGHT_SEATS,
    WITHDRAWN,
    Booking,
    Dispatch,
    DispatchCandidate,
    DispatchEvent,
    DispatchSeat,
)
from models.faculty import GENDERS, FacultyProfile
from models.org import CENTER, Org
from models.review import ReviewTask
from models.user import INSTITUTION, TRAINER, MalanUser
from models.vocabulary import TRAINER_LEVEL

CHOOSE_DAYS = 3  # row 10: the center chooses within 3 days
ANSWER_DAYS = 2  # row 11: the trainer answers within 2 days
MAX_WANTED = 5
PROPOSAL_FACTOR = 2  # SPEC §9: the institution proposes at most twice the trainers it wants
RELAXABLE = ("level", "region", "min_taught", "gender")  # the institution's, which it may relax

# History actions (stored) and their words.
CREATED, CRITERIA, PROPOSE, REQUEST, ACCEPT, DECLINE = (
    "created",
    "criteria",
    "proposed",
    "requested",
    "accepted",
    "declined",
)
# Rows 12–14 (app.services.dispatch_notices).
ISSUE, CONFIRM, OBJECT, KEEP, REPLACE, COMPLETE = (
    "issued",
    "confirmed",
    "objected",
    "kept",
    "replaced",
    "completed",
)
ACTION_LABELS = {
    CREATED: _l("Dispatch opened"),
    CRITERIA: _l("Criteria saved"),
    PROPOSE: _l("Candidates proposed"),
    REQUEST: _l("Request sent"),
    ACCEPT: _l("Request accepted"),
    DECLINE: _l("Request declined"),
    ISSUE: _l("Notice issued"),
    CONFIRM: _l("Notice confirmed"),
    OBJECT: _l("Objection raised"),
    KEEP: _l("Objection answered, choice kept"),
    REPLACE: _l("Trainer replaced, notice withdrawn"),
    COMPLETE: _l("Dispatch confirmed, trainers assigned to the class"),
}
STATUS_LABELS = {
    DRAFT: _l("Criteria being entered"),
    PROPOSED: _l("Candidates proposed"),
    REQUESTING: _l("Requests sent"),
    STAFFED: _l("All trainers accepted"),
    REQUESTED: _l("Requested"),
    ACCEPTED: _l("Accepted"),
    DECLINED: _l("Declined"),
    NOTIFIED: _l("Notice issued"),
    OBJECTED: _l("Objected"),
    CONFIRMED: _l("Confirmed"),
    WITHDRAWN: _l("Withdrawn"),
}
ISSUE_DAYS = 2  # row 12: the center issues the notices within 2 days
ANSWER_OBJECTION_DAYS = 2  # the center answers an objection within 2 days (as row 12)


def _choose_label(task) -> str:
    """The center's one open step on a dispatch, named by where the dispatch stands."""
    d = db.session.get(Dispatch, task.record_id)
    if d is not None and d.status == STAFFED:
        return N_("Issue the dispatch notices")
    if d is not None and d.status == OBJECTED:
        return N_("Answer the institution's objection")
    return N_("Choose the trainers and send the requests")


def _answer_label(task) -> str:
    return N_("Answer the dispatch request")


DISPATCH = review.register(
    review.Kind(
        name="dispatch",
        model=Dispatch,
        label=_l("Trainer dispatch"),
        record_page="DispatchView",
        todo_label=_choose_label,
    )
)
SEAT = review.register(
    review.Kind(
        name="dispatch_seat",
        model=DispatchSeat,
        label=_l("Dispatch request"),
        record_page="DispatchSeatView",
        todo_label=_answer_label,
    )
)


def _mode() -> str:
    return current_app.config.get("DEADLINE_MODE", CALENDAR)


def _event(d: Dispatch, action: str, actor, now: datetime, seat=None, note=None) -> None:
    who = actor_fields(actor)
    db.session.add(
        DispatchEvent(
            dispatch_id=d.id,
            seat_id=seat.id if seat is not None else None,
            action=action,
            at=now,
            actor_id=actor.id,
            actor_name=who["name"],
            org_name=who["org_name"],
            note=note,
        )
    )
    audit.record(
        db.session,
        f"dispatch_{action}",
        object_type="DispatchSeat" if seat is not None else "Dispatch",
        object_id=seat.id if seat is not None else d.id,
        summary=f"{d.training_class} {seat.profile.name if seat is not None else ''} {note or ''}",
        user=actor,
        now=now,
    )


def history(d: Dispatch, seat_id: int | None = None) -> list[DispatchEvent]:
    """The dispatch's history (one seat's only, for its trainer)."""
    query = select(DispatchEvent).where(DispatchEvent.dispatch_id == d.id)
    if seat_id is not None:
        query = query.where(DispatchEvent.seat_id == seat_id)
    return list(db.session.scalars(query.order_by(DispatchEvent.at, DispatchEvent.id)))


def _center_org_id() -> int:
    return db.session.scalar(select(Org.id).where(Org.kind == CENTER).order_by(Org.id).limit(1))


def _is_institution_of(actor, d_or_class) -> bool:
    return actor.role_kind == INSTITUTION and actor.org_id == d_or_class.org_id


def _is_center(actor) -> bool:
    return actor.role_kind == CENTER and actor.org is not None and actor.org.kind == CENTER


# ---------------------------------------------------------------- the institution


def dispatch_of(klass: TrainingClass) -> Dispatch | None:
    return db.session.scalar(select(Dispatch).where(Dispatch.class_id == klass.id))


def open_dispatch(klass: TrainingClass, actor, now: datetime) -> Dispatch:
    """The institution starts choosing trainers for its class (once; again returns the same)."""
    if not _is_institution_of(actor, klass):
        raise NotAllowed(_("Only the class's institution can enter its trainer criteria."))
    existing = dispatch_of(klass)
    if existing is not None:
        return existing
    d = Dispatch(
        class_id=klass.id,
        org_id=klass.org_id,
        course_type=klass.course_type,
        wanted=1,
        region="any",
        created_at=now,
    )
    db.session.add(d)
    try:
        db.session.flush()
    except IntegrityError:  # a double click: the other request opened it
        raise Conflict(_("The dispatch of this class is already open. Reload the page.")) from None
    _event(d, CREATED, actor, now)
    runs.compute(d, actor, now)  # the first recommendation (default criteria)
    return d


def criteria_fields() -> tuple[fields.Field, ...]:
    return (
        fields.Field("wanted", _l("Trainers wanted"), fields.Integer(1, MAX_WANTED), required=True),
        fields.Field(
            "level", _l("Level"), fields.Choice(lambda: dict(vocabulary.choices(TRAINER_LEVEL)))
        ),
        fields.Field("region", _l("Region preference"), fields.Choice(REGION_LABELS), True),
        fields.Field("min_taught", _l("Taught this course type at least"), fields.Integer(1, 99)),
        fields.Field("gender", _l("Gender"), fields.Choice(GENDERS)),
        fields.Field("named_profile_id", _l("Named trainer"), fields.Integer(1, 2**31 - 1)),
    )


def save_criteria(d: Dispatch, actor, values: dict, now: datetime) -> None:
    """The institution's criteria; the course type is the class's. Only before it proposes."""
    if not _is_institution_of(actor, d):
        raise NotAllowed(_("Only the class's institution can enter its trainer criteria."))
    if d.status != DRAFT:
        raise Conflict(_("The candidates are already proposed; the criteria can no longer change."))
    clean = fields.validate(criteria_fields(), values)
    named = clean.get("named_profile_id")
    if named is not None and (
        db.session.scalar(
            select(FacultyProfile.id).where(
                FacultyProfile.id == named, FacultyProfile.in_force_revision.isnot(None)
            )
        )
        is None
    ):
        raise InvalidValue(_("Named trainer: not in the faculty pool."), field="named_profile_id")
    for name, value in clean.items():
        setattr(d, name, value)
    _event(d, CRITERIA, actor, now)
    runs.compute(d, actor, now)  # the page shows the stored run (its cost is the pool's)


def recompute(d: Dispatch, actor, now: datetime) -> None:
    """重新计算: the institution stores a fresh recommendation for its criteria while it drafts;
    the center, while it chooses, one by the pool's rules (it may pick outside the criteria).
    Either is the newest run, shown on both pages, audited and kept."""
    if _is_center(actor):
        if d.status not in (PROPOSED, REQUESTING):
            raise Conflict(_("The institution has not proposed its candidates yet."))
        runs.compute(d, actor, now, relax=RELAXABLE)
        return
    if not _is_institution_of(actor, d):
        raise NotAllowed(_("Only the class's institution can enter its trainer criteria."))
    if d.status != DRAFT:
        raise Conflict(_("The candidates are already proposed; the criteria can no longer change."))
    runs.compute(d, actor, now)


def relax(d: Dispatch, actor, criterion: str, now: datetime) -> None:
    """Drop one criterion that matched nobody (the page offers it)."""
    if criterion not in RELAXABLE:
        raise InvalidValue(_("This filter cannot be relaxed."))
    values = {f.name: getattr(d, f.name) for f in criteria_fields()}
    values[criterion] = "any" if criterion == "region" else None
    save_criteria(d, actor, values, now)


def propose(d: Dispatch, actor, profile_ids: list[int], now: datetime) -> None:
    """The institution ticks its candidates (1 to twice the number wanted) and submits them."""
    if not _is_institution_of(actor, d):
        raise NotAllowed(_("Only the class's institution can propose its candidates."))
    if d.status != DRAFT:
        raise Conflict(_("The candidates are already proposed."))
    ids = list(dict.fromkeys(profile_ids))
    limit = PROPOSAL_FACTOR * d.wanted
    if not ids:
        raise InvalidValue(_("Candidates: tick at least one trainer."), field="candidates")
    if len(ids) > limit:
        raise InvalidValue(
            _("Candidates: tick at most %(n)d trainers (twice the number wanted).", n=limit),
            field="candidates",
        )
    # The ticked trainers only, against today's calendars and bookings (not the stored run).
    failing = check(d, ids, now.date())
    if failing:
        pid, failed = next(iter(failing.items()))
        profile = db.session.get(FacultyProfile, pid)
        raise InvalidValue(
            _(
                "Candidates: %(name)s no longer matches (%(filter)s). Recompute the "
                "recommendation and tick again.",
                name=profile.name if profile is not None else f"#{pid}",
                filter=failed.label,
            ),
            field="candidates",
        )
    d.candidates = [DispatchCandidate(profile_id=pid, position=n) for n, pid in enumerate(ids)]
    d.status, d.proposed_at, d.proposed_by_id = PROPOSED, now, actor.id
    review.open_todos(
        DISPATCH, d.id, CENTER, [_center_org_id()], now, due_at(now, CHOOSE_DAYS, _mode())
    )
    _event(d, PROPOSE, actor, now, note=str(len(ids)))


# ---------------------------------------------------------------- the center


def candidates_of(d: Dispatch) -> list[DispatchCandidate]:
    """The institution's candidates in its order, with their profiles and orgs (one SELECT: the
    center's page names them all, and they are rarely among the system's list shown)."""
    return list(
        db.session.scalars(
            select(DispatchCandidate)
            .where(DispatchCandidate.dispatch_id == d.id)
            .options(joinedload(DispatchCandidate.profile).joinedload(FacultyProfile.org))
            .order_by(DispatchCandidate.position)
        )
    )


def open_seats(d: Dispatch) -> list[DispatchSeat]:
    return list(
        db.session.scalars(
            select(DispatchSeat).where(
                DispatchSeat.dispatch_id == d.id, DispatchSeat.status.in_(OPEN_SEATS)
            )
        )
    )


def _center_step_open(d: Dispatch) -> bool:
    return (
        db.session.scalar(
            select(func.count(ReviewTask.id)).where(
                ReviewTask.record_type == DISPATCH.name,
                ReviewTask.record_id == d.id,
                ReviewTask.done_at.is_(None),
            )
        )
        > 0
    )


def send_requests(
    d: Dispatch, actor, profile_ids: list[int], lead_id: int | None, now: datetime
) -> list[DispatchSeat]:
    """The center asks trainers (one seat each); one seat of the class is the lead. Each trainer
    must pass the pool's hard filters (not necessarily the institution's criteria)."""
    if not _is_center(actor):
        raise NotAllowed(_("Only the center chooses the trainers."))
    if d.status not in (PROPOSED, REQUESTING):
        raise Conflict(_("The institution has not proposed its candidates yet."))
    ids = list(profile_ids)
    if not ids:
        raise InvalidValue(_("Trainers: choose at least one trainer."), field="trainers")
    if len(set(ids)) != len(ids):
        raise InvalidValue(_("Trainers: a trainer is chosen twice."), field="trainers")
    asked = {
        s.profile_id: s
        for s in db.session.scalars(select(DispatchSeat).where(DispatchSeat.dispatch_id == d.id))
    }
    for pid in ids:
        if pid in asked:
            raise InvalidValue(
                _("%(name)s was already requested for this class.", name=asked[pid].profile.name),
                field="trainers",
            )
    seats = open_seats(d)
    if len(seats) + len(ids) > d.wanted:
        raise InvalidValue(
            _(
                "Trainers: the class wants %(n)d trainer(s); %(open)d already requested or accepted.",
                n=d.wanted,
                open=len(seats),
            ),
            field="trainers",
        )
    has_lead = any(s.lead for s in seats)
    if not has_lead and lead_id not in ids:
        raise InvalidValue(_("Lead trainer: mark one of the chosen trainers."), field="lead")
    if has_lead and lead_id is not None and lead_id in ids:
        raise InvalidValue(_("Lead trainer: the class already has one."), field="lead")
    # The pool's rules only: the center may pick outside the proposal and the criteria.
    failing = check(d, ids, now.date(), relax=RELAXABLE)
    profiles = {
        p.id: p
        for p in db.session.scalars(select(FacultyProfile).where(FacultyProfile.id.in_(ids)))
    }
    for pid in ids:
        if pid in failing:
            name = profiles[pid].name if pid in profiles else f"#{pid}"
            raise InvalidValue(
                _(
                    "%(name)s cannot be requested: not in the pool, not qualified, not available "
                    "on every class day or already booked.",
                    name=name,
                ),
                field="trainers",
            )
    klass = db.session.get(TrainingClass, d.class_id)
    days = [
        klass.start_date.fromordinal(o)
        for o in range(klass.start_date.toordinal(), klass.end_date.toordinal() + 1)
    ]
    orgs = dict(
        db.session.execute(
            select(MalanUser.id, MalanUser.org_id).where(
                MalanUser.id.in_([profiles[p].user_id for p in ids])
            )
        ).all()
    )
    created = []
    for pid in ids:
        profile = profiles[pid]
        seat = DispatchSeat(
            dispatch_id=d.id,
            class_id=klass.id,
            org_id=d.org_id,
            profile_id=pid,
            trainer_user_id=profile.user_id,
            lead=pid == lead_id and not has_lead,
            status=REQUESTED,
            requested_at=now,
            requested_by_id=actor.id,
        )
        db.session.add(seat)
        db.session.flush()
        db.session.add_all(
            Booking(profile_id=pid, day=day, seat_id=seat.id, class_id=klass.id) for day in days
        )
        runs.note_change(pid, days, now)
        _flush_bookings(profile)
        review.open_todos(
            SEAT,
            seat.id,
            TRAINER,
            [orgs[profile.user_id]],
            now,
            due_at(now, ANSWER_DAYS, _mode()),
            assignee_id=profile.user_id,
        )
        _event(d, REQUEST, actor, now, seat=seat, note=_("Lead") if seat.lead else None)
        created.append(seat)
    d.status = REQUESTING
    if len(seats) + len(ids) == d.wanted:
        review.close_todo(DISPATCH, d.id, _center_org_id(), actor, now, REQUEST)
    return created


def _flush_bookings(profile: FacultyProfile) -> None:
    """The UNIQUE (trainer, day) of the bookings decides a race: the loser hears who lost."""
    try:
        db.session.flush()
    except (IntegrityError, OperationalError):
        db.session.rollback()
        raise Conflict(
            _(
                "%(name)s has just been booked on an overlapping class. Choose another trainer.",
                name=profile.name,
            )
        ) from None


# ---------------------------------------------------------------- the trainer


def _own_open_seat(seat: DispatchSeat, actor) -> None:
    if actor.id != seat.trainer_user_id:
        raise NotAllowed(_("This request is addressed to another trainer."))
    if seat.status != REQUESTED:
        raise Conflict(_("This request is already answered."))


def accept(seat: DispatchSeat, actor, now: datetime) -> None:
    _own_open_seat(seat, actor)
    seat.status, seat.answered_at = ACCEPTED, now
    review.close_todo(SEAT, seat.id, actor.org_id, actor, now, ACCEPT)
    d = db.session.get(Dispatch, seat.dispatch_id)
    db.session.flush()
    accepted = db.session.scalar(
        select(func.count(DispatchSeat.id)).where(
            DispatchSeat.dispatch_id == d.id, DispatchSeat.status.in_(TAUGHT_SEATS)
        )
    )
    if accepted == d.wanted:  # every seat said yes: the center issues the notices (row 12)
        d.status = STAFFED
        if not _center_step_open(d):
            review.open_todos(
                DISPATCH, d.id, CENTER, [_center_org_id()], now, due_at(now, ISSUE_DAYS, _mode())
            )
    _event(d, ACCEPT, actor, now, seat=seat)


def decline(seat: DispatchSeat, actor, reason: str, now: datetime) -> None:
    """A decline needs a reason; it frees the trainer's days and asks the center for another."""
    _own_open_seat(seat, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidValue(_("Reason: required to decline."), field="reason")
    seat.status, seat.answered_at, seat.decline_reason = DECLINED, now, reason
    db.session.execute(delete(Booking).where(Booking.seat_id == seat.id))
    klass = seat.training_class
    runs.note_change(seat.profile_id, [klass.start_date, klass.end_date], now)
    review.close_todo(SEAT, seat.id, actor.org_id, actor, now, DECLINE)
    d = db.session.get(Dispatch, seat.dispatch_id)
    d.status = REQUESTING
    if not _center_step_open(d):
        review.open_todos(
            DISPATCH, d.id, CENTER, [_center_org_id()], now, due_at(now, CHOOSE_DAYS, _mode())
        )
    _event(d, DECLINE, actor, now, seat=seat, note=reason)
