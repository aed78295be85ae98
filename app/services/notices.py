"""通知公告 — publishing downward, the audience rule, corrections, withdrawal, read receipts.

`visible_clause` is the single audience rule: the list, the page, the unread counts, attachment
downloads and the search all filter with it. Services take ``now``; views pass `app.clock.now()`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import nh3
from flask_babel import gettext as _
from sqlalchemy import and_, exists, false, or_, select, true

from app import audit
from app.extensions import db
from app.queries import count_rows
from app.services import files
from app.services.errors import Conflict, DomainError, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.notice import (
    AUTHORITIES,
    CATEGORIES,
    ROLE_GROUPS,
    TRAINEES,
    Notice,
    NoticeAudience,
    NoticeRead,
    NoticeRevision,
)
from models.org import CENTER, Org
from models.user import ADMIN_KINDS, AUDITOR, TRAINEE, MalanUser
from reports.xlsx import Column, write_table

PUBLISHER_KINDS = ROLE_GROUPS[AUTHORITIES]  # center, province, city publish downward (第七条)
TRAINEE_LEAD_DAYS = 2  # a trainee receives notices from two days before its class starts
CORRECTABLE = ("title", "body", "category", "expires_at", "pinned")

# A notice body is formatted text, not a page: no images (remote loads), no styles, no scripts.
ALLOWED_TAGS = {
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
    "div",
    "hr",
    "sub",
    "sup",
    "pre",
    "code",
}


class NoticeError(DomainError):
    """A refused publication or change; the message is for the user."""


class InvalidNotice(NoticeError, InvalidValue):
    """A value of the form breaks a rule (``field`` says which)."""


class NoticeNotAllowed(NoticeError, NotAllowed):
    """The actor may not publish, or not change this notice."""


class NoticeWithdrawn(NoticeError, Conflict):
    """The notice was withdrawn meanwhile."""


def sanitise(html: str) -> str:
    """The body as stored: scripts, event handlers, styles and javascript: links removed."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def group_of(kind: str | None) -> str | None:
    return next((g for g, kinds in ROLE_GROUPS.items() if kind in kinds), None)


def ancestor_ids(org: Org | None) -> list[int]:
    ids = []
    while org is not None and len(ids) < 8:
        ids.append(org.id)
        org = org.parent
    return ids


def in_class_window(user, today) -> bool:
    start, end = user.class_start, user.class_end
    return bool(start and end and start - timedelta(days=TRAINEE_LEAD_DAYS) <= today <= end)


def is_live(now: datetime):
    """Published, not yet expired, not withdrawn."""
    return and_(
        Notice.publish_at <= now,
        Notice.withdrawn_at.is_(None),
        or_(Notice.expires_at.is_(None), Notice.expires_at > now),
    )


def visible_clause(user, now: datetime):
    """SQL condition: the notices ``user`` may see now (the audience rule, 第七条)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    kind = user.role_kind
    if kind == AUDITOR:  # the auditor sees everything, withdrawn notices included
        return true()
    group = group_of(kind)
    if kind in ADMIN_KINDS or group is None or user.org is None:
        return false()
    if kind == TRAINEE and not in_class_window(user, now.date()):
        audience = false()
    else:
        # IN (the notices addressed to the user's org or an ancestor), not a correlated EXISTS:
        # the database starts from the audience index instead of testing every notice.
        addressed = Notice.id.in_(
            select(NoticeAudience.notice_id).where(
                NoticeAudience.org_id.in_(ancestor_ids(user.org))
            )
        )
        audience = and_(getattr(Notice, f"to_{group}").is_(True), is_live(now), addressed)
    if kind in PUBLISHER_KINDS:  # what its org published, in every state
        return or_(Notice.publisher_org_id == user.org_id, audience)
    return audience


def visible_query(user, now: datetime):
    return select(Notice).where(visible_clause(user, now))


def get_visible(notice_id, user, now: datetime) -> Notice | None:
    try:
        notice_id = int(notice_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(visible_query(user, now).where(Notice.id == notice_id))


def is_publisher(user, notice: Notice) -> bool:
    return (
        user is not None
        and user.role_kind in PUBLISHER_KINDS
        and user.org_id == notice.publisher_org_id
    )


def may_publish(user) -> bool:
    """Center, province and city accounts publish downward (第七条)."""
    return user is not None and user.role_kind in PUBLISHER_KINDS


def shows_history(user, notice: Notice) -> bool:
    """The versions of a notice are shown once it was corrected, and always to its publisher and
    to the auditor."""
    return notice.version > 1 or is_publisher(user, notice) or user.role_kind == AUDITOR


def unread_among(user, notices) -> set[int]:
    """Which of ``notices`` (a page of the list) ``user`` has not opened; its own org's do not
    count, and the auditor, addressed by none, has none."""
    if not is_audience(user):
        return set()
    read = read_ids(user, [n.id for n in notices])
    return {n.id for n in notices if n.id not in read and not is_publisher(user, n)}


def parse_time(text: str | None, field: str) -> datetime | None:
    """A datetime-local field ("2026-03-02T09:00"), or None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidNotice(_("Invalid date and time: %(v)s", v=text), field=field) from None


def is_audience(user) -> bool:
    """Whether notices can be addressed to the user, hence be unread by it: not the auditor, who
    reads every notice to audit it (a badge of every notice in the country would mean nothing)."""
    return user.role_kind != AUDITOR


def unread_query(user, now: datetime):
    """Notices addressed to the user (not its own org's) that it has not opened."""
    read = exists().where(NoticeRead.notice_id == Notice.id, NoticeRead.user_id == user.id)
    query = visible_query(user, now).where(is_live(now), ~read)
    if not is_audience(user):
        return query.where(false())
    if user.org_id is not None:
        query = query.where(Notice.publisher_org_id != user.org_id)
    return query


def unread_count(user, now: datetime) -> int:
    if user is None or not getattr(user, "is_authenticated", False) or not is_audience(user):
        return 0
    return count_rows(unread_query(user, now))


def latest_unread(user, now: datetime, limit: int = 5) -> list[Notice]:
    """The home panel's list: the newest notices the user has not opened, newest first."""
    if user is None or not getattr(user, "is_authenticated", False) or not is_audience(user):
        return []
    query = unread_query(user, now).order_by(Notice.publish_at.desc(), Notice.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def read_ids(user, notice_ids) -> set[int]:
    if not notice_ids:
        return set()
    return set(
        db.session.scalars(
            select(NoticeRead.notice_id).where(
                NoticeRead.user_id == user.id, NoticeRead.notice_id.in_(notice_ids)
            )
        )
    )


def mark_read(notice: Notice, user, now: datetime) -> bool:
    """Opening a notice marks it read (once). Publishers opening their own do not count."""
    if is_publisher(user, notice) or db.session.scalar(
        select(NoticeRead.id).where(
            NoticeRead.notice_id == notice.id, NoticeRead.user_id == user.id
        )
    ):
        return False
    with transaction() as session:
        session.add(NoticeRead(notice_id=notice.id, user_id=user.id, read_at=now))
    return True


# ---------------------------------------------------------------- publishing


def addressable_orgs(user):
    """The orgs ``user`` may address: its own node (standing for all below it) and its subtree."""
    org = user.org
    if org is None or user.role_kind not in PUBLISHER_KINDS:
        return select(Org).where(false())
    if org.kind == CENTER:
        return select(Org)
    return select(Org).where(
        or_(Org.id == org.id, Org.province_id == org.id, Org.city_id == org.id)
    )


def _check_audience(user, org_ids) -> list[int]:
    try:
        wanted = {int(i) for i in org_ids}
    except (TypeError, ValueError):
        raise InvalidNotice(_("Unknown organisation in the audience."), field="org_ids") from None
    if not wanted:
        raise InvalidNotice(_("Choose at least one organisation to address."), field="org_ids")
    allowed = set(
        db.session.scalars(
            addressable_orgs(user).with_only_columns(Org.id).where(Org.id.in_(wanted))
        )
    )
    if wanted - allowed:
        raise NoticeNotAllowed(
            _("A notice can only be addressed to your own area."), field="org_ids"
        )
    return sorted(wanted)


def _check_content(title, category, publish_at, expires_at):
    if not (title or "").strip():
        raise InvalidNotice(_("A title is required."), field="title")
    if len(title) > 200:
        raise InvalidNotice(_("The title is too long."), field="title")
    if category not in CATEGORIES:
        raise InvalidNotice(_("Unknown category."), field="category")
    if expires_at is not None and expires_at <= publish_at:
        raise InvalidNotice(_("The expiry must be after the publish time."), field="expires_at")


@dataclass
class Draft:
    """What a publisher fills in."""

    title: str
    body: str = ""
    category: str = CATEGORIES[0]
    org_ids: list = field(default_factory=list)
    groups: list = field(default_factory=lambda: [AUTHORITIES])
    publish_at: datetime | None = None  # None: now
    expires_at: datetime | None = None
    pinned: bool = False


def attach(notice: Notice, uploads, actor, now: datetime) -> None:
    """Keep the uploaded files (werkzeug FileStorage) with the notice; a refused file refuses
    the whole publication or correction, naming the file."""
    for upload in [u for u in uploads or () if u and u.filename]:
        try:
            files.store(upload, owner=notice, actor=actor, now=now)
        except files.FileRejected as exc:
            raise InvalidNotice(f"{upload.filename}: {exc}", field="files") from None


def publish(draft: Draft, actor, now: datetime, uploads=()) -> Notice:
    """Create and publish (or schedule) a notice with its attachments, in one transaction."""
    if not may_publish(actor) or actor.org is None:
        raise NoticeNotAllowed(_("Your role cannot publish notices."))
    groups = set(draft.groups or ())
    if not groups or groups - set(ROLE_GROUPS):
        raise InvalidNotice(_("Choose at least one group of recipients."), field="groups")
    publish_at = draft.publish_at or now
    _check_content(draft.title, draft.category, publish_at, draft.expires_at)
    org_ids = _check_audience(actor, draft.org_ids)
    notice = Notice(
        title=draft.title.strip(),
        body=sanitise(draft.body),
        category=draft.category,
        publisher_org_id=actor.org_id,
        created_by_id=actor.id,
        created_at=now,
        publish_at=publish_at,
        expires_at=draft.expires_at,
        pinned=bool(draft.pinned),
        version=1,
        **{f"to_{g}": g in groups for g in ROLE_GROUPS},
    )
    notice.audience = [NoticeAudience(org_id=i) for i in org_ids]
    with transaction() as session:
        session.add(notice)
        session.flush()
        _snapshot(notice, actor, now, note=None)
        audit.record(
            session,
            "notice_publish",
            object_type="Notice",
            object_id=notice.id,
            summary=notice.title,
            now=now,
            changes={
                "audience": org_ids,
                "groups": sorted(groups),
                "publish_at": publish_at,
                "expires_at": draft.expires_at,
            },
        )
        attach(notice, uploads, actor, now)
    return notice


def _snapshot(notice: Notice, actor, now: datetime, note) -> None:
    db.session.add(
        NoticeRevision(
            notice_id=notice.id,
            version=notice.version,
            title=notice.title,
            body=notice.body,
            category=notice.category,
            expires_at=notice.expires_at,
            pinned=notice.pinned,
            note=note,
            changed_by_id=actor.id,
            changed_at=now,
        )
    )


def _check_manage(notice: Notice, actor) -> None:
    if not is_publisher(actor, notice):
        raise NoticeNotAllowed(_("Only the publishing organisation can change this notice."))
    if notice.withdrawn_at is not None:
        raise NoticeWithdrawn(_("This notice has been withdrawn."))


def correct(notice: Notice, actor, now: datetime, note: str = "", uploads=(), **values) -> dict:
    """A correction: the notice takes the new values (and new attachments), the old version
    stays in its history; one transaction. Returns the changes {field: [before, after]};
    nothing changed refuses."""
    _check_manage(notice, actor)
    values = {k: v for k, v in values.items() if k in CORRECTABLE}
    if "body" in values:
        values["body"] = sanitise(values["body"])
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
    merged = {k: values.get(k, getattr(notice, k)) for k in CORRECTABLE}
    _check_content(merged["title"], merged["category"], notice.publish_at, merged["expires_at"])
    changes = {k: [getattr(notice, k), v] for k, v in merged.items() if getattr(notice, k) != v}
    if not changes:
        raise InvalidNotice(_("Nothing was changed."))
    with transaction() as session:
        for key, (_before, after) in changes.items():
            setattr(notice, key, after)
        notice.version += 1
        _snapshot(notice, actor, now, note=(note or "").strip()[:500] or None)
        audit.record(
            session,
            "notice_correct",
            object_type="Notice",
            object_id=notice.id,
            summary=f"{notice.title} v{notice.version}",
            now=now,
            changes=changes,
        )
        attach(notice, uploads, actor, now)
    return changes


def withdraw(notice: Notice, actor, now: datetime) -> None:
    _check_manage(notice, actor)
    with transaction() as session:
        notice.withdrawn_at = now
        notice.withdrawn_by_id = actor.id
        audit.record(
            session,
            "notice_withdraw",
            object_type="Notice",
            object_id=notice.id,
            summary=notice.title,
            now=now,
        )


def revisions_with_changes(notice: Notice) -> list[tuple[NoticeRevision, list[str]]]:
    """Each version with the names of the fields it changed from the one before."""
    out, before = [], None
    for rev in notice.revisions:
        changed = (
            []
            if before is None
            else [k for k in CORRECTABLE if getattr(rev, k) != getattr(before, k)]
        )
        out.append((rev, changed))
        before = rev
    return out


# ---------------------------------------------------------------- read receipts


@dataclass
class OrgReceipt:
    org: Org
    read: int = 0
    unread: list = field(default_factory=list)  # users who have not read

    @property
    def total(self) -> int:
        return self.read + len(self.unread)


def recipients(notice: Notice, now: datetime) -> list[MalanUser]:
    """Active accounts the notice reaches now (its publisher's org aside)."""
    ids = [a.org_id for a in notice.audience]
    orgs = db.session.scalars(select(Org).where(Org.id.in_(ids))).all()
    if any(o.kind == CENTER for o in orgs):
        in_audience = true()
    else:
        in_audience = or_(Org.id.in_(ids), Org.province_id.in_(ids), Org.city_id.in_(ids))
    org_ids = select(Org.id).where(in_audience)
    users = db.session.scalars(
        select(MalanUser)
        .where(
            MalanUser.org_id.in_(org_ids),
            MalanUser.active.is_(True),
            MalanUser.org_id != notice.publisher_org_id,
        )
        .order_by(MalanUser.org_id, MalanUser.id)
    )
    groups = set(notice.groups)
    out = []
    for user in users:
        group = group_of(user.role_kind)
        if group not in groups:
            continue
        if group == TRAINEES and not in_class_window(user, now.date()):
            continue
        out.append(user)
    return out


def receipts(notice: Notice, now: datetime) -> list[OrgReceipt]:
    """Read and unread per org of the audience, orgs in tree order."""
    users = recipients(notice, now)
    read = set(
        db.session.scalars(select(NoticeRead.user_id).where(NoticeRead.notice_id == notice.id))
    )
    by_org: dict[int, OrgReceipt] = {}
    for user in users:
        entry = by_org.get(user.org_id) or by_org.setdefault(user.org_id, OrgReceipt(user.org))
        if user.id in read:
            entry.read += 1
        else:
            entry.unread.append(user)
    return sorted(by_org.values(), key=lambda r: r.org.code)


def totals(rows: list[OrgReceipt]) -> dict:
    counts = defaultdict(int)
    for row in rows:
        counts["read"] += row.read
        counts["unread"] += len(row.unread)
        counts["orgs_unread"] += row.read == 0
    return dict(counts)


def unread_file(notice: Notice, now: datetime) -> bytes:
    """Who has not read the notice, as a workbook; the export is audited."""
    unread = [(r.org, u) for r in receipts(notice, now) for u in r.unread]
    columns = [
        Column(_("Organisation"), 24),
        Column(_("Organisation code"), 14),
        Column(_("Name"), 14),
        Column(_("Username"), 20),
    ]
    data = write_table(
        columns,
        [(o.name, o.code, u.full_name, u.username) for o, u in unread],
        sheet=_("Unread"),
        title=notice.title,
    )
    with transaction() as session:
        audit.record_export(
            session, "NoticeRead", len(unread), f"notice {notice.id} unread", now=now
        )
    return data
