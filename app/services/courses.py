"""创业培训课程库 — uploading, publishing and sharing course resources.

`visible_clause` is the single rule of the shared library (资源共享): the list, the resource page,
its preview and download, and `/files/<id>` all filter with it. Everything else about a resource
(who uploads, who reviews, who edits) follows the review chain fixed at creation from the
uploader's role (`models.course.COURSE_CHAINS`); the center's own uploads are published at once.
Services take ``now``; views pass `app.clock.now()`. Refusals are the domain family
(app.services.errors): a bad value or file is `CourseError` (an `InvalidValue` naming its field),
an act the user may not do (not the uploader, a published file, the wrong role) `NotAllowed`.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.queries import count_rows
from app.services import files
from app.services import review as review_svc
from app.services.errors import InvalidValue, NotAllowed
from models.attachment import Attachment
from models.course import CATEGORIES, COURSE_CHAINS, CourseResource
from models.review import DRAFT
from models.user import CENTER, TRAINEE, TRAINER
from security.scope import in_scope

RESOURCE = "Course"  # the permission resource (security.permissions.COURSE)
IN_FORCE = "attachment"  # purpose of the attachments in force
PENDING_PREFIX = files.PENDING  # + revision: replacements waiting for the correction's approval
UPLOADER_KINDS = (CENTER, *COURSE_CHAINS)
PREVIEWS = {"pdf": "pdf", "image": "image", "video": "video"}  # how a file is shown in the page
FILES_FIELD = "upload_files"  # the form's file field, named by the refusals about files


class CourseError(InvalidValue):
    """A value or file of a resource breaks its rule; ``field`` names it, for the user."""


# ---------------------------------------------------------------- who may do what


def may_read_library(user) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(current_app.appbuilder.sm._has_view_access(user, "can_read", RESOURCE))


def visible_clause(user):
    """SQL condition: the resources ``user`` finds in the shared library.

    Published (approved once; a correction under review leaves the approved values in force),
    for every user who may read the library; a trainee only those the center marks for trainees.
    """
    if not may_read_library(user):
        return false()
    published = CourseResource.published_at.isnot(None)
    if user.role_kind == TRAINEE:
        return and_(published, CourseResource.for_trainees.is_(True))
    return published


def visible_query(user):
    return select(CourseResource).where(visible_clause(user))


def get_visible(resource_id, user) -> CourseResource | None:
    try:
        resource_id = int(resource_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(visible_query(user).where(CourseResource.id == resource_id))


def chain_for(user) -> str | None:
    """The review chain of what ``user`` uploads; None for the center (published at once)."""
    kind = user.role_kind
    if kind == CENTER:
        return None
    if kind not in COURSE_CHAINS:
        raise NotAllowed(_("Your role cannot upload course resources."))
    return COURSE_CHAINS[kind]


def may_edit(record, user) -> bool:
    """The uploader's side keeps a resource: the center its own; others the org (for a trainer:
    the user) that uploaded it. Reviewers above only read and decide."""
    kind = user.role_kind
    if record.chain is None:
        return kind == CENTER
    submitter = review_svc.CHAINS[record.chain].submitter
    if kind != submitter or user.org_id != record.org_id:
        return False
    return submitter != TRAINER or record.owner_id == user.id


def check_may_edit(record, user) -> None:
    if not may_edit(record, user):
        raise NotAllowed(_("Only the uploader may change this resource."))


def may_delete(record, user) -> bool:
    """The center maintains the library and may remove any resource; an uploader only a draft
    that was never submitted."""
    if user.role_kind == CENTER:
        return True
    return (
        may_edit(record, user)
        and record.status == DRAFT
        and record.in_force_revision is None
        and record.submitted_at is None
    )


def review_actions(record, user) -> list[str]:
    """The review buttons: none on the center's own resources (they need no review)."""
    return [] if record.chain is None else review_svc.allowed_actions(record, user)


# ---------------------------------------------------------------- creating and editing


def check_values(record) -> None:
    from app.services import vocabulary

    if not (record.title or "").strip():
        raise CourseError(_("Title: please fill in the title."), field="title")
    if record.category not in CATEGORIES:
        raise CourseError(_("Category: choose one of the list."), field="category")
    if record.course_type not in vocabulary.labels("course_type"):
        raise CourseError(_("Course type: choose one of the list."), field="course_type")
    record.title = record.title.strip()


def prepare_new(record, user, uploads, now) -> None:
    """A new resource from ``user`` with its files (at least one). The caller commits."""
    check_values(record)
    record.chain = chain_for(user)
    if user.org_id is None:
        raise NotAllowed(_("Your account belongs to no organisation."))
    record.org_id, record.owner_id, record.created_at = user.org_id, user.id, now
    record.status, record.revision, record.for_trainees = DRAFT, 1, False
    record.download_count = 0
    if not uploads:
        raise CourseError(_("Please attach at least one file."), field=FILES_FIELD)
    db.session.add(record)
    db.session.flush()
    store_uploads(record, uploads, user, now)
    if record.chain is None:
        publish_own(record, user, now)


def store_uploads(record, uploads, user, now) -> list[Attachment]:
    """Keep the uploaded files. During a correction they wait as the revision's replacements
    (the files in force stay until the revision is approved); otherwise they are added."""
    purpose = pending_purpose(record) if review_svc.is_correction(record) else IN_FORCE
    if uploads and purpose != IN_FORCE:  # a new set of replacements supersedes the last one
        for old in files.attachments_of(record, purpose):
            db.session.delete(old)
    stored = []
    for upload in uploads:
        try:
            stored.append(files.store(upload, owner=record, actor=user, now=now, purpose=purpose))
        except files.FileRejected as exc:
            raise CourseError(f"{upload.filename}: {exc}", field=FILES_FIELD) from None
    return stored


def remove_attachments(record, attachment_ids) -> None:
    """Remove files of a draft that was never published (a published file changes only through
    a reviewed correction)."""
    if not attachment_ids:
        return
    if record.in_force_revision is not None:
        raise NotAllowed(_("Published files are replaced through a correction."))
    wanted = {int(i) for i in attachment_ids}
    current = files.attachments_of(record, IN_FORCE)
    if not [a for a in current if a.id not in wanted]:
        raise CourseError(_("Please attach at least one file."), field=FILES_FIELD)
    for attachment in current:
        if attachment.id in wanted:
            db.session.delete(attachment)


def pending_purpose(record) -> str:
    return f"{PENDING_PREFIX}{record.revision}"


def pending_attachments(record) -> list[Attachment]:
    if not review_svc.is_correction(record):
        return []
    return files.attachments_of(record, pending_purpose(record))


def publish_own(record, actor, now) -> None:
    """The center's own upload: published at once, no review (the center owns the library)."""
    review_svc.record_in_force(record, actor, now)
    record.published_at = now


def apply_own_edit(record, actor, now) -> None:
    """The center corrects its own resource: a new revision, in force at once, in the history."""
    review_svc.record_in_force(record, actor, now)


def _on_approved(record, actor, now) -> None:
    """The review's final approval: the resource is
    published, and a correction's replacement files take the place of the old ones."""
    if record.published_at is None:
        record.published_at = now
    files.promote(record, pending=pending_purpose(record), purpose=IN_FORCE)
    for stale in db.session.scalars(
        select(Attachment).where(  # of rejected corrections
            Attachment.owner_type == record.__tablename__,
            Attachment.owner_id == record.id,
            Attachment.purpose.startswith(PENDING_PREFIX),
            Attachment.purpose != pending_purpose(record),
        )
    ):
        db.session.delete(stale)


def save_edit(record, user, uploads, remove_ids, now) -> None:
    """The uploader's edit of a resource, with the files it adds and removes: the center's own is
    in force at once (with its history entry); anyone else's drafts change in place and a
    correction's values and files wait for review. Values are checked before anything is
    written."""
    check_may_edit(record, user)
    with db.session.no_autoflush:
        check_values(record)
    if record.chain is None:
        apply_own_edit(record, user, now)
    else:
        review_svc.stage_edit(record)
    store_uploads(record, uploads, user, now)  # first: a file may replace another
    remove_attachments(record, remove_ids)


def before_delete(record, user) -> None:
    """Who may delete (`may_delete`); open review tasks of a deleted resource go with it (files
    go by themselves)."""
    if not may_delete(record, user):
        raise NotAllowed(_("Only a draft that was never submitted can be deleted."))
    review_svc.discard(record)


# ---------------------------------------------------------------- the shared library


def search(user, q="", course_type="", category="", page=1, per_page=20):
    """(rows, total, page) of the library for ``user``: keyword in title, description or tags;
    a page past the last one shows the last one."""
    query = visible_query(user)
    q = (q or "").strip()[:100]
    if q:
        like = f"%{q}%"
        query = query.where(
            or_(
                CourseResource.title.ilike(like),
                CourseResource.description.ilike(like),
                CourseResource.tags.ilike(like),
            )
        )
    if course_type:
        query = query.where(CourseResource.course_type == course_type)
    if category:
        query = query.where(CourseResource.category == category)
    total = count_rows(query)
    page = min(max(page, 1), max(-(-total // per_page), 1))
    rows = db.session.scalars(
        query.options(selectinload(CourseResource.org))  # one query, not one a row
        .order_by(CourseResource.published_at.desc(), CourseResource.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return rows, total, page


def library_attachment(record, attachment_id) -> Attachment | None:
    """A file in force of a visible resource (never a replacement still under review)."""
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.owner_type != record.__tablename__
        or attachment.owner_id != record.id
        or attachment.purpose != IN_FORCE
    ):
        return None
    return attachment


def preview_kind(attachment) -> str | None:
    ftype = files.TYPES.get(files.extension(attachment.filename))
    if ftype is None or not ftype.inline:
        return None
    return "pdf" if ftype.check == "pdf" else PREVIEWS.get(ftype.kind)


def count_download(record_id) -> None:
    """One more download, atomically in the database (no lost update under concurrency) and
    beside the ORM, so the optimistic version of a resource under review is not touched."""
    table = CourseResource.__table__
    db.session.execute(
        update(table)
        .where(table.c.id == record_id)
        .values(download_count=table.c.download_count + 1)
    )


def set_for_trainees(record, flag: bool, actor, now) -> None:
    """The center marks (or unmarks) a published resource for trainees."""
    if record.published_at is None:
        raise NotAllowed(_("Only a published resource can be shared with trainees."))
    table = CourseResource.__table__
    db.session.execute(update(table).where(table.c.id == record.id).values(for_trainees=flag))
    audit.record(
        db.session,
        "course_trainees",
        object_type="CourseResource",
        object_id=record.id,
        user=actor,
        now=now,
        summary=f"{record.title}: for_trainees={flag}",
    )


# ---------------------------------------------------------------- files of a resource


def load_for_files(owner_id):
    """Who may fetch a resource's file by ``/files/<id>`` (files.register_owner): whoever finds
    it in the library, or whoever keeps or reviews it (the resource in its scope). Library
    readers outside the scope are refused while a correction's replacement files wait, as those
    may not be shown yet; the library page links to its own, purpose-checked downloads."""
    from flask import g

    user = getattr(g, "user", None)
    if not may_read_library(user):
        return None
    record = db.session.scalar(
        in_scope(select(CourseResource).where(CourseResource.id == owner_id), CourseResource)
    )
    if record is not None:
        return record
    record = get_visible(owner_id, user)
    if record is None:
        return None
    waiting = db.session.scalar(
        select(func.count())
        .select_from(Attachment)
        .where(
            Attachment.owner_type == record.__tablename__,
            Attachment.owner_id == record.id,
            Attachment.purpose.startswith(PENDING_PREFIX),
        )
    )
    return None if waiting else record


COURSE = review_svc.register(
    review_svc.Kind(
        name="course",
        model=CourseResource,
        label=_l("Course resource"),
        record_page="CourseResourceView",
        chain=lambda record: record.chain,
        fields=("title", "course_type", "category", "description", "tags", "author"),
        on_approved=_on_approved,
    )
)
