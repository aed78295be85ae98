"""已结班: a closed class is read-only everywhere — checked in this one place.

A class is closed when the center enters its qualified lecturers into the faculty pool
(`app.services.pool_entry`). From then on no write may touch the class or the records of its
running — trainers, trainees (and their imports), needs analyses, evaluation forms, reminders
and responses, trial scores, the grade sheet — whichever service or view attempts it: a flush that would is refused with a
Chinese message (a `Conflict`, which the views show like any refusal) and the caller's
transaction rolls back. The certificates and their issued documents stay writable (a
certificate may still be withdrawn). ``check_open`` lets a page refuse before it starts.
"""

from __future__ import annotations

from itertools import chain

from flask_babel import gettext as _
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.services.errors import Conflict
from models.application import TrainingClass
from models.classroom import ClassTrainee, ClassTrainer, EvaluationSubmission, NeedsAnalysis
from models.evaluation_results import EvaluationReminder, EvaluationResponse
from models.grades import GradeEntry, GradeSheet, TrialScore

# The records of a class's running: each carries ``class_id``. (Its dispatch and issued
# documents are not among them: a notice or a certificate may still be withdrawn.)
GUARDED = (
    ClassTrainer,
    ClassTrainee,
    NeedsAnalysis,
    EvaluationSubmission,
    EvaluationReminder,
    EvaluationResponse,
    TrialScore,
    GradeSheet,
)


def refusal(klass_code: str) -> Conflict:
    return Conflict(
        _(
            "Class %(code)s is closed (its lecturers are in the faculty pool): it is read-only.",
            code=klass_code,
        )
    )


def is_closed(klass: TrainingClass | None) -> bool:
    return klass is not None and klass.closed_at is not None


def check_open(klass: TrainingClass) -> None:
    if is_closed(klass):
        raise refusal(klass.code)


def _class_ids(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, GUARDED):
            ids.add(obj.class_id)
        elif isinstance(obj, GradeEntry):
            sheet = obj.sheet
            if sheet is not None:
                ids.add(sheet.class_id)
        elif isinstance(obj, TrainingClass) and obj in session.dirty:
            state = inspect(obj)
            closing = state.attrs.closed_at.history.has_changes()
            if obj.closed_at is not None and not closing and session.is_modified(obj):
                ids.add(obj.id)
    ids.discard(None)
    return ids


@event.listens_for(Session, "before_flush")
def _refuse_writes_to_closed_classes(session, flush_context, instances):
    ids = _class_ids(session)
    if not ids:
        return
    with session.no_autoflush:
        code = session.scalar(
            select(TrainingClass.code)
            .where(TrainingClass.id.in_(ids), TrainingClass.closed_at.isnot(None))
            .limit(1)
        )
    if code is not None:
        raise refusal(code)
