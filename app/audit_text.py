"""The audit log in words (issue 15 point 3): summaries in the reader's language, the change
details as before → after rows, and which entries are internal bookkeeping.

Entries are sealed by the hash chain (`app.audit_chain`), so what was written stays as written
(short English codes and values); it is put into words here, when shown or exported. A summary
of no known shape is shown as it is (an org's name, a notice's title).
"""

import json
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, not_, or_

from models.audit import AuditLog

# Rows written by the machinery rather than by a person's decision: the review engine's tasks,
# events and revisions, read receipts, staged uploads, sessions... and the administrative tree
# loaded at deploy (`flask malan load-tree`: thousands of 组织机构 created by "system"). The list
# hides them unless asked (?internal=1); the decisions themselves (review_* events) stay.
INTERNAL_TYPES = (
    "ReviewTask",
    "ReviewEvent",
    "ReviewRevision",
    "StagedUpload",
    "NoticeRead",
    "ConversationRead",
    "LoginSession",
    "PasswordHistory",
    "RecoveryCode",
    "AuditChainHead",
)
ROW_EVENTS = ("create", "update", "delete")


def internal_clause():
    """SQL condition true for internal bookkeeping rows."""
    return or_(
        and_(AuditLog.object_type.in_(INTERNAL_TYPES), AuditLog.event.in_(ROW_EVENTS)),
        and_(
            AuditLog.object_type == "Org",
            AuditLog.event == "create",
            AuditLog.username == "system",
        ),
    )


def not_internal_clause():
    return not_(internal_clause())


STATUS_WORDS = {
    "draft": _l("Draft"),
    "pending": _l("Under review"),
    "returned": _l("Returned for revision"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}

LOGIN_HOW = {
    "password": _l("with password"),
    "password+totp": _l("with password and dynamic code"),
    "password+recovery": _l("with password and a recovery code"),
    "password+totp (enrolled)": _l("with password; two-factor authentication set up"),
    "api": _l("through the API"),
    "api: password change required": _l("through the API; password change required"),
}

FIXED = {
    "unknown or disabled account": _l("unknown or disabled account"),
    "empty password": _l("empty password"),
    "locked": _l("account locked"),
    **LOGIN_HOW,
}

FAILURES = {
    "wrong password": _l("wrong password"),
    "wrong second-factor code": _l("wrong dynamic code"),
    "api: wrong second-factor code": _l("wrong dynamic code (API)"),
}


# Column names that no view labels (or for an export, which has no views): the usual words.
FIELD_WORDS = {
    "name": _l("Name"),
    "code": _l("Code"),
    "status": _l("Status"),
    "title": _l("Title"),
    "username": _l("Username"),
    "full_name": _l("Full name"),
    "mobile": _l("Mobile"),
    "email": _l("Email"),
    "org_id": _l("Organisation"),
    "active": _l("Active"),
    "role_kind": _l("Role"),
    "roles": _l("Role"),
    "revision": _l("Revision"),
    "version": _l("Version"),
    "year": _l("Year"),
    "month": _l("Month"),
    "deadline": _l("Deadline"),
    "start_date": _l("Start date"),
    "end_date": _l("End date"),
    "note": _l("Note"),
    "round": _l("Plan round"),
    "province": _l("Province"),
    "provinces": _l("Province"),
    "event": _l("Event"),
    "object_type": _l("Object type"),
    "object_id": _l("Object id"),
    "at": _l("Time"),
    "success": _l("Success"),
    "ip": _l("IP"),
}


def field_word(key: str, labels=None) -> str:
    """A column in words: the labels given (a view's), else the usual word, else its name."""
    if labels and key in labels:
        return str(labels[key])
    return str(FIELD_WORDS.get(key, key))


def _status(code: str) -> str:
    return str(STATUS_WORDS.get(code, code))


FILTER_PATTERNS = [
    (
        re.compile(r"^notice (?P<id>\d+) unread$"),
        lambda m: _("unread of notice %(id)s", id=m["id"]),
    ),
    (re.compile(r"^roster #(?P<id>\d+)$"), lambda m: _("roster %(id)s", id=m["id"])),
    (re.compile(r"^all pending$"), lambda m: _("every pending step")),
    (re.compile(r"^overdue$"), lambda m: _("overdue steps")),
]
_KEY = re.compile(r"\b(?P<key>[a-z_]+)(?P<sep>=| )")


def filters_text(filters: str) -> str:
    """An export's filters in words: its known shapes, else each ``key=`` named."""
    for pattern, words in FILTER_PATTERNS:
        found = pattern.match(filters)
        if found:
            return words(found)
    named = _KEY.sub(
        lambda m: (field_word(m["key"]) + m["sep"]) if m["key"] in FIELD_WORDS else m[0],
        filters,
    )
    return named.replace("; ", "；")


def _rows(m):
    text = _("%(n)s rows", n=m["n"])
    if m["filters"]:
        text += "；" + _("filters: %(f)s", f=filters_text(m["filters"]))
    return text


def _import(m):
    text = _("%(n)s rows, %(e)s errors", n=m["n"], e=m["e"])
    return f"{m['file']}：{text}" if m["file"] else text


PATTERNS = [
    # A row without a name of its own (Python's default repr): its type and id say it already.
    (re.compile(r"^<[\w.]+ object at 0x[0-9a-fA-F]+>$"), lambda m: ""),
    (re.compile(r"^(?P<n>\d+) rows(?:; (?P<filters>.*))?$", re.S), _rows),
    (re.compile(r"^(?:(?P<file>.+): )?(?P<n>\d+) rows, (?P<e>\d+) errors$", re.S), _import),
    (
        re.compile(r"^(?P<what>.+) \((?P<n>\d+)\)$"),
        lambda m: (
            _("%(what)s (failure %(n)s)", what=FAILURES[m["what"]], n=m["n"])
            if m["what"] in FAILURES
            else None
        ),
    ),
    (re.compile(r"^locked until (?P<t>.+)$"), lambda m: _("locked until %(t)s", t=m["t"])),
    (
        re.compile(r"^trainee account closed \(class (?P<a>\S+)–(?P<b>\S+)\)$"),
        lambda m: _("trainee account closed (class %(a)s to %(b)s)", a=m["a"], b=m["b"]),
    ),
    (re.compile(r"^(?P<n>\d+) role\(s\) changed$"), lambda m: _("%(n)s role(s) changed", n=m["n"])),
    (
        re.compile(r"^(?P<n>\d+) overdue step\(s\) at (?P<t>.+)$"),
        lambda m: _("%(n)s overdue step(s) at %(t)s", n=m["n"], t=m["t"]),
    ),
    (
        re.compile(r"^(?P<a>[a-z]+) -> (?P<b>[a-z]+) \(rev (?P<r>\d+)\)$"),
        lambda m: _(
            "%(a)s → %(b)s (revision %(r)s)", a=_status(m["a"]), b=_status(m["b"]), r=m["r"]
        ),
    ),
    (
        re.compile(r"^(?P<n>\d+) entries before (?P<d>.+)$"),
        lambda m: _("%(n)s entries before %(d)s", n=m["n"], d=m["d"]),
    ),
    (
        re.compile(r"^audit chain intact: (?P<n>\d+) entries checked(?P<rest>.*)$", re.S),
        lambda m: _("audit chain intact: %(n)s entries checked", n=m["n"]) + m["rest"],
    ),
    (
        re.compile(r"^audit chain BROKEN: (?P<rest>.*)$", re.S),
        lambda m: _("audit chain BROKEN: %(p)s", p=m["rest"]),
    ),
]


def summary_text(summary) -> str:
    """A stored summary in the reader's language (as stored when of no known shape)."""
    if not summary:
        return ""
    if summary in FIXED:
        return str(FIXED[summary])
    for pattern, words in PATTERNS:
        found = pattern.match(summary)
        if found:
            text = words(found)
            if text is not None:  # "" included
                return text
    return summary


def change_rows(changes, label=field_word) -> list[tuple[str, str, str]]:
    """The stored JSON of a change as (field, before, after) rows; ``label`` names a field.
    A value that is not a before/after pair (an entry of `audit.record` with plain details) is
    shown as its after value."""
    if not changes:
        return []
    try:
        data = json.loads(changes) if isinstance(changes, str) else changes
    except ValueError:
        return [("", "", str(changes))]
    if not isinstance(data, dict):
        return [("", "", str(data))]
    out = []
    for key, value in data.items():
        if isinstance(value, (list, tuple)) and len(value) == 2:
            before, after = value
        else:
            before, after = None, value
        out.append((label(key), _value(before), _value(after)))
    return out


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    return str(value)


def changes_text(changes, label=field_word) -> str:
    """The change in one line for the export: 字段：前 → 后；…"""
    return "；".join(
        f"{field}：{before} → {after}" if before else f"{field}：{after}"
        for field, before, after in change_rows(changes, label)
    )
