"""Inputs that would otherwise be drawn in the browser's language (issue 15): a date or a date and
time typed or picked in the app's zh-CN date picker, a file chosen with a Chinese button and
"未选择文件". The templates' macros are in app/templates/forms/_widgets.html; the button's text
follows the chosen files through app/static/widgets.js."""

from __future__ import annotations

import re

from flask import render_template_string
from markupsafe import Markup

_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def posted_datetime(form, name: str) -> str:
    """A date and time of a form as ISO text ("2026-03-02 09:00", "" when both are empty),
    from the picker's two parts ``name-date`` and ``name-time`` (a missing time: midnight), or
    from ``name`` itself (one ISO field, as an API client posts it). A malformed part stays as
    typed, so that the service's check refuses it with the value in its message."""
    if name in form:
        return form.get(name, "")
    day = (form.get(f"{name}-date") or "").strip()
    time = (form.get(f"{name}-time") or "").strip()
    if not day and not time:
        return ""
    match = _TIME.fullmatch(time)
    if match:
        time = f"{int(match.group(1)):02d}:{match.group(2)}"
    return f"{day} {time}".strip()  # a date alone: midnight (datetime.fromisoformat)


_FILE_INPUT = """{% from 'forms/_widgets.html' import file_input %}{{ file_input(name, id=id,
multiple=multiple, accept=accept, required=required) }}"""


class ChineseFileInput:
    """A WTForms widget for a FileField / MultipleFileField: the macro's Chinese button."""

    def __init__(self, multiple: bool = False):
        self.multiple = multiple

    def __call__(self, field, **kwargs):
        return Markup(
            render_template_string(
                _FILE_INPUT,
                name=field.name,
                id=kwargs.get("id", field.id),
                multiple=self.multiple,
                accept=kwargs.get("accept", ""),
                required=bool(kwargs.get("required")),
            )
        )
