"""The institution's feedback on the trainers (培训师授课意见反馈表, Annex 1 row 21).

- **The form is data**: a `Questionnaire` of kind ``trainer_feedback`` (the center keeps its
  versions on the questionnaire page, like the trainees' forms; a class uses the version in force
  when it started), with 1–5 scales and free text, checked by the trainees' own rules
  (`evaluations.clean_answers`); its per-trainer flag means nothing here (one form per trainer).
- **One per trainer of the class**: putting a trainer (with an account) on a class opens its
  form and the institution's to-do "give feedback on the trainer", due 3 days after the class's
  last day (late: on the overdue board). The institution fills it from the class's last day on,
  once; a class not finished yet, or closed, is refused.
- **The score**: the mean of the form's scale answers, kept on the row; with the trainees'
  per-trainer scores it feeds the dispatch recommendation (`recommendation.feedback_scores`).
- **Who**: the center, the class's province, city and institution read every form; a trainer
  reads its own scores (not the free text, nor who wrote it); anyone else gets a 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import classroom, evaluations, review
from app.services.activity_reports import closed, due_after_end
from app.services.errors import Conflict, NotAllowed
from app.services.tx import transaction
from models.after_class import TrainerFeedback
from models.application import TrainingClass
from models.classroom import SCALE, TEXT, Questionnaire
from models.user import CENTER, CITY, INSTITUTION, PROVINCE, TRAINER

KIND = evaluations.TRAINER_FEEDBACK_FORM  # the questionnaire's kind (the center keeps versions)
AUTHORITIES = (CENTER, PROVINCE, CITY, INSTITUTION)
SATISFACTION = evaluations.SATISFACTION
# Version 1 (migration 0016 inserts a snapshot of it).
DEFAULT_TITLE = "培训师授课意见反馈表"
DEFAULT_QUESTIONS = [
    {"type": SCALE, "text": "教学准备与课程设计", "options": SATISFACTION},
    {"type": SCALE, "text": "授课内容的专业性与实用性", "options": SATISFACTION},
    {"type": SCALE, "text": "授课方法与课堂互动", "options": SATISFACTION},
    {"type": SCALE, "text": "遵守培训纪律与时间安排", "options": SATISFACTION},
    {"type": SCALE, "text": "总体评价", "options": SATISFACTION},
    {"type": TEXT, "text": "主要优点", "options": []},
    {"type": TEXT, "text": "意见和改进建议", "options": []},
]


def default_questions() -> list[dict]:
    return [
        {
            "key": f"q{n}",
            "type": q["type"],
            "required": q["type"] == SCALE,
            "per_trainer": False,
            "text": q["text"],
            "options": list(q["options"]),
        }
        for n, q in enumerate(DEFAULT_QUESTIONS, 1)
    ]


def seed_defaults(now: datetime, session=None) -> None:
    """Version 1 of the form where none exists (a fresh database, the test world)."""
    session = session or db.session
    if session.scalar(select(func.count()).where(Questionnaire.kind == KIND)):
        return
    session.add(
        Questionnaire(
            kind=KIND,
            version=1,
            title=DEFAULT_TITLE,
            questions=json.dumps(default_questions(), ensure_ascii=False),
            created_at=now,
        )
    )
    session.flush()


# ---------------------------------------------------------------- opened with each trainer


def _todo_label(task) -> str:
    return N_("Give feedback on the trainer's teaching")


def feedback_of(klass: TrainingClass, user_id: int) -> TrainerFeedback | None:
    return db.session.scalar(
        select(TrainerFeedback).where(
            TrainerFeedback.class_id == klass.id, TrainerFeedback.trainer_user_id == user_id
        )
    )


def _trainer_added(klass: TrainingClass, row, now: datetime) -> None:
    """`classroom.ON_TRAINER_ADDED`: the trainer's form and the institution's to-do."""
    if row.user_id is None or feedback_of(klass, row.user_id) is not None:
        return
    questionnaire = evaluations.version_for(klass, KIND)
    if questionnaire is None:  # a schema made without migration 0016
        seed_defaults(datetime(2020, 1, 1))
        questionnaire = evaluations.version_for(klass, KIND)
    record = TrainerFeedback(
        class_id=klass.id,
        org_id=klass.org_id,
        trainer_user_id=row.user_id,
        questionnaire_id=questionnaire.id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    review.open_todos(
        TRAINER_FEEDBACK, record.id, INSTITUTION, [klass.org_id], now, due_after_end(klass)
    )


def _trainer_removed(klass: TrainingClass, row, actor, now: datetime) -> None:
    """`classroom.ON_TRAINER_REMOVED` (before the start): its empty form and item go too."""
    record = feedback_of(klass, row.user_id) if row.user_id is not None else None
    if record is not None and record.submitted_at is None:
        review.discard(record)
        db.session.delete(record)


classroom.ON_TRAINER_ADDED.append(_trainer_added)
classroom.ON_TRAINER_REMOVED.append(_trainer_removed)


# ---------------------------------------------------------------- who reads


def may_read_all(user, klass: TrainingClass) -> bool:
    """The center and the class's province, city and institution: every form, free text too."""
    return (
        user is not None
        and getattr(user, "role_kind", None) in AUTHORITIES
        and classroom.may_see_class(user, klass)
    )


def visible(user, record: TrainerFeedback | None) -> bool:
    if record is None:
        return False
    klass = record.training_class
    if may_read_all(user, klass):
        return True
    return getattr(user, "role_kind", None) == TRAINER and record.trainer_user_id == user.id


def visible_record(user, pk) -> TrainerFeedback | None:
    try:
        record = db.session.get(TrainerFeedback, int(pk))
    except (TypeError, ValueError):
        return None
    return record if visible(user, record) else None


def visible_class(user, class_id) -> TrainingClass | None:
    """The class whose feedback ``user`` may read (a trainer: its own class)."""
    klass = classroom.visible_class(user, class_id)
    if klass is None or getattr(user, "role_kind", None) not in (*AUTHORITIES, TRAINER):
        return None
    return klass


def feedbacks_of(klass: TrainingClass, user) -> list[TrainerFeedback]:
    """The class's forms the user may read: all of them, or a trainer's own."""
    query = select(TrainerFeedback).where(TrainerFeedback.class_id == klass.id)
    if not may_read_all(user, klass):
        query = query.where(TrainerFeedback.trainer_user_id == user.id)
    return list(db.session.scalars(query.order_by(TrainerFeedback.id)))


@dataclass
class Form:
    """What the page shows of one form: questions, the answers typed or kept."""

    record: TrainerFeedback
    questions: list[dict]
    answers: dict  # question key -> [value]
    full: bool  # the free text shown (not to the trainer)

    def items(self):
        """(input name, question, trainer name, number): the shape `evaluations` checks."""
        for n, q in enumerate(self.questions, 1):
            yield q["key"], q, None, n

    def shown(self):
        """(number, question, answer) as the reader may see them."""
        for n, q in enumerate(self.questions, 1):
            if q["type"] == TEXT and not self.full:
                continue
            yield n, q, (self.answers.get(q["key"]) or [""])[0]


def form_of(record: TrainerFeedback, user, typed: dict | None = None) -> Form:
    stored = json.loads(record.answers or "{}")
    answers = typed if typed is not None else {k: [str(v)] for k, v in stored.items()}
    return Form(
        record,
        evaluations.questions(record.questionnaire),
        answers,
        may_read_all(user, record.training_class),
    )


# ---------------------------------------------------------------- the institution fills it


def _check_may_fill(record: TrainerFeedback, actor, now: datetime) -> None:
    klass = record.training_class
    if actor is None or actor.role_kind != INSTITUTION or actor.org_id != klass.org_id:
        raise NotAllowed(_("Only the institution running the class gives this feedback."))
    if closed(klass):
        raise NotAllowed(_("Class %(code)s is closed: it can no longer change.", code=klass.code))
    if now.date() < klass.end_date:
        raise NotAllowed(
            _(
                "Class %(code)s has not finished yet: the feedback on its trainers is given "
                "from its last day (%(day)s) on.",
                code=klass.code,
                day=klass.end_date.isoformat(),
            )
        )
    if record.submitted_at is not None:
        raise Conflict(_already_sent(record))


def _already_sent(record) -> str:
    return _(
        "This feedback was already submitted at %(t)s.",
        t=record.submitted_at.strftime("%Y-%m-%d %H:%M"),
    )


def submit(record: TrainerFeedback, actor, raw: dict, now: datetime) -> TrainerFeedback:
    """The institution's form on one trainer, submitted once (all answers or nothing)."""
    _check_may_fill(record, actor, now)
    form = form_of(record, actor)
    rows = evaluations.clean_answers(form, {k: _listed(v) for k, v in raw.items()})
    answers = {r["question"]: r.get("score", r.get("text", r.get("choice"))) for r in rows}
    scores = [r["score"] for r in rows if r.get("score") is not None]
    with transaction():
        # Of two submissions at once (two tabs), only one finds the form still open.
        claimed = db.session.execute(
            update(TrainerFeedback)
            .where(TrainerFeedback.id == record.id, TrainerFeedback.submitted_at.is_(None))
            .values(
                answers=json.dumps(answers, ensure_ascii=False),
                score=round(sum(scores) / len(scores), 2) if scores else None,
                submitted_at=now,
                submitted_by_id=actor.id,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            db.session.refresh(record)
            raise Conflict(_already_sent(record))
        klass = record.training_class
        review.close_todo(TRAINER_FEEDBACK, record.id, klass.org_id, actor, now, review.SUBMIT)
        audit.record(
            db.session,
            "trainer_feedback",
            object_type="TrainerFeedback",
            object_id=record.id,
            user=actor,
            now=now,
            summary=f"{klass.code}: {record.trainer.full_name}",
        )
    db.session.expire(record)
    return record


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


TRAINER_FEEDBACK = review.register(
    review.Kind(
        name="trainer_feedback",
        model=TrainerFeedback,
        label=_l("Feedback on the trainer's teaching"),
        record_page="TrainerFeedbackView",
        todo_label=_todo_label,
    )
)
