"""Deadlines of Annex 1: "N日内" from the moment a step is entered.

Calendar days by default; ``DEADLINE_MODE = "working"`` counts working days on the official
holiday calendar (chinese-calendar, with its make-up working weekends). The calendar only knows
years up to its release; for later years we fall back to calendar days and log a warning,
rather than refuse to compute a due date.
"""

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

log = logging.getLogger(__name__)

CALENDAR, WORKING = "calendar", "working"
END_OF_DAY = time(23, 59, 59)


def _is_workday(day: date) -> bool | None:
    """True/False from the official calendar, None when the calendar does not know the year."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def due_at(entered_at: datetime, days: int, mode: str = CALENDAR) -> datetime:
    """End of the N-th (calendar or working) day after the day the step was entered."""
    start = entered_at.date()
    if mode == WORKING:
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            workday = _is_workday(day)
            if workday is None:
                log.warning("holiday calendar has no data for %s; counting calendar days", day.year)
                return datetime.combine(start + timedelta(days=days), END_OF_DAY)
            counted += workday
        return datetime.combine(day, END_OF_DAY)
    return datetime.combine(start + timedelta(days=days), END_OF_DAY)


def days_left(due: datetime, now: datetime) -> int:
    """Whole days until the due date (negative when overdue), as a to-do list shows it."""
    return (due.date() - now.date()).days
