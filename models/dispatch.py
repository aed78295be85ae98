"""Dispatching trainers to a class (派遣, Annex 1 rows 8–11): availability, criteria, requests.

- `Availability` (档期): the days a trainer (its faculty profile) marked as free to teach.
- `Dispatch`: one per class — the institution's criteria, its ticked candidates, the state.
- `DispatchCandidate`: a trainer the institution proposes (at most twice the number wanted).
- `DispatchSeat` (席位): one request of the center to one trainer, and the trainer's answer.
- `Booking`: one row per (trainer, class day) while a request is open or accepted. Its UNIQUE
  (profile_id, day) is what makes a trainer unbookable on two overlapping classes, also when two
  centers' tabs send requests at the same moment: the database lets exactly one INSERT through.
- `DispatchEvent`: the history of a dispatch and its seats, shown on the class page.
- `RecommendationRun`: one computed recommendation (the ranked list, its explanations and each
  filter's count), stored when the institution saves its criteria or recomputes; the page shows
  the latest, the center sees what the institution saw.
- `CalendarChange`: one write to a trainer's availability or bookings (its first and last day),
  so a page can tell in O(log n) whether a stored run may be out of date for its class's days.
The rules are in `app.services.dispatch`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .base import Model, ScopeColumns

# Dispatch states (the class as a whole) and seat states (one trainer).
DRAFT, PROPOSED, REQUESTING, STAFFED = "draft", "proposed", "requesting", "staffed"
NOTIFIED, OBJECTED, CONFIRMED = "notified", "objected", "confirmed"  # also seat states
REQUESTED, ACCEPTED, DECLINED, WITHDRAWN = "requested", "accepted", "declined", "withdrawn"
# Seats that hold a place (and their bookings): asked, accepted, notified, confirmed, objected to.
OPEN_SEATS = (REQUESTED, ACCEPTED, NOTIFIED, CONFIRMED, OBJECTED)
TAUGHT_SEATS = (ACCEPTED, NOTIFIED, CONFIRMED, OBJECTED)  # the trainer said yes
# Region preference of the criteria.
SAME_CITY, SAME_PROVINCE, ANYWHERE = "city", "province", "any"


class Availability(Model):
    """档期: one day a trainer can teach. Read and written through its faculty profile's scope."""

    __tablename__ = "availability"

    id = Column(Integer, primary_key=True)
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), nullable=False)
    day = Column(Date, nullable=False)

    __table_args__ = (UniqueConstraint("profile_id", "day", name="ux_availability_day"),)


class Dispatch(Model):
    """The dispatch of one class: criteria entered by its institution, then the center's choice."""

    __tablename__ = "dispatch"
    __scope__ = ScopeColumns(org="org_id")  # the class's institution

    id = Column(Integer, primary_key=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False, unique=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False, default=DRAFT, index=True)
    wanted = Column(Integer, nullable=False, default=1)  # trainers wanted, 1–5
    course_type = Column(String(32), nullable=False)  # the class's (vocabulary code)
    level = Column(String(32))  # trainer_level code; None: any level
    region = Column(String(16), nullable=False, default=ANYWHERE)
    min_taught = Column(Integer)  # must have taught this course type at least N times
    gender = Column(String(1))
    named_profile_id = Column(Integer, ForeignKey("faculty_profile.id"))  # the trainer it wants
    proposed_at = Column(DateTime)
    proposed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    objection = Column(Text)  # the institution's objection to the task notice (row 14)
    objection_answer = Column(Text)  # the center's answer when it keeps its choice
    created_at = Column(DateTime, nullable=False)
    version = Column(Integer, nullable=False, default=1)

    training_class = relationship("TrainingClass", foreign_keys=[class_id])
    org = relationship("Org", foreign_keys=[org_id])
    named_profile = relationship("FacultyProfile", foreign_keys=[named_profile_id], viewonly=True)
    candidates = relationship(
        "DispatchCandidate", order_by="DispatchCandidate.position", cascade="all, delete-orphan"
    )
    seats = relationship("DispatchSeat", order_by="DispatchSeat.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self):
        return str(self.training_class) if self.training_class else f"#{self.id}"


class DispatchCandidate(Model):
    """A trainer the institution ticked, in the order of the list it ticked from."""

    __tablename__ = "dispatch_candidate"

    id = Column(Integer, primary_key=True)
    dispatch_id = Column(Integer, ForeignKey("dispatch.id"), nullable=False)
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), nullable=False)
    position = Column(Integer, nullable=False)

    profile = relationship("FacultyProfile", foreign_keys=[profile_id], viewonly=True)

    __table_args__ = (UniqueConstraint("dispatch_id", "profile_id", name="ux_dispatch_candidate"),)


class DispatchSeat(Model):
    """席位: the center asks one trainer; the trainer accepts or declines with a reason."""

    __tablename__ = "dispatch_seat"
    # The class's institution (and the authorities above it); the trainer its own seats.
    __scope__ = ScopeColumns(org="org_id", owner="trainer_user_id")

    id = Column(Integer, primary_key=True)
    dispatch_id = Column(Integer, ForeignKey("dispatch.id"), nullable=False, index=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), nullable=False, index=True)
    trainer_user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    lead = Column(Boolean, nullable=False, default=False)
    status = Column(String(16), nullable=False, default=REQUESTED)
    requested_at = Column(DateTime, nullable=False)
    requested_by_id = Column(Integer, ForeignKey("ab_user.id"))
    answered_at = Column(DateTime)
    decline_reason = Column(Text)
    withdrawn_at = Column(DateTime)  # replaced after the institution's objection
    version = Column(Integer, nullable=False, default=1)

    dispatch = relationship("Dispatch", foreign_keys=[dispatch_id], viewonly=True)
    training_class = relationship("TrainingClass", foreign_keys=[class_id], viewonly=True)
    profile = relationship("FacultyProfile", foreign_keys=[profile_id], viewonly=True)

    __mapper_args__ = {"version_id_col": version}
    # A trainer is asked once per class (a decline is final for that class).
    __table_args__ = (UniqueConstraint("class_id", "profile_id", name="ux_dispatch_seat"),)

    def __repr__(self):
        who = self.profile.name if self.profile else ""
        return f"{self.training_class} {who}".strip()


class Booking(Model):
    """One class day held for a trainer by an open or accepted request (the overlap guard)."""

    __tablename__ = "booking"

    id = Column(Integer, primary_key=True)
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), nullable=False)
    day = Column(Date, nullable=False)
    seat_id = Column(Integer, ForeignKey("dispatch_seat.id"), nullable=False, index=True)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)

    __table_args__ = (UniqueConstraint("profile_id", "day", name="ux_booking_day"),)


class DispatchEvent(Model):
    """One transition of a dispatch or one of its seats (mirrored in the audit log)."""

    __tablename__ = "dispatch_event"

    id = Column(Integer, primary_key=True)
    dispatch_id = Column(Integer, ForeignKey("dispatch.id"), nullable=False)
    seat_id = Column(Integer, ForeignKey("dispatch_seat.id"))
    action = Column(String(16), nullable=False)
    at = Column(DateTime, nullable=False)
    actor_id = Column(Integer, ForeignKey("ab_user.id"))
    actor_name = Column(String(128))
    org_name = Column(String(128))
    note = Column(Text)

    __table_args__ = (Index("ix_dispatch_event_dispatch", "dispatch_id", "at"),)


class RecommendationRun(Model):
    """推荐结果: one computation of a dispatch's recommendation, kept as it was shown.

    JSON columns: ``criteria`` {field: value}; ``counts`` {"pool": n, "ranked": n, "filters":
    [{code, label, relaxable, removed}]}; ``ranked`` the shown rows [{id, name, org, score,
    parts: [[label, points]]}] (labels as rendered then: what the institution saw).
    ``seen_change_id``: the newest `CalendarChange` when computed (staleness is "a newer change
    on the class's days")."""

    __tablename__ = "recommendation_run"
    __scope__ = ScopeColumns(org="org_id")  # the class's institution

    id = Column(Integer, primary_key=True)
    dispatch_id = Column(Integer, ForeignKey("dispatch.id"), nullable=False)
    class_id = Column(Integer, ForeignKey("training_class.id"), nullable=False)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    criteria = Column(Text, nullable=False)
    counts = Column(Text, nullable=False)
    ranked = Column(Text, nullable=False)
    computed_at = Column(DateTime, nullable=False)
    computed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    seen_change_id = Column(Integer, nullable=False, default=0)

    # The page reads a dispatch's latest run: the newest id of the dispatch.
    __table_args__ = (Index("ix_recommendation_run_dispatch", "dispatch_id", "id"),)


class CalendarChange(Model):
    """One change of a trainer's availability or bookings (marked, cleared, booked, released)."""

    __tablename__ = "calendar_change"

    id = Column(Integer, primary_key=True)
    profile_id = Column(Integer, ForeignKey("faculty_profile.id"), nullable=False)
    first_day = Column(Date, nullable=False)
    last_day = Column(Date, nullable=False)
    at = Column(DateTime, nullable=False)
