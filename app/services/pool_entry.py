"""入师资库 (Annex 1 row 23): the center enters a class's qualified lecturers into the faculty pool.

Within 10 days of the province's submission (the center's step of the ``certificates`` chain),
the center confirms one page and everything happens in one transaction — its approval of the
batch (`review.decide`), whose ``on_approved`` is `enter`:

- each certificate is issued (`documents.issue`: the PDF with its Chinese font, its number, its
  verification code for ``/verify/<code>``), addressed to the holder's account;
- each person gets one profile: the one already in the pool with the same ID number (with the
  account it is linked to), else a new one in force at once (the center's entry), never a
  second; the certificate is attached to it and the class's course type added to its
  qualifications (a change of a profile in force is the center's act, in its history);
- the class is closed (已结班: read-only, `app.services.closed_class`).
A refusal anywhere (a profile whose trainer's own change waits, a mobile taken by another
profile) leaves everything as it was. Entering the pool twice is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.services import documents, faculty, review, vocabulary
from app.services.errors import Conflict, NotAllowed
from models.application import TrainingClass
from models.certificate import Certificate, CertificateBatch
from models.document import CERTIFICATE
from models.faculty import ACTIVE, FacultyProfile
from models.review import PENDING
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL

TITLE = "合格讲师证书"  # printed title
PREFIX = "ZS"  # unused by the rule-numbered certificates; `documents.issue` wants a prefix


@dataclass(frozen=True)
class PoolRow:
    """One person of the confirmation page: the profile it will be attached to (None: new)."""

    line: Certificate
    profile: FacultyProfile | None


def existing_profile(id_number: str) -> FacultyProfile | None:
    return db.session.scalar(select(FacultyProfile).where(FacultyProfile.id_number == id_number))


def preview(batch: CertificateBatch) -> list[PoolRow]:
    return [PoolRow(line, existing_profile(line.trainee.id_number)) for line in batch.lines]


def may_enter(user, batch: CertificateBatch | None) -> bool:
    return (
        batch is not None
        and faculty.is_center(user)
        and batch.status == PENDING
        and batch.pooled_at is None
    )


def enter_pool(batch: CertificateBatch, actor, now: datetime, expected_version=None) -> None:
    """The center's one action (the confirmation page's button)."""
    if not faculty.is_center(actor):
        raise NotAllowed(_("Only the center enters lecturers into the faculty pool."))
    if batch.pooled_at is not None:
        raise Conflict(_("These lecturers are already in the faculty pool."))
    if batch.status != PENDING:
        raise Conflict(_("The province has not submitted the certificate information yet."))
    review.decide(batch, actor, review.APPROVE, now, expected_version=expected_version)


def return_batch(batch: CertificateBatch, actor, opinion: str, now: datetime, version=None):
    """The center sends the information back to the province (with its opinion)."""
    if batch.pooled_at is not None:
        raise Conflict(_("These lecturers are already in the faculty pool."))
    review.decide(batch, actor, review.RETURN, now, opinion=opinion, expected_version=version)


def _issue(line: Certificate, klass: TrainingClass, actor, now: datetime):
    trainee = line.trainee
    context = {
        "holder": trainee.name,
        "id_number": trainee.id_number,
        "class_code": klass.code,
        "institution": klass.org.name,
        "course": vocabulary.labels(COURSE_TYPE).get(line.course_type, line.course_type),
        "level": vocabulary.labels(TRAINER_LEVEL).get(line.level, line.level),
        "start": klass.start_date.isoformat(),
        "end": klass.end_date.isoformat(),
        "issued": line.issued_on.isoformat(),
        "valid_until": line.valid_until.isoformat(),
    }
    return documents.issue(
        kind=CERTIFICATE,
        title=TITLE,
        template=CERTIFICATE,
        prefix=PREFIX,
        number=line.number,
        context=context,
        org_id=klass.org_id,
        actor=actor,
        issuer_name=actor.org.name,
        now=now,
        owner_user_id=line.user_id,
        class_id=klass.id,
        subject_code=klass.code,
        start_date=line.issued_on,
        end_date=line.valid_until,
    )


def _attach(profile: FacultyProfile, line: Certificate) -> None:
    profile.certificate_no = line.number
    profile.certificate_date = line.issued_on
    profile.certificate_expiry = line.valid_until
    profile.level = line.level
    codes = faculty.course_type_codes(profile.course_types)
    profile.course_types = " ".join(dict.fromkeys([*codes, line.course_type]))


def _profile_for(line: Certificate, klass: TrainingClass, actor, now: datetime):
    """The person's one profile: the existing one (updated as the center's act), else a new one."""
    trainee = line.trainee
    profile = existing_profile(trainee.id_number)
    if profile is not None:
        if profile.status == PENDING or review.is_correction(profile):
            raise Conflict(
                _(
                    "The profile of %(name)s has changes waiting for review; decide on them "
                    "before entering the class's lecturers into the pool.",
                    name=profile.name,
                )
            )
        _attach(profile, line)
        faculty.check_profile(profile, now.date(), exclude_id=profile.id)
        if profile.in_force_revision is None:  # a trainer's draft never approved: now in force
            faculty.enter_approved(profile, actor, now)
        else:
            faculty.center_update(profile, actor, now)
        return profile
    org = klass.org
    profile = FacultyProfile(
        name=trainee.name,
        id_number=trainee.id_number,  # gender and birth year are read from it (check_profile)
        mobile=trainee.mobile,
        org_id=org.city_id or org.province_id,
        employer=trainee.employer,
        years_experience=trainee.years,
        service_status=ACTIVE,
        created_at=now,
        created_by_id=actor.id,
    )
    _attach(profile, line)
    faculty.check_profile(profile, now.date())
    db.session.add(profile)
    db.session.flush()
    faculty.enter_approved(profile, actor, now)
    return profile


def enter(batch: CertificateBatch, actor, now: datetime) -> None:
    """review's ``on_approved`` of the batch: issue, pool, close — inside the decision's unit."""
    klass = db.session.get(TrainingClass, batch.class_id)
    linked = 0
    for line in batch.lines:
        known = existing_profile(line.trainee.id_number) is not None
        line.document_id = _issue(line, klass, actor, now).id
        line.profile_id = _profile_for(line, klass, actor, now).id
        linked += known
    batch.pooled_at, batch.pooled_by_id = now, actor.id
    klass.closed_at, klass.closed_by_id = now, actor.id
    db.session.flush()
    audit.record(
        db.session,
        "faculty_pool_entered",
        object_type="CertificateBatch",
        object_id=batch.id,
        user=actor,
        now=now,
        summary=f"{klass.code}: {len(batch.lines)} ({linked} linked)",
    )
    audit.record(
        db.session,
        "class_closed",
        object_type="TrainingClass",
        object_id=klass.id,
        user=actor,
        now=now,
        summary=klass.code,
    )
