"""统计汇总: the figures of the summary spreadsheets (reports.summary) and of the home page's
dashboard, from one set of queries so that both always say the same numbers.

Every figure is aggregated by the database (GROUP BY), never row by row: a period's classes
cost one statement whatever their number, the overdue steps one more, the names of the orgs a
third. Rows come back at the finest grain the reports need (institution × course type; the
reviewing org), and `by_level` rolls them up to provinces, cities or institutions.

A class belongs to a period by its start date. Its status is read from its dates on ``today``:
not started, running, ended. Pass rates count the lines of grade sheets in force (approved by
the center); evaluation scores are the scale answers of submitted forms. A step is overdue
when its due time, inside the period, passed before it was done (still open, or done late).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from app.services import vocabulary
from app.services.errors import InvalidValue
from models.application import TrainingClass
from models.classroom import SUBMITTED, ClassTrainee, EvaluationAnswer, EvaluationSubmission
from models.grades import GradeEntry, GradeSheet
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from models.review import ReviewTask
from models.vocabulary import COURSE_TYPE
from security.scope import SYSTEM, Scope, in_scope

UPCOMING, RUNNING, ENDED = "upcoming", "running", "ended"
STATUSES = (UPCOMING, RUNNING, ENDED)
# What is summed when rows roll up; the rates are computed from the sums, never averaged.
CLASS_SUMS = (
    "classes",
    UPCOMING,
    RUNNING,
    ENDED,
    "trainees",
    "graded",
    "passed",
    "score_sum",
    "score_n",
)
OVERDUE_SUMS = ("overdue_open", "done_late")
SUMS = CLASS_SUMS + OVERDUE_SUMS
# The level below each kind of org: the rows of its sheet (an institution: itself).
CHILD_LEVEL = {CENTER: PROVINCE, PROVINCE: CITY, CITY: INSTITUTION, INSTITUTION: INSTITUTION}
LEVEL_KEY = {PROVINCE: "province_id", CITY: "city_id", INSTITUTION: "org_id"}


def status_labels() -> dict[str, str]:
    return {UPCOMING: _("Not started"), RUNNING: _("Running"), ENDED: _("Ended")}


# ---------------------------------------------------------------- the period


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __str__(self):
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def year_of(today: date) -> Period:
    return Period(date(today.year, 1, 1), date(today.year, 12, 31))


def _day(text, field: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidValue(_("Enter a date as YYYY-MM-DD."), field=field) from None


def parse_period(start_text, end_text) -> Period:
    """The period a user typed; a refusal names the field at fault."""
    start, end = _day(start_text, "start"), _day(end_text, "end")
    if end < start:
        raise InvalidValue(_("The end date cannot be before the start date."), field="end")
    return Period(start, end)


# ---------------------------------------------------------------- the queries


def _classes_of(period: Period, scope: Scope):
    """The ids of the classes starting in the period inside the scope."""
    start = TrainingClass.start_date
    return in_scope(
        select(TrainingClass.id).where(start >= period.start, start <= period.end),
        TrainingClass,
        scope,
    )


def _class_query(period: Period, today: date, scope: Scope = SYSTEM):
    """Classes starting in the period, by institution and course type, with their trainees,
    graded and passed trainees (sheets in force) and evaluation score sums: one statement.

    Each sum is taken over the classes of the period and scope only (``chosen``, inside the
    subquery): grouped over the whole history, the evaluation answers alone (millions of
    rows) cost a second per page whatever the period or region (bench B1, issue 16)."""
    inst = aliased(Org)
    chosen = _classes_of(period, scope)
    trainees = (
        select(ClassTrainee.class_id, func.count(ClassTrainee.id).label("n"))
        .where(ClassTrainee.withdrawn_at.is_(None), ClassTrainee.class_id.in_(chosen))
        .group_by(ClassTrainee.class_id)
        .subquery()
    )
    graded = (
        select(
            GradeSheet.class_id,
            func.count(GradeEntry.id).label("graded"),
            func.sum(case((GradeEntry.passed.is_(True), 1), else_=0)).label("passed"),
        )
        .join(GradeEntry, GradeEntry.sheet_id == GradeSheet.id)
        .where(GradeSheet.in_force_revision.is_not(None), GradeSheet.class_id.in_(chosen))
        .group_by(GradeSheet.class_id)
        .subquery()
    )
    scores = (
        select(
            EvaluationSubmission.class_id,
            func.sum(EvaluationAnswer.score).label("score_sum"),
            func.count(EvaluationAnswer.score).label("score_n"),
        )
        .join(EvaluationAnswer, EvaluationAnswer.submission_id == EvaluationSubmission.id)
        .where(
            EvaluationSubmission.status == SUBMITTED,
            EvaluationAnswer.score.is_not(None),
            EvaluationSubmission.class_id.in_(chosen),
        )
        .group_by(EvaluationSubmission.class_id)
        .subquery()
    )

    def count_when(cond):
        return func.sum(case((cond, 1), else_=0))

    start, end = TrainingClass.start_date, TrainingClass.end_date
    query = (
        select(
            inst.province_id,
            inst.city_id,
            TrainingClass.org_id,
            TrainingClass.course_type,
            func.count(TrainingClass.id).label("classes"),
            count_when(start > today).label(UPCOMING),
            count_when(and_(start <= today, end >= today)).label(RUNNING),
            count_when(end < today).label(ENDED),
            func.coalesce(func.sum(trainees.c.n), 0).label("trainees"),
            func.coalesce(func.sum(graded.c.graded), 0).label("graded"),
            func.coalesce(func.sum(graded.c.passed), 0).label("passed"),
            func.coalesce(func.sum(scores.c.score_sum), 0).label("score_sum"),
            func.coalesce(func.sum(scores.c.score_n), 0).label("score_n"),
        )
        .join(inst, inst.id == TrainingClass.org_id)
        .outerjoin(trainees, trainees.c.class_id == TrainingClass.id)
        .outerjoin(graded, graded.c.class_id == TrainingClass.id)
        .outerjoin(scores, scores.c.class_id == TrainingClass.id)
        .where(start >= period.start, start <= period.end)
        .group_by(inst.province_id, inst.city_id, TrainingClass.org_id, TrainingClass.course_type)
    )
    return in_scope(query, TrainingClass, scope)


def _overdue_query(period: Period, now: datetime):
    """Steps due in the period and late (open past due, or done after it), by reviewing org."""
    org = aliased(Org)
    late = (ReviewTask.done_at.is_(None) & (ReviewTask.due_at < now)) | (
        ReviewTask.done_at > ReviewTask.due_at
    )
    open_late = ReviewTask.done_at.is_(None) & (ReviewTask.due_at < now)
    return (
        select(
            # a province's or a city's own steps count in its own row
            case((org.kind == PROVINCE, org.id), else_=org.province_id).label("province_id"),
            case((org.kind == CITY, org.id), else_=org.city_id).label("city_id"),
            ReviewTask.reviewer_org_id.label("org_id"),
            func.sum(case((open_late, 1), else_=0)).label("overdue_open"),
            func.sum(case((open_late, 0), else_=1)).label("done_late"),
        )
        .join(org, org.id == ReviewTask.reviewer_org_id)
        .where(
            ReviewTask.due_at >= datetime.combine(period.start, time.min),
            ReviewTask.due_at < datetime.combine(period.end + timedelta(days=1), time.min),
            late,
        )
        .group_by(org.kind, org.id, org.province_id, org.city_id, ReviewTask.reviewer_org_id)
    )


@dataclass
class Figures:
    """What one scope holds for one period: the class rows, the overdue rows, org names."""

    period: Period
    classes: pd.DataFrame  # province_id, city_id, org_id, course_type, CLASS_SUMS
    overdue: pd.DataFrame  # province_id, city_id, org_id, OVERDUE_SUMS
    orgs: dict[int, Org]
    course_types: dict[str, str]


def figures(session, scope: Scope, period: Period, now: datetime) -> Figures:
    """Every figure of ``scope`` for ``period``: a fixed number of statements."""
    classes = pd.DataFrame(
        session.execute(_class_query(period, now.date(), scope)).mappings().all(),
        columns=["province_id", "city_id", "org_id", "course_type", *CLASS_SUMS],
    )
    overdue = pd.DataFrame(
        session.execute(in_scope(_overdue_query(period, now), ReviewTask, scope)).mappings().all(),
        columns=["province_id", "city_id", "org_id", *OVERDUE_SUMS],
    )
    ids = {
        int(i)
        for frame in (classes, overdue)
        for col in ("province_id", "city_id", "org_id")
        for i in frame[col].dropna()
    }
    orgs = {o.id: o for o in session.scalars(select(Org).where(Org.id.in_(ids)))} if ids else {}
    for frame, sums in ((classes, CLASS_SUMS), (overdue, OVERDUE_SUMS)):
        frame[list(sums)] = frame[list(sums)].fillna(0).astype(int)
    return Figures(period, classes, overdue, orgs, vocabulary.labels(COURSE_TYPE))


# ---------------------------------------------------------------- rolling up


def rates(row: dict) -> dict:
    """Pass rate (percent) and mean score from a row's sums; None where nothing was counted."""
    graded, answers = row.get("graded", 0), row.get("score_n", 0)
    return {
        **row,
        "pass_rate": round(100.0 * row["passed"] / graded, 1) if graded else None,
        "mean_score": round(row["score_sum"] / answers, 2) if answers else None,
    }


def totals(rows: list[dict]) -> dict:
    out = {name: sum(r.get(name, 0) for r in rows) for name in SUMS}
    return rates(out)


def by_level(fig: Figures, level: str, within: Org | None = None) -> list[dict]:
    """One row per org of ``level`` (province, city, institution) under ``within`` (None: all
    the scope holds), in code order; a row with no org (``org`` None) holds the steps of
    ``within`` itself (its own level). Each row: its SUMS, pass rate and mean score."""
    key = LEVEL_KEY[level]
    parts = []
    for frame, sums in ((fig.classes, CLASS_SUMS), (fig.overdue, OVERDUE_SUMS)):
        if within is not None and within.kind != CENTER:
            frame = frame[frame[LEVEL_KEY[within.kind]] == within.id]
        if level == INSTITUTION:  # only institutions: a city's own steps are its own level
            kinds = frame["org_id"].map(lambda i: fig.orgs[int(i)].kind)
            frame = frame.assign(org_id=frame["org_id"].where(kinds == INSTITUTION))
        grouped = frame.groupby(frame[key].fillna(0).astype(int))[list(sums)].sum()
        parts.append(grouped)
    merged = pd.concat(parts, axis=1).fillna(0).astype(int)
    for name in SUMS:
        if name not in merged:
            merged[name] = 0
    rows = []
    for org_id, values in merged.iterrows():
        org = fig.orgs.get(int(org_id)) if org_id else None
        rows.append(rates({"org": org, **{n: int(values[n]) for n in SUMS}}))
    return sorted(rows, key=lambda r: (r["org"] is None, r["org"].code if r["org"] else ""))


def by_course_type(fig: Figures) -> list[dict]:
    """One row per course type, in the center's order of the vocabulary."""
    grouped = fig.classes.groupby("course_type")[list(CLASS_SUMS)].sum()
    order = list(fig.course_types)
    rows = [
        rates(
            {
                "course_type": code,
                "label": fig.course_types.get(code, code),
                **{n: int(values[n]) for n in CLASS_SUMS},
            }
        )
        for code, values in grouped.iterrows()
    ]
    return sorted(
        rows,
        key=lambda r: order.index(r["course_type"]) if r["course_type"] in order else len(order),
    )


def by_status(fig: Figures) -> list[dict]:
    labels = status_labels()
    return [
        {"status": s, "label": labels[s], "classes": int(fig.classes[s].sum())} for s in STATUSES
    ]
