"""The dispatch's two notices and their confirmations (Annex 1 rows 12–14), and the link to the class.

- Row 12: once every seat has accepted (`dispatch.accept` opens the center's step, due in 2
  days), the center issues one 《派遣通知书》 per trainer whose seat is not yet notified and one
  《培训师执行任务通知书》 to the institution naming every trainer (`app.services.documents`:
  PDF, number, verification code). A task notice issued before is withdrawn: the new one
  replaces it.
- Row 13: each trainer confirms its own dispatch notice within 2 days (its to-do).
- Row 14: the institution confirms the task notice, or raises an objection with a reason
  (optionally naming the trainer it objects to), within 2 days. An objection is a step for the
  center: replace a trainer — its seat is withdrawn, its days freed, its notice withdrawn, and the
  center chooses another (back to row 10 for that seat) — or answer and keep the choice, which
  puts the task notice back before the institution.
- When every seat is confirmed and the institution confirmed the task notice, the dispatch is
  confirmed and its trainers are put on the class (`classroom.assign_trainer`, lead marked, as
  the center that issued the notices). A replaced trainer already on the class is removed.
Every transition is one `DispatchEvent` (the class page's history) and one audit entry.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from app.extensions import db
from app.labels import N_
from app.services import classroom, documents, review, vocabulary
from app.services import dispatch as dsp
from app.services import recommendation_runs as runs
from app.services.deadlines import due_at
from app.services.errors import Conflict, InvalidValue, NotAllowed
from models.application import TrainingClass
from models.classroom import SOURCE_DISPATCH
from models.dispatch import (
    ACCEPTED,
    CONFIRMED,
    NOTIFIED,
    OBJECTED,
    OPEN_SEATS,
    REQUESTING,
    STAFFED,
    WITHDRAWN,
    Booking,
    Dispatch,
    DispatchSeat,
)
from models.document import DISPATCH_NOTICE, TASK_NOTICE, VALID, IssuedDocument
from models.org import CENTER
from models.user import INSTITUTION, TRAINER, MalanUser
from models.vocabulary import COURSE_TYPE

CONFIRM_DAYS = 2  # rows 13 and 14
TITLES = {DISPATCH_NOTICE: "派遣通知书", TASK_NOTICE: "培训师执行任务通知书"}  # printed titles
PREFIXES = {DISPATCH_NOTICE: "PQ", TASK_NOTICE: "RW"}  # document numbers: PQ-2026-00001
KIND_LABELS = {DISPATCH_NOTICE: _l("Dispatch notice"), TASK_NOTICE: _l("Task notice")}
KEEP_CHOICE, REPLACE_TRAINER = "keep", "replace"
HELD_AFTER_NOTICE = (NOTIFIED, CONFIRMED, OBJECTED)  # seats whose trainer holds a notice


def _confirm_label(task) -> str:
    doc = db.session.get(IssuedDocument, task.record_id)
    if doc is not None and doc.kind == TASK_NOTICE:
        return N_("Confirm the task notice or raise an objection")
    return N_("Confirm the dispatch notice")


NOTICE = review.register(
    review.Kind(
        name="issued_document",
        model=IssuedDocument,
        label=_l("Dispatch notice"),
        record_page="IssuedDocumentView",
        todo_label=_confirm_label,
    )
)


def _due(now: datetime, days: int) -> datetime:
    return due_at(now, days, dsp._mode())


def _held(d: Dispatch) -> list[DispatchSeat]:
    return list(
        db.session.scalars(
            select(DispatchSeat)
            .where(DispatchSeat.dispatch_id == d.id, DispatchSeat.status.in_(OPEN_SEATS))
            .order_by(DispatchSeat.lead.desc(), DispatchSeat.id)
        )
    )


def documents_of(d: Dispatch, valid_only: bool = False) -> list[IssuedDocument]:
    query = select(IssuedDocument).where(
        IssuedDocument.class_id == d.class_id,
        IssuedDocument.kind.in_((DISPATCH_NOTICE, TASK_NOTICE)),
    )
    if valid_only:
        query = query.where(IssuedDocument.status == VALID)
    return list(db.session.scalars(query.order_by(IssuedDocument.id)))


def task_notice_of(d: Dispatch) -> IssuedDocument | None:
    return next((doc for doc in documents_of(d, True) if doc.kind == TASK_NOTICE), None)


def notice_of_seat(seat: DispatchSeat) -> IssuedDocument | None:
    return db.session.scalar(
        select(IssuedDocument)
        .where(IssuedDocument.seat_id == seat.id, IssuedDocument.kind == DISPATCH_NOTICE)
        .order_by(IssuedDocument.id.desc())
        .limit(1)
    )


def _org_of_user(user_id: int) -> int:
    return db.session.scalar(select(MalanUser.org_id).where(MalanUser.id == user_id))


def _close(doc: IssuedDocument, actor, now: datetime, decision: str) -> None:
    """Close the addressee's open confirmation item of a document."""
    org_id = _org_of_user(doc.owner_user_id) if doc.owner_user_id else doc.org_id
    review.close_todo(NOTICE, doc.id, org_id, actor, now, decision)


# ---------------------------------------------------------------- row 12: the center issues


def issue_notices(d: Dispatch, actor, now: datetime) -> list[IssuedDocument]:
    """One 派遣通知书 per accepted seat, one 执行任务通知书 naming every trainer."""
    if not dsp._is_center(actor):
        raise NotAllowed(_("Only the center issues the dispatch notices."))
    if d.status != STAFFED:
        raise Conflict(_("The notices can be issued once every requested trainer has accepted."))
    klass = db.session.get(TrainingClass, d.class_id)
    held = _held(d)
    course = vocabulary.labels(COURSE_TYPE).get(klass.course_type, klass.course_type)
    issuer = actor.org.name
    common = {
        "class_code": klass.code,
        "institution": klass.org.name,
        "course": course,
        "start": klass.start_date.isoformat(),
        "end": klass.end_date.isoformat(),
        "days": (klass.end_date - klass.start_date).days + 1,
        "venue": klass.venue or "",
    }
    names = "、".join(s.profile.name + ("（主讲）" if s.lead else "") for s in held)
    where = {
        "org_id": klass.org_id,
        "actor": actor,
        "issuer_name": issuer,
        "now": now,
        "class_id": klass.id,
        "subject_code": klass.code,
        "start_date": klass.start_date,
        "end_date": klass.end_date,
    }
    issued = []
    for seat in held:
        if seat.status != ACCEPTED:
            continue
        doc = documents.issue(
            kind=DISPATCH_NOTICE,
            title=TITLES[DISPATCH_NOTICE],
            template=DISPATCH_NOTICE,
            prefix=PREFIXES[DISPATCH_NOTICE],
            context=common | {"trainer": seat.profile.name, "lead": seat.lead, "trainers": names},
            owner_user_id=seat.trainer_user_id,
            seat_id=seat.id,
            **where,
        )
        seat.status = NOTIFIED
        review.open_todos(
            NOTICE,
            doc.id,
            TRAINER,
            [_org_of_user(seat.trainer_user_id)],
            now,
            _due(now, CONFIRM_DAYS),
            assignee_id=seat.trainer_user_id,
        )
        dsp._event(d, dsp.ISSUE, actor, now, seat=seat, note=doc.number)
        issued.append(doc)
    old = task_notice_of(d)
    if old is not None:
        _close(old, actor, now, "withdrawn")
        documents.withdraw(old, actor, _("Replaced by a new task notice."), now)
    rows = [
        {
            "name": s.profile.name,
            "lead": s.lead,
            "org": s.profile.org.name if s.profile.org else "",
            "course": course,
        }
        for s in held
    ]
    task = documents.issue(
        kind=TASK_NOTICE,
        title=TITLES[TASK_NOTICE],
        template=TASK_NOTICE,
        prefix=PREFIXES[TASK_NOTICE],
        context=common | {"trainer_rows": rows},
        **where,
    )
    review.open_todos(NOTICE, task.id, INSTITUTION, [klass.org_id], now, _due(now, CONFIRM_DAYS))
    dsp._event(d, dsp.ISSUE, actor, now, note=task.number)
    issued.append(task)
    d.status = NOTIFIED
    review.close_todo(dsp.DISPATCH, d.id, dsp._center_org_id(), actor, now, dsp.ISSUE)
    return issued


# ---------------------------------------------------------------- rows 13–14: confirmations


def _check_addressee(doc: IssuedDocument, actor) -> None:
    if doc.kind == DISPATCH_NOTICE:
        if actor.id != doc.owner_user_id:
            raise NotAllowed(_("This notice is addressed to another trainer."))
    elif doc.kind == TASK_NOTICE:
        if actor.role_kind != INSTITUTION or actor.org_id != doc.org_id:
            raise NotAllowed(_("Only the class's institution confirms its task notice."))
    else:
        raise NotAllowed(_("This document needs no confirmation."))


def _dispatch_of(doc: IssuedDocument) -> Dispatch:
    return db.session.scalar(select(Dispatch).where(Dispatch.class_id == doc.class_id))


def confirm(doc: IssuedDocument, actor, now: datetime) -> None:
    """The addressee confirms: a trainer its 派遣通知书, the institution the 执行任务通知书."""
    _check_addressee(doc, actor)
    d = _dispatch_of(doc)
    if doc.kind == TASK_NOTICE and d.status == OBJECTED:
        raise Conflict(_("The center has not answered the objection yet."))
    documents.mark_confirmed(doc, actor, now)
    _close(doc, actor, now, dsp.CONFIRM)
    seat = db.session.get(DispatchSeat, doc.seat_id) if doc.seat_id else None
    if seat is not None and seat.status == NOTIFIED:
        seat.status = CONFIRMED
    dsp._event(d, dsp.CONFIRM, actor, now, seat=seat, note=doc.number)
    db.session.flush()
    _complete_if_confirmed(d, actor, now)


def object_to(doc: IssuedDocument, actor, reason: str, seat_id: int | None, now: datetime) -> None:
    """The institution objects to the task notice, with a reason (and the trainer concerned)."""
    if doc.kind != TASK_NOTICE:
        raise NotAllowed(_("Only the task notice can be objected to."))
    _check_addressee(doc, actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidValue(_("Reason: required to raise an objection."), field="reason")
    if doc.status != VALID:
        raise Conflict(_("This document has been withdrawn."))
    if doc.confirmed_at is not None:
        raise Conflict(_("This document is already confirmed."))
    d = _dispatch_of(doc)
    if d.status != NOTIFIED:
        raise Conflict(_("An objection is already waiting for the center's answer."))
    seat = None
    if seat_id is not None:
        seat = db.session.get(DispatchSeat, seat_id)
        if seat is None or seat.dispatch_id != d.id or seat.status not in HELD_AFTER_NOTICE:
            raise InvalidValue(_("Trainer concerned: not a trainer of this notice."), field="seat")
        seat.status = OBJECTED
    d.status, d.objection, d.objection_answer = OBJECTED, reason, None
    _close(doc, actor, now, dsp.OBJECT)
    review.open_todos(
        dsp.DISPATCH,
        d.id,
        CENTER,
        [dsp._center_org_id()],
        now,
        _due(now, dsp.ANSWER_OBJECTION_DAYS),
    )
    dsp._event(d, dsp.OBJECT, actor, now, seat=seat, note=reason)


def answer_objection(
    d: Dispatch, actor, decision: str, seat_id: int | None, answer: str, now: datetime
) -> None:
    """The center keeps its choice (with an answer) or replaces one trainer."""
    if not dsp._is_center(actor):
        raise NotAllowed(_("Only the center answers an objection."))
    if d.status != OBJECTED:
        raise Conflict(_("No objection is waiting for an answer."))
    answer = (answer or "").strip()
    held = {s.id: s for s in _held(d)}
    if decision == KEEP_CHOICE:
        if not answer:
            raise InvalidValue(_("Answer: required to keep the choice."), field="answer")
        for seat in held.values():
            if seat.status == OBJECTED:
                notice = notice_of_seat(seat)
                seat.status = CONFIRMED if notice and notice.confirmed_at else NOTIFIED
        d.status, d.objection_answer = NOTIFIED, answer
        review.close_todo(dsp.DISPATCH, d.id, dsp._center_org_id(), actor, now, dsp.KEEP)
        task = task_notice_of(d)
        review.open_todos(NOTICE, task.id, INSTITUTION, [d.org_id], now, _due(now, CONFIRM_DAYS))
        dsp._event(d, dsp.KEEP, actor, now, note=answer)
        return
    if decision != REPLACE_TRAINER:
        raise InvalidValue(_("Choose: keep the choice or replace a trainer."), field="decision")
    seat = held.get(seat_id)
    if seat is None:
        raise InvalidValue(_("Trainer to replace: choose one of the class's trainers."), "seat")
    _withdraw_seat(d, seat, actor, answer or d.objection or "", now)
    for other in held.values():  # the other seats objected to stay as they were
        if other is not seat and other.status == OBJECTED:
            notice = notice_of_seat(other)
            other.status = CONFIRMED if notice and notice.confirmed_at else NOTIFIED
    task = task_notice_of(d)
    if task is not None:  # it names the replaced trainer: a new one comes with the next issue
        documents.withdraw(task, actor, _("A trainer was replaced."), now)
    d.status, d.objection_answer = REQUESTING, answer or None
    # The center's open step stays: it now reads "choose the trainers" (back to row 10).


def _withdraw_seat(d: Dispatch, seat: DispatchSeat, actor, reason: str, now: datetime) -> None:
    notice = notice_of_seat(seat)
    if notice is not None:
        _close(notice, actor, now, "withdrawn")
        documents.withdraw(notice, actor, reason, now)
    seat.status, seat.withdrawn_at = WITHDRAWN, now
    db.session.execute(delete(Booking).where(Booking.seat_id == seat.id))
    klass = db.session.get(TrainingClass, d.class_id)
    runs.note_change(seat.profile_id, [klass.start_date, klass.end_date], now)
    row = classroom.trainer_row(db.session.get(MalanUser, seat.trainer_user_id), klass)
    if row is not None:
        classroom.remove_trainer(row, actor, now)
    dsp._event(d, dsp.REPLACE, actor, now, seat=seat, note=reason)


# ---------------------------------------------------------------- the link to the class


def _complete_if_confirmed(d: Dispatch, actor, now: datetime) -> None:
    held = _held(d)
    task = task_notice_of(d)
    if (
        len(held) != d.wanted
        or any(s.status != CONFIRMED for s in held)
        or task is None
        or task.confirmed_at is None
    ):
        return
    d.status = CONFIRMED
    klass = db.session.get(TrainingClass, d.class_id)
    center = db.session.get(MalanUser, task.issued_by_id)  # the center's act, by its issuer
    for seat in held:
        user = db.session.get(MalanUser, seat.trainer_user_id)
        if classroom.trainer_row(user, klass) is None:
            classroom.assign_trainer(
                klass, center, now, user=user, is_lead=seat.lead, source=SOURCE_DISPATCH
            )
    dsp._event(d, dsp.COMPLETE, actor, now)
