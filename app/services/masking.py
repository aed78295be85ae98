"""Masking of personal data (个人信息脱敏) for lists, pages and exports.

One place for every pool and export: a value shown to someone whose role may not see it whole
goes through one of these functions. They never fail: None/empty gives "", a value too short to
mask meaningfully is replaced entirely by asterisks.
"""

from __future__ import annotations

STAR = "*"


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def mask_id_number(value) -> str:
    """居民身份证号: first 6 and last 4 kept ("110101********1234")."""
    s = _text(value)
    if not s:
        return ""
    if len(s) <= 10:
        return STAR * len(s)
    return s[:6] + STAR * (len(s) - 10) + s[-4:]


def mask_mobile(value) -> str:
    """Mobile number: first 3 and last 4 kept ("138****5678")."""
    s = _text(value)
    if not s:
        return ""
    if len(s) <= 7:
        return STAR * len(s)
    return s[:3] + STAR * (len(s) - 7) + s[-4:]


def mask_email(value) -> str:
    """E-mail: first character of the local part and the domain kept ("a***@x.cn")."""
    s = _text(value)
    if not s:
        return ""
    local, at, domain = s.rpartition("@")
    if not at or not local:
        return STAR * 3
    return local[0] + STAR * 3 + "@" + domain


def mask_name(value) -> str:
    """A person's name: the first character kept ("张**")."""
    s = _text(value)
    if not s:
        return ""
    return s[0] + STAR * max(1, len(s) - 1)


def mask_text(value) -> str:
    """Any other contact detail (phone, WeChat, address): a short prefix and suffix kept."""
    s = _text(value)
    if not s:
        return ""
    if len(s) <= 4:
        return STAR * len(s)
    keep = max(1, len(s) // 4)
    return s[:keep] + STAR * (len(s) - 2 * keep) + s[-keep:]
