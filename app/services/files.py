"""Attachments (附件), safely: the one file mechanism of notices, messages and the libraries.

- A file is accepted by its CONTENT: its extension names the type it claims, and the bytes must
  be that type (magic numbers via `filetype`, the inside of an OOXML zip, decoding rules for plain
  text). Anything else — an .exe named .pdf, an HTML page named .txt, a zip named .xlsx — is refused.
- Size limits per kind (config ``ATTACHMENT_LIMITS``, MB; video larger); empty files are refused.
- Files live outside the static folder (config ``FILES_DIR``) under random names; the original
  (Chinese) name is kept on the `Attachment` row and sent back in ``Content-Disposition``.
- Rows and files stay in step with the transaction: a file written by a transaction that rolls
  back is removed; a file whose row is deleted (directly, or because its owner was deleted) is
  removed only after the commit succeeds.
- Who may download is who may see the owner: `register_owner` says how, per owner table; a scoped
  model defaults to its scoped query; an unknown owner type is visible to nobody.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask import current_app, g, send_file
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.services import review
from app.services.errors import InvalidValue
from models.attachment import Attachment
from models.base import Model
from reports.xlsx import content_disposition
from security.scope import ALL, NODE, current_scope, in_scope

MB = 1024 * 1024
# Purposes starting with this are replacements waiting for a correction's approval (`promote`).
PENDING = "pending:"
CHUNK = 64 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc/.xls/.ppt) compound file


@dataclass(frozen=True)
class FileType:
    kind: str  # key of ATTACHMENT_LIMITS
    mime: str
    check: str  # how the content is verified: a filetype extension, "ole", "ooxml:<part>", "text"
    inline: bool = False  # shown in the browser (preview) rather than downloaded


# The allowlist, by the extension the uploader claims. The content must then match `check`.
TYPES = {
    "pdf": FileType("document", "application/pdf", "pdf", inline=True),
    "docx": FileType(
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "ooxml:word/document.xml",
    ),
    "xlsx": FileType(
        "document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ooxml:xl/workbook.xml",
    ),
    "pptx": FileType(
        "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "ooxml:ppt/presentation.xml",
    ),
    "doc": FileType("document", "application/msword", "ole"),
    "xls": FileType("document", "application/vnd.ms-excel", "ole"),
    "ppt": FileType("document", "application/vnd.ms-powerpoint", "ole"),
    "jpg": FileType("image", "image/jpeg", "jpg", inline=True),
    "jpeg": FileType("image", "image/jpeg", "jpg", inline=True),
    "png": FileType("image", "image/png", "png", inline=True),
    "gif": FileType("image", "image/gif", "gif", inline=True),
    "webp": FileType("image", "image/webp", "webp", inline=True),
    "mp4": FileType("video", "video/mp4", "mp4", inline=True),
    "webm": FileType("video", "video/webm", "webm", inline=True),
    "txt": FileType("text", "text/plain", "text"),
    "csv": FileType("text", "text/csv", "text"),
}
# Text is accepted in these encodings only (Chinese Windows tools still write GB18030/GBK), and
# kept and served in UTF-8 whatever it came in.
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")
TEXT_CHARSET = "charset=utf-8"
# Control characters other than tab, LF, FF and CR mean the "text" is binary.
BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A browser could take such "text" for a page or an image; nobody needs them as .txt/.csv.
MARKUP = re.compile(r"^\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe)", re.IGNORECASE)
# Characters that must not reach a stored name: controls, and format characters such as U+202E
# that show "exe.pdf" as "fdp.exe".
_NAME_DROP = {"Cc", "Cf"}
OOXML_MACROS = re.compile(r"(^|/)vbaProject\.bin$", re.IGNORECASE)


class FileRejected(InvalidValue):
    """An upload that is refused (type, content, size); the message is for the user. ``field``:
    the form's file field, when the caller knows it."""


# --- storage -------------------------------------------------------------------------------


def files_dir() -> Path:
    path = Path(current_app.config["FILES_DIR"])
    path.mkdir(mode=0o750, parents=True, exist_ok=True)
    return path


def path_of(attachment: Attachment) -> Path:
    return Path(current_app.config["FILES_DIR"]) / attachment.stored_name


def limit_of(kind: str) -> int:
    """Largest size in bytes for a kind of file."""
    return int(current_app.config["ATTACHMENT_LIMITS"][kind]) * MB


def clean_filename(raw: str | None) -> str:
    """The name the user gave, without any folder part or invisible characters; Chinese kept."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c) not in _NAME_DROP
    )
    name = name.strip().strip(".").strip()
    if len(name) > 200:  # keep the extension of an over-long name
        stem, dot, ext = name.rpartition(".")
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def store(upload, *, owner, actor, now, purpose="attachment") -> Attachment:
    """Check and keep one uploaded file (a werkzeug FileStorage) for ``owner``.

    Adds the `Attachment` row to ``db.session``; the caller commits. Raises FileRejected with a
    message for the user; nothing is left on disk then, nor when the transaction rolls back.
    """
    name = clean_filename(getattr(upload, "filename", None))
    if not name:
        raise FileRejected(_("The file has no name."))
    ftype = TYPES.get(extension(name))
    if ftype is None:
        raise FileRejected(
            _(
                "This type of file is not accepted: %(name)s. Accepted types: %(types)s.",
                name=name,
                types=", ".join(sorted(TYPES)),
            )
        )
    session = db.session()
    if owner.id is None:  # a new owner gets its id now, so the row can point at it
        session.flush()
    stored_name = secrets.token_hex(16)
    path = files_dir() / stored_name
    _track(session, "written", path)  # before writing: whatever happens next, no orphan
    size, digest = _write(upload, path, limit_of(ftype.kind), name)
    try:
        if size == 0:
            raise FileRejected(_("The file %(name)s is empty.", name=name))
        mime = _verify(path, ftype, name)
    except FileRejected:
        _remove(path)
        raise
    if ftype.check == "text":  # possibly transcoded to UTF-8 by _verify: measure what is kept
        size, digest = _measure(path)
    attachment = Attachment(
        owner_type=owner.__tablename__,
        owner_id=owner.id,
        purpose=purpose,
        filename=name,
        stored_name=stored_name,
        content_type=mime,
        size=size,
        sha256=digest,
        created_at=now,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(attachment)
    return attachment


def _write(upload, path: Path, limit: int, name: str) -> tuple[int, str]:
    """Stream the upload to ``path`` (never whole into memory), stopping at ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as out:
            stream = upload.stream
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileRejected(
                        _(
                            "The file %(name)s is larger than %(limit)s MB.",
                            name=name,
                            limit=limit // MB,
                        )
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        _remove(path)
        raise
    return size, digest.hexdigest()


def _verify(path: Path, ftype: FileType, name: str) -> str:
    """The MIME type to serve the file with, once its content proved to be what its name says."""
    refused = FileRejected(
        _("The content of %(name)s is not a valid %(ext)s file.", name=name, ext=extension(name))
    )
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if ftype.check == "text":
        charset = _text_charset(path)
        if charset is None:
            raise refused
        if charset != "utf-8":
            _to_utf8(path, charset, bom=ftype.mime == "text/csv")
        return f"{ftype.mime}; {TEXT_CHARSET}"
    if ftype.check == "ole":
        if not head.startswith(OLE_MAGIC):
            raise refused
        return ftype.mime
    if ftype.check.startswith("ooxml:"):
        if not _is_ooxml(path, ftype.check.removeprefix("ooxml:")):
            raise refused
        return ftype.mime
    guess = filetype.guess(head)
    if guess is None or guess.extension != ftype.check:
        raise refused
    return ftype.mime


def _text_charset(path: Path) -> str | None:
    data = path.read_bytes()  # text is small (its own limit)
    for encoding in TEXT_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if BINARY_CHARS.search(text) or MARKUP.match(text):
            return None
        return "utf-8" if encoding == "utf-8-sig" else encoding
    return None


def _to_utf8(path: Path, charset: str, *, bom: bool) -> None:
    """Text is kept and served in one charset, UTF-8: a GB18030/GBK upload (Chinese Windows
    tools) is transcoded once, here. A CSV keeps a BOM, by which Excel recognises UTF-8."""
    text = path.read_bytes().decode(charset)
    path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8"))


def _measure(path: Path) -> tuple[int, str]:
    return path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()


def _is_ooxml(path: Path, main_part: str) -> bool:
    """A real Word/Excel/PowerPoint file: a zip with the content-type map and the main part of
    that application, and no macros (a .docm renamed .docx)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    if "[Content_Types].xml" not in names or main_part not in names:
        return False
    return not any(OOXML_MACROS.search(n) for n in names)


# --- reading -------------------------------------------------------------------------------


def attachments_of(owner, purpose: str | None = None) -> list[Attachment]:
    query = select(Attachment).where(
        Attachment.owner_type == owner.__tablename__, Attachment.owner_id == owner.id
    )
    if purpose is not None:
        query = query.where(Attachment.purpose == purpose)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def delete_all_of(owner) -> None:
    """Delete the owner's attachments: the rows now, the files once the commit succeeded.

    (Deleting the owner itself does the same by itself: see `_before_flush`.)"""
    for attachment in attachments_of(owner):
        db.session.delete(attachment)


def promote(owner, *, pending: str, purpose: str = "attachment") -> list[Attachment]:
    """Put the owner's ``pending`` files in force as ``purpose``, deleting those they replace.

    A replacement is stored with a pending purpose while its revision is reviewed (the old file
    stays visible); the approval calls this. The old files go once the commit succeeds."""
    replacements = attachments_of(owner, pending)
    if replacements:
        for old in attachments_of(owner, purpose):
            db.session.delete(old)
        for new in replacements:
            new.purpose = purpose
    return replacements


def send(attachment: Attachment, *, as_attachment: bool | None = None):
    """The file as a response: PDF, images and video inline (previews), the rest downloaded;
    the original name in Content-Disposition (RFC 5987 ``filename*=UTF-8''…``)."""
    ftype = TYPES.get(extension(attachment.filename))
    if as_attachment is None:
        as_attachment = not (ftype and ftype.inline)
    source, mimetype = path_of(attachment), attachment.content_type
    if ftype is not None and ftype.check == "text":
        # Werkzeug adds "; charset=utf-8" to a text/* type by itself: given a type that already
        # names one, it sends two (the stored "text/csv; charset=gb18030; charset=utf-8").
        source, mimetype = _utf8_text(source, mimetype), ftype.mime
    response = send_file(
        source,
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=attachment.filename,
        conditional=True,
        etag=attachment.sha256,
        max_age=0,
    )
    # The one Content-Disposition of every download (reports.xlsx): the same ASCII fallback and
    # RFC 5987 name as the exports.
    response.headers["Content-Disposition"] = content_disposition(
        attachment.filename, inline=not as_attachment
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _utf8_text(path: Path, content_type: str):
    """A text file as UTF-8: stored so since uploads are transcoded; one kept in another charset
    before that (its row says which) is transcoded on the way out."""
    charset = content_type.partition("charset=")[2].split(";")[0].strip().lower() or "utf-8"
    if charset in ("utf-8", "utf8"):
        return path
    try:
        return io.BytesIO(path.read_bytes().decode(charset).encode("utf-8"))
    except (LookupError, UnicodeDecodeError):
        return io.BytesIO(path.read_bytes().decode("utf-8", errors="replace").encode("utf-8"))


# --- who may see a file: the owner registry ------------------------------------------------

_owners: dict = {}


def register_owner(owner_type: str, load_visible) -> None:
    """``load_visible(owner_id)`` returns the owner row when the CURRENT user may see it, else None."""
    _owners[owner_type] = load_visible


def _scoped_model_of(owner_type: str):
    """The scoped model of a table. Several classes may map one table (FAB's User and our
    MalanUser both map ab_user, in no fixed order): the one declaring a scope is meant."""
    for mapper in Model.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) == owner_type and getattr(cls, "__scope__", None):
            return cls
    return None


def _read_permission_of(model) -> str | None:
    """The permission (class_permission_name) of the registered view that lists ``model``."""
    for view in current_app.appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is not None and getattr(datamodel, "obj", None) is model:
            return view.class_permission_name
    return None


def _scoped_loader(model):
    def load_visible(owner_id):
        # The file follows its record: the user must be allowed to read that kind of record
        # (an administrator who sees every region still may not open a roster's files) and
        # the record must lie in the user's scope.
        permission = _read_permission_of(model)
        if permission is None or not current_app.appbuilder.sm.has_access("can_read", permission):
            return None
        return db.session.scalar(in_scope(select(model).where(model.id == owner_id), model))

    return load_visible


def visible_owner(attachment: Attachment):
    """The owner of ``attachment`` if the current user may see it, else None."""
    loader = _owners.get(attachment.owner_type)
    if loader is None:
        model = _scoped_model_of(attachment.owner_type)
        if model is None:
            return None  # an owner nobody declared: fail closed
        loader = _scoped_loader(model)
    owner = loader(attachment.owner_id)
    if owner is not None and attachment.purpose.startswith(PENDING) and not _in_review(owner):
        return None
    return owner


def _in_review(owner) -> bool:
    """A replacement under review is seen by those in the review only: its submitter (the owning
    user, or the submitting org), the reviewer of the open step, and the center (sees all)."""
    user = g.user
    scope = current_scope()
    if scope.mode == ALL:
        return True
    spec = type(owner).__scope__
    if spec.owner and getattr(owner, spec.owner) == user.id:
        return True
    chain = review.chain_of(owner) if review.is_reviewable(owner) else None
    if chain is None:
        return False
    if (
        chain.submitter == user.role_kind
        and scope.mode == NODE
        and (getattr(owner, spec.org) == user.org_id)
    ):
        return True
    task = review.open_task(owner)
    return task is not None and task.reviewer_org_id == user.org_id and task.level == user.role_kind


# --- rows and files in step with the transaction -------------------------------------------
# session.info["malan_files"]: {transaction: [(what, path)]}, what = "written" (remove on
# rollback) or "doomed" (remove after commit). Savepoints hand their list up on release.

_INFO = "malan_files"
_ROLLED_BACK = "malan_files_rolled_back"
# Tables that never own files: skip the lookup when their rows are deleted.
NOT_OWNERS = {"attachment", "audit_log", "login_session", "password_history"}


def _track(session: Session, what: str, path: Path) -> None:
    tx = session.get_nested_transaction() or session.get_transaction()
    if tx is None:
        session.connection()  # begin the transaction the file belongs to
        tx = session.get_transaction()
    session.info.setdefault(_INFO, defaultdict(list))[tx].append((what, path))


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _before_flush(session, _ctx, _instances):
    owners = defaultdict(list)
    for obj in list(session.deleted):
        if isinstance(obj, Attachment):
            _track(session, "doomed", Path(current_app.config["FILES_DIR"]) / obj.stored_name)
            continue
        table = getattr(obj, "__tablename__", None)
        if table and table not in NOT_OWNERS and isinstance(getattr(obj, "id", None), int):
            owners[table].append(obj.id)
    for table, ids in owners.items():
        with session.no_autoflush:
            rows = session.scalars(
                select(Attachment).where(
                    Attachment.owner_type == table, Attachment.owner_id.in_(ids)
                )
            ).all()
        for row in rows:
            if row in session.deleted:  # delete_all_of already did
                continue
            session.delete(row)
            _track(session, "doomed", Path(current_app.config["FILES_DIR"]) / row.stored_name)


def _after_rollback(session):
    # Fired while the transaction being rolled back (a savepoint, or the root) is still current;
    # its files are removed when it ends (after_transaction_end comes later).
    tx = session.get_nested_transaction() or session.get_transaction()
    if tx is not None and session.info.get(_INFO):
        session.info.setdefault(_ROLLED_BACK, set()).add(tx)


def _after_transaction_end(session, transaction):
    rolled_back = session.info.get(_ROLLED_BACK)
    undone = bool(rolled_back) and transaction in rolled_back
    if undone:
        rolled_back.discard(transaction)
    pending = session.info.get(_INFO)
    if not pending or transaction not in pending:
        return
    entries = pending.pop(transaction)
    if transaction.parent is not None and not undone:
        pending[transaction.parent].extend(entries)  # a released savepoint hands its files up
        return
    # Rolled back, or the root ended without a commit (a close, an error): nothing happened.
    for what, path in entries:
        if what == "written":
            _remove(path)


def _after_commit(session):
    pending = session.info.get(_INFO)
    if not pending:
        return
    for tx in list(pending):
        if tx.parent is None:
            for what, path in pending.pop(tx):
                if what == "doomed":
                    _remove(path)


def install() -> None:
    """Hook the listeners on every session (idempotent). Runs before the audit hook, so that the
    attachment rows deleted along with their owner are audited too."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush, insert=True)
        event.listen(Session, "after_rollback", _after_rollback)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        event.listen(Session, "after_commit", _after_commit)


install()
