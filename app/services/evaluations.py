"""Evaluation forms (Annex 1 row 17): 《每日意见反馈表》 each class day, 《期中评估表》 on the
middle day, 《结束评估表》 on the last day.

- **Questionnaires are data**, kept by the center (`new_version`): a version is never edited, a
  change is a new version. A class uses the latest version made before its first day
  (`version_for`), so a class keeps the version it started with. Question types: a 1–5 scale
  with a label per point, single choice, multiple choice, free text; a per-trainer question is
  asked once for each trainer of the class.
- **Each trainee fills each form once** (`save`): a draft may be saved again and again; the
  submission is final. Once is enforced by the database: one row per (class, trainee, kind, day)
  (``ux_evaluation_once``), and a submission is the conditional ``UPDATE … SET status =
  'submitted' WHERE status = 'draft'`` — of two taps or two tabs, only one matches the row; the
  other is told the form was already submitted and writes nothing.
- **Window**: a day's form is open on that day until ``EVALUATION_CLOSES_AT`` (23:59).
- A trainee sees only its own answers; the institution, the class's trainers and the
  authorities read results (point 4 of the issue, later).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import audit
from app.extensions import db
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.after_class import TrainerFeedback
from models.application import TrainingClass
from models.classroom import (
    DAILY,
    DRAFT,
    FINAL,
    FORM_KINDS,
    MIDTERM,
    MULTIPLE,
    SCALE,
    SINGLE,
    SUBMITTED,
    TEXT,
    ClassTrainee,
    ClassTrainer,
    EvaluationAnswer,
    EvaluationSubmission,
    Questionnaire,
)
from models.user import CENTER

FORM_LABELS = {
    DAILY: _l("Daily feedback form"),
    MIDTERM: _l("Mid-term evaluation form"),
    FINAL: _l("Final evaluation form"),
}
# The questionnaires the center keeps in versions: the trainees' forms, and the institution's
# 培训师授课意见反馈表 on each trainer of its class (row 21, `app.services.trainer_feedback`).
TRAINER_FEEDBACK_FORM = "trainer_feedback"
QUESTIONNAIRE_KINDS = (*FORM_KINDS, TRAINER_FEEDBACK_FORM)
QUESTIONNAIRE_LABELS = {
    **FORM_LABELS,
    TRAINER_FEEDBACK_FORM: _l("Feedback on the trainer's teaching"),
}
TYPE_LABELS = {
    SCALE: _l("Scale 1–5"),
    SINGLE: _l("Single choice"),
    MULTIPLE: _l("Multiple choice"),
    TEXT: _l("Free text"),
}
# How the center writes a type, a yes/no in the questionnaire editor (either language).
TYPE_WORDS = {"评分": SCALE, "单选": SINGLE, "多选": MULTIPLE, "文本": TEXT, "填空": TEXT}
YES_WORDS = {"是", "必答", "Y", "YES", "TRUE", "1", "√"}
NO_WORDS = {"否", "", "N", "NO", "FALSE", "0"}
SCALE_POINTS = 5
ANSWER_LIMIT = 2000  # characters of one free-text answer
QUESTION_LIMIT = 40  # questions in one questionnaire
TEXT_LIMIT = 200  # characters of a question or an option
SATISFACTION = ["很不满意", "不满意", "一般", "满意", "很满意"]

# What a new database starts with (the migration inserts a snapshot of it; tests seed it).
DEFAULTS = {
    DAILY: (
        "每日意见反馈表",
        [
            (SCALE, True, True, "讲师今日授课清晰易懂", SATISFACTION),
            (SCALE, True, False, "今日课程内容的实用性", SATISFACTION),
            (SCALE, True, False, "今日培训的组织与服务", SATISFACTION),
            (SINGLE, True, False, "今日课程进度", ["偏快", "适中", "偏慢"]),
            (TEXT, False, False, "今日收获最大的内容", []),
            (TEXT, False, False, "意见和建议", []),
        ],
    ),
    MIDTERM: (
        "期中评估表",
        [
            (SCALE, True, True, "讲师的专业水平", SATISFACTION),
            (SCALE, True, True, "讲师的互动与引导", SATISFACTION),
            (SCALE, True, False, "前半程课程安排的合理性", SATISFACTION),
            (
                MULTIPLE,
                False,
                False,
                "对你最有帮助的教学方式",
                ["讲授", "案例分析", "小组讨论", "角色扮演", "试讲练习"],
            ),
            (TEXT, False, False, "后半程希望加强的内容", []),
        ],
    ),
    FINAL: (
        "结束评估表",
        [
            (SCALE, True, True, "讲师的总体表现", SATISFACTION),
            (SCALE, True, False, "培训目标的达成程度", SATISFACTION),
            (SCALE, True, False, "培训组织与后勤服务", SATISFACTION),
            (SINGLE, True, False, "是否愿意向同行推荐本培训", ["愿意", "不确定", "不愿意"]),
            (TEXT, False, False, "对本次培训的总体意见和建议", []),
        ],
    ),
}


def default_questions(kind: str) -> list[dict]:
    return [
        {
            "key": f"q{n}",
            "type": qtype,
            "required": required,
            "per_trainer": per_trainer,
            "text": text,
            "options": list(options),
        }
        for n, (qtype, required, per_trainer, text, options) in enumerate(DEFAULTS[kind][1], 1)
    ]


def seed_defaults(now: datetime, session=None) -> None:
    """Version 1 of each form where none exists (a fresh database, the test world)."""
    session = session or db.session
    have = set(session.scalars(select(Questionnaire.kind)))
    for kind in FORM_KINDS:
        if kind not in have:
            session.add(
                Questionnaire(
                    kind=kind,
                    version=1,
                    title=DEFAULTS[kind][0],
                    questions=json.dumps(default_questions(kind), ensure_ascii=False),
                    created_at=now,
                )
            )


# ---------------------------------------------------------------- questionnaires


def questions(questionnaire: Questionnaire) -> list[dict]:
    return json.loads(questionnaire.questions)


def versions(kind: str) -> list[Questionnaire]:
    return list(
        db.session.scalars(
            select(Questionnaire)
            .where(Questionnaire.kind == kind)
            .order_by(Questionnaire.version.desc())
        )
    )


def current(kind: str) -> Questionnaire | None:
    found = versions(kind)
    return found[0] if found else None


def version_for(klass: TrainingClass, kind: str) -> Questionnaire | None:
    """The version in force when the class started (the latest made before its first day); the
    first version when every version is younger than the class."""
    start = datetime.combine(klass.start_date, time())
    query = select(Questionnaire).where(Questionnaire.kind == kind)
    found = db.session.scalar(
        query.where(Questionnaire.created_at < start)
        .order_by(Questionnaire.version.desc())
        .limit(1)
    )
    return found or db.session.scalar(query.order_by(Questionnaire.version).limit(1))


def uses(questionnaire: Questionnaire) -> int:
    """The forms filled on this version (a trainee's, or an institution's on a trainer)."""
    model = TrainerFeedback if questionnaire.kind == TRAINER_FEEDBACK_FORM else EvaluationSubmission
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.questionnaire_id == questionnaire.id)
    )


def questions_text(items: list[dict]) -> str:
    """The editor's text of a questionnaire: one question a line,
    ``类型 | 必答 | 逐位讲师 | 题目 | 选项1;选项2…``."""
    words = {SCALE: "评分", SINGLE: "单选", MULTIPLE: "多选", TEXT: "文本"}
    return "\n".join(
        " | ".join(
            (
                words[q["type"]],
                "是" if q["required"] else "否",
                "是" if q["per_trainer"] else "否",
                q["text"],
                ";".join(q["options"]),
            )
        )
        for q in items
    )


def parse_questions(text: str) -> list[dict]:
    """The editor's text → questions; `InvalidValue` naming the line at the first mistake."""
    items = []
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InvalidValue(_("Questions: enter at least one question."), field="questions")
    if len(lines) > QUESTION_LIMIT:
        raise InvalidValue(
            _("Questions: at most %(n)d questions.", n=QUESTION_LIMIT), field="questions"
        )
    for n, line in enumerate(lines, 1):

        def bad(message, n=n):
            return InvalidValue(
                _("Questions, line %(n)d: %(message)s", n=n, message=message), field="questions"
            )

        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        if len(parts) < 4:
            raise bad(_("write type | required | per trainer | question | options."))
        parts += [""] * (5 - len(parts))
        word, required, per_trainer, question, options = parts[:5]
        qtype = TYPE_WORDS.get(word) or (word.lower() if word.lower() in TYPE_LABELS else None)
        if qtype is None:
            raise bad(_("unknown type %(v)s: use 评分, 单选, 多选 or 文本.", v=word))
        flags = []
        for value in (required, per_trainer):
            if value.upper() in YES_WORDS:
                flags.append(True)
            elif value.upper() in NO_WORDS:
                flags.append(False)
            else:
                raise bad(_("write 是 or 否 (found %(v)s).", v=value))
        if not question or len(question) > TEXT_LIMIT:
            raise bad(_("the question must have 1 to %(n)d characters.", n=TEXT_LIMIT))
        choices = [o.strip() for o in re.split(r"[;；]", options) if o.strip()]
        if any(len(o) > TEXT_LIMIT for o in choices):
            raise bad(_("an option has more than %(n)d characters.", n=TEXT_LIMIT))
        if qtype == SCALE and len(choices) != SCALE_POINTS:
            raise bad(_("a scale needs %(n)d labels, one per point, from 1 to 5.", n=SCALE_POINTS))
        if qtype in (SINGLE, MULTIPLE) and len(choices) < 2:
            raise bad(_("a choice needs at least two options."))
        if qtype == TEXT:
            choices = []
        items.append(
            {
                "key": f"q{n}",
                "type": qtype,
                "required": flags[0],
                "per_trainer": flags[1],
                "text": question,
                "options": choices,
            }
        )
    return items


def new_version(kind: str, title: str, text: str, actor, now: datetime) -> Questionnaire:
    """The center's new version of a form; the versions before it stay as they were."""
    if actor is None or actor.role_kind != CENTER:
        raise NotAllowed(_("Only the center keeps the evaluation forms."))
    if kind not in QUESTIONNAIRE_KINDS:
        raise InvalidValue(_("Unknown form."), field="kind")
    title = (title or "").strip()
    if not title or len(title) > 64:
        raise InvalidValue(_("Title: 1 to 64 characters."), field="title")
    items = parse_questions(text)
    with transaction():
        last = db.session.scalar(
            select(func.max(Questionnaire.version)).where(Questionnaire.kind == kind)
        )
        record = Questionnaire(
            kind=kind,
            version=(last or 0) + 1,
            title=title,
            questions=json.dumps(items, ensure_ascii=False),
            created_at=now,
            created_by_id=actor.id,
        )
        db.session.add(record)
        try:
            db.session.flush()
        except IntegrityError:  # another center user saved a version at the same moment
            raise Conflict(_("Another version was saved meanwhile; reload the page.")) from None
        audit.record(
            db.session,
            "questionnaire_version",
            object_type="Questionnaire",
            object_id=record.id,
            summary=f"{kind} v{record.version}",
            now=now,
        )
    return record


# ---------------------------------------------------------------- days and the window


def middle_day(klass: TrainingClass) -> date:
    return klass.start_date + timedelta(days=(klass.end_date - klass.start_date).days // 2)


def forms_on(klass: TrainingClass, day: date) -> list[str]:
    """The forms due on ``day``: the daily one on every class day, the mid-term one on the
    middle day, the final one on the last day."""
    if not klass.start_date <= day <= klass.end_date:
        return []
    kinds = [DAILY]
    if day == middle_day(klass):
        kinds.append(MIDTERM)
    if day == klass.end_date:
        kinds.append(FINAL)
    return kinds


def closes_at(day: date) -> datetime:
    """The last moment a day's form is accepted (``EVALUATION_CLOSES_AT``, 23:59 by default)."""
    setting = "23:59"
    if has_app_context():
        setting = current_app.config.get("EVALUATION_CLOSES_AT", setting)
    hours, minutes = (int(p) for p in str(setting).split(":")[:2])
    return datetime.combine(day, time(hours, minutes, 59))


def check_window(klass: TrainingClass, kind: str, day: date, now: datetime) -> None:
    if kind not in forms_on(klass, day):
        raise NotAllowed(
            _(
                "There is no %(form)s on %(day)s for this class.",
                form=FORM_LABELS.get(kind, kind),
                day=day.isoformat(),
            )
        )
    if now.date() < day:
        raise NotAllowed(_("This form opens on %(day)s.", day=day.isoformat()))
    if now > closes_at(day):
        raise NotAllowed(
            _(
                "This form closed at %(time)s on %(day)s; it can no longer be filled in.",
                time=closes_at(day).strftime("%H:%M"),
                day=day.isoformat(),
            )
        )


# ---------------------------------------------------------------- one trainee's form


@dataclass
class Form:
    klass: TrainingClass
    trainee: ClassTrainee
    kind: str
    day: date
    questionnaire: Questionnaire
    questions: list[dict]
    trainers: list[tuple[int, str]]  # (account id, name) of the class's trainers
    submission: EvaluationSubmission | None
    answers: dict = field(default_factory=dict)  # input name -> list of values
    open: bool = True
    refusal: str = ""

    @property
    def label(self) -> str:
        return str(FORM_LABELS[self.kind])

    @property
    def submitted(self) -> bool:
        return self.submission is not None and self.submission.status == SUBMITTED

    def items(self):
        """(input name, question, trainer name or None, number) for each answer asked."""
        for n, q in enumerate(self.questions, 1):
            if q["per_trainer"]:
                for trainer_id, name in self.trainers:
                    yield f"{q['key']}_{trainer_id}", q, name, n
            else:
                yield q["key"], q, None, n


def _trainee_of(user, class_id, kind: str, day: date):
    """The class, the user's enrolment on it and its form of ``kind`` on ``day`` if any: one
    query (B6: a submission's reads); NotAllowed for a class the user is not a trainee of."""
    s = EvaluationSubmission
    row = db.session.execute(
        select(TrainingClass, ClassTrainee, s)
        .join(ClassTrainee, ClassTrainee.class_id == TrainingClass.id)
        .outerjoin(
            s,
            and_(
                s.class_id == TrainingClass.id,
                s.user_id == ClassTrainee.user_id,
                s.kind == kind,
                s.day == day,
            ),
        )
        .where(
            TrainingClass.id == class_id,
            ClassTrainee.user_id == getattr(user, "id", None),
            ClassTrainee.withdrawn_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotAllowed(_("These forms belong to another class: you are not its trainee."))
    return row[0], row[1], row[2]


def open_form(user, class_id: int, kind: str, day: date, now: datetime) -> Form:
    """The trainee's form as it stands (its draft or its submission). Refused for another
    class; a form outside its window is returned read-only with the reason."""
    klass, trainee, submission = _trainee_of(user, class_id, kind, day)
    if kind not in FORM_KINDS or kind not in forms_on(klass, day):
        check_window(klass, kind, day, now)  # raises: no such form that day
    questionnaire = submission.questionnaire if submission else version_for(klass, kind)
    trainers = [(t.user_id, repr(t)) for t in _trainers(klass) if t.user_id is not None]
    form = Form(
        klass, trainee, kind, day, questionnaire, questions(questionnaire), trainers, submission
    )
    if submission is not None:
        form.answers = _stored_answers(submission)
    try:
        check_window(klass, kind, day, now)
    except NotAllowed as exc:
        form.open, form.refusal = False, str(exc)
    if form.submitted:
        form.open = False
    return form


def _trainers(klass: TrainingClass) -> list[ClassTrainer]:
    """`trainers_of` with their accounts in the same query (B6: no query per trainer)."""
    return list(
        db.session.scalars(
            select(ClassTrainer)
            .options(joinedload(ClassTrainer.user))
            .where(ClassTrainer.class_id == klass.id)
            .order_by(ClassTrainer.is_lead.desc(), ClassTrainer.id)
        )
    )


def _stored_answers(submission) -> dict:
    out = {}
    for a in db.session.scalars(
        select(EvaluationAnswer).where(EvaluationAnswer.submission_id == submission.id)
    ):
        name = a.question if a.trainer_id is None else f"{a.question}_{a.trainer_id}"
        if a.score is not None:
            out[name] = [str(a.score)]
        elif a.choice:
            out[name] = a.choice.split(";")
        elif a.text is not None:
            out[name] = [a.text]
    return out


def _clean(form: Form, raw: Mapping, final: bool) -> list[dict]:
    """The answers as rows; `InvalidValue` naming the question at the first mistake."""
    rows = []
    for name, q, trainer, n in form.items():
        label = _("Question %(n)d (%(text)s)", n=n, text=q["text"])
        if trainer:
            label = f"{label} · {trainer}"
        values = [str(v).strip() for v in (raw.get(name) or []) if str(v).strip()]
        if not values:
            if final and q["required"]:
                raise InvalidValue(_("%(q)s: please answer.", q=label), field=name)
            continue
        row = {"question": q["key"], "trainer_id": int(name.rsplit("_", 1)[1]) if trainer else None}
        if q["type"] == TEXT:
            text = values[0]
            if len(text) > ANSWER_LIMIT:
                raise InvalidValue(
                    _(
                        "%(q)s: at most %(n)d characters (this one has %(found)d).",
                        q=label,
                        n=ANSWER_LIMIT,
                        found=len(text),
                    ),
                    field=name,
                )
            row["text"] = text
        elif q["type"] == SCALE:
            if not re.fullmatch(r"\d{1,2}", values[0]) or not 1 <= int(values[0]) <= SCALE_POINTS:
                raise InvalidValue(
                    _("%(q)s: choose a score from 1 to %(n)d.", q=label, n=SCALE_POINTS), field=name
                )
            row["score"] = int(values[0])
        else:
            count = len(q["options"])
            picked = sorted({int(v) for v in values if re.fullmatch(r"\d{1,3}", v)})
            if len(picked) != len(set(values)) or any(not 1 <= p <= count for p in picked):
                raise InvalidValue(_("%(q)s: choose among the options shown.", q=label), field=name)
            if q["type"] == SINGLE and len(picked) > 1:
                raise InvalidValue(_("%(q)s: choose one option.", q=label), field=name)
            row["choice"] = ";".join(str(p) for p in picked)
        rows.append(row)
    return rows


def clean_answers(form, raw: Mapping) -> list[dict]:
    """A submitted form's answers checked as a trainee's are (the institution's feedback on a
    trainer reuses it): ``form`` yields (input name, question, trainer name, number)."""
    return _clean(form, raw, final=True)


def save(
    user,
    class_id: int,
    kind: str,
    day: date,
    raw: Mapping,
    now: datetime,
    submit: bool,
    form: Form | None = None,
) -> EvaluationSubmission:
    """Save the trainee's draft, or submit it (once). Everything or nothing is written.
    ``form``: the one the view has just opened for the same trainee, class, form and day (B6:
    not read twice per request); any other is opened again."""
    if form is None or (form.trainee.user_id, form.klass.id, form.kind, form.day) != (
        getattr(user, "id", None),
        class_id,
        kind,
        day,
    ):
        form = open_form(user, class_id, kind, day, now)
    if form.submitted:
        raise Conflict(
            _(
                "This form was already submitted at %(t)s.",
                t=form.submission.submitted_at.strftime("%H:%M"),
            )
        )
    if not form.open:
        raise NotAllowed(form.refusal)
    rows = _clean(form, raw, final=submit)
    with transaction() as session:
        submission = form.submission
        if submission is None:
            # A first save is written as it stands (draft or submitted): of two at once, the
            # unique key lets one row in; the other is told the form was already sent.
            submission = EvaluationSubmission(
                class_id=form.klass.id,
                org_id=form.klass.org_id,
                user_id=user.id,
                trainee_id=form.trainee.id,
                questionnaire_id=form.questionnaire.id,
                kind=kind,
                day=day,
                status=SUBMITTED if submit else DRAFT,
                saved_at=now,
                submitted_at=now if submit else None,
            )
            session.add(submission)
            try:
                session.flush()
            except IntegrityError:  # the other tab created it at the same moment
                raise Conflict(_already_sent()) from None
        else:
            # The claim: of two submissions at once, only one finds the row still a draft.
            claimed = session.execute(
                update(EvaluationSubmission)
                .where(
                    EvaluationSubmission.id == submission.id, EvaluationSubmission.status == DRAFT
                )
                .values(
                    status=SUBMITTED if submit else DRAFT,
                    saved_at=now,
                    submitted_at=now if submit else None,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                raise Conflict(_already_sent())
            session.execute(
                delete(EvaluationAnswer)
                .where(EvaluationAnswer.submission_id == submission.id)
                .execution_options(synchronize_session=False)
            )
        if rows:
            session.execute(
                EvaluationAnswer.__table__.insert(),
                [
                    {"submission_id": submission.id, "score": None, "choice": None, "text": None}
                    | r
                    for r in rows
                ],
            )
    db.session.expire(submission)
    return submission


def _already_sent() -> str:
    return _("This form was already submitted (from another tap or tab): nothing more was saved.")


# ---------------------------------------------------------------- the trainee's lists


@dataclass(frozen=True)
class DueForm:
    klass: TrainingClass
    kind: str
    day: date
    status: str | None  # None (not started), draft, submitted
    closes_at: datetime
    late: bool = False  # still open on the list after its closing time: overdue, in red

    @property
    def label(self) -> str:
        return str(FORM_LABELS[self.kind])


def _enrolments(user) -> list[TrainingClass]:
    return list(
        db.session.scalars(
            select(TrainingClass)
            .join(ClassTrainee, ClassTrainee.class_id == TrainingClass.id)
            .where(ClassTrainee.user_id == user.id, ClassTrainee.withdrawn_at.is_(None))
            .order_by(TrainingClass.start_date)
        )
    )


def _statuses(user, class_ids) -> dict:
    if not class_ids:
        return {}
    rows = db.session.execute(
        select(
            EvaluationSubmission.class_id,
            EvaluationSubmission.kind,
            EvaluationSubmission.day,
            EvaluationSubmission.status,
        ).where(
            EvaluationSubmission.user_id == user.id,
            EvaluationSubmission.class_id.in_(class_ids),
        )
    )
    return {(c, k, d): s for c, k, d, s in rows}


def due_today(user, now: datetime) -> list[DueForm]:
    """Exactly the forms the trainee has to fill in today (the home page)."""
    today = now.date()
    classes = [k for k in _enrolments(user) if k.start_date <= today <= k.end_date]
    statuses = _statuses(user, [k.id for k in classes])
    return [
        DueForm(
            k,
            kind,
            today,
            statuses.get((k.id, kind, today)),
            closes_at(today),
            late=now > closes_at(today),
        )
        for k in classes
        for kind in forms_on(k, today)
    ]


def my_forms(user, now: datetime) -> list[DueForm]:
    """Every form of the trainee's classes up to today, latest first."""
    today = now.date()
    classes = _enrolments(user)
    statuses = _statuses(user, [k.id for k in classes])
    out = []
    for k in classes:
        day = k.start_date
        while day <= min(k.end_date, today):
            out += [
                DueForm(k, kind, day, statuses.get((k.id, kind, day)), closes_at(day))
                for kind in forms_on(k, day)
            ]
            day += timedelta(days=1)
    return sorted(out, key=lambda f: (f.day, FORM_KINDS.index(f.kind)), reverse=True)
