"""Watching and answering the evaluation forms (Annex 1 row 18).

- **Who reads a class's results**: the center, the class's province and city and its institution
  (the scope of ``training_class``), and the class's trainers — from the first day on, every day
  of the class, at any time. A trainee never (its own answers are on its form). Anyone else gets
  the same refusal as for a class that does not exist (the view answers 404).
- **Anonymity (SPEC §9)**: trainers read the answers without names; the institution and the
  authorities above it read them with names. The trainee's form says so.
- **What is shown for a day**: per form due that day, the trainees who have not submitted it,
  and per question (per trainer for a per-trainer question) the number of answers, the mean of a
  scale and the distribution over its points or options; the free-text answers. Drafts count
  for nothing until submitted.
- **Reminders** (催填): the institution and the class's trainers remind a trainee who has not
  submitted a form that is still open; the reminder sits at the top of the trainee's home page
  until the form is submitted or closes.
- **Responses** (回复): the institution and the class's trainers answer a day's feedback; the
  class's trainees read the responses on their home page and on that day's forms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.labels import role_label
from app.services import evaluations
from app.services.classroom import may_see_class, trainees_of, trainer_row, trainers_of
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.application import TrainingClass
from models.classroom import (
    FORM_KINDS,
    MULTIPLE,
    SCALE,
    SINGLE,
    SUBMITTED,
    TEXT,
    ClassTrainee,
    EvaluationAnswer,
    EvaluationSubmission,
)
from models.evaluation_results import EvaluationReminder, EvaluationResponse
from models.user import CENTER, CITY, INSTITUTION, PROVINCE, TRAINER, MalanUser

READERS = (CENTER, PROVINCE, CITY, INSTITUTION, TRAINER)
RESPONSE_LIMIT = 2000  # characters of one response
HOME_RESPONSES = 5  # latest responses on a trainee's home page


# ---------------------------------------------------------------- who


def _refused() -> NotAllowed:
    return NotAllowed(_("These results belong to a class you do not follow."))


def readable_class(user, class_id) -> TrainingClass:
    """The class whose results ``user`` may read; `NotAllowed` otherwise (the view: 404)."""
    if user is None or getattr(user, "role_kind", None) not in READERS:
        raise _refused()
    try:
        klass = db.session.get(TrainingClass, int(class_id))
    except (TypeError, ValueError):
        klass = None
    if not may_see_class(user, klass):  # its trainers only; the tree's users by scope
        raise _refused()
    return klass


def names_shown(user) -> bool:
    """Trainers read answers without names (SPEC §9); the institution and authorities with."""
    return user.role_kind != TRAINER


def may_answer(user, klass: TrainingClass) -> bool:
    """Remind and respond: the class's own institution and the class's trainers."""
    if user.role_kind == INSTITUTION:
        return user.org_id == klass.org_id
    return trainer_row(user, klass) is not None


def class_days(klass: TrainingClass, today: date) -> list[date]:
    """The class's days up to today (the days that may have results)."""
    days, day = [], klass.start_date
    while day <= min(klass.end_date, today):
        days.append(day)
        day += timedelta(days=1)
    return days


def check_day(klass: TrainingClass, day: date) -> None:
    if not klass.start_date <= day <= klass.end_date:
        raise NotAllowed(_("%(day)s is not a day of this class.", day=day.isoformat()))


# ---------------------------------------------------------------- results


@dataclass
class Row:
    """One question's numbers, or one trainer's numbers for a per-trainer question."""

    trainer: str | None
    count: int = 0
    total: int = 0  # sum of the scores (scale)
    distribution: list[int] = field(default_factory=list)  # per point or option

    @property
    def mean(self) -> float | None:
        return round(self.total / self.count, 2) if self.count and self.total else None


@dataclass
class QuestionResult:
    number: int
    key: str
    text: str
    type: str
    per_trainer: bool
    labels: list[str]  # of the points (scale) or options (choice)
    rows: list[Row]
    texts: list[tuple[str | None, str]] = field(default_factory=list)  # (name or None, answer)

    def chart(self) -> dict:
        """What the page's chart draws: one series per row over the points or options."""
        return {
            "labels": [
                f"{n} · {label}" if self.type == SCALE else label
                for n, label in enumerate(self.labels, 1)
            ],
            "series": [
                {"name": r.trainer or str(_("All answers")), "data": r.distribution}
                for r in self.rows
            ],
        }


@dataclass
class Missing:
    trainee: ClassTrainee
    status: str | None  # None (not started) or draft
    reminded_at: datetime | None
    reminders: int


@dataclass
class FormResults:
    kind: str
    day: date
    questionnaire_title: str
    expected: int  # the class's trainees
    submitted: int
    questions: list[QuestionResult]
    missing: list[Missing]
    open: bool  # still accepting submissions (reminders are useful)
    closes_at: datetime
    # Each submitted form with its trainee's name, for the readers who see names (else empty).
    columns: list[str] = field(default_factory=list)
    individual: list[tuple[str, datetime, list[str]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(evaluations.FORM_LABELS[self.kind])


@dataclass
class DayResults:
    klass: TrainingClass
    day: date
    days: list[date]
    forms: list[FormResults]
    responses: list[EvaluationResponse]
    names: bool
    may_answer: bool


def day_results(user, class_id, day: date, now: datetime) -> DayResults:
    """Everything the results page shows for one class day, for ``user``."""
    klass = readable_class(user, class_id)
    check_day(klass, day)
    names = names_shown(user)
    trainees = trainees_of(klass)
    trainers = [(t.user_id, repr(t)) for t in trainers_of(klass) if t.user_id is not None]
    forms = [
        _form_results(klass, kind, day, trainees, trainers, names, now)
        for kind in evaluations.forms_on(klass, day)
    ]
    return DayResults(
        klass,
        day,
        class_days(klass, now.date()),
        forms,
        responses_of(klass, day),
        names,
        may_answer(user, klass),
    )


def _form_results(klass, kind, day, trainees, trainers, names, now) -> FormResults:
    questionnaire = evaluations.version_for(klass, kind)
    statuses = {
        user_id: status
        for user_id, status in db.session.execute(
            select(EvaluationSubmission.user_id, EvaluationSubmission.status).where(
                EvaluationSubmission.class_id == klass.id,
                EvaluationSubmission.kind == kind,
                EvaluationSubmission.day == day,
            )
        )
    }
    reminders = {
        r.user_id: r
        for r in db.session.scalars(
            select(EvaluationReminder).where(
                EvaluationReminder.class_id == klass.id,
                EvaluationReminder.kind == kind,
                EvaluationReminder.day == day,
            )
        )
    }
    missing = [
        Missing(
            t,
            statuses.get(t.user_id),
            reminders[t.user_id].sent_at if t.user_id in reminders else None,
            reminders[t.user_id].times if t.user_id in reminders else 0,
        )
        for t in trainees
        if statuses.get(t.user_id) != SUBMITTED
    ]
    submitted = sum(1 for t in trainees if statuses.get(t.user_id) == SUBMITTED)
    items = evaluations.questions(questionnaire)
    result = FormResults(
        kind=kind,
        day=day,
        questionnaire_title=f"{questionnaire.title} v{questionnaire.version}",
        expected=len(trainees),
        submitted=submitted,
        questions=aggregate(klass, kind, day, items, trainers, names),
        missing=missing,
        open=now.date() == day and now <= evaluations.closes_at(day),
        closes_at=evaluations.closes_at(day),
    )
    if names:
        result.columns, result.individual = individual_forms(klass, kind, day, items, trainers)
    return result


def individual_forms(klass, kind, day, items, trainers):
    """Every submitted form of the day as a row (name, submitted at, one cell per answer asked),
    for the institution and the authorities: they see every form with its trainee's name."""
    asked = []  # (question key, trainer id or None, column title)
    for number, q in enumerate(items, 1):
        if q["per_trainer"]:
            asked += [(q["key"], tid, f"{number}. {name}") for tid, name in trainers]
        else:
            asked.append((q["key"], None, str(number)))
    forms = db.session.execute(
        select(EvaluationSubmission.id, ClassTrainee.name, EvaluationSubmission.submitted_at)
        .join(ClassTrainee, ClassTrainee.id == EvaluationSubmission.trainee_id)
        .where(
            EvaluationSubmission.class_id == klass.id,
            EvaluationSubmission.kind == kind,
            EvaluationSubmission.day == day,
            EvaluationSubmission.status == SUBMITTED,
        )
        .order_by(ClassTrainee.name)
    ).all()
    cells = defaultdict(dict)
    if forms:
        by_key = {q["key"]: q for q in items}
        for a in db.session.scalars(
            select(EvaluationAnswer).where(
                EvaluationAnswer.submission_id.in_([f[0] for f in forms])
            )
        ):
            q = by_key.get(a.question)
            if q is None:
                continue
            if a.score is not None:
                shown = str(a.score)
            elif a.choice:
                picked = [int(p) for p in a.choice.split(";") if p.isdigit()]
                shown = "、".join(
                    q["options"][p - 1] for p in picked if 1 <= p <= len(q["options"])
                )
            else:
                shown = a.text or ""
            cells[a.submission_id][(a.question, a.trainer_id)] = shown
    rows = [
        (name, at, [cells[sid].get((key, tid), "") for key, tid, _title in asked])
        for sid, name, at in forms
    ]
    return [title for _k, _t, title in asked], rows


def aggregate(klass, kind, day, items, trainers, names) -> list[QuestionResult]:
    """Count, mean and distribution of each question over the day's submitted forms, per
    trainer for a per-trainer question; the free-text answers (with names when ``names``)."""
    submitted = (
        select(EvaluationSubmission.id)
        .where(
            EvaluationSubmission.class_id == klass.id,
            EvaluationSubmission.kind == kind,
            EvaluationSubmission.day == day,
            EvaluationSubmission.status == SUBMITTED,
        )
        .scalar_subquery()
    )
    answered = EvaluationAnswer.submission_id.in_(submitted)
    # Scores and choices, counted by the database: one row per distinct answer.
    counted = db.session.execute(
        select(
            EvaluationAnswer.question,
            EvaluationAnswer.trainer_id,
            EvaluationAnswer.score,
            EvaluationAnswer.choice,
            func.count(),
        )
        .where(answered, EvaluationAnswer.text.is_(None))
        .group_by(
            EvaluationAnswer.question,
            EvaluationAnswer.trainer_id,
            EvaluationAnswer.score,
            EvaluationAnswer.choice,
        )
    ).all()
    by_key = defaultdict(list)
    for question, trainer_id, score, choice, count in counted:
        by_key[(question, trainer_id)].append((score, choice, count))
    names_of = dict(trainers)
    extra = {t for _q, t, *_ in counted if t is not None and t not in names_of}
    if extra:  # a trainer removed from the class after being rated keeps its results
        names_of |= {
            u.id: u.full_name
            for u in db.session.scalars(select(MalanUser).where(MalanUser.id.in_(extra)))
        }
    texts = _texts(answered, names)

    out = []
    for number, q in enumerate(items, 1):
        labels = list(q["options"]) if q["type"] != TEXT else []
        result = QuestionResult(
            number, q["key"], q["text"], q["type"], q["per_trainer"], labels, []
        )
        if q["type"] == TEXT:
            result.texts = texts.get(q["key"], [])
            out.append(result)
            continue
        keys = [(tid, names_of[tid]) for tid in names_of] if q["per_trainer"] else [(None, None)]
        for trainer_id, trainer_name in keys:
            row = Row(trainer_name, distribution=[0] * len(labels))
            for score, choice, count in by_key.get((q["key"], trainer_id), []):
                if q["type"] == SCALE and score is not None and 1 <= score <= len(labels):
                    row.count += count
                    row.total += score * count
                    row.distribution[score - 1] += count
                elif q["type"] in (SINGLE, MULTIPLE) and choice:
                    row.count += count  # respondents; a multiple choice counts each option
                    for picked in choice.split(";"):
                        if picked.isdigit() and 1 <= int(picked) <= len(labels):
                            row.distribution[int(picked) - 1] += count
            result.rows.append(row)
        out.append(result)
    return out


def _texts(answered, names) -> dict[str, list[tuple[str | None, str]]]:
    query = (
        select(EvaluationAnswer.question, EvaluationAnswer.text, ClassTrainee.name)
        .join(EvaluationSubmission, EvaluationSubmission.id == EvaluationAnswer.submission_id)
        .join(ClassTrainee, ClassTrainee.id == EvaluationSubmission.trainee_id)
        .where(answered, EvaluationAnswer.text.is_not(None), EvaluationAnswer.text != "")
    )
    out = defaultdict(list)
    if names:
        for question, text, name in db.session.execute(query.order_by(ClassTrainee.name)):
            out[question].append((name, text))
    else:
        # Without names, and in an order that says nothing about who wrote what or when.
        for question, text, _name in db.session.execute(query.order_by(EvaluationAnswer.text)):
            out[question].append((None, text))
    return out


# ---------------------------------------------------------------- reminders


def remind(user, class_id, kind: str, day: date, trainee_ids, now: datetime) -> int:
    """Remind the given trainees (``ClassTrainee`` ids; None: every trainee who has not
    submitted) to fill in the form. Returns how many were reminded."""
    klass = readable_class(user, class_id)
    if not may_answer(user, klass):
        raise NotAllowed(_("Only the class's institution and trainers send reminders."))
    if kind not in FORM_KINDS:
        raise InvalidValue(_("Unknown form."), field="kind")
    try:
        evaluations.check_window(klass, kind, day, now)
    except NotAllowed as exc:
        raise NotAllowed(_("No reminder: %(reason)s", reason=str(exc))) from None
    if now.date() != day:
        raise NotAllowed(_("A reminder is for today's form only."))
    trainees = trainees_of(klass)
    if trainee_ids is not None:
        wanted = {int(i) for i in trainee_ids}
        trainees = [t for t in trainees if t.id in wanted]
        if len(trainees) != len(wanted):
            raise NotAllowed(_("This trainee is not on the class."))
    done = {
        uid
        for uid in db.session.scalars(
            select(EvaluationSubmission.user_id).where(
                EvaluationSubmission.class_id == klass.id,
                EvaluationSubmission.kind == kind,
                EvaluationSubmission.day == day,
                EvaluationSubmission.status == SUBMITTED,
            )
        )
    }
    targets = [t for t in trainees if t.user_id not in done]
    if not targets:
        raise Conflict(
            _("This trainee has already submitted the form.")
            if trainee_ids is not None
            else _("Everyone has responded.")
        )
    with transaction() as session:
        existing = {
            r.user_id: r
            for r in session.scalars(
                select(EvaluationReminder).where(
                    EvaluationReminder.class_id == klass.id,
                    EvaluationReminder.kind == kind,
                    EvaluationReminder.day == day,
                )
            )
        }
        for t in targets:
            row = existing.get(t.user_id)
            if row is None:
                session.add(
                    EvaluationReminder(
                        class_id=klass.id,
                        org_id=klass.org_id,
                        user_id=t.user_id,
                        kind=kind,
                        day=day,
                        times=1,
                        sent_at=now,
                        sent_by_id=user.id,
                    )
                )
            else:
                row.times, row.sent_at, row.sent_by_id = row.times + 1, now, user.id
        try:
            session.flush()
        except IntegrityError:  # another reader reminded the same trainee at the same moment
            raise Conflict(
                _("Someone else sent this reminder just now; reload the page.")
            ) from None
    return len(targets)


@dataclass(frozen=True)
class Reminder:
    klass: TrainingClass
    kind: str
    day: date
    sent_at: datetime
    sender: str  # the sender's role, as the trainee reads it
    closes_at: datetime

    @property
    def label(self) -> str:
        return str(evaluations.FORM_LABELS[self.kind])


def reminders_for(user, now: datetime) -> list[Reminder]:
    """A trainee's reminders still to act on: today's forms, open, not submitted."""
    today = now.date()
    if now > evaluations.closes_at(today):
        return []
    rows = db.session.execute(
        select(EvaluationReminder, TrainingClass, EvaluationSubmission.status)
        .join(TrainingClass, TrainingClass.id == EvaluationReminder.class_id)
        .join(
            ClassTrainee,
            (ClassTrainee.class_id == EvaluationReminder.class_id)
            & (ClassTrainee.user_id == EvaluationReminder.user_id),
        )
        .outerjoin(
            EvaluationSubmission,
            (EvaluationSubmission.class_id == EvaluationReminder.class_id)
            & (EvaluationSubmission.user_id == EvaluationReminder.user_id)
            & (EvaluationSubmission.kind == EvaluationReminder.kind)
            & (EvaluationSubmission.day == EvaluationReminder.day),
        )
        .where(
            EvaluationReminder.user_id == user.id,
            EvaluationReminder.day == today,
            ClassTrainee.withdrawn_at.is_(None),
        )
        .order_by(EvaluationReminder.sent_at.desc())
    ).all()
    return [
        Reminder(
            klass,
            r.kind,
            r.day,
            r.sent_at,
            _sender(r.sent_by),
            evaluations.closes_at(r.day),
        )
        for r, klass, status in rows
        if status != SUBMITTED
    ]


def _sender(author) -> str:
    if author is None:
        return ""
    if author.role_kind == INSTITUTION:
        return author.org.name if author.org else role_label(INSTITUTION)
    return f"{role_label(author.role_kind)} {author.full_name}"


# ---------------------------------------------------------------- responses


def respond(user, class_id, day: date, text: str, now: datetime) -> EvaluationResponse:
    """The institution's or a trainer's response to a day's feedback, read by the trainees."""
    klass = readable_class(user, class_id)
    if not may_answer(user, klass):
        raise NotAllowed(_("Only the class's institution and trainers respond to the feedback."))
    check_day(klass, day)
    if day > now.date():
        raise NotAllowed(_("This day has not come yet: there is no feedback to respond to."))
    text = (text or "").strip()
    if not text:
        raise InvalidValue(_("Write the response."), field="text")
    if len(text) > RESPONSE_LIMIT:
        raise InvalidValue(
            _(
                "The response has at most %(n)d characters (this one has %(found)d).",
                n=RESPONSE_LIMIT,
                found=len(text),
            ),
            field="text",
        )
    with transaction() as session:
        record = EvaluationResponse(
            class_id=klass.id,
            org_id=klass.org_id,
            day=day,
            author_id=user.id,
            author_role=user.role_kind,
            text=text,
            created_at=now,
        )
        session.add(record)
    return record


def responses_of(klass: TrainingClass, day: date | None = None) -> list[EvaluationResponse]:
    query = select(EvaluationResponse).where(EvaluationResponse.class_id == klass.id)
    if day is not None:
        query = query.where(EvaluationResponse.day == day)
    return list(db.session.scalars(query.order_by(EvaluationResponse.created_at.desc())))


def author_of(response: EvaluationResponse) -> str:
    return _sender(response.author)


def responses_for_trainee(user, limit: int = HOME_RESPONSES) -> list[EvaluationResponse]:
    """The latest responses to the feedback of the trainee's classes (its home page)."""
    return list(
        db.session.scalars(
            select(EvaluationResponse)
            .join(
                ClassTrainee,
                (ClassTrainee.class_id == EvaluationResponse.class_id)
                & (ClassTrainee.user_id == user.id),
            )
            .where(ClassTrainee.withdrawn_at.is_(None))
            .order_by(EvaluationResponse.created_at.desc(), EvaluationResponse.id.desc())
            .limit(limit)
        )
    )


@dataclass
class HomeNotes:
    """What the top of a trainee's home page shows: reminders, then responses."""

    reminders: list[Reminder]
    responses: list[EvaluationResponse]

    def __bool__(self) -> bool:
        return bool(self.reminders or self.responses)

    @staticmethod
    def author(response: EvaluationResponse) -> str:
        return author_of(response)


def home_notes(user, now: datetime) -> HomeNotes:
    return HomeNotes(reminders_for(user, now), responses_for_trainee(user))


# ---------------------------------------------------------------- a whole class (row 20)


@dataclass(frozen=True)
class ClassSummary:
    forms: dict  # kind -> submitted forms
    trainees: int  # trainees on the class
    mean: float | None  # every 1–5 scale answer of the submitted forms
    answers: int  # scale answers counted
    by_trainer: list  # (trainer name, mean, answers) for the per-trainer questions


def class_summary(klass: TrainingClass) -> ClassSummary:
    """What the activity report shows of the forms: the submitted forms per kind and the mean
    scores (overall, per trainer) — two grouped statements, whatever the class's size."""
    s, a = EvaluationSubmission, EvaluationAnswer
    mine = (s.class_id == klass.id, s.status == SUBMITTED)
    forms = dict(
        db.session.execute(select(s.kind, func.count()).where(*mine).group_by(s.kind)).all()
    )
    scored = db.session.execute(
        select(a.trainer_id, func.avg(a.score), func.count())
        .join(s, s.id == a.submission_id)
        .where(*mine, a.score.isnot(None))
        .group_by(a.trainer_id)
    ).all()
    total = sum(n for _t, _m, n in scored)
    mean = sum(float(m) * n for _t, m, n in scored) / total if total else None
    names = {t.user_id: repr(t) for t in trainers_of(klass) if t.user_id is not None}
    by_trainer = [(names.get(t, "—"), round(float(m), 2), n) for t, m, n in scored if t is not None]
    return ClassSummary(
        {kind: forms.get(kind, 0) for kind in FORM_KINDS},
        len(trainees_of(klass)),
        round(mean, 2) if mean is not None else None,
        total,
        sorted(by_trainer),
    )
