"""Liaison rosters (Annex 2, 第十一条/第十二条): upload → preview → confirm → center approves →
accounts allocated → the center downloads the account sheet once.

Nothing is written until the province confirms a file without errors: `preview` reads and checks
a file, `confirm` re-checks the confirmed rows against the database (it may have changed since
the preview) and only then writes the roster and submits it through the "roster" review chain.
"""

import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import stdnum
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.services import accounts, fields, review, staging
from app.services.errors import Conflict, DomainError, InvalidValue, NotAllowed
from app.services.tree import next_institution_code
from app.services.tx import transaction
from models.org import CITY, INSTITUTION, PROVINCE, Org
from models.roster import (
    ADD,
    CHANGE,
    CITY_LIAISON,
    CREATE,
    DEACTIVATE,
    INSTITUTION_LIAISON,
    MATCH,
    PROVINCE_LIAISON,
    Roster,
    RosterEntry,
)
from models.user import MalanUser
from reports import roster as report
from reports.imports import ImportField, ImportRefused, ImportResult, ImportSpec, read_xlsx
from security.scope import in_scope

# The Annex-2 columns, plus 类型 and 所属地市 that place each row (see reports.roster).
ROSTER_SPEC = ImportSpec(
    fields=(
        ImportField("seq", ("序号",), max_length=16, is_data=False),
        ImportField("name", ("姓名",), required=True, max_length=64, squash_spaces=True),
        ImportField("unit", ("工作单位", "单位", "单位名称"), required=True, max_length=128),
        ImportField("title", ("职务", "职位"), max_length=64),
        ImportField("office_phone", ("办公电话", "座机", "固定电话"), max_length=64),
        # TEXT, not PHONE: a hand-filled cell may hold several numbers ("139… / 020-…"), split
        # by `fields.first_mobile` (PHONE would glue them together).
        ImportField(
            "mobile", ("手机号", "手机", "手机号码", "移动电话"), required=True, max_length=64
        ),
        ImportField("wechat", ("微信号", "微信"), max_length=64),
        ImportField("kind", ("类型", "联络员类型"), max_length=16, squash_spaces=True),
        ImportField(
            "city", ("所属地市", "地市", "所属城市", "城市"), max_length=64, squash_spaces=True
        ),
        ImportField("change", ("变更", "变更类型", "操作"), max_length=16, squash_spaces=True),
    ),
    max_rows=2000,
    hand_filled=True,
)

KIND_WORDS = {
    "省级": PROVINCE_LIAISON,
    "省": PROVINCE_LIAISON,
    "省级联络员": PROVINCE_LIAISON,
    "市级": CITY_LIAISON,
    "市": CITY_LIAISON,
    "地市": CITY_LIAISON,
    "市级联络员": CITY_LIAISON,
    "机构": INSTITUTION_LIAISON,
    "培训机构": INSTITUTION_LIAISON,
    "机构联络员": INSTITUTION_LIAISON,
}
CHANGE_WORDS = {
    "新增": ADD,
    "增加": ADD,
    "变更": CHANGE,
    "修改": CHANGE,
    "停用": DEACTIVATE,
    "注销": DEACTIVATE,
}
CHANGE_LABELS = {ADD: "新增", CHANGE: "变更", DEACTIVATE: "停用"}
KIND_LABELS = {PROVINCE_LIAISON: "省级", CITY_LIAISON: "市级", INSTITUTION_LIAISON: "机构"}
# (decision) A unit named like a human-resources authority is the province's or a city's
# authority: the city's when a city is given, else the province's. Anything else is an institution.
# The rules of a row's values (`app.services.fields`): the same as every form's.
ROSTER_FIELDS = (
    fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),
    fields.Field("office_phone", _l("Office phone"), fields.telephone),
)


class RosterError(DomainError):
    """A refused roster operation; message for the user."""


class RosterRefused(RosterError, InvalidValue):
    """The roster's rows break a rule (a confirmed file with errors, an account refused)."""


class RosterConflict(RosterError, Conflict):
    """The data changed since the preview, or the step was already done (the account sheet)."""


@dataclass
class PreviewRow:
    row: int
    kind: str
    name: str
    unit: str
    title: str | None
    office_phone: str | None
    mobile: str
    wechat: str | None
    city_id: int | None
    city_name: str | None
    action: str  # CREATE or MATCH
    matched_username: str | None = None
    new_institution: bool = False
    change: str = ADD
    # How the row was placed when 类型/所属地市 were not given ("工作单位含'广州市' → 市级，广州市").
    reasons: list = field(default_factory=list)
    typed: dict = field(default_factory=dict)  # key -> the cell as typed, where it was normalised
    notes: list = field(default_factory=list)  # e.g. the other numbers of a mobile cell
    needs_choice: bool = False  # not placed: the uploader chooses in the preview

    def as_data(self) -> dict:
        return dict(vars(self))


@dataclass
class Preview:
    filename: str
    rows: list[PreviewRow] = field(default_factory=list)
    errors: list = field(default_factory=list)  # reports.imports.RowError

    @property
    def to_create(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.action == CREATE and not r.needs_choice]

    @property
    def matching(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.action == MATCH and not r.needs_choice]

    @property
    def to_place(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.needs_choice]

    @property
    def skipped(self) -> list:
        return getattr(self, "_skipped", [])

    def counts(self) -> dict:
        """People by type (kind → count), the rows still to place under ``""``."""
        out: dict[str, int] = {}
        for r in self.rows:
            key = "" if r.needs_choice else r.kind
            out[key] = out.get(key, 0) + 1
        return out


# ---------------------------------------------------------------- reading and checking


def uploading_province(user) -> Org | None:
    """The province whose roster ``user`` uploads: only a provincial account of a province
    (第十一条: the province reports its liaisons); None for anyone else."""
    org = getattr(user, "org", None)
    if org is None or org.kind != PROVINCE or user.role_kind != PROVINCE:
        return None
    return org


@dataclass
class Upload:
    """What an upload gives the page: the preview (None for a refused file), the staged id of a
    clean preview to confirm, or why the whole file was refused."""

    preview: Preview | None = None
    token: str | None = None
    refused: str | None = None


def upload(data: bytes, filename: str, province: Org, actor, now: datetime) -> Upload:
    """Read and check an uploaded file. A clean preview is staged for its confirmation; a
    refused file or one with errors is audited as a failed import (one transaction)."""
    with transaction() as session:
        try:
            result = preview(data, filename, province)
        except ImportRefused as exc:
            audit.record_import(session, "Roster", 0, errors=1, filename=filename, now=now)
            return Upload(refused=str(exc))
        if not result.errors and result.rows:
            return Upload(result, stage_preview(result, province, actor, now))
        audit.record_import(
            session,
            "Roster",
            len(result.rows),
            errors=len(result.errors),
            filename=filename,
            now=now,
        )
        return Upload(result)


def preview(data: bytes, filename: str, province: Org) -> Preview:
    """A file → its preview (raises `reports.imports.ImportRefused` for a refused file, and for
    a file whose "省份：" line or title names another province)."""
    result = read_xlsx(data, ROSTER_SPEC)
    places = Places.of(province)
    named = file_province(result.above, places)
    if named is not None:
        raise ImportRefused(
            _(
                "This file is the roster of %(other)s; you upload the roster of %(province)s.",
                other=named,
                province=province.name,
            )
        )
    out = check_rows(result, filename, province, places)
    out._skipped = list(result.skipped)
    return out


# ---------------------------------------------------------------- placing a row (Annex 2)

# A unit that is an authority (人社厅/局, 就业局, 就业服务中心 …), not a training institution.
AUTHORITY_WORDS = re.compile(
    r"(人力资源和社会保障|人力资源社会保障|人社|劳动就业|就业(服务|促进|管理|训练)?(局|中心|处|办))"
)
NOT_AUTHORITY = re.compile(r"(学校|学院|公司|培训中心|研究院)")
_UNIT_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "公司",
    "职业技能培训学校",
    "职业培训学校",
    "培训学校",
    "学校",
    "培训中心",
    "服务中心",
    "中心",
)
_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
PROVINCE_LINE = re.compile(r"省\s*份\s*[:：]\s*(\S*)")


def _plain(text: str) -> str:
    """Full-/half-width and blanks and brackets ignored."""
    return re.sub(r"[\s()（）【】\[\]·.\-—_]", "", unicodedata.normalize("NFKC", text or ""))


def province_key(name: str) -> str:
    return _PROVINCE_SUFFIX.sub("", _plain(name)) or _plain(name)


def unit_key(unit: str, province: Org | None = None) -> str:
    """An institution's name for fuzzy matching: no suffix (有限公司, 学校, 中心 …), no
    province name in front, full-/half-width alike."""
    key = _plain(unit)
    if province is not None:
        for prefix in (_plain(province.name), province_key(province.name)):
            if key.startswith(prefix) and len(key) > len(prefix) + 1:
                key = key[len(prefix) :]
                break
    changed = True
    while changed:
        changed = False
        for suffix in _UNIT_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                key, changed = key[: -len(suffix)], True
                break
    return key


def _city_forms(city: Org) -> list[str]:
    """How a unit names a city: 广州市, 广州 (a district keeps its 区: 东城区)."""
    name = _plain(city.name)
    short = name.removesuffix("市")
    return [name, short] if short != name and len(short) >= 2 else [name]


@functools.lru_cache(maxsize=1)
def gazetteer() -> tuple[dict, dict, "re.Pattern"]:
    """China's administrative divisions as python-stdnum ships them (``cn/loc.dat``, the
    codes of 居民身份证号): province names by their 2-digit code, current county-level names
    (区/县/县级市, three characters or more) → {(province code, 6-digit code)}, and one regular
    expression finding any of those names (longest first)."""
    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    provinces, counties, province = {}, defaultdict(set), None
    for line in path.read_text("utf-8").splitlines():
        top = re.match(r'^(\d{2}) province="([^"]+)"', line)
        if top:
            province = top.group(1)
            provinces[province] = unicodedata.normalize("NFKC", top.group(2))
            continue
        sub = re.match(r'^\s+(\d{4}) county="([^"]+)"', line)
        if not sub or province is None or sub.group(1).endswith("00"):
            continue  # a comment, the province itself or a prefecture
        for part in sub.group(2).split(","):
            named = re.match(r"^(?:\[\d{0,4}-(\d{4})?\])?(.+)$", part.strip())
            if named and not named.group(1) and len(named.group(2)) >= 3:
                counties[named.group(2)].add((province, province + sub.group(1)))
    counties.pop("市辖区", None)
    pattern = re.compile("|".join(sorted(map(re.escape, counties), key=len, reverse=True)))
    return provinces, dict(counties), pattern


@dataclass
class Places:
    """The uploader's province's cities and institutions, and the other provinces' (a row
    naming them is an error)."""

    province: Org
    cities: list  # (form, city), longest form first
    institutions: dict  # unit_key -> institution
    foreign: list  # (full name, org, its province): cities and provinces of other provinces
    foreign_institutions: dict  # unit_key -> (institution, its province)

    @classmethod
    def of(cls, province: Org) -> "Places":
        orgs = list(
            db.session.scalars(select(Org).where(Org.kind.in_((PROVINCE, CITY, INSTITUTION))))
        )
        by_id = {o.id: o for o in orgs}

        def province_of(org):
            return by_id.get(org.province_id) if org.province_id else org

        cities, institutions, foreign, foreign_inst = [], {}, [], {}
        for org in orgs:
            own = (org.province_id or org.id) == province.id
            if org.kind == CITY and own:
                cities += [(form, org) for form in _city_forms(org)]
            elif org.kind == INSTITUTION and own:
                institutions.setdefault(unit_key(org.name, province), org)
            elif org.kind == INSTITUTION:
                foreign_inst.setdefault(
                    unit_key(org.name, province_of(org)), (org, province_of(org))
                )
            elif not own:
                foreign.append((_plain(org.name), org, province_of(org)))
        cities.sort(key=lambda item: -len(item[0]))
        return cls(province, cities, institutions, foreign, foreign_inst)

    def city_named(self, text: str) -> tuple[str, Org] | None:
        plain = _plain(text)
        return next(((form, c) for form, c in self.cities if form in plain), None)

    def city_called(self, text: str) -> Org | None:
        """The 所属地市 cell: a city's name, with or without 市."""
        plain = _plain(text)
        return next((c for form, c in self.cities if form == plain), None)

    def institution(self, unit: str) -> Org | None:
        return self.institutions.get(unit_key(unit, self.province))

    def county_named(self, text: str) -> tuple[str, Org] | None:
        """A county-level place of the province named in ``text`` (越秀区人社局 → 广州市), by the
        administrative division codes: the city whose code is the county's (a district of a
        municipality) or its prefecture's."""
        _provinces, counties, pattern = gazetteer()
        by_code = {c.code: c for _form, c in self.cities}
        for match in pattern.finditer(_plain(text)):
            found = {
                by_code.get(code) or by_code.get(code[:4] + "00")
                for prov, code in counties[match.group(0)]
                if prov == self.province.code[:2]
            } - {None}
            if len(found) == 1:
                return match.group(0), found.pop()
        return None

    def elsewhere(self, unit: str) -> tuple[str, str] | None:
        """(the place named, its province's name) when ``unit`` is of another province: a
        city, institution or province of another province in the platform, or a county-level
        place that exists only in other provinces."""
        plain = _plain(unit)
        own = self.province.code[:2]
        if self.city_named(unit) is None and self.county_named(unit) is None:
            for name, org, other in self.foreign:
                if name in plain and len(name) >= 2:
                    return org.name, other.name
            provinces, counties, pattern = gazetteer()
            for code, name in provinces.items():
                if code != own and _plain(name) in plain:
                    return name, name
            for match in pattern.finditer(plain):
                where = {prov for prov, _code in counties[match.group(0)]}
                if own not in where and len(where) == 1:
                    return match.group(0), provinces[where.pop()]
        keys = {unit_key(unit)}  # and without any province's name in front (one dict look-up each)
        for name in gazetteer()[0].values():
            for prefix in (_plain(name), province_key(name)):
                if plain.startswith(prefix) and len(plain) > len(prefix) + 1:
                    keys.add(unit_key(plain[len(prefix) :]))
        for key in keys - set(self.institutions):
            if key in self.foreign_institutions:
                org, other = self.foreign_institutions[key]
                return org.name, other.name
        return None


def file_province(above: list[str], places: Places) -> str | None:
    """The other province a file names (its "省份：" line, else its title), or None when it
    names the uploader's province or none."""
    own = province_key(places.province.name)
    for line in above:
        match = PROVINCE_LINE.search(line or "")
        if match:
            named = match.group(1).strip()
            return None if not named or own in _plain(named) else named
    provinces = gazetteer()[0]
    for line in above:
        plain = _plain(line or "")
        for code, name in provinces.items():
            if code != places.province.code[:2] and _plain(name) in plain and own not in plain:
                return name
    return None


@dataclass
class Placement:
    kind: str | None = None
    city: Org | None = None
    institution: Org | None = None
    reason: str | None = None


def place(raw, result, places: Places, first: bool) -> Placement | None:
    """Where a row belongs. 类型/所属地市 when given; otherwise inferred from 工作单位 (row 1 is
    the provincial liaison, Annex 2's note). A row that cannot be placed: `Placement()` with
    no kind (the uploader chooses). None: an error was recorded on the row."""
    unit, word, city_text = raw.get("unit") or "", raw.get("kind"), raw.get("city")
    province = places.province
    other = places.elsewhere(unit)
    if other is not None:
        result.error(
            raw,
            "unit",
            _(
                "%(place)s is in %(other)s, not in %(province)s.",
                place=other[0],
                other=other[1],
                province=province.name,
            ),
        )
        return None
    kind, city = None, None
    if word:
        kind = KIND_WORDS.get(word)
        if kind is None:
            result.error(raw, "kind", _("Unknown type %(v)s: use 省级, 市级 or 机构.", v=word))
            return None
    if city_text:
        city = places.city_called(city_text)
        if city is None:
            result.error(
                raw,
                "city",
                _(
                    "%(city)s is not a city of %(province)s.",
                    city=city_text,
                    province=province.name,
                ),
            )
            return None
    if kind == PROVINCE_LIAISON:
        return Placement(PROVINCE_LIAISON)
    institution = places.institution(unit) if unit else None
    if institution is not None and city is not None and institution.parent_id != city.id:
        institution = None  # the same name in another city: a new institution there
    named = (places.city_named(unit) or places.county_named(unit)) if unit else None
    authority = bool(AUTHORITY_WORDS.search(unit)) and not NOT_AUTHORITY.search(unit)
    if kind is None:
        if first and city is None:
            return Placement(PROVINCE_LIAISON, reason=_("row 1 is the provincial liaison"))
        if institution is not None:
            kind = INSTITUTION_LIAISON
        elif authority and (city is not None or named is not None):
            kind = CITY_LIAISON
        elif authority and province_key(province.name) in _plain(unit):
            return Placement(PROVINCE_LIAISON, reason=_("the unit is the province's authority"))
        elif named is not None or city is not None:
            kind = INSTITUTION_LIAISON
        else:
            return Placement()  # the uploader chooses in the preview
    if city is None and kind == INSTITUTION_LIAISON and institution is not None:
        city = db.session.get(Org, institution.parent_id)
        reason = _("the unit matches the institution %(name)s", name=institution.name)
    elif city is None and named is not None:
        city = named[1]
        reason = _("the unit names %(place)s", place=named[0])
    elif city is None:
        return Placement(kind)  # the type is known, the city is chosen in the preview
    elif kind == INSTITUTION_LIAISON and institution is not None:
        reason = _("the unit matches the institution %(name)s", name=institution.name)
    elif not word:
        reason = _("the unit is an authority") if kind == CITY_LIAISON else None
    else:
        reason = None
    if reason is not None:
        reason = f"{reason} → {KIND_LABELS[kind]}，{city.name}"
    return Placement(kind, city, institution if kind == INSTITUTION_LIAISON else None, reason)


def check_rows(
    result: ImportResult, filename: str, province: Org, places: Places | None = None
) -> Preview:
    """Domain checks on read rows, appended to the reader's cell errors."""
    places = places or Places.of(province)
    out = Preview(filename=filename, errors=result.errors)
    seen_mobiles: dict[str, int] = {}
    bad_rows = {e.row for e in result.errors}
    for index, raw in enumerate(result.rows):
        n_errors = len(result.errors)
        row = _check_row(raw, result, places, seen_mobiles, index == 0)
        if row is not None and len(result.errors) == n_errors and raw["_row"] not in bad_rows:
            out.rows.append(row)
    out.errors = sorted(result.errors, key=lambda e: (e.row, e.column))
    return out


def _check_row(raw, result, places: Places, seen_mobiles, first: bool) -> PreviewRow | None:
    province = places.province
    name, unit = raw.get("name"), raw.get("unit")
    typed = dict(raw.get("_typed") or {})
    notes = []
    mobile, others = _mobile(raw, result)
    if others:
        notes.append(_("other numbers, kept with the office phone: %(v)s", v=others))
    if mobile and raw.get("mobile") != mobile:
        typed.setdefault("mobile", raw.get("mobile"))
    if mobile:
        first_row = seen_mobiles.setdefault(mobile, raw["_row"])
        if first_row != raw["_row"]:
            result.error(
                raw,
                "mobile",
                _("Mobile number %(m)s already appears in row %(r)d.", m=mobile, r=first_row),
            )
            mobile = None
    phone = raw.get("office_phone")
    if others:
        phone = "、".join(p for p in (phone, others) if p)
    if phone:
        cleaned, errors = fields.clean(ROSTER_FIELDS, {"office_phone": phone})
        if cleaned["office_phone"] and cleaned["office_phone"] != raw.get("office_phone"):
            typed.setdefault("office_phone", raw.get("office_phone") or "")
        phone = cleaned["office_phone"]
        for key, message in errors:
            result.error(raw, key, message)
        if phone and len(phone) > 64:
            result.error(raw, "office_phone", fields.too_long(64, len(phone)))
    change = ADD
    if raw.get("change"):
        change = CHANGE_WORDS.get(raw["change"])
        if change is None:
            result.error(
                raw, "change", _("Unknown change %(v)s: use 新增, 变更 or 停用.", v=raw["change"])
            )
    placed = place(raw, result, places, first) if unit else None
    if not (name and unit and mobile and change and placed):
        return None
    needs_choice = placed.kind is None or (placed.kind != PROVINCE_LIAISON and placed.city is None)
    city = placed.city if placed.kind != PROVINCE_LIAISON else None
    if placed.institution is not None and placed.institution.name != unit:
        typed.setdefault("unit", unit)
        unit = placed.institution.name  # the approval attaches the person to it, by name
    row = PreviewRow(
        row=raw["_row"],
        kind=placed.kind or "",
        name=name,
        unit=unit,
        title=raw.get("title"),
        office_phone=phone,
        mobile=mobile,
        wechat=raw.get("wechat"),
        city_id=city.id if city else None,
        city_name=city.name if city else None,
        action=CREATE,
        change=change,
        reasons=[placed.reason] if placed.reason else [],
        typed={k: v for k, v in typed.items() if v},
        notes=notes,
        needs_choice=needs_choice,
    )
    existing = db.session.scalar(select(MalanUser).where(MalanUser.mobile == mobile))
    if not _of_province(existing, province):
        # Point 4: an account elsewhere on the platform is never revealed nor attached; such a
        # row reads exactly as a new person's ("将由部中心核对"), the center checks it.
        existing = None
    if change != ADD and existing is None:
        result.error(
            raw, "mobile", _("No account of this province has mobile number %(m)s.", m=mobile)
        )
        return None
    if existing is not None:
        if existing.full_name != name:
            result.error(
                raw,
                "mobile",
                _("Mobile number %(m)s belongs to another person's account.", m=mobile),
            )
            return None
        row.action, row.matched_username = MATCH, existing.username
    elif row.kind == INSTITUTION_LIAISON and city is not None:
        row.new_institution = _institution(city, unit) is None
    return row


def _of_province(user: MalanUser | None, province) -> bool:
    return user is not None and province.id in (
        user.org_id,
        user.org.province_id if user.org else None,
    )


def _mobile(raw, result) -> tuple[str | None, str | None]:
    """(the mobile, the cell's other numbers)."""
    value = raw.get("mobile")
    if not value:
        return None, None
    try:
        return fields.first_mobile(value)
    except fields.Invalid as exc:
        result.error(raw, "mobile", str(exc))
        return None, None


def _institution(city: Org, unit: str) -> Org | None:
    return db.session.scalar(
        select(Org).where(Org.kind == INSTITUTION, Org.parent_id == city.id, Org.name == unit)
    )


# ---------------------------------------------------------------- choices made in the preview


def choices_for(province: Org) -> list[tuple[str, str]]:
    """What a row that could not be placed may be: (value, label) for the preview's picker."""
    out = [("province", _("Provincial liaison"))]
    cities = db.session.scalars(
        select(Org).where(Org.kind == CITY, Org.province_id == province.id).order_by(Org.code)
    ).all()
    for city in cities:
        out.append((f"city:{city.id}", f"{_('City liaison')} · {city.name}"))
    for city in cities:
        for inst in db.session.scalars(
            select(Org).where(Org.kind == INSTITUTION, Org.parent_id == city.id).order_by(Org.code)
        ):
            out.append((f"inst:{inst.id}", f"{_('Institution liaison')} · {inst.name}"))
        out.append((f"new:{city.id}", f"{_('New institution')} · {city.name}"))
    return out


def apply_choices(rows: list[dict], choices: dict, province: Org) -> list[dict]:
    """The staged rows with the uploader's choice applied to each row that was not placed.
    A missing choice, or one naming a place outside the province, refuses the confirmation."""
    allowed = dict(choices_for(province))
    out = []
    for r in rows:
        r = dict(r)
        if r.get("needs_choice"):
            value = (choices.get(str(r["row"])) or "").strip()
            if value not in allowed:
                raise RosterRefused(
                    _(
                        "Row %(r)d (%(name)s): choose where this person belongs.",
                        r=r["row"],
                        name=r["name"],
                    ),
                    field=f"place-{r['row']}",
                )
            what, _sep, ident = value.partition(":")
            org = db.session.get(Org, int(ident)) if ident else None
            if what == "province":
                r.update(kind=PROVINCE_LIAISON, city_id=None, city_name=None)
            elif what == "city":
                r.update(kind=CITY_LIAISON, city_id=org.id, city_name=org.name)
            else:
                city = org if what == "new" else db.session.get(Org, org.parent_id)
                r.update(kind=INSTITUTION_LIAISON, city_id=city.id, city_name=city.name)
                if what == "inst":
                    r["unit"] = org.name
            r["needs_choice"] = False
            r.setdefault("reasons", []).append(_("chosen in the preview"))
        out.append(r)
    return out


# ---------------------------------------------------------------- confirming


def rows_as_import(rows: list[dict]) -> ImportResult:
    """Confirmed preview rows back into the reader's shape, to be checked again."""
    result = ImportResult(columns={}, _headers={f.key: f.headers[0] for f in ROSTER_SPEC.fields})
    result.columns = {f.key: "" for f in ROSTER_SPEC.fields}
    for r in rows:
        result.rows.append(
            {
                "_row": r["row"],
                "name": r["name"],
                "unit": r["unit"],
                "title": r["title"],
                "office_phone": r["office_phone"],
                "mobile": r["mobile"],
                "wechat": r["wechat"],
                "kind": KIND_LABELS[r["kind"]],
                "city": r["city_name"],
                "change": CHANGE_LABELS[r.get("change", ADD)],
            }
        )
    return result


STAGED_KIND = "roster"  # its uploads between preview and confirm (app.services.staging)


def stage_preview(result: Preview, province: Org, actor, now: datetime) -> str:
    """Keep a clean preview's rows until the province confirms them (`app.services.staging`);
    returns the id the preview page carries."""
    return staging.stage(
        STAGED_KIND,
        actor.id,
        now,
        filename=result.filename,
        meta={"org": province.id, "rows": [r.as_data() for r in result.rows]},
    )


def claim_preview(staged_id: str, province: Org, actor, now: datetime) -> staging.Staged | None:
    """Take a staged preview for its one confirmation (the claim commits at once, see
    `app.services.staging`): a replayed or double-clicked confirm is refused (`Conflict`) and
    never writes a second roster. None: the preview is another user's or another province's
    (the page answers as for a foreign id)."""
    try:
        staged = staging.take(staged_id, actor.id, STAGED_KIND, now)
    except NotAllowed:
        return None
    if staged.meta.get("org") != province.id:  # the account moved since its upload
        return None
    return staged


def unplaced_preview(
    staged_id: str, province: Org, actor, now: datetime, choices: dict
) -> tuple[Preview, str] | None:
    """Before the claim (which spends the staged preview): when a row the preview could not
    place has no choice, or one outside the province, the staged preview again and why, so the
    page shows it once more; None when the choices are complete (or nothing is staged)."""
    staged = staging.peek(staged_id, actor.id, STAGED_KIND, now)
    if staged is None or staged.meta.get("org") != province.id:
        return None
    try:
        apply_choices(staged.meta["rows"], choices, province)
    except RosterRefused as exc:
        rows = [PreviewRow(**r) for r in staged.meta["rows"]]
        return Preview(filename=staged.filename, rows=rows), str(exc)
    return None


def confirm_claimed(
    staged: staging.Staged, province: Org, actor, now: datetime, choices: dict | None = None
) -> Roster:
    """Write the claimed preview's roster and submit it (`confirm`), with the uploader's choice
    for each row the preview could not place (``choices``: row number → picker value)."""
    rows = apply_choices(staged.meta["rows"], choices or {}, province)
    return confirm(rows, staged.filename, province, actor, now)


def confirm(rows: list[dict], filename: str, province: Org, actor, now: datetime) -> Roster:
    """Write the roster and submit it to the center; all or nothing (one transaction)."""
    checked = check_rows(rows_as_import(rows), filename, province)
    if checked.errors or not checked.rows:
        raise RosterRefused(
            _("The roster has errors; upload a corrected file.")
            if checked.errors
            else _("The roster has no rows.")
        )
    roster = Roster(
        org_id=province.id,
        filename=filename[:255],
        row_count=len(checked.rows),
        created_at=now,
        created_by_id=actor.id,
    )
    for seq, r in enumerate(checked.rows, start=1):
        roster.entries.append(
            RosterEntry(
                seq=seq,
                source_row=r.row,
                kind=r.kind,
                name=r.name,
                unit=r.unit,
                title=r.title,
                office_phone=r.office_phone,
                mobile=r.mobile,
                wechat=r.wechat,
                city_id=r.city_id,
                action=r.action,
                change=r.change,
            )
        )
    with transaction() as session:
        session.add(roster)
        session.flush()
        audit.record_import(session, "Roster", len(checked.rows), filename=filename, now=now)
        review.submit(roster, actor, now)
    return roster


# ---------------------------------------------------------------- allocation (on approval)


def allocate(roster: Roster, actor, now: datetime) -> None:
    """Create the missing institutions and one account per person without one (第十一条).
    Runs inside the approval's transaction: an error rolls everything back."""
    province = roster.org
    for entry in roster.entries:
        existing = db.session.scalar(select(MalanUser).where(MalanUser.mobile == entry.mobile))
        if existing is not None and not _of_province(existing, province):
            # Created elsewhere since the upload: one account per person, and never another
            # province's account attached to this roster.
            raise RosterConflict(
                _("Mobile number %(m)s belongs to another person's account.", m=entry.mobile)
            )
        if existing is not None:  # one account per person, even if created since the upload
            entry.user_id, entry.action = existing.id, MATCH
            if entry.change == DEACTIVATE and existing.active:
                # Disabled, never deleted: its data and history stay (point 4).
                accounts.disable(existing, now)
                audit.record(
                    db.session,
                    "account_deactivated",
                    object_type="MalanUser",
                    object_id=existing.id,
                    summary=f"{existing.username} (roster #{roster.id})",
                    now=now,
                )
            continue
        if entry.change != ADD:  # its account vanished since the upload
            raise RosterConflict(
                _(
                    "Row %(r)d (%(name)s): no account to change.",
                    r=entry.source_row or entry.seq,
                    name=entry.name,
                )
            )
        org = {PROVINCE_LIAISON: province, CITY_LIAISON: entry.city}.get(
            entry.kind
        ) or _institution_for(entry, now)
        try:
            user, password = accounts.create_account(
                name=entry.name, role_kind=entry.kind, org=org, now=now, mobile=entry.mobile
            )
        except accounts.AccountError as exc:
            raise RosterRefused(
                _(
                    "Row %(r)d (%(name)s): %(e)s",
                    r=entry.source_row or entry.seq,
                    name=entry.name,
                    e=exc,
                )
            ) from exc
        db.session.flush()
        entry.user_id, entry.created_account, entry.initial_password = user.id, 1, password
        audit.record(
            db.session,
            "account_allocated",
            object_type="MalanUser",
            object_id=user.id,
            summary=f"{user.username} {org.name} (roster #{roster.id})",
            now=now,
        )
    roster.allocated_at = now


def _institution_for(entry: RosterEntry, now: datetime) -> Org:
    city = entry.city
    org = _institution(city, entry.unit)
    if org is None:
        org = Org(kind=INSTITUTION, code=next_institution_code(city), name=entry.unit, parent=city)
        db.session.add(org)
        db.session.flush()  # the next new institution of this city takes the following code
        audit.record(
            db.session,
            "institution_created",
            object_type="Org",
            object_id=org.id,
            summary=f"{org.code} {org.name} (roster #{entry.roster_id})",
            now=now,
        )
    return org


# ---------------------------------------------------------------- the account sheet


def sheet_available(roster: Roster) -> bool:
    return roster.allocated_at is not None and roster.sheet_downloaded_at is None


def account_sheet(roster: Roster, actor, now: datetime) -> bytes:
    """The account sheet (.xlsx), once: built, the passwords cleared and the download stamped
    in one transaction (a file that fails to build clears nothing)."""
    with transaction():
        rows = take_account_sheet(roster, actor, now)
        return report.account_sheet_xlsx(
            rows,
            _("Accounts of %(province)s (roster #%(id)d)", province=roster.org.name, id=roster.id),
        )


def take_account_sheet(roster: Roster, actor, now: datetime) -> list[tuple]:
    """The (username, initial password, name, unit) rows, once: the passwords are cleared and
    the download stamped in the caller's transaction (`account_sheet`)."""
    if roster.allocated_at is None:
        raise RosterConflict(_("Accounts are allocated when the roster is approved."))
    if roster.sheet_downloaded_at is not None:
        raise RosterConflict(
            _(
                "The account sheet was already downloaded on %(at)s; passwords can "
                "now only be reset.",
                at=roster.sheet_downloaded_at.strftime("%Y-%m-%d %H:%M"),
            )
        )
    rows = []
    for entry in roster.entries:
        if entry.created_account and entry.user is not None:
            rows.append((entry.user.username, entry.initial_password, entry.name, entry.unit))
            entry.initial_password = None
    roster.sheet_downloaded_at, roster.sheet_downloaded_by_id = now, actor.id
    audit.record_export(
        db.session, "RosterAccountSheet", len(rows), f"roster #{roster.id}", now=now
    )
    return rows


# ---------------------------------------------------------------- the current roster (export)


def export_file(scope, now: datetime) -> bytes:
    """The current liaisons of ``scope`` as the Annex-2 workbook; the export is audited."""
    records, provinces = current_liaisons(scope)
    data = report.export_xlsx(report.roster_frame(records), provinces)
    with transaction() as session:
        audit.record_export(
            session, "Roster", len(records), "provinces=" + ",".join(provinces), now=now
        )
    return data


def current_liaisons(scope) -> tuple[list[dict], list[str]]:
    """Active province/city/institution accounts in ``scope`` with their latest roster details,
    and the provinces the export covers."""
    from sqlalchemy import and_

    provinces_q = select(Org).where(Org.kind == PROVINCE).order_by(Org.code)
    provinces_q = in_scope(provinces_q, Org, scope)
    provinces = {p.id: p.name for p in db.session.scalars(provinces_q)}
    users_q = (
        select(MalanUser)
        .join(Org, MalanUser.org_id == Org.id)
        .where(
            MalanUser.active.is_(True), and_(Org.province_id.in_(provinces) | Org.id.in_(provinces))
        )
    )
    records = []
    for user in db.session.scalars(users_q):
        kind = user.role_kind
        if kind not in (PROVINCE_LIAISON, CITY_LIAISON, INSTITUTION_LIAISON):
            continue
        entry = db.session.scalar(
            select(RosterEntry)
            .where(RosterEntry.user_id == user.id)
            .order_by(RosterEntry.id.desc())
            .limit(1)
        )
        org = user.org
        city = None if kind == PROVINCE_LIAISON else db.session.get(Org, org.city_id or org.id)
        records.append(
            {
                "province": provinces.get(org.province_id or org.id),
                "kind": kind,
                "name": user.full_name,
                "unit": entry.unit if entry else org.name,
                "title": entry.title if entry else None,
                "office_phone": entry.office_phone if entry else None,
                "mobile": user.mobile,
                "wechat": entry.wechat if entry else None,
                "city": city.name if city else None,
            }
        )
    return records, list(provinces.values())


def person_in_scope(user_id: int) -> MalanUser | None:
    """An account the viewer may see (None: outside its scope, or none)."""
    return db.session.scalar(in_scope(select(MalanUser).where(MalanUser.id == user_id), MalanUser))


def roster_history(user_id: int) -> list[RosterEntry]:
    """Every roster row that touched this person (created, matched, changed, deactivated),
    newest first, for the person's page (point 4)."""
    query = select(RosterEntry).join(Roster).where(RosterEntry.user_id == user_id)
    query = in_scope(query, Roster)  # only rosters the viewer may see
    return list(db.session.scalars(query.order_by(Roster.id.desc())))


def _on_approved(roster: Roster, actor, now: datetime) -> None:
    """Final approval: institutions and accounts are created in the approving transaction."""
    allocate(roster, actor, now)


ROSTER = review.register(
    review.Kind(
        name="roster",
        model=Roster,
        label=_l("Liaison roster"),
        record_page="RosterView",
        chain="roster",
        fields=("filename", "row_count"),
        on_approved=_on_approved,
    )
)
