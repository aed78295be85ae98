"""The one family of refusals a service raises (a business rule, a race, a wrong actor).

``str(exc)`` is the user's message, already translated; ``field`` names the form field at fault
(None: the record as a whole), so a form can show it next to that field and keep what was typed.
Views map the family to a flash message, a field error or an HTTP code (`views.base.perform`);
nothing below the views knows about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused action; the message is for the user."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


class InvalidValue(DomainError):
    """A value breaks a rule of its field (``field`` says which)."""


class NotAllowed(DomainError):
    """The user may not do this (wrong role, wrong org, own submission)."""


class Conflict(DomainError):
    """Someone acted first (a second reviewer, a double click, a taken number)."""
