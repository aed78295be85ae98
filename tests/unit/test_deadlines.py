"""[review] point 4: "N日内" in calendar days by default, working days on the official calendar."""

import logging
from datetime import datetime

from app.services.deadlines import CALENDAR, WORKING, days_left, due_at


def test_calendar_days_count_weekends_and_holidays():
    # Submitted on the eve of National Day 2026: two calendar days later is 2 October.
    assert due_at(datetime(2026, 9, 30, 10, 0), 2, CALENDAR) == datetime(2026, 10, 2, 23, 59, 59)


def test_working_days_skip_the_national_day_holiday():
    # 2026 National Day: 1–7 October off; 8 and 9 October are the first two working days.
    assert due_at(datetime(2026, 9, 30, 10, 0), 2, WORKING) == datetime(2026, 10, 9, 23, 59, 59)


def test_working_days_skip_the_spring_festival():
    # Spring Festival 2026: 15–23 February off; 14 February (Saturday) and 28 February are make-up days.
    assert due_at(datetime(2026, 2, 13, 9, 0), 2, WORKING) == datetime(2026, 2, 24, 23, 59, 59)


def test_make_up_saturday_counts_as_a_working_day():
    assert due_at(datetime(2026, 2, 13, 9, 0), 1, WORKING) == datetime(2026, 2, 14, 23, 59, 59)


def test_unknown_year_counts_monday_to_friday_with_a_warning(caplog):
    # Thursday 30 January 2031: Friday, then Monday 3 and Tuesday 4 February (weekend skipped).
    with caplog.at_level(logging.WARNING):
        due = due_at(datetime(2031, 1, 30, 9, 0), 3, WORKING)
    assert due == datetime(2031, 2, 4, 23, 59, 59)
    assert "no data for 2031" in caplog.text


def test_a_deadline_running_into_an_unknown_year_skips_weekends_and_fixed_holidays():
    # Wednesday 30 December 2026: 31 December is a working day on the calendar; 2027 is unknown to
    # it: 1 January (元旦) is off, then the weekend; Monday 4 and Tuesday 5 January count.
    assert due_at(datetime(2026, 12, 30, 9, 0), 3, WORKING) == datetime(2027, 1, 5, 23, 59, 59)
    # National Day 2031: 1–3 October off, then the weekend (4–5 October 2031).
    assert due_at(datetime(2031, 9, 30, 9, 0), 1, WORKING) == datetime(2031, 10, 6, 23, 59, 59)


def test_days_left_is_negative_when_overdue():
    due = datetime(2026, 3, 2, 23, 59, 59)
    assert days_left(due, datetime(2026, 3, 1, 8, 0)) == 1
    assert days_left(due, datetime(2026, 3, 4, 8, 0)) == -2


def test_working_days_national_day_2025_with_make_up_days():
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are working days.
    assert due_at(datetime(2025, 9, 30, 10, 0), 2, WORKING) == datetime(2025, 10, 10, 23, 59, 59)
    assert due_at(datetime(2025, 9, 30, 10, 0), 3, WORKING) == datetime(2025, 10, 11, 23, 59, 59)


def test_working_days_spring_festival_2025_make_up_sunday():
    # 2025: 28 January – 4 February off; Sunday 26 January is a make-up working day.
    assert due_at(datetime(2025, 1, 24, 10, 0), 1, WORKING) == datetime(2025, 1, 26, 23, 59, 59)
    assert due_at(datetime(2025, 1, 27, 10, 0), 3, WORKING) == datetime(2025, 2, 7, 23, 59, 59)


def test_calendar_mode_ignores_holidays_around_the_spring_festival():
    assert due_at(datetime(2026, 2, 13, 9, 0), 2, CALENDAR) == datetime(2026, 2, 15, 23, 59, 59)


def test_the_time_of_day_does_not_matter_only_the_day_entered():
    early, late = datetime(2026, 3, 2, 0, 1), datetime(2026, 3, 2, 23, 58)
    assert due_at(early, 3, WORKING) == due_at(late, 3, WORKING) == datetime(2026, 3, 5, 23, 59, 59)
