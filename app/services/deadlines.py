"""Deadlines of Annex 1: "N日内" from the moment a step is entered.

Calendar days by default; ``DEADLINE_MODE = "working"`` counts working days on the official
holiday calendar (chinese-calendar, with its make-up working weekends). The calendar only knows
years up to its release (the holidays of a year are published late in the year before); for a
later year we count Monday to Friday minus the fixed-date holidays and log a warning, rather
than refuse to compute a due date.
"""

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

log = logging.getLogger(__name__)

CALENDAR, WORKING = "calendar", "working"
# The fixed-date public holidays of 《全国年节及纪念日放假办法》 (2024): 元旦, 劳动节, 国庆节. The
# lunar ones and the make-up weekends are known only once the year's arrangement is published.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
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
    if mode != WORKING:
        return datetime.combine(start + timedelta(days=days), END_OF_DAY)
    day, counted, unknown_years = start, 0, set()
    while counted < days:
        day += timedelta(days=1)
        workday = _is_workday(day)
        if workday is None:  # the State Council has not published that year's holidays yet
            unknown_years.add(day.year)
            workday = day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS
        counted += workday
    for year in sorted(unknown_years):
        log.warning(
            "holiday calendar has no data for %s; counting Monday to Friday, fixed holidays off",
            year,
        )
    return datetime.combine(day, END_OF_DAY)


def days_left(due: datetime, now: datetime) -> int:
    """Whole days until the due date (negative when overdue), as a to-do list shows it."""
    return (due.date() - now.date()).days
