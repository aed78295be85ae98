"""Field rules, written once: every form, import, roster and public page checks a value here.

A kind of record declares its fields as data (`Field`: name, label, rule, required) and calls

- `check(spec, values)` → every error, as ``(field, message)`` pairs (an import reports each
  error of each row; the column's header frames the message);
- `validate(spec, values)` → the cleaned values, or `InvalidValue` for the first error, framed as
  "<label>: <message>" with ``field`` set (a form shows it next to that field);
- `clean(spec, values)` → both (cleaned values and errors), for callers that need both.

A rule is a callable ``value -> cleaned value`` raising `Invalid` with a message that reads after
the field's label ("must be …", "not a …"). Blank values never reach a rule: a blank optional
value is None, a blank required one is the error "required.".

**Mobile numbers (decision): one regular expression, not the ``phonenumbers`` package.** Only
mainland mobiles are accepted (accounts, the Annex-2 rosters and the faculty pool are mainland
people). The numbering plan's shape — 11 digits, ``1`` then ``3``–``9`` — is stable, while the
allocation of prefixes inside it changes every few years (192, 195, 196 …): ``phonenumbers``'
per-prefix tables would refuse a newly allocated number until the package is upgraded, and a
refused mobile is a person who cannot get an account. What a person types around the digits is
normalised first: full-width digits, blanks, dashes, dots, brackets and a ``+86``/``0086``/``86``
country prefix. A telephone (a plan's contact phone, a roster's office phone) is a mobile or a
landline: an optional 3–4 digit area code starting with 0, a 7–8 digit number, an optional
extension (转 123); several may be given, separated by 、 / , or ;.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from app.services.errors import DomainError, InvalidValue

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# An optional area code, 7-8 digits, then an extension's digits (010-12345678-801).
LANDLINE = re.compile(r"^(?:0\d{2,3})?[2-9]\d{6,7}\d{0,6}$")
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|x|#)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_LIST = re.compile(r"[/、,，;；]")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日, 20240501 (a date cell reads "2024-05-01 00:00")
DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?: 00:00(?::00)?)?$")
COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_PHONE_NOISE = re.compile(r"[\s\-.()（）]")
_COUNTRY = re.compile(r"^(?:\+|00)?86(?=1\d{10}$|0?[1-9]\d{8,10}$)")
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E[+-]?\d+$|^\d+\.\d+$", re.IGNORECASE)


class Invalid(ValueError):
    """A value breaks its rule; the message reads after the field's label."""


# ---------------------------------------------------------------- the rules


def _text(value) -> str:
    """Full-width → half-width (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def mobile(value) -> str:
    """A mainland mobile number, as stored: 11 digits."""
    text = _text(value)
    digits = _digits(text)
    if not MOBILE.match(digits):
        raise Invalid(_("must be an 11-digit mainland mobile number (found %(v)s).", v=text))
    return digits


def telephone(value) -> str:
    """A mobile or a landline (area code optional: 010-12345678, 0755 1234567 转 123,
    12345678), or several of them separated by 、 / , ;. Kept as typed (NFKC); a lone mobile
    is stored as its 11 digits."""
    text = _text(value)
    parts = [p.strip() for p in _PHONE_LIST.split(text) if p.strip()] or [text]
    for part in parts:
        bare = _PHONE_NOISE.sub("", _EXTENSION.sub("", part))
        digits = _COUNTRY.sub("", bare)
        if digits != bare and not MOBILE.match(digits) and not digits.startswith("0"):
            digits = "0" + digits  # +86-10-12345678: the area code without its trunk 0
        if not (MOBILE.match(digits) or LANDLINE.match(digits)):
            raise Invalid(
                _(
                    "must be a telephone number such as 010-12345678 or a mobile number "
                    "(found %(v)s).",
                    v=text,
                )
            )
    return mobile(text) if len(parts) == 1 and MOBILE.match(_digits(text)) else text


def _digits(text: str) -> str:
    return _COUNTRY.sub("", _PHONE_NOISE.sub("", text))


def id_number(value) -> str:
    """居民身份证号 as stored: 18 characters, a final x upper-cased; check digit, date of birth
    and region code checked (python-stdnum's rules, the region lookup cached for imports)."""
    if isinstance(value, float) or _SCIENTIFIC.match(_text(value)):
        raise Invalid(
            _(
                "%(v)s is an ID number turned into a number by the spreadsheet: its "
                "last digits are lost. Format the column as text and type the ID "
                "number again.",
                v=_text(value),
            )
        )
    number = re.sub(r"[\s-]", "", _text(value)).upper()
    if len(number) != 18 or not re.fullmatch(r"\d{17}[\dX]", number):
        raise Invalid(
            _(
                "must have 18 characters: 17 digits, then a digit or X (found %(v)s).",
                v=number,
            )
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None:
        raise Invalid(_("the date of birth in it is not a valid date (%(v)s).", v=number))
    if not _known_place(number[:6], born.year):
        raise Invalid(_("the region code %(code)s in it is unknown.", code=number[:6]))
    if number[-1] != id_check_digit(number[:17]):
        raise Invalid(_("the check digit is wrong (%(v)s); please check the number.", v=number))
    return number


def id_check_digit(body: str) -> str:
    """The check digit of an ID number's first 17 digits (GB 11643, python-stdnum's rule): the
    one place that computes it (stdnum's ``calc_check_digit`` wants the whole 18 characters and
    ignores the last one — handing it the 17 digits alone gives a wrong digit)."""
    return ric.calc_check_digit(body[:17] + "0")


@functools.lru_cache(maxsize=8192)
def _known_place(region: str, year: int) -> bool:
    """stdnum's region check (the code valid in the year of birth); ric.validate costs ~0.4 ms a
    row, and an import repeats the same few regions."""
    try:
        ric.get_birth_place(f"{region}{year:04d}01010000")
    except ValidationError:
        return False
    return True


def email(value) -> str:
    text = _text(value)
    if not EMAIL.match(text):
        raise Invalid(_("not a valid address (%(v)s).", v=text))
    return text


def a_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    m = DATE.match(text) or COMPACT_DATE.match(text)
    if m:
        try:
            return date(*(int(part) for part in m.groups()))
        except ValueError:
            pass
    raise Invalid(_("not a date: %(v)s (write it as 2024-05-01).", v=text))


@dataclass(frozen=True)
class Text:
    """Text up to the column's length: a longer text is refused naming the limit, never cut."""

    max_length: int
    squash_spaces: bool = False  # names: "张　三" → "张三"

    def __call__(self, value) -> str:
        text = _text(value)
        if self.squash_spaces:
            text = re.sub(r"\s+", "", text)
        if len(text) > self.max_length:
            raise Invalid(too_long(self.max_length, len(text)))
        return text


def too_long(limit: int, found: int) -> str:
    return _("at most %(n)d characters (this one has %(found)d).", n=limit, found=found)


def required() -> str:
    return _("required.")


@dataclass(frozen=True)
class Integer:
    """A whole number from ``low`` to ``high`` (a trailing unit word such as 年 is allowed)."""

    low: int
    high: int
    unit: str = ""

    def __call__(self, value) -> int:
        if isinstance(value, bool):
            raise Invalid(
                _("must be a whole number from %(low)d to %(high)d.", low=self.low, high=self.high)
            )
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = _text(value)
        if self.unit:
            text = text.removesuffix(self.unit)
        if not re.fullmatch(r"-?\d+", text) or not self.low <= int(text) <= self.high:
            raise Invalid(
                _("must be a whole number from %(low)d to %(high)d.", low=self.low, high=self.high)
            )
        return int(text)


@dataclass(frozen=True)
class Choice:
    """One of a set of codes: a mapping code → label, or a callable returning one (a vocabulary
    read when checking). ``words`` maps other accepted spellings (男 → M) to a code."""

    options: Mapping | Callable[[], Mapping]
    words: Mapping | None = None

    def __call__(self, value) -> str:
        options = self.options() if callable(self.options) else self.options
        text = _text(value)
        code = text if text in options else (self.words or {}).get(text.upper())
        if code is None:
            raise Invalid(
                _(
                    "%(v)s is not one of: %(known)s.",
                    v=text,
                    known="、".join(str(label) for label in options.values()),
                )
            )
        return code


# ---------------------------------------------------------------- fields and specs


@dataclass(frozen=True)
class Field:
    name: str  # the attribute of the record, the key of a row
    label: object  # the user's word (a lazy msgid)
    rule: Callable | None = None  # None: the value is only trimmed
    required: bool = False


def clean(
    spec: Iterable[Field], values: Mapping, skip: Iterable[str] = ()
) -> tuple[dict, list[tuple[str, str]]]:
    """(cleaned values, every error). Fields absent from ``values`` and those in ``skip`` (cells
    a reader already refused) are left out."""
    out, errors, skip = {}, [], set(skip)
    for f in spec:
        if f.name not in values or f.name in skip:
            continue
        value = values[f.name]
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == []:
            if f.required:
                errors.append((f.name, required()))
            out[f.name] = None
            continue
        try:
            out[f.name] = f.rule(value) if f.rule is not None else value
        except Invalid as exc:
            errors.append((f.name, str(exc)))
            out[f.name] = None
    return out, errors


def check(
    spec: Iterable[Field], values: Mapping, skip: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """Every error of ``values``, as (field, message)."""
    return clean(spec, values, skip)[1]


def framed(spec: Iterable[Field], field: str, message: str) -> str:
    """ "<label>: <message>", as a form or a flash shows an error."""
    label = next((f.label for f in spec if f.name == field), field)
    return _("%(field)s: %(message)s", field=label, message=message)


def raise_first(spec: Iterable[Field], errors: list[tuple[str, str]], error=InvalidValue) -> None:
    """``error`` (InvalidValue) for the first error, framed with its label, if any."""
    if errors:
        field, message = errors[0]
        message = framed(spec, field, message)
        raise error(message, field=field) if issubclass(error, DomainError) else error(message)


def validate(spec: Iterable[Field], values: Mapping, error=InvalidValue) -> dict:
    """The cleaned values, or ``error`` (InvalidValue) for the first error."""
    spec = tuple(spec)
    out, errors = clean(spec, values)
    raise_first(spec, errors, error)
    return out


def validate_into(spec: Iterable[Field], record, error=InvalidValue) -> None:
    """Check the spec's fields of ``record`` and write back the cleaned values (the first error
    raised as ``error``)."""
    spec = tuple(spec)
    cleaned = validate(spec, {f.name: getattr(record, f.name) for f in spec}, error)
    for name, value in cleaned.items():
        setattr(record, name, value)


# ---------------------------------------------------------------- a cell holding several numbers

_SEVERAL = re.compile(r"[/、,，;；|]|或|及|\s{2,}|\n")
_BLANKS = re.compile(r"\s+")


def first_mobile(value) -> tuple[str, str | None]:
    """A cell that may hold several numbers (a hand-filled form: "139 0000 0001／020-1234567"):
    (the first mobile as stored, the other numbers as typed, or None). Each number may carry
    full-width digits, blanks, dashes or a +86/86- prefix. No mobile in it: `Invalid`, as
    `mobile`."""
    text = _text(value)
    try:
        return mobile(text), None
    except Invalid:
        pass
    for splitter in (_SEVERAL, _BLANKS):
        parts = [p.strip() for p in splitter.split(text) if p and p.strip()]
        for i, part in enumerate(parts if len(parts) > 1 else ()):
            try:
                found = mobile(part)
            except Invalid:
                continue
            return found, "、".join(parts[:i] + parts[i + 1 :]) or None
    raise Invalid(_("must be an 11-digit mainland mobile number (found %(v)s).", v=text))
