"""The class activity report (讲师培训班活动报告, Annex 1 row 20).

- **Opened with the lead trainer**: naming a class's lead trainer (`classroom.assign_trainer`)
  opens the class's draft report and the lead's to-do "submit the class activity report", due 3
  days after the class's last day (`deadlines.due_at`); a new lead takes the item over. The
  item sits in the lead trainer's 我的待办 and, once late, on the overdue board of the class's
  institution and the levels above it (and in ``flask malan overdue``).
- **Sections**: 概况 (overview), the teaching content of each class day (one field per day,
  pre-filled list), problems, suggestions — typed by the lead trainer; the trainees'
  performance (from the grade sheet: passed, failed, mean total) and the evaluation results
  (from the forms: forms submitted, mean scores) are computed, shown read-only. Photos and other
  files are attachments of the report (`app.services.files`).
- **Review**: the lead trainer submits from the class's last day on (a class not finished yet, or
  closed, is refused); the center approves or returns (review kind ``activity_report``; a
  returned report is a to-do of the lead trainer again). After approval a change is a correction:
  a new revision, reviewed again, the approved text in force meanwhile.
- **Who**: the center, the class's province, city and institution, its trainers read it;
  anyone else gets a 404 (`visible_class`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import classroom, evaluation_results, files, grades, review
from app.services.deadlines import CALENDAR, due_at
from app.services.errors import InvalidValue, NotAllowed
from app.services.tx import transaction
from models.after_class import ActivityReport
from models.application import TrainingClass
from models.review import DRAFT, RETURNED, ReviewTask
from models.user import TRAINER, MalanUser

AFTER_END_DAYS = 3  # rows 20 and 21: within 3 days after the end
TEXT_LIMIT = 4000  # characters of one section
PHOTO = "photo"  # the attachments' purpose
SECTIONS = ("overview", "problems", "suggestions")


def due_after_end(klass: TrainingClass) -> datetime:
    """The end of the 3rd day after the class's last day (calendar or working days, as set)."""
    mode = current_app.config.get("DEADLINE_MODE", CALENDAR) if has_app_context() else CALENDAR
    return due_at(datetime.combine(klass.end_date, time()), AFTER_END_DAYS, mode)


def closed(klass: TrainingClass) -> bool:
    """A closed class is read-only (SPEC §9); the closing itself is another step's."""
    return getattr(klass, "closed_at", None) is not None


def class_dates(klass: TrainingClass) -> list[date]:
    return [
        klass.start_date + timedelta(days=n)
        for n in range((klass.end_date - klass.start_date).days + 1)
    ]


# ---------------------------------------------------------------- reading


def visible_class(user, class_id) -> TrainingClass | None:
    """The class if ``user`` may read its report (like its grade sheet), else None (a 404)."""
    return grades.visible_class(user, class_id)


def report_of(klass: TrainingClass) -> ActivityReport | None:
    return db.session.scalar(select(ActivityReport).where(ActivityReport.class_id == klass.id))


def is_lead(user, klass: TrainingClass) -> bool:
    lead = grades.lead_of(klass)
    return lead is not None and user is not None and lead.user_id == user.id


def values(report: ActivityReport | None) -> dict:
    """The sections as this moment shows them: a correction's proposed text while it is under
    way, else the row's."""
    if report is None:
        return {}
    return review.proposed_values(report)


def teaching_of(klass: TrainingClass, report_values: dict) -> list[tuple[date, str]]:
    """(day, content) for every class day: the pre-filled list the form shows."""
    typed = {row.get("day"): row.get("content") or "" for row in _teaching(report_values)}
    return [(day, typed.get(day.isoformat(), "")) for day in class_dates(klass)]


def _teaching(report_values: dict) -> list[dict]:
    try:
        return json.loads(report_values.get("teaching") or "[]")
    except ValueError:
        return []


def performance(klass: TrainingClass) -> dict | None:
    """The trainees' performance from the grade sheet (None before it exists): the summary of
    `grades.summary` plus the failed count and whether the sheet is approved."""
    sheet = grades.sheet_of(klass)
    if sheet is None:
        return None
    lines = [line.values for line in grades.lines(klass, sheet)]
    stats = grades.summary(lines)
    stats["failed"] = sum(1 for v in lines if v.get("passed") is False)
    stats["approved"] = sheet.in_force_revision is not None
    return stats


def evaluation(klass: TrainingClass):
    return evaluation_results.class_summary(klass)


def photos(report: ActivityReport | None) -> list:
    return files.attachments_of(report, PHOTO) if report is not None else []


# ---------------------------------------------------------------- opened with the lead trainer


def _todo_label(task) -> str:
    """The lead trainer's item says what to do (a first submission or a returned report alike);
    the center's is its chain step."""
    if task.step == review.SUBMITTER_STEP:
        return N_("Submit the class activity report")
    return review.CHAINS["activity_report"].steps[task.step].label


def _lead_named(klass: TrainingClass, row, now: datetime) -> None:
    """`classroom.ON_TRAINER_ADDED`: a lead trainer opens the draft and its to-do, or takes
    over the draft (and the to-do) of the lead before it."""
    if not row.is_lead or row.user_id is None:
        return
    user = row.user or db.session.get(MalanUser, row.user_id)
    org_id = user.org_id or klass.org_id
    report = report_of(klass)
    if report is None:
        report = ActivityReport(
            class_id=klass.id,
            org_id=klass.org_id,
            submitter_org_id=org_id,
            lead_user_id=user.id,
            created_at=now,
        )
        db.session.add(report)
        db.session.flush()
        review.open_todos(
            ACTIVITY_REPORT,
            report.id,
            TRAINER,
            [klass.org_id],
            now,
            due_after_end(klass),
            assignee_id=user.id,
        )
        return
    if report.status in (DRAFT, RETURNED):
        report.lead_user_id, report.submitter_org_id = user.id, org_id
        db.session.execute(
            update(ReviewTask)
            .where(
                ReviewTask.record_type == ACTIVITY_REPORT.name,
                ReviewTask.record_id == report.id,
                ReviewTask.done_at.is_(None),
                ReviewTask.step == review.SUBMITTER_STEP,
            )
            .values(assignee_id=user.id)
            .execution_options(synchronize_session=False)
        )


def _trainer_removed(klass: TrainingClass, row, actor, now: datetime) -> None:
    """`classroom.ON_TRAINER_REMOVED` (before the start): a removed lead's draft goes with it."""
    report = report_of(klass)
    if report is not None and row.is_lead and report.status == DRAFT and report.revision == 1:
        review.discard(report)
        db.session.delete(report)


classroom.ON_TRAINER_ADDED.append(_lead_named)
classroom.ON_TRAINER_REMOVED.append(_trainer_removed)


# ---------------------------------------------------------------- writing


def _check_may_write(klass: TrainingClass, actor, now: datetime) -> None:
    if not is_lead(actor, klass):
        raise NotAllowed(_("Only the lead trainer of the class writes its activity report."))
    if closed(klass):
        raise NotAllowed(_("Class %(code)s is closed: it can no longer change.", code=klass.code))
    if now.date() < klass.end_date:
        raise NotAllowed(
            _(
                "Class %(code)s has not finished yet: its activity report is written from its "
                "last day (%(day)s) on.",
                code=klass.code,
                day=klass.end_date.isoformat(),
            )
        )


def _report_for_writing(klass: TrainingClass, actor, now: datetime) -> ActivityReport:
    _check_may_write(klass, actor, now)
    report = report_of(klass)
    if report is None:  # a lead named before this step existed: open it now
        _lead_named(klass, grades.lead_of(klass), now)
        report = report_of(klass)
    return report


def clean(klass: TrainingClass, raw: dict) -> dict:
    """The typed sections (``overview``, ``day_<iso date>``, ``problems``, ``suggestions``) as the
    report's values; `InvalidValue` at the first field too long."""
    out = {}
    for name in SECTIONS:
        text = str(raw.get(name) or "").strip()
        _limit(text, name)
        out[name] = text or None
    days = []
    for day in class_dates(klass):
        field = f"day_{day.isoformat()}"
        text = str(raw.get(field) or "").strip()
        _limit(text, field)
        days.append({"day": day.isoformat(), "content": text})
    out["teaching"] = json.dumps(days, ensure_ascii=False)
    return out


def _limit(text: str, field: str) -> None:
    if len(text) > TEXT_LIMIT:
        raise InvalidValue(
            _(
                "At most %(n)d characters (this one has %(found)d).",
                n=TEXT_LIMIT,
                found=len(text),
            ),
            field=field,
        )


def save(klass: TrainingClass, actor, raw: dict, now: datetime) -> ActivityReport:
    """The lead trainer saves the report's text (a draft, a returned report, a correction)."""
    cleaned = clean(klass, raw)
    with transaction():
        report = _report_for_writing(klass, actor, now)
        if not review.editable(report):
            raise NotAllowed(
                _(
                    "The activity report has been submitted: a change is a correction that the "
                    "lead trainer starts and the center reviews again."
                )
            )
        review.propose(report, cleaned)
        audit.record(
            db.session,
            "activity_report_save",
            object_type="ActivityReport",
            object_id=report.id,
            user=actor,
            now=now,
            summary=klass.code,
        )
    return report


def add_photo(klass: TrainingClass, actor, upload, now: datetime):
    """A photo (or another file) of the class, attached to the report by the lead trainer."""
    with transaction():
        report = _report_for_writing(klass, actor, now)
        if not review.editable(report):
            raise NotAllowed(_("Start a correction to add files to a submitted report."))
        return files.store(upload, owner=report, actor=actor, now=now, purpose=PHOTO)


def _check_submission(report: ActivityReport, actor, now: datetime) -> None:
    """review's ``before_submit``: the lead trainer, a finished open class, the sections filled."""
    klass = report.training_class
    _check_may_write(klass, actor, now)
    current = values(report)
    if not (current.get("overview") or "").strip():
        raise InvalidValue(_("Describe the class in the overview."), field="overview")
    for day, content in teaching_of(klass, current):
        if not content.strip():
            raise InvalidValue(
                _("Enter the teaching content of %(day)s.", day=day.isoformat()),
                field=f"day_{day.isoformat()}",
            )


def submit(klass: TrainingClass, actor, now: datetime, expected_version=None) -> ActivityReport:
    """The lead trainer submits the report (or its correction) to the center."""
    with transaction():
        report = _report_for_writing(klass, actor, now)
        review.submit(report, actor, now, expected_version=expected_version)
    return report


def correct(report: ActivityReport, actor, now: datetime, expected_version=None) -> None:
    """第十条: the lead trainer opens a new revision; it is reviewed again before it counts."""
    _check_may_write(report.training_class, actor, now)
    review.start_correction(report, actor, now, expected_version=expected_version)


def decide(report: ActivityReport, actor, decision: str, now: datetime, opinion=None, version=None):
    """The center approves or returns the report (never rejected outright: it is due anyway)."""
    if decision not in (review.APPROVE, review.RETURN):
        raise NotAllowed(_("Unknown decision."))
    review.decide(report, actor, decision, now, opinion=opinion, expected_version=version)


def actions(klass: TrainingClass, report: ActivityReport | None, user) -> list[str]:
    """The review buttons the user gets on the report."""
    if report is None:
        return []
    found = [a for a in review.allowed_actions(report, user) if a != review.REJECT]
    if not is_lead(user, klass):
        found = [a for a in found if a not in (review.SUBMIT, review.CORRECT)]
    return found


ACTIVITY_REPORT = review.register(
    review.Kind(
        name="activity_report",
        model=ActivityReport,
        label=_l("Class activity report"),
        record_page="ActivityReportView",
        chain="activity_report",
        fields=("overview", "teaching", "problems", "suggestions"),
        before_submit=_check_submission,
        org_field="submitter_org_id",
        todo_label=_todo_label,
        submitter_of=lambda report: report.lead_user_id,
    )
)
