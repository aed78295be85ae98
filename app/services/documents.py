"""Issued documents (发放文书), one mechanism for every PDF the platform vouches for.

Used by the dispatch's notices (`app.services.dispatch_notices`) and the certificates
(`app.services.pool_entry`).
A document is issued once: its PDF is built from a template kept in the repo
(app/templates/pdf/<template>.txt, laid out by `reports.pdf`), with a Chinese font embedded, a
document number and a verification code whose QR code leads to the public page
``PUBLIC_BASE_URL/verify/<code>``. It is never rewritten nor deleted: a replaced document is
withdrawn, and the verify page says so.

No usable CJK font on the server, or a character the font cannot draw: issuing is refused with
a message naming the Debian package to install — never a PDF of boxes.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.services.errors import Conflict
from models.document import VALID, WITHDRAWN, IssuedDocument
from reports import pdf

FONT_PACKAGE = "fonts-wqy-microhei"  # Debian's small CJK TrueType font
CODE_PATTERN = re.compile(r"^[A-Z2-7]{16}$")


def font():
    """The CJK font PDFs embed, or a refusal naming the package to install."""
    path = pdf.find_font(current_app.config.get("PDF_CJK_FONT"))
    try:
        if path is None:
            raise pdf.FontUnusable(None)
        return pdf.load_font(path)
    except pdf.FontUnusable:
        raise Conflict(
            _(
                "The server has no usable Chinese font, so the document cannot be issued: "
                "install the Debian package %(package)s (apt-get install %(package)s), or set "
                "PDF_CJK_FONT to a TrueType Chinese font.",
                package=FONT_PACKAGE,
            )
        ) from None


def verify_url(code: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}/verify/{code}"


def new_code() -> str:
    """16 characters of base32 (80 random bits): unguessable, easy to type from paper."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def next_number(prefix: str, year: int) -> str:
    """The next number of the year for a prefix, e.g. PQ-2026-00001 (UNIQUE guards a race)."""
    head = f"{prefix}-{year}-"
    last = db.session.scalar(
        select(func.max(IssuedDocument.number)).where(IssuedDocument.number.like(f"{head}%"))
    )
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{head}{seq:05d}"


def issue(
    *,
    kind: str,
    title: str,
    template: str,
    prefix: str,
    context: dict,
    org_id: int,
    actor,
    issuer_name: str,
    now: datetime,
    owner_user_id: int | None = None,
    class_id: int | None = None,
    seat_id: int | None = None,
    subject_code: str | None = None,
    start_date=None,
    end_date=None,
    number: str | None = None,
) -> IssuedDocument:
    """Build and store one document, in the caller's transaction. ``number``: one the caller's
    own rule made (a certificate's); else the next of ``prefix`` for the year."""
    cjk = font()
    number = number or next_number(prefix, now.year)
    code = new_code()
    text = render_template(
        f"pdf/{template}.txt",
        number=number,
        issuer=issuer_name,
        issued_on=f"{now.year}年{now.month}月{now.day}日",
        **context,
    )
    lines = text.splitlines()
    missing = pdf.missing_glyphs(cjk, text + pdf.fixed_strings())
    if missing:
        raise Conflict(
            _(
                "The Chinese font cannot draw %(chars)s, so the document cannot be issued: "
                "install the Debian package %(package)s or set PDF_CJK_FONT to a fuller font.",
                chars="".join(missing[:10]),
                package=FONT_PACKAGE,
            )
        )
    body = pdf.build(
        pdf.Document(lines, verify_url(code), code, issuer_name, title),
        cjk,
    )
    doc = IssuedDocument(
        kind=kind,
        number=number,
        code=code,
        status=VALID,
        org_id=org_id,
        owner_user_id=owner_user_id,
        class_id=class_id,
        seat_id=seat_id,
        subject_code=subject_code,
        start_date=start_date,
        end_date=end_date,
        title=title,
        filename=f"{title}-{number}.pdf",
        pdf=body,
        text=text,
        issued_at=now,
        issued_by_id=actor.id,
        issuer_name=issuer_name,
    )
    db.session.add(doc)
    try:
        db.session.flush()
    except IntegrityError:  # the same number taken by a document issued at the same moment
        db.session.rollback()
        raise Conflict(_("Another document was issued at the same moment. Try again.")) from None
    audit.record(
        db.session,
        "document_issued",
        object_type="IssuedDocument",
        object_id=doc.id,
        summary=f"{title} {number} {subject_code or ''}",
        user=actor,
        now=now,
    )
    return doc


def withdraw(doc: IssuedDocument, actor, reason: str, now: datetime) -> None:
    """撤回: the document stays, marked withdrawn (the verify page shows it)."""
    if doc.status == WITHDRAWN:
        return
    doc.status, doc.withdrawn_at, doc.withdrawn_by_id = WITHDRAWN, now, actor.id
    doc.withdraw_reason = reason
    audit.record(
        db.session,
        "document_withdrawn",
        object_type="IssuedDocument",
        object_id=doc.id,
        summary=f"{doc.title} {doc.number}: {reason}",
        user=actor,
        now=now,
    )


def mark_confirmed(doc: IssuedDocument, actor, now: datetime) -> None:
    """Its addressee confirmed receipt (who may is the caller's rule)."""
    if doc.status != VALID:
        raise Conflict(_("This document has been withdrawn."))
    if doc.confirmed_at is not None:
        raise Conflict(_("This document is already confirmed."))
    doc.confirmed_at, doc.confirmed_by_id = now, actor.id


def preview(doc: IssuedDocument) -> list[tuple[str, object]]:
    """The document's lines as (marker, content) for an HTML preview of the PDF."""
    return pdf.parse(doc.text.splitlines())


def by_code(code: str) -> IssuedDocument | None:
    """The document a verification code names (None: unknown or malformed)."""
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        return None
    return db.session.scalar(select(IssuedDocument).where(IssuedDocument.code == code))
