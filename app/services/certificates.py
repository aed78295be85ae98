"""合格讲师证书信息 (Annex 1 row 22): the province enters the certificates of a class's qualified
lecturers and submits them to the center.

- **When**: the center's approval of the grade sheet (`grades`, row 19) opens the class's
  batch, pre-filled from the PASSED lines of the sheet in force, and puts "enter the certificate
  information" into the province's to-do list, due one month after the class's end (row 22).
  Nothing is entered before the sheet is approved.
- **Numbers** come from a rule kept as data (config ``CERTIFICATE_NUMBER_RULE``, e.g.
  ``{year}{province_code}{course_type}{seq:04d}``): a sequence per year, province and course
  type. The province may change a number; a number already taken (by a certificate or any
  issued document) is refused at its field.
- **Review**: kind ``certificates``, chain ``certificates`` (province → center, 10 days): the
  center's approval is the entry into the faculty pool (`app.services.pool_entry`), where each
  certificate is issued as a PDF (`app.services.documents`) and the class is closed.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import classroom, fields, review, vocabulary
from app.services.deadlines import END_OF_DAY
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.review import SUBMITTER_STEP
from models.application import TrainingClass
from models.certificate import Certificate, CertificateBatch
from models.classroom import ClassTrainee
from models.document import IssuedDocument
from models.grades import GradeSheet
from models.org import Org
from models.review import DRAFT, RETURNED
from models.user import CENTER, CITY, INSTITUTION, PROVINCE, TRAINEE
from models.vocabulary import TRAINER_LEVEL

DEFAULT_RULE = "{year}{province_code}{course_type}{seq:04d}"
DEFAULT_VALID_YEARS = 3
DEFAULT_LEVEL = "lecturer"  # trainer_level 讲师: what the class qualifies for
ENTRY_MONTHS = 1  # row 22: within one month after the class's end
LINE_FIELDS = ("number", "issued_on", "valid_until", "level")


def _entry_label(task) -> str:
    if task.step == SUBMITTER_STEP:
        return N_("Enter the certificate information of the qualified lecturers")
    return N_("Center enters the qualified lecturers into the faculty pool")


# ---------------------------------------------------------------- rules (pure)


def number_rule() -> str:
    return current_app.config.get("CERTIFICATE_NUMBER_RULE", DEFAULT_RULE)


def format_number(rule: str, year: int, province_code: str, course_type: str, seq: int) -> str:
    """One number by the rule, e.g. 2026P1SYB0001."""
    return rule.format(year=year, province_code=province_code, course_type=course_type, seq=seq)


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def entry_due(klass: TrainingClass) -> datetime:
    return datetime.combine(months_after(klass.end_date, ENTRY_MONTHS), END_OF_DAY)


def default_validity(issued_on: date) -> date:
    years = current_app.config.get("CERTIFICATE_VALID_YEARS", DEFAULT_VALID_YEARS)
    return months_after(issued_on, 12 * years) - timedelta(days=1)


# ---------------------------------------------------------------- reading


def province_of(klass: TrainingClass) -> Org:
    org = klass.org
    return org if org.kind == PROVINCE else db.session.get(Org, org.province_id)


def batch_of(klass: TrainingClass) -> CertificateBatch | None:
    return db.session.scalar(select(CertificateBatch).where(CertificateBatch.class_id == klass.id))


def approved_sheet(klass: TrainingClass) -> GradeSheet | None:
    """The grade sheet, once the center has approved it (its lines in force)."""
    sheet = db.session.scalar(select(GradeSheet).where(GradeSheet.class_id == klass.id))
    return sheet if sheet is not None and sheet.in_force_revision is not None else None


def passed_ids(klass: TrainingClass) -> set[int]:
    """The trainees the approved grade sheet passes (合格)."""
    sheet = approved_sheet(klass)
    if sheet is None:
        return set()
    return {row.trainee_id for row in sheet.entry_rows if row.passed}


def may_see(user, klass: TrainingClass | None) -> bool:
    """The center, the class's province, city and institution (a trainee sees its own PDF on
    the documents page)."""
    if getattr(user, "role_kind", None) not in (CENTER, PROVINCE, CITY, INSTITUTION):
        return False
    return classroom.may_see_class(user, klass)


def visible_class(user, class_id) -> TrainingClass | None:
    klass = classroom.visible_class(user, class_id)
    return klass if may_see(user, klass) else None


def editable(batch: CertificateBatch | None) -> bool:
    return batch is not None and batch.status in (DRAFT, RETURNED)


def may_enter(user, batch: CertificateBatch | None) -> bool:
    return (
        batch is not None
        and getattr(user, "role_kind", None) == PROVINCE
        and user.org_id == batch.province_org_id
        and editable(batch)
    )


def number_taken(number: str, exclude_id: int | None = None) -> bool:
    query = select(Certificate.id).where(Certificate.number == number)
    if exclude_id is not None:
        query = query.where(Certificate.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        return True
    return (
        db.session.scalar(select(IssuedDocument.id).where(IssuedDocument.number == number).limit(1))
        is not None
    )


# ---------------------------------------------------------------- opening and pre-filling


def _next_number(klass: TrainingClass, year: int, taken: set[str]) -> str:
    province = province_of(klass)
    seq = 1 + len(
        db.session.scalars(
            select(Certificate.id)
            .join(TrainingClass, TrainingClass.id == Certificate.class_id)
            .join(Org, Org.id == TrainingClass.org_id)
            .where(
                Org.province_id == province.id,
                Certificate.course_type == klass.course_type,
                Certificate.issued_on >= date(year, 1, 1),
                Certificate.issued_on <= date(year, 12, 31),
            )
        ).all()
    )
    while True:
        number = format_number(number_rule(), year, province.code, klass.course_type, seq)
        if number not in taken and not number_taken(number):
            taken.add(number)
            return number
        seq += 1


def _line_for(batch, klass, trainee: ClassTrainee, issued_on: date, taken) -> Certificate:
    return Certificate(
        class_id=klass.id,
        org_id=klass.org_id,
        trainee_id=trainee.id,
        user_id=trainee.user_id,
        number=_next_number(klass, issued_on.year, taken),
        issued_on=issued_on,
        valid_until=default_validity(issued_on),
        course_type=klass.course_type,
        level=DEFAULT_LEVEL,
    )


def open_entry(klass: TrainingClass, now: datetime) -> CertificateBatch:
    """The class's batch, pre-filled from the approved sheet's passed lines, and the province's
    to-do item (row 22). Called when the center approves the grade sheet; a later approved
    correction leaves an existing batch as it is (its submission checks every line again)."""
    if approved_sheet(klass) is None:
        raise Conflict(
            _("The certificates are entered once the center has approved the grade sheet."),
            field="number",
        )
    batch = batch_of(klass)
    if batch is not None:
        return batch
    province = province_of(klass)
    batch = CertificateBatch(
        class_id=klass.id,
        org_id=klass.org_id,
        province_org_id=province.id,
        created_at=now,
        status=DRAFT,
        revision=1,
    )
    db.session.add(batch)
    passed = passed_ids(klass)
    taken: set[str] = set()
    for trainee in classroom.trainees_of(klass):
        if trainee.id in passed:
            batch.lines.append(_line_for(batch, klass, trainee, now.date(), taken))
    db.session.flush()
    review.open_todos(BATCH, batch.id, PROVINCE, [province.id], now, entry_due(klass))
    return batch


# ---------------------------------------------------------------- the province's entry


def _check_province(batch: CertificateBatch, actor) -> None:
    if getattr(actor, "role_kind", None) != PROVINCE or actor.org_id != batch.province_org_id:
        raise NotAllowed(_("Only the class's province enters its certificate information."))
    if not editable(batch):
        raise Conflict(_("The certificate information has been submitted to the center."))


def _parse_line(line: Certificate, raw: dict, levels: set[str], today: date) -> None:
    key = line.trainee_id
    number = str(raw.get(f"number_{key}", line.number) or "").strip()
    if not number or len(number) > 40:
        raise InvalidValue(
            _("Certificate number: required, at most 40 characters."), field=f"number_{key}"
        )
    if number != line.number and number_taken(number, exclude_id=line.id):
        raise InvalidValue(
            _("Certificate number %(number)s already exists.", number=number),
            field=f"number_{key}",
        )
    dates = {}
    for name in ("issued_on", "valid_until"):
        text = raw.get(f"{name}_{key}")
        if text is None:
            dates[name] = getattr(line, name)
            continue
        try:
            dates[name] = fields.a_date(text)
        except ValueError:
            dates[name] = None
        if dates[name] is None:
            raise InvalidValue(_("Enter a date as 2026-01-31."), field=f"{name}_{key}")
    if dates["issued_on"] > today:
        raise InvalidValue(
            _("Certificate date: cannot be in the future."), field=f"issued_on_{key}"
        )
    if dates["valid_until"] <= dates["issued_on"]:
        raise InvalidValue(
            _("Valid until: must be after the issue date."), field=f"valid_until_{key}"
        )
    level = str(raw.get(f"level_{key}", line.level) or "").strip()
    if level not in levels:
        raise InvalidValue(_("Level: choose a level."), field=f"level_{key}")
    line.number, line.level = number, level
    line.issued_on, line.valid_until = dates["issued_on"], dates["valid_until"]


def _add_line(batch: CertificateBatch, klass: TrainingClass, raw_id, now: datetime) -> None:
    """A trainee the pre-fill left out (a line removed by mistake): the sheet must pass it."""
    try:
        trainee = db.session.get(ClassTrainee, int(raw_id))
    except (TypeError, ValueError):
        trainee = None
    if trainee is None or trainee.class_id != klass.id:
        raise InvalidValue(_("This person is not a trainee of the class."), field="add_trainee")
    if trainee.id not in passed_ids(klass):
        raise InvalidValue(
            _(
                "%(name)s did not pass the class: only qualified lecturers get a certificate.",
                name=trainee.name,
            ),
            field="add_trainee",
        )
    if any(line.trainee_id == trainee.id for line in batch.lines):
        raise InvalidValue(
            _("%(name)s already has a certificate line.", name=trainee.name), field="add_trainee"
        )
    batch.lines.append(_line_for(batch, klass, trainee, now.date(), set()))


def save(batch: CertificateBatch, actor, raw: dict, now: datetime) -> None:
    """The province's form: each line's number, dates and level (``<field>_<trainee id>``),
    lines removed (``remove_<trainee id>``) or added (``add_trainee``)."""
    _check_province(batch, actor)
    klass = db.session.get(TrainingClass, batch.class_id)
    levels = {code for code, _label in vocabulary.choices(TRAINER_LEVEL)}
    with db.session.no_autoflush:
        for line in list(batch.lines):
            if raw.get(f"remove_{line.trainee_id}"):
                batch.lines.remove(line)
                continue
            _parse_line(line, raw, levels, now.date())
        seen: dict[str, int] = {}
        for line in batch.lines:
            if line.number in seen:
                raise InvalidValue(
                    _("Certificate number %(number)s already exists.", number=line.number),
                    field=f"number_{line.trainee_id}",
                )
            seen[line.number] = line.trainee_id
        if str(raw.get("add_trainee") or "").strip():
            _add_line(batch, klass, raw["add_trainee"], now)
    db.session.flush()
    audit.record(
        db.session,
        "certificates_saved",
        object_type="CertificateBatch",
        object_id=batch.id,
        user=actor,
        now=now,
        summary=f"{klass.code}: {len(batch.lines)}",
    )


def _check_submission(batch: CertificateBatch, actor, now: datetime) -> None:
    """review's ``before_submit``: the sheet approved, every line a passed trainee."""
    klass = db.session.get(TrainingClass, batch.class_id)
    if approved_sheet(klass) is None:
        raise Conflict(
            _("The certificates are entered once the center has approved the grade sheet."),
            field="number",
        )
    if not batch.lines:
        raise InvalidValue(_("No qualified lecturer to certify."), field="add_trainee")
    passed = passed_ids(klass)
    for line in batch.lines:
        if line.trainee_id not in passed or line.trainee.user_id is None:
            raise InvalidValue(
                _(
                    "%(name)s did not pass the class: only qualified lecturers get a certificate.",
                    name=line.trainee.name,
                ),
                field=f"number_{line.trainee_id}",
            )


def submit(batch: CertificateBatch, actor, now: datetime, expected_version=None) -> None:
    _check_province(batch, actor)
    review.submit(batch, actor, now, expected_version=expected_version)


def holder_of(doc: IssuedDocument) -> Certificate | None:
    """The certificate an issued document is (the verify page shows its facts)."""
    return db.session.scalar(select(Certificate).where(Certificate.document_id == doc.id))


def mine(user) -> list[Certificate]:
    """A trainee's own issued certificates."""
    if getattr(user, "role_kind", None) != TRAINEE:
        return []
    return list(
        db.session.scalars(
            select(Certificate).where(
                Certificate.user_id == user.id, Certificate.document_id.isnot(None)
            )
        )
    )


def _on_approved(batch, actor, now):
    from app.services import pool_entry  # noqa: PLC0415 (the pool entry builds on this module)

    pool_entry.enter(batch, actor, now)


BATCH = review.register(
    review.Kind(
        name="certificates",
        model=CertificateBatch,
        label=_l("Certificate information"),
        record_page="CertificateView",
        chain="certificates",
        before_submit=_check_submission,
        on_approved=_on_approved,
        org_field="province_org_id",
        todo_label=_entry_label,
    )
)
