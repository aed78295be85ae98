"""逾期督办导出: the overdue board as a spreadsheet (the rows the board shows, in its order)."""

from datetime import datetime

from flask_babel import gettext as _

from reports.xlsx import Column, write_table


def overdue_columns():
    return [
        Column(_("Organisation"), 24),
        Column(_("Kind"), 16),
        Column(_("Record"), 36),
        Column(_("Step"), 30),
        Column(_("Entered"), 18),
        Column(_("Due"), 18),
        Column(_("Days overdue"), 12, number=True),
    ]


def overdue_xlsx(rows, now: datetime) -> bytes:
    """``rows`` are the board's rows (views.todo.Row), already scoped and ordered."""
    stamp = now.strftime("%Y-%m-%d %H:%M")
    return write_table(
        overdue_columns(),
        (
            [
                r.org,
                r.kind,
                r.record,
                r.step,
                f"{r.task.entered_at:%Y-%m-%d %H:%M}",
                f"{r.task.due_at:%Y-%m-%d %H:%M}",
                max(-r.days_left, 0),
            ]
            for r in rows
        ),
        sheet=_("Overdue board"),
        title=_("Overdue steps at %(now)s", now=stamp),
    )
