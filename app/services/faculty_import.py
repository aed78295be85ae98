"""师资库批量导入 (the center only): upload → every row checked → preview → confirm, all rows or
none. The checks and the bulk insert are `reports.faculty_import`'s; this module is the unit of
work around them, shaped like the roster upload (`app.services.rosters.upload`): a refused file
or one with errors is audited as a failed import, a clean one staged for its single confirm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import audit
from app.services import staging
from app.services.errors import Conflict
from app.services.tx import transaction
from reports import faculty_import as report
from reports.imports import ImportRefused, RowError
from reports.xlsx import download_name

OBJECT_TYPE = "FacultyProfile"
# Its two kinds of staged upload (app.services.staging): a clean file waiting for its confirm,
# and a file with errors kept for the error-file download.
READY, ERRORS = "faculty_import", "faculty_import_errors"


@dataclass
class Upload:
    """What an upload gives the page: the checked file (None when refused as a whole), the
    staged id of a clean file to confirm or of a faulty one's error file, or why it was refused."""

    checked: report.Checked | None = None
    token: str | None = None
    error_token: str | None = None
    refused: str | None = None


def upload(data: bytes, filename: str, actor, now: datetime) -> Upload:
    """Read and check an uploaded file; a clean one is staged for its confirm."""
    return _checked(data, filename, actor, now, stage_clean=True)


def _checked(data: bytes, filename: str, actor, now: datetime, stage_clean: bool) -> Upload:
    with transaction() as session:
        try:
            checked = report.check(data, now.date())
        except ImportRefused as exc:
            audit.record_import(session, OBJECT_TYPE, 0, errors=1, filename=filename, now=now)
            return Upload(refused=str(exc))
        if not checked.errors:
            if not stage_clean:
                return Upload(checked)
            return Upload(
                checked, token=staging.stage(READY, actor.id, now, filename=filename, data=data)
            )
        error_token = staging.stage(
            ERRORS,
            actor.id,
            now,
            filename=filename,
            data=data,
            meta={
                "sheet": checked.sheet,
                "header_row": checked.header_row,
                "errors": [[e.row, e.column, e.header, e.message] for e in checked.errors],
            },
        )
        audit.record_import(
            session,
            OBJECT_TYPE,
            checked.total,
            errors=len(checked.errors),
            filename=filename,
            now=now,
        )
        return Upload(checked, error_token=error_token)


def claim(token: str, actor, now: datetime) -> staging.Staged:
    """Take a staged clean file for its one confirm (the claim commits at once: a double click's
    second confirm is refused, `app.services.staging`)."""
    with transaction():
        return staging.take(token, actor.id, READY, now)


def confirm(staged: staging.Staged, actor, now: datetime) -> Upload | int:
    """Check the file again (the pool may have changed since the preview) and insert every row,
    or none: the number imported, or the `Upload` to show again when the file no longer passes."""
    outcome = _checked(staged.data, staged.filename, actor, now, stage_clean=False)
    if outcome.refused or outcome.checked.errors:
        return outcome
    try:
        with transaction():
            return report.create_profiles(outcome.checked.rows, actor, now, staged.filename)
    except IntegrityError:  # a profile with the same ID number or mobile saved meanwhile
        with transaction() as session:
            audit.record_import(
                session, OBJECT_TYPE, 0, errors=1, filename=staged.filename, now=now
            )
        raise Conflict(
            _(
                "A profile with one of these ID numbers or mobile numbers was "
                "saved meanwhile; nothing was imported. Upload the file again."
            )
        ) from None


def error_file(token: str, actor, now: datetime) -> tuple[bytes, str] | None:
    """The faulty upload back with its 错误说明 column, and its name; None once expired."""
    staged = staging.peek(token, actor.id, ERRORS, now)
    if staged is None:
        return None
    meta = staged.meta
    errors = [RowError(*e) for e in meta["errors"]]
    out = report.error_workbook(staged.data, errors, meta["sheet"], meta["header_row"])
    return out, download_name(staged.filename.rsplit(".", 1)[0], "错误说明")
