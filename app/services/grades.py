"""Trial lectures and the grade sheet (Annex 1 row 19).

- **The scheme** (`GradeScheme`, 成绩评定方案): the 《试讲评分表》's criteria and weights, the
  weights of the total, the pass line and the attendance required — data the center keeps in
  versions; a class keeps the version in force when it started (like the questionnaires).
- **试讲评分表**: each trainer of the class scores each trainee on every criterion, on its own
  (`TrialScore`, one per trainer and trainee); the trainee's trial score is the mean of the
  trainers' weighted sums.
- **成绩单** (`GradeSheet`): per trainee its attendance (the days it sent its daily feedback, or
  what the institution marked), trial score, written-test score (entered by the trainers), the
  total by the scheme's weights and pass/fail against the pass line. The lead trainer submits it
  and the center reviews it (review kind ``grade_sheet``); once submitted it changes only through
  a correction (第十条): a new revision, reviewed again, the lines in force kept meanwhile.
- **Who**: the center, the class's province, city and institution and its trainers see it; the
  trainers write before submission, the institution marks attendance; anyone else gets a 404.

The rule itself (`trial_of`, `total_of`, `passes`) is pure, over a scheme: tests/unit checks it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.services import classroom, closed_class, review
from app.services.errors import Conflict, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.application import TrainingClass
from models.classroom import DAILY, SUBMITTED, ClassTrainee, EvaluationSubmission
from models.grades import GradeScheme, GradeSheet, TrialScore
from models.review import DRAFT, RETURNED
from models.user import CENTER, CITY, INSTITUTION, PROVINCE, TRAINER

# Version 1, what a new database starts with (migration 0014 inserts a snapshot of it).
DEFAULT_SCHEME = {
    "title": "试讲评分表及成绩评定办法",
    "criteria": [
        {"key": "design", "label": "教学设计", "weight": 20},
        {"key": "content", "label": "内容掌握", "weight": 30},
        {"key": "delivery", "label": "语言表达与仪态", "weight": 20},
        {"key": "interaction", "label": "互动与引导", "weight": 20},
        {"key": "timing", "label": "时间控制", "weight": 10},
    ],
    "scale_max": 100,
    "trial_weight": 60,
    "written_weight": 40,
    "pass_line": 60,
    "min_attendance": 80,
}
SCHEME_EPOCH = datetime(2020, 1, 1)  # dated before any class: every class starts with version 1


def seed_defaults(now: datetime = SCHEME_EPOCH, session=None) -> None:
    """Version 1 of the scheme where none exists (a fresh database, the test world)."""
    session = session or db.session
    if session.scalar(select(func.count()).select_from(GradeScheme)):
        return
    values = dict(DEFAULT_SCHEME)
    values["criteria"] = json.dumps(values["criteria"], ensure_ascii=False)
    session.add(GradeScheme(version=1, created_at=now, **values))


# ---------------------------------------------------------------- the rule (pure)


def round1(value) -> float | None:
    """One decimal, half up (85.25 → 85.3), whatever binary floats would do."""
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def criteria(scheme: GradeScheme) -> list[dict]:
    return json.loads(scheme.criteria)


def trial_of(scheme: GradeScheme, scores: dict) -> float:
    """One trainer's 试讲评分表: the criteria's scores weighted by the scheme."""
    weighted = sum(Decimal(str(scores[c["key"]])) * Decimal(c["weight"]) for c in criteria(scheme))
    return round1(weighted / Decimal(100))


def mean_of(totals: list[float]) -> float | None:
    """The trainee's trial score: the mean of the trainers' sums (None before any)."""
    if not totals:
        return None
    return round1(sum(Decimal(str(t)) for t in totals) / Decimal(len(totals)))


def total_of(scheme: GradeScheme, trial, written) -> float | None:
    """总成绩 = 试讲 × its weight + 笔试 × its weight (None while either is missing)."""
    if trial is None or written is None:
        return None
    weighted = Decimal(str(trial)) * scheme.trial_weight + Decimal(str(written)) * (
        scheme.written_weight
    )
    return round1(weighted / Decimal(100))


def passes(scheme: GradeScheme, total, attendance: int, days: int) -> bool | None:
    """合格: the total at or above the pass line and enough days attended (None while the total
    is missing)."""
    if total is None:
        return None
    attended_enough = days <= 0 or attendance * 100 >= scheme.min_attendance * days
    return bool(total >= scheme.pass_line and attended_enough)


def parse_score(text, scheme: GradeScheme, field: str) -> float | None:
    """A score as typed: blank is None; anything but a number from 0 to the scale is refused."""
    text = "" if text is None else str(text).strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= scheme.scale_max:
        raise InvalidValue(
            _("Enter a number from 0 to %(max)d.", max=scheme.scale_max), field=field
        )
    return round1(value)


# ---------------------------------------------------------------- reading


def versions() -> list[GradeScheme]:
    return list(db.session.scalars(select(GradeScheme).order_by(GradeScheme.version.desc())))


def scheme_for(klass: TrainingClass) -> GradeScheme | None:
    """The version in force when the class started (the latest made before its first day)."""
    start = datetime.combine(klass.start_date, time())
    found = db.session.scalar(
        select(GradeScheme)
        .where(GradeScheme.created_at < start)
        .order_by(GradeScheme.version.desc())
        .limit(1)
    )
    return found or db.session.scalar(select(GradeScheme).order_by(GradeScheme.version).limit(1))


def may_see(user, klass: TrainingClass | None) -> bool:
    """The center, the class's province, city and institution, its trainers — not its trainees."""
    if user is None or getattr(user, "role_kind", None) not in (
        CENTER,
        PROVINCE,
        CITY,
        INSTITUTION,
        TRAINER,
    ):
        return False
    return classroom.may_see_class(user, klass)


def visible_class(user, class_id) -> TrainingClass | None:
    klass = classroom.visible_class(user, class_id)
    return klass if may_see(user, klass) else None


def sheet_of(klass: TrainingClass) -> GradeSheet | None:
    return db.session.scalar(select(GradeSheet).where(GradeSheet.class_id == klass.id))


def editable(sheet: GradeSheet | None) -> bool:
    """Before submission (or while a correction or a returned sheet is being prepared)."""
    return sheet is None or sheet.status in (DRAFT, RETURNED)


def class_days(klass: TrainingClass) -> int:
    return (klass.end_date - klass.start_date).days + 1


def lead_of(klass: TrainingClass):
    for row in classroom.trainers_of(klass):
        if row.is_lead and row.user_id is not None:
            return row
    return None


def derived_attendance(klass: TrainingClass) -> dict[int, int]:
    """Days each trainee sent its daily feedback (每日意见反馈表), by trainee row id."""
    rows = db.session.execute(
        select(EvaluationSubmission.trainee_id, func.count(func.distinct(EvaluationSubmission.day)))
        .where(
            EvaluationSubmission.class_id == klass.id,
            EvaluationSubmission.kind == DAILY,
            EvaluationSubmission.status == SUBMITTED,
        )
        .group_by(EvaluationSubmission.trainee_id)
    )
    return {trainee_id: n for trainee_id, n in rows}


def trial_scores(klass: TrainingClass) -> list[TrialScore]:
    return list(
        db.session.scalars(
            select(TrialScore).where(TrialScore.class_id == klass.id).order_by(TrialScore.id)
        )
    )


def compute(klass: TrainingClass, scheme: GradeScheme, base: dict) -> dict:
    """Every current trainee's line from the inputs: the trainers' trial scores, the attendance
    (marked, else derived), the written score typed so far (``base``: the lines as proposed)."""
    days = class_days(klass)
    derived = derived_attendance(klass)
    by_trainee: dict[int, list[float]] = {}
    for score in trial_scores(klass):
        by_trainee.setdefault(score.trainee_id, []).append(score.total)
    lines = {}
    for trainee in classroom.trainees_of(klass):
        old = base.get(str(trainee.id), {})
        marked = bool(old.get("attendance_marked"))
        attendance = old.get("attendance") if marked else min(derived.get(trainee.id, 0), days)
        trial = mean_of(by_trainee.get(trainee.id, []))
        written = old.get("written")
        total = total_of(scheme, trial, written)
        lines[str(trainee.id)] = {
            "attendance": attendance,
            "attendance_marked": marked,
            "trial": trial,
            "trial_count": len(by_trainee.get(trainee.id, [])),
            "written": written,
            "total": total,
            "passed": passes(scheme, total, attendance, days),
        }
    return lines


@dataclass(frozen=True)
class Line:
    trainee: ClassTrainee
    values: dict  # the line shown: live while editable, else in force
    proposed: dict | None  # a correction's line under preparation or review


def lines(klass: TrainingClass, sheet: GradeSheet | None) -> list[Line]:
    """The sheet as this moment shows it: while it may be edited, what a submission would keep;
    afterwards the lines in force, with a correction's proposed lines beside them."""
    scheme = sheet.scheme if sheet else scheme_for(klass)
    trainees = {t.id: t for t in classroom.trainees_of(klass, include_withdrawn=True)}
    in_force = sheet.entries if sheet else {}
    correcting = sheet is not None and review.is_correction(sheet)
    proposed = review.proposed_values(sheet)["entries"] if correcting else None
    if editable(sheet):
        live = compute(klass, scheme, proposed if correcting else in_force)
        if correcting:
            proposed = live
        else:
            in_force = live
    keys = list(in_force) + [k for k in (proposed or {}) if k not in in_force]
    return [
        Line(trainees[int(k)], in_force.get(k, {}), (proposed or {}).get(k) if correcting else None)
        for k in keys
        if int(k) in trainees
    ]


def summary(values: list[dict]) -> dict:
    """Count, passed, pass rate (0..1) and the means of a sheet's lines."""
    count = len(values)
    passed = sum(1 for v in values if v.get("passed"))

    def mean(name):
        found = [v[name] for v in values if v.get(name) is not None]
        return mean_of(found)

    return {
        "count": count,
        "passed": passed,
        "rate": round(passed / count, 4) if count else None,
        "trial": mean("trial"),
        "written": mean("written"),
        "total": mean("total"),
    }


# ---------------------------------------------------------------- writing


def _trainer_of(user, klass: TrainingClass, message) -> None:
    if classroom.trainer_row(user, klass) is None or user.id is None:
        raise NotAllowed(message)


def _trainee(klass: TrainingClass, trainee_id) -> ClassTrainee:
    try:
        trainee = db.session.get(ClassTrainee, int(trainee_id))
    except (TypeError, ValueError):
        trainee = None
    if trainee is None or trainee.class_id != klass.id or trainee.withdrawn_at is not None:
        raise InvalidValue(_("This person is not a trainee of the class."), field="trainee")
    return trainee


@contextmanager
def _first_writer_wins():
    """Two first saves at once (a double click, two trainers opening the sheet) both try to
    create the same row: the unique key refuses the second, which is told to reload."""
    try:
        yield
    except IntegrityError:  # the transaction has rolled back (or its owner will)
        raise Conflict(_("This record has changed since you opened it. Reload the page.")) from None


def _check_editable(sheet: GradeSheet | None) -> None:
    if not editable(sheet):
        raise NotAllowed(
            _(
                "The grade sheet has been submitted: a change is a correction that the lead "
                "trainer starts and the center reviews again."
            )
        )


def _ensure_sheet(klass: TrainingClass, now: datetime) -> GradeSheet:
    closed_class.check_open(klass)  # its message first (the flush guard would refuse anyway)
    sheet = sheet_of(klass)
    lead = lead_of(klass)
    lead_org = lead.user.org_id if lead is not None and lead.user.org_id else klass.org_id
    if sheet is None:
        sheet = GradeSheet(
            class_id=klass.id,
            org_id=klass.org_id,
            submitter_org_id=lead_org,
            scheme_id=scheme_for(klass).id,
            created_at=now,
        )
        db.session.add(sheet)
        db.session.flush()
    elif sheet.in_force_revision is None and sheet.status == DRAFT:
        sheet.submitter_org_id = lead_org  # the lead may have been named after the first score
    return sheet


def _base(sheet: GradeSheet) -> dict:
    return (
        review.proposed_values(sheet)["entries"] if review.is_correction(sheet) else sheet.entries
    )


def _refresh(sheet: GradeSheet, base: dict | None = None) -> dict:
    """Recompute the lines into the revision under preparation (the row's own lines before the
    first approval; a correction's revision afterwards: the lines in force do not move)."""
    klass = sheet.training_class or db.session.get(TrainingClass, sheet.class_id)
    lines_now = compute(klass, sheet.scheme, _base(sheet) if base is None else base)
    review.propose(sheet, {"entries": lines_now})
    return lines_now


def score_trial(klass: TrainingClass, trainee_id, actor, raw: dict, now: datetime) -> TrialScore:
    """A trainer's 试讲评分表 of one trainee (a second save replaces its own, never another's)."""
    _trainer_of(actor, klass, _("Only the trainers of this class score its trial lectures."))
    if now.date() < klass.start_date:
        raise NotAllowed(_("Trial lectures are scored once the class has started."))
    with _first_writer_wins(), transaction():
        sheet = _ensure_sheet(klass, now)
        _check_editable(sheet)
        trainee = _trainee(klass, trainee_id)
        scores = {}
        for item in criteria(sheet.scheme):
            field = f"c_{item['key']}"
            value = parse_score(raw.get(field), sheet.scheme, field)
            if value is None:
                raise InvalidValue(_("Score every criterion."), field=field)
            scores[item["key"]] = value
        row = db.session.scalar(
            select(TrialScore).where(
                TrialScore.trainee_id == trainee.id, TrialScore.user_id == actor.id
            )
        )
        if row is None:
            row = TrialScore(
                class_id=klass.id, org_id=klass.org_id, trainee_id=trainee.id, user_id=actor.id
            )
            db.session.add(row)
        row.scores = json.dumps(scores, ensure_ascii=False)
        row.total = trial_of(sheet.scheme, scores)
        row.updated_at = now
        db.session.flush()
        _refresh(sheet)
        audit.record(
            db.session,
            "trial_score",
            object_type="TrialScore",
            object_id=row.id,
            user=actor,
            now=now,
            summary=f"{klass.code} {trainee.name}: {row.total}",
        )
    return row


def my_trial_scores(klass: TrainingClass, user) -> dict[int, TrialScore]:
    """The trainer's own score rows, by trainee (a trainer never sees another's scores here)."""
    return {
        s.trainee_id: s
        for s in db.session.scalars(
            select(TrialScore).where(TrialScore.class_id == klass.id, TrialScore.user_id == user.id)
        )
    }


def enter_written(klass: TrainingClass, actor, raw: dict, now: datetime) -> None:
    """The trainers type the written-test scores (``written_<trainee id>``; blank: not yet)."""
    _trainer_of(actor, klass, _("Only the trainers of this class enter written-test scores."))
    with _first_writer_wins(), transaction():
        sheet = _ensure_sheet(klass, now)
        _check_editable(sheet)
        base = _base(sheet)
        for trainee in classroom.trainees_of(klass):
            field = f"written_{trainee.id}"
            if field in raw:
                line = dict(base.get(str(trainee.id), {}))
                line["written"] = parse_score(raw[field], sheet.scheme, field)
                base[str(trainee.id)] = line
        _refresh(sheet, base)
        audit.record(
            db.session,
            "written_scores",
            object_type="GradeSheet",
            object_id=sheet.id,
            user=actor,
            now=now,
            summary=klass.code,
        )


def mark_attendance(klass: TrainingClass, actor, raw: dict, now: datetime) -> None:
    """The institution marks the days attended (``attendance_<trainee id>``); blank puts the
    count back to the days of daily feedback."""
    if actor.role_kind != INSTITUTION or actor.org_id != klass.org_id:
        raise NotAllowed(_("Only the institution running the class marks attendance."))
    days = class_days(klass)
    with _first_writer_wins(), transaction():
        sheet = _ensure_sheet(klass, now)
        _check_editable(sheet)
        base = _base(sheet)
        for trainee in classroom.trainees_of(klass):
            field = f"attendance_{trainee.id}"
            if field not in raw:
                continue
            text = str(raw[field] or "").strip()
            line = dict(base.get(str(trainee.id), {}))
            if not text:
                line["attendance_marked"] = False
            elif not text.isdigit() or int(text) > days:
                raise InvalidValue(
                    _("Attendance is a whole number of days from 0 to %(days)d.", days=days),
                    field=field,
                )
            else:
                line["attendance_marked"], line["attendance"] = True, int(text)
            base[str(trainee.id)] = line
        _refresh(sheet, base)
        audit.record(
            db.session,
            "attendance_marked",
            object_type="GradeSheet",
            object_id=sheet.id,
            user=actor,
            now=now,
            summary=klass.code,
        )


def _check_submission(sheet: GradeSheet, actor, now: datetime) -> None:
    """review's ``before_submit``: the lead trainer only, every line complete."""
    klass = sheet.training_class
    lead = lead_of(klass)
    if lead is None or lead.user_id != actor.id:
        raise NotAllowed(_("Only the lead trainer submits the grade sheet."))
    current = _refresh(sheet)
    if not current:
        raise InvalidValue(_("The class has no trainees."))
    names = {t.id: t.name for t in classroom.trainees_of(klass)}
    for key, line in current.items():
        if line["trial"] is None:
            raise InvalidValue(
                _("The trial lecture of %(name)s has not been scored yet.", name=names[int(key)]),
                field=f"trial_{key}",
            )
        if line["written"] is None:
            raise InvalidValue(
                _(
                    "Enter the written-test score of %(name)s before submitting.",
                    name=names[int(key)],
                ),
                field=f"written_{key}",
            )


def submit(klass: TrainingClass, actor, now: datetime, expected_version=None) -> GradeSheet:
    """The lead trainer submits the sheet (or its correction) to the center."""
    with _first_writer_wins(), transaction():
        sheet = _ensure_sheet(klass, now)
        review.submit(sheet, actor, now, expected_version=expected_version)
    return sheet


def correct(sheet: GradeSheet, actor, now: datetime, expected_version=None) -> None:
    """第十条: the lead trainer opens a new revision; it is reviewed again before it counts."""
    lead = lead_of(sheet.training_class)
    if lead is None or lead.user_id != actor.id:
        raise NotAllowed(_("Only the lead trainer corrects the grade sheet."))
    review.start_correction(sheet, actor, now, expected_version=expected_version)


def decide(sheet: GradeSheet, actor, decision: str, now: datetime, opinion=None, version=None):
    """The center approves or returns the sheet (a grade sheet is never rejected outright)."""
    if decision not in (review.APPROVE, review.RETURN):
        raise NotAllowed(_("Unknown decision."))
    review.decide(sheet, actor, decision, now, opinion=opinion, expected_version=version)


def actions(klass: TrainingClass, sheet: GradeSheet | None, user) -> list[str]:
    """The review buttons the user gets on the sheet (none once the class is closed)."""
    if closed_class.is_closed(klass):
        return []
    if sheet is None:
        lead = lead_of(klass)
        return [review.SUBMIT] if lead is not None and lead.user_id == user.id else []
    found = [a for a in review.allowed_actions(sheet, user) if a != review.REJECT]
    lead = lead_of(sheet.training_class)
    if lead is None or lead.user_id != user.id:
        found = [a for a in found if a not in (review.SUBMIT, review.CORRECT)]
    return found


def _on_approved(sheet: GradeSheet, actor, now: datetime) -> None:
    """Row 22 starts: the province's certificate entry, pre-filled from the passed lines."""
    from app.services import certificates  # noqa: PLC0415 (certificates builds on grades)

    certificates.open_entry(sheet.training_class, now)


GRADE_SHEET = review.register(
    review.Kind(
        name="grade_sheet",
        model=GradeSheet,
        label=_l("Grade sheet"),
        record_page="GradeSheetView",
        chain="grade_sheet",
        fields=("entries",),
        before_submit=_check_submission,
        on_approved=_on_approved,
        org_field="submitter_org_id",
        submitter_of=lambda sheet: sheet.submitted_by_id,  # the lead trainer who submitted it
    )
)


# ---------------------------------------------------------------- the center keeps the scheme

SCHEME_FORM = (
    "title",
    "criteria",
    "scale_max",
    "trial_weight",
    "written_weight",
    "pass_line",
    "min_attendance",
)


def scheme_form_values(scheme: GradeScheme) -> dict:
    """The editor's values of a version: criteria one a line, ``名称 | 权重``."""
    return {
        "title": scheme.title,
        "criteria": "\n".join(f"{c['label']} | {c['weight']}" for c in criteria(scheme)),
        **{name: str(getattr(scheme, name)) for name in SCHEME_FORM[2:]},
    }


def _whole(text, field: str, low: int, high: int) -> int:
    text = str(text or "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidValue(
            _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), field=field
        )
    return int(text)


def new_version(values: dict, actor, now: datetime) -> GradeScheme:
    """A new version of the scheme (the center): it applies to the classes starting after now."""
    if actor.role_kind != CENTER:
        raise NotAllowed(_("Only the center keeps the grade scheme."))
    title = str(values.get("title") or "").strip()
    if not title or len(title) > 64:
        raise InvalidValue(_("Give a title of at most 64 characters."), field="title")
    items = []
    for n, line in enumerate(str(values.get("criteria") or "").splitlines(), 1):
        if not line.strip():
            continue
        label, _sep, weight = line.rpartition("|")
        label = label.strip()
        if not label or len(label) > 64 or not weight.strip().isdigit() or int(weight) <= 0:
            raise InvalidValue(
                _("Line %(n)d: write a criterion as “name | weight”.", n=n), field="criteria"
            )
        items.append({"key": f"c{len(items) + 1}", "label": label, "weight": int(weight)})
    if not items or sum(c["weight"] for c in items) != 100:
        raise InvalidValue(_("The criteria's weights must add up to 100."), field="criteria")
    scale_max = _whole(values.get("scale_max"), "scale_max", 1, 1000)
    trial_weight = _whole(values.get("trial_weight"), "trial_weight", 0, 100)
    written_weight = _whole(values.get("written_weight"), "written_weight", 0, 100)
    if trial_weight + written_weight != 100:
        raise InvalidValue(
            _("The weights of the trial lecture and the written test must add up to 100."),
            field="written_weight",
        )
    pass_line = _whole(values.get("pass_line"), "pass_line", 0, scale_max)
    min_attendance = _whole(values.get("min_attendance"), "min_attendance", 0, 100)
    with transaction():
        last = db.session.scalar(select(func.max(GradeScheme.version))) or 0
        scheme = GradeScheme(
            version=last + 1,
            title=title,
            criteria=json.dumps(items, ensure_ascii=False),
            scale_max=scale_max,
            trial_weight=trial_weight,
            written_weight=written_weight,
            pass_line=pass_line,
            min_attendance=min_attendance,
            created_at=now,
            created_by_id=actor.id,
        )
        db.session.add(scheme)
        db.session.flush()
        audit.record(
            db.session,
            "grade_scheme_version",
            object_type="GradeScheme",
            object_id=scheme.id,
            user=actor,
            now=now,
            summary=f"v{scheme.version}",
        )
    return scheme
