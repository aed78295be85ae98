"""Liaison rosters (Annex 2, 第十一条/第十二条): upload → preview → confirm → center approves →
accounts allocated → the center downloads the account sheet once.

Nothing is written until the province confirms a file without errors: `preview` reads and checks
a file, `confirm` re-checks the confirmed rows against the database (it may have changed since
the preview) and only then writes the roster and submits it through the "roster" review chain.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

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
from reports.imports import PHONE, ImportField, ImportRefused, ImportResult, ImportSpec, read_xlsx
from security.scope import in_scope

# The Annex-2 columns, plus 类型 and 所属地市 that place each row (see reports.roster).
ROSTER_SPEC = ImportSpec(
    fields=(
        ImportField("seq", ("序号",), max_length=16, is_data=False),
        ImportField("name", ("姓名",), required=True, max_length=64, squash_spaces=True),
        ImportField("unit", ("工作单位", "单位", "单位名称"), required=True, max_length=128),
        ImportField("title", ("职务", "职位"), max_length=64),
        ImportField("office_phone", ("办公电话", "座机", "固定电话"), max_length=64),
        ImportField(
            "mobile",
            ("手机号", "手机", "手机号码", "移动电话"),
            required=True,
            kind=PHONE,
            max_length=20,
        ),
        ImportField("wechat", ("微信号", "微信"), max_length=64),
        ImportField("kind", ("类型", "联络员类型"), max_length=16, squash_spaces=True),
        ImportField(
            "city", ("所属地市", "地市", "所属城市", "城市"), max_length=64, squash_spaces=True
        ),
        ImportField("change", ("变更", "变更类型", "操作"), max_length=16, squash_spaces=True),
    ),
    max_rows=2000,
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
AUTHORITY = re.compile(
    r"(人力资源和社会保障|人力资源社会保障|人社|就业)(局|厅)$|就业(服务|促进)?(中心|局)$"
)
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

    def as_data(self) -> dict:
        return dict(vars(self))


@dataclass
class Preview:
    filename: str
    rows: list[PreviewRow] = field(default_factory=list)
    errors: list = field(default_factory=list)  # reports.imports.RowError

    @property
    def to_create(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.action == CREATE]

    @property
    def matching(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.action == MATCH]


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
    """A file → its preview (raises `reports.imports.ImportRefused` for a refused file)."""
    result = read_xlsx(data, ROSTER_SPEC)
    return check_rows(result, filename, province)


def check_rows(result: ImportResult, filename: str, province: Org) -> Preview:
    """Domain checks on read rows, appended to the reader's cell errors."""
    out = Preview(filename=filename, errors=result.errors)
    cities = _cities_by_name(province)
    seen_mobiles: dict[str, int] = {}
    bad_rows = {e.row for e in result.errors}
    for raw in result.rows:
        n_errors = len(result.errors)
        row = _check_row(raw, result, province, cities, seen_mobiles)
        if row is not None and len(result.errors) == n_errors and raw["_row"] not in bad_rows:
            out.rows.append(row)
    out.errors = sorted(result.errors, key=lambda e: (e.row, e.column))
    return out


def _check_row(raw, result, province, cities, seen_mobiles) -> PreviewRow | None:
    name, unit = raw.get("name"), raw.get("unit")
    mobile = _mobile(raw, result)
    if mobile:
        first = seen_mobiles.setdefault(mobile, raw["_row"])
        if first != raw["_row"]:
            result.error(
                raw,
                "mobile",
                _("Mobile number %(m)s already appears in row %(r)d.", m=mobile, r=first),
            )
            mobile = None
    phone = raw.get("office_phone")
    if phone:
        phone, errors = fields.clean(ROSTER_FIELDS, {"office_phone": phone})
        phone = phone["office_phone"]
        for key, message in errors:
            result.error(raw, key, message)
    city = None
    if raw.get("city"):
        city = cities.get(_city_key(raw["city"]))
        if city is None:
            result.error(
                raw,
                "city",
                _(
                    "%(city)s is not a city of %(province)s.",
                    city=raw["city"],
                    province=province.name,
                ),
            )
    change = ADD
    if raw.get("change"):
        change = CHANGE_WORDS.get(raw["change"])
        if change is None:
            result.error(
                raw, "change", _("Unknown change %(v)s: use 新增, 变更 or 停用.", v=raw["change"])
            )
    kind = _kind(raw, result, unit, raw.get("city"))
    if kind in (CITY_LIAISON, INSTITUTION_LIAISON) and not raw.get("city"):
        result.error(raw, "city", _("The city is required for city and institution liaisons."))
    if not (name and unit and mobile and kind and change) or (
        kind != PROVINCE_LIAISON and city is None
    ):
        return None
    row = PreviewRow(
        row=raw["_row"],
        kind=kind,
        name=name,
        unit=unit,
        title=raw.get("title"),
        office_phone=phone,
        mobile=mobile,
        wechat=raw.get("wechat"),
        city_id=city.id if city and kind != PROVINCE_LIAISON else None,
        city_name=city.name if city and kind != PROVINCE_LIAISON else None,
        action=CREATE,
        change=change,
    )
    existing = db.session.scalar(select(MalanUser).where(MalanUser.mobile == mobile))
    if change != ADD and not _of_province(existing, province):
        result.error(
            raw, "mobile", _("No account of this province has mobile number %(m)s.", m=mobile)
        )
        return None
    if existing is not None and not _of_province(existing, province):
        # An account of another province: refused with the same words as a name mismatch, so a
        # roster can neither look up nor attach itself to accounts outside its own province.
        result.error(
            raw, "mobile", _("Mobile number %(m)s belongs to another person's account.", m=mobile)
        )
        return None
    if existing is not None:
        if existing.full_name != name:
            # Do not reveal whose it is: the account may sit in another province.
            result.error(
                raw,
                "mobile",
                _("Mobile number %(m)s belongs to another person's account.", m=mobile),
            )
            return None
        row.action, row.matched_username = MATCH, existing.username
    elif kind == INSTITUTION_LIAISON:
        row.new_institution = _institution(city, unit) is None
    return row


def _of_province(user: MalanUser | None, province) -> bool:
    return user is not None and province.id in (
        user.org_id,
        user.org.province_id if user.org else None,
    )


def _mobile(raw, result) -> str | None:
    value = raw.get("mobile")
    if not value:
        return None
    cleaned, errors = fields.clean(ROSTER_FIELDS, {"mobile": value})
    for key, message in errors:
        result.error(raw, key, message)
    return cleaned["mobile"]


def _kind(raw, result, unit, city_text) -> str | None:
    word = raw.get("kind")
    if word:
        kind = KIND_WORDS.get(word)
        if kind is None:
            result.error(raw, "kind", _("Unknown type %(v)s: use 省级, 市级 or 机构.", v=word))
        return kind
    if unit and AUTHORITY.search(unit):
        return CITY_LIAISON if city_text else PROVINCE_LIAISON
    return INSTITUTION_LIAISON


def _city_key(name: str) -> str:
    return name.removesuffix("市")


def _cities_by_name(province: Org) -> dict[str, Org]:
    cities = db.session.scalars(select(Org).where(Org.kind == CITY, Org.province_id == province.id))
    return {_city_key(c.name): c for c in cities}


def _institution(city: Org, unit: str) -> Org | None:
    return db.session.scalar(
        select(Org).where(Org.kind == INSTITUTION, Org.parent_id == city.id, Org.name == unit)
    )


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


def confirm_claimed(staged: staging.Staged, province: Org, actor, now: datetime) -> Roster:
    """Write the claimed preview's roster and submit it (`confirm`)."""
    return confirm(staged.meta["rows"], staged.filename, province, actor, now)


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
