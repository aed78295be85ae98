"""档期 (Annex 1 row 8): the days a trainer marks as free to teach, up to six months ahead.

A trainer marks and clears its own days; past days and days beyond the window are refused; a day
held by a dispatch request (`models.dispatch.Booking`) is shown as booked and cannot be cleared.
The center reads every trainer's calendar, provinces and cities those of their region (through
the faculty profile's scope, in the view).
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import delete, literal_column, select, union_all

from app import audit
from app.extensions import db
from app.services import recommendation_runs as runs
from app.services.errors import InvalidValue, NotAllowed
from models.application import TrainingClass
from models.dispatch import Availability, Booking
from models.faculty import FacultyProfile

WINDOW_MONTHS = 6  # Annex 1 row 8: "up to half a year ahead"
MAX_DAYS_PER_CHANGE = 200  # more than the window holds: a range is one change
PAST, OUTSIDE, BOOKED, AVAILABLE, FREE = "past", "outside", "booked", "available", "free"


def window(today: date) -> tuple[date, date]:
    """The days a trainer may mark: today to the same day six months later."""
    return today, today + relativedelta(months=WINDOW_MONTHS)


def days_between(start: date, end: date, weekdays_only: bool) -> list[date]:
    """The days of a range, Monday–Friday only when asked (a range "weekdays only")."""
    if end < start:
        raise InvalidValue(_("Range: the last day is before the first day."), field="end")
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [d for d in days if not weekdays_only or d.weekday() < 5]


def _check_days(days: list[date], today: date) -> None:
    first, last = window(today)
    for day in days:
        if day < first:
            raise InvalidValue(
                _("%(day)s: a day in the past cannot be changed.", day=day.isoformat()),
                field="days",
            )
        if day > last:
            raise InvalidValue(
                _(
                    "%(day)s: availability can be marked up to %(last)s (six months ahead).",
                    day=day.isoformat(),
                    last=last.isoformat(),
                ),
                field="days",
            )
    if len(days) > MAX_DAYS_PER_CHANGE:
        raise InvalidValue(_("Too many days at once."), field="days")


def set_days(
    profile: FacultyProfile, actor, days: list[date], available: bool, now: datetime
) -> int:
    """The trainer marks (``available``) or clears ``days`` of its own calendar; returns how many
    days changed. Refused as a whole: a day outside the window, a booked day to clear."""
    if profile.user_id is None or profile.user_id != actor.id:
        raise NotAllowed(_("Only the trainer can change its own availability."))
    days = sorted(set(days))
    if not days:
        raise InvalidValue(_("Choose at least one day."), field="days")
    _check_days(days, now.date())
    have = set(
        db.session.scalars(
            select(Availability.day).where(
                Availability.profile_id == profile.id, Availability.day.in_(days)
            )
        )
    )
    if available:
        new = [d for d in days if d not in have]
        db.session.add_all(Availability(profile_id=profile.id, day=d) for d in new)
        changed = new
    else:
        booked = sorted(
            db.session.scalars(
                select(Booking.day).where(Booking.profile_id == profile.id, Booking.day.in_(days))
            )
        )
        if booked:
            raise InvalidValue(
                _(
                    "%(day)s is booked by a dispatch and cannot be cleared.",
                    day=booked[0].isoformat(),
                ),
                field="days",
            )
        changed = [d for d in days if d in have]
        if changed:
            db.session.execute(
                delete(Availability).where(
                    Availability.profile_id == profile.id, Availability.day.in_(changed)
                )
            )
    if changed:
        runs.note_change(profile.id, changed, now)
        audit.record(
            db.session,
            "availability",
            object_type="FacultyProfile",
            object_id=profile.id,
            summary=f"{'marked' if available else 'cleared'} {len(changed)} day(s): "
            f"{changed[0].isoformat()}..{changed[-1].isoformat()}",
            user=actor,
            now=now,
        )
    return len(changed)


@dataclass(frozen=True)
class Day:
    day: date
    state: str  # PAST | OUTSIDE | BOOKED | AVAILABLE | FREE
    booked_by: str | None = None  # the class code holding a booked day
    today: bool = False


def month(profile: FacultyProfile, year: int, month_: int, today: date) -> list[list[Day | None]]:
    """The month as weeks (Monday first) of days with their state; None pads the first and last
    week. Two queries, whatever the month."""
    first = date(year, month_, 1)
    last = first + relativedelta(months=1) - timedelta(days=1)
    marked = set(
        db.session.scalars(
            select(Availability.day).where(
                Availability.profile_id == profile.id, Availability.day.between(first, last)
            )
        )
    )
    booked = dict(
        db.session.execute(
            select(Booking.day, TrainingClass.code)
            .join(TrainingClass, TrainingClass.id == Booking.class_id)
            .where(Booking.profile_id == profile.id, Booking.day.between(first, last))
        ).all()
    )
    low, high = window(today)
    weeks = []
    for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month_):
        row = []
        for day in week:
            if day.month != month_:
                row.append(None)
                continue
            if day in booked:
                state = BOOKED
            elif day < low:
                state = PAST
            elif day > high:
                state = OUTSIDE
            else:
                state = AVAILABLE if day in marked else FREE
            row.append(Day(day, state, booked.get(day), day == today))
        weeks.append(row)
    return weeks


def months_shown(today: date) -> list[tuple[int, int]]:
    """The months a calendar page can show: this month and the six after it."""
    start = today.replace(day=1)
    return [
        ((start + relativedelta(months=n)).year, (start + relativedelta(months=n)).month)
        for n in range(WINDOW_MONTHS + 1)
    ]


@dataclass(frozen=True)
class StripDay:
    day: date
    state: str  # BOOKED | PAST | AVAILABLE | FREE (a day neither marked nor held)
    booked_by: str | None = None  # the class code holding a booked day
    in_class: bool = False  # one of the class's days


def class_months(first: date, last: date) -> list[tuple[int, int]]:
    """The months a class runs in (usually one, two when it spans a month's end)."""
    out, at = [], first.replace(day=1)
    while at <= last:
        out.append((at.year, at.month))
        at += relativedelta(months=1)
    return out


def strips(
    profile_ids: list[int], first: date, last: date, today: date | None = None
) -> dict[int, list[tuple[tuple[int, int], list[StripDay]]]]:
    """For each trainer of ``profile_ids``, the months of the class ``first``..``last`` as
    ``((year, month), days)``: every day marked available, booked (with the class holding it) or
    free (past when before ``today``), the class's days flagged. One SELECT for all the trainers, whatever their number (the
    center's choice page shows them side by side)."""
    ids = sorted(set(profile_ids))
    months = class_months(first, last)
    low = date(*months[0], 1)
    high = date(*months[-1], 1) + relativedelta(months=1) - timedelta(days=1)
    marked: dict[int, set[date]] = {pid: set() for pid in ids}
    booked: dict[int, dict[date, str]] = {pid: {} for pid in ids}
    if ids:
        marks = select(
            Availability.profile_id, Availability.day, literal_column("NULL").label("code")
        ).where(Availability.profile_id.in_(ids), Availability.day.between(low, high))
        holds = (
            select(Booking.profile_id, Booking.day, TrainingClass.code)
            .join(TrainingClass, TrainingClass.id == Booking.class_id)
            .where(Booking.profile_id.in_(ids), Booking.day.between(low, high))
        )
        for pid, day, code in db.session.execute(union_all(marks, holds)):
            if isinstance(day, str):  # SQLite returns a UNION's dates as text
                day = date.fromisoformat(day)
            if code is None:
                marked[pid].add(day)
            else:
                booked[pid][day] = code
    out = {}
    for pid in ids:
        rows = []
        for year, month_ in months:
            days = []
            for n in range(_calendar.monthrange(year, month_)[1]):
                day = date(year, month_, n + 1)
                if day in booked[pid]:
                    state = BOOKED
                elif today is not None and day < today:
                    state = PAST
                else:
                    state = AVAILABLE if day in marked[pid] else FREE
                days.append(StripDay(day, state, booked[pid].get(day), first <= day <= last))
            rows.append(((year, month_), days))
        out[pid] = rows
    return out
