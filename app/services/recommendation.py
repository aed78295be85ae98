"""The explained recommendation of trainers for a class (Annex 1 row 9).

Hard filters, in order, each reported with the number of trainers it removed: in the pool
(approved, in force, active, with an account), not already asked for this class, qualified for
the course type, certificate valid through the class's last day, available on every class day,
not booked on an overlapping class; then the institution's criteria (level, region, must-haves),
which it may relax. The survivors are scored; every part of the score is shown.

Statements do not grow with the pool: one statement judges every profile once (a CTE gives
each the first filter it fails) and returns both the count each filter removed and the
survivors' ids, regions, workload and experience (correlated subqueries, survivors only); one
asks for past feedback (`feedback_scores`), one loads the shown trainers' profiles with their orgs. Weights are data: `WEIGHTS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.services import vocabulary
from models.after_class import TrainerFeedback
from models.application import TrainingClass
from models.classroom import SUBMITTED, EvaluationAnswer, EvaluationSubmission
from models.dispatch import (
    ANYWHERE,
    OPEN_SEATS,
    SAME_CITY,
    SAME_PROVINCE,
    TAUGHT_SEATS,
    Availability,
    Booking,
    Dispatch,
    DispatchSeat,
)
from models.faculty import ACTIVE, GENDERS, FacultyProfile
from models.org import Org
from models.vocabulary import TRAINER_LEVEL

# The score, in one place. Points per part; a part that scores 0 is not shown (region always is).
WEIGHTS = {
    "same_city": 30,
    "same_province": 20,
    "elsewhere": 0,
    "recent_dispatch": -5,  # per dispatch in the last 12 months (workload balance)
    "experience": 4,  # per class of this course type taught before…
    "experience_cap": 5,  # …counted up to this many classes
    # Per point of past feedback (1–5) above or below its middle, 3 (一般): 5.0 → +20, 2.0 → −10.
    "feedback": 10,
    "named": 50,  # the trainer the institution named
}
FEEDBACK_MIDDLE = 3
WORKLOAD_DAYS = 365  # also the window of the feedback counted
SHOWN = 50  # ranked trainers a page shows

REGION_LABELS = {
    SAME_CITY: _l("Same city"),
    SAME_PROVINCE: _l("Same province"),
    ANYWHERE: _l("Anywhere"),
}


@dataclass(frozen=True)
class Filter:
    code: str
    label: object  # lazy msgid
    relaxable: bool  # a criterion of the institution (not a rule of the pool)
    removed: int = 0


@dataclass
class Ranked:
    profile_id: int
    score: int
    parts: list[tuple[str, int]] = field(default_factory=list)
    region: str = ANYWHERE
    workload: int = 0
    experience: int = 0
    loaded: FacultyProfile | None = None  # the shown ones come loaded, with their org

    @property
    def profile(self) -> FacultyProfile:
        """The trainer's profile: loaded with the page's rows for the shown ones; for the others
        (a caller looking past the shown), read when asked."""
        if self.loaded is None:
            self.loaded = db.session.get(FacultyProfile, self.profile_id)
        return self.loaded

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def org_name(self) -> str:
        return self.profile.org.name if self.profile.org else ""

    @property
    def explained(self) -> str:
        """ "同省 +20，近12个月派遣2次 −10" """
        return "，".join(f"{label} {_signed(points)}" for label, points in self.parts)


@dataclass
class Recommendation:
    ranked: list[Ranked]  # every survivor, best first
    filters: list[Filter]  # every filter, with what it removed
    pool: int  # profiles looked at

    @property
    def shown(self) -> list[Ranked]:
        return self.ranked[:SHOWN]

    @property
    def removing(self) -> list[Filter]:
        return [f for f in self.filters if f.removed]

    @property
    def emptied_by(self) -> Filter | None:
        """The filter that removed the last trainers (None when someone is left)."""
        if self.ranked:
            return None
        return next((f for f in reversed(self.filters) if f.removed), None)

    def ids(self) -> set[int]:
        return {r.profile_id for r in self.ranked}


def _signed(points: int) -> str:
    return f"+{points}" if points >= 0 else f"−{-points}"


def _class_days(klass: TrainingClass) -> int:
    return (klass.end_date - klass.start_date).days + 1


def _taught(course_type: str, before: date, exclude_class: int, profile_id=None):
    """Classes of the course type the trainer accepted and that ended before ``before``."""
    return (
        select(func.count(DispatchSeat.id))
        .join(TrainingClass, TrainingClass.id == DispatchSeat.class_id)
        .where(
            DispatchSeat.profile_id == (FacultyProfile.id if profile_id is None else profile_id),
            DispatchSeat.status.in_(TAUGHT_SEATS),
            TrainingClass.course_type == course_type,
            TrainingClass.end_date < before,
            TrainingClass.id != exclude_class,
        )
        .scalar_subquery()
    )


def _workload(today: date, exclude_class: int, profile_id=None):
    """Requests open or accepted on classes starting from 12 months ago (upcoming ones too)."""
    return (
        select(func.count(DispatchSeat.id))
        .join(TrainingClass, TrainingClass.id == DispatchSeat.class_id)
        .where(
            DispatchSeat.profile_id == (FacultyProfile.id if profile_id is None else profile_id),
            DispatchSeat.status.in_(OPEN_SEATS),
            TrainingClass.start_date >= today - timedelta(days=WORKLOAD_DAYS),
            TrainingClass.id != exclude_class,
        )
        .scalar_subquery()
    )


def _filters(d: Dispatch, klass: TrainingClass, inst: Org, today: date, relax=()):
    """(Filter, condition) in order; every condition is NULL-safe (TRUE or FALSE)."""
    P = FacultyProfile
    start, end = klass.start_date, klass.end_date
    available = (
        select(
            func.count()
        )  # count(*): the (profile_id, day) index answers alone, on PostgreSQL too
        .select_from(Availability)
        .where(Availability.profile_id == P.id, Availability.day.between(start, end))
        .scalar_subquery()
    )
    booked = exists().where(Booking.profile_id == P.id, Booking.day.between(start, end))
    # Uncorrelated (the class's few seats, read once) rather than a probe per trainer in the pool;
    # profile_id is NOT NULL, so NOT IN is TRUE or FALSE.
    asked = select(DispatchSeat.profile_id).where(DispatchSeat.class_id == klass.id)
    qualified = (literal(" ") + func.coalesce(P.course_types, "") + literal(" ")).like(
        f"% {d.course_type} %"
    )
    rules = [
        (
            Filter("pool", _l("In the pool: approved, active, with an account"), False),
            and_(
                P.in_force_revision.isnot(None), P.service_status == ACTIVE, P.user_id.isnot(None)
            ),
        ),
        (Filter("asked", _l("Already asked for this class"), False), P.id.not_in(asked)),
        (Filter("course_type", _l("Qualified for the course type"), False), qualified),
        (
            Filter("certificate", _l("Certificate valid through the last class day"), False),
            and_(P.certificate_expiry.isnot(None), P.certificate_expiry >= end),
        ),
        (
            Filter("available", _l("Available on every class day"), False),
            available == _class_days(klass),
        ),
        (Filter("booked", _l("Not booked on an overlapping class"), False), not_(booked)),
    ]
    if d.level and "level" not in relax:
        rules.append(
            (
                Filter("level", _l("Level"), True),
                and_(P.level.isnot(None), P.level == d.level),
            )
        )
    if d.region == SAME_CITY and "region" not in relax:
        rules.append((Filter("region", _l("Same city"), True), P.org_id == (inst.city_id or 0)))
    elif d.region == SAME_PROVINCE and "region" not in relax:
        province = select(Org.id).where(
            or_(Org.id == inst.province_id, Org.province_id == inst.province_id)
        )
        rules.append((Filter("region", _l("Same province"), True), P.org_id.in_(province)))
    if d.min_taught and "min_taught" not in relax:
        rules.append(
            (
                Filter("min_taught", _l("Taught this course type often enough"), True),
                _taught(d.course_type, start, klass.id) >= d.min_taught,
            )
        )
    if d.gender and "gender" not in relax:
        rules.append(
            (
                Filter("gender", _l("Gender"), True),
                and_(P.gender.isnot(None), P.gender == d.gender),
            )
        )
    return rules


def feedback_scores(today: date) -> dict[int, float]:
    """Past feedback per trainer profile over the last 12 months, on the 1–5 scale: the mean of
    the institutions' 《培训师授课意见反馈表》 scores and the mean of the trainees' per-trainer
    scale answers, weighted alike (a class's dozens of trainee answers do not drown its one
    institution form); either alone when the other is missing. One grouped statement over the
    trainers who have any, never one per trainer."""
    since = datetime.combine(today - timedelta(days=WORKLOAD_DAYS), time())
    P, F = FacultyProfile, TrainerFeedback
    S, A = EvaluationSubmission, EvaluationAnswer
    institution = (
        select(P.id.label("pid"), literal("i").label("source"), F.score.label("score"))
        .join(F, F.trainer_user_id == P.user_id)
        .where(F.score.isnot(None), F.submitted_at >= since)
    )
    trainees = (
        select(P.id, literal("t"), cast(A.score, Float))
        .join(A, A.trainer_id == P.user_id)
        .join(S, S.id == A.submission_id)
        .where(A.score.isnot(None), S.status == SUBMITTED, S.submitted_at >= since)
    )
    both = union_all(institution, trainees).subquery()
    means: dict[int, list[float]] = {}
    for pid, _source, mean in db.session.execute(
        select(both.c.pid, both.c.source, func.avg(both.c.score)).group_by(
            both.c.pid, both.c.source
        )
    ):
        means.setdefault(pid, []).append(float(mean))
    return {pid: round(sum(m) / len(m), 1) for pid, m in means.items()}


def recommend(d: Dispatch, today: date, relax=()) -> Recommendation:
    """The ranked, explained list for the dispatch's class. ``relax``: criteria to ignore."""
    klass = db.session.get(TrainingClass, d.class_id)
    inst = db.session.get(Org, klass.org_id)
    rules = _filters(d, klass, inst, today, relax)
    failed_at = case(*[(not_(cond), n) for n, (_f, cond) in enumerate(rules, start=1)], else_=0)
    # One statement: the filters are evaluated once per profile (the CTE, used twice, is
    # materialized by SQLite and PostgreSQL alike); its removed ones come back as one count per
    # filter, its survivors as rows with the few columns the score needs.
    judged = select(
        FacultyProfile.id.label("id"), FacultyProfile.org_id.label("org_id"), failed_at.label("f")
    ).cte("judged")
    counted = (
        select(judged.c.f, func.count(), *[null()] * 4).where(judged.c.f != 0).group_by(judged.c.f)
    )
    workload = _workload(today, klass.id, judged.c.id)
    experience = _taught(d.course_type, klass.start_date, klass.id, judged.c.id)
    survivors = (
        select(literal(0), judged.c.id, judged.c.org_id, Org.province_id, workload, experience)
        .join(Org, Org.id == judged.c.org_id)
        .where(judged.c.f == 0)
    )
    counts, rows = {}, []
    for f, n_or_id, org_id, province_id, work, exp in db.session.execute(
        union_all(counted, survivors)
    ).all():
        if f:
            counts[f] = n_or_id
        else:
            rows.append((n_or_id, org_id, province_id, work, exp))
    counts[0] = len(rows)
    filters = [
        Filter(f.code, f.label, f.relaxable, counts.get(n, 0))
        for n, (f, _c) in enumerate(rules, start=1)
    ]
    feedback = feedback_scores(today)
    words = _Words()
    # Plain values, not ORM attributes, for the thousands of survivors scored below.
    d_, inst_ = (
        _Plain(named_profile_id=d.named_profile_id),
        _Plain(city_id=inst.city_id, province_id=inst.province_id),
    )
    ranked = [
        _score(d_, inst_, pid, org_id, province_id, work, exp, feedback.get(pid), words)
        for pid, org_id, province_id, work, exp in rows
    ]
    ranked.sort(key=lambda r: (-r.score, r.profile_id))  # ties: the older profile first
    shown = ranked[:SHOWN]
    loaded = {
        p.id: p
        for p in db.session.scalars(
            select(FacultyProfile)
            .options(joinedload(FacultyProfile.org))
            .where(FacultyProfile.id.in_([r.profile_id for r in shown]))
        )
    }
    for r in shown:
        r.loaded = loaded[r.profile_id]
    return Recommendation(ranked, filters, sum(counts.values()))


def check(d: Dispatch, profile_ids: list[int], today: date, relax=()) -> dict[int, Filter]:
    """The first filter each of ``profile_ids`` now fails (absent: it passes). The same rules as
    `recommend`, on the given trainers only: one statement, O(len(profile_ids)), whatever the
    pool — for a submit, which must not recompute the whole list."""
    if not profile_ids:
        return {}
    klass = db.session.get(TrainingClass, d.class_id)
    inst = db.session.get(Org, klass.org_id)
    rules = _filters(d, klass, inst, today, relax)
    failed_at = case(*[(not_(cond), n) for n, (_f, cond) in enumerate(rules, start=1)], else_=0)
    found = dict(
        db.session.execute(
            select(FacultyProfile.id, failed_at).where(FacultyProfile.id.in_(profile_ids))
        ).all()
    )
    pool = rules[0][0]
    return {
        pid: (rules[found[pid] - 1][0] if pid in found else pool)
        for pid in profile_ids
        if found.get(pid, -1) != 0
    }


class _Plain(SimpleNamespace):
    """The few attributes of the dispatch and the institution the score reads, copied once."""


class _Words(dict):
    """The score's words, translated once per recommendation (not once per trainer: gettext is
    slow next to the rest of the scoring at thousands of survivors)."""

    TEXTS = {
        SAME_CITY: lambda _n: _("Same city"),
        SAME_PROVINCE: lambda _n: _("Same province"),
        ANYWHERE: lambda _n: _("Other province"),
        "workload": lambda n: _("%(n)d dispatch(es) in the last 12 months", n=n),
        "experience": lambda n: _("taught this course type %(n)d time(s)", n=n),
        "feedback": lambda v: _("feedback %(v).1f", v=v),
        "named": lambda _n: _("named by the institution"),
    }

    def __missing__(self, key):
        name, n = key
        value = self[key] = self.TEXTS[name](n)
        return value


_REGION_POINTS = {SAME_CITY: "same_city", SAME_PROVINCE: "same_province", ANYWHERE: "elsewhere"}


def _score(
    d, inst, profile_id, org_id, province_id, workload, experience, feedback, words=None
) -> Ranked:
    w, words = WEIGHTS, _Words() if words is None else words
    parts = []
    if inst.city_id and org_id == inst.city_id:
        region = SAME_CITY
    elif inst.province_id and inst.province_id in (org_id, province_id):
        region = SAME_PROVINCE
    else:
        region = ANYWHERE
    parts.append((words[region, None], w[_REGION_POINTS[region]]))
    if workload:
        parts.append((words["workload", workload], workload * w["recent_dispatch"]))
    if experience:
        counted = min(experience, w["experience_cap"])
        parts.append((words["experience", experience], counted * w["experience"]))
    if feedback and w["feedback"]:
        points = round((feedback - FEEDBACK_MIDDLE) * w["feedback"])
        parts.append((words["feedback", feedback], points))
    if d.named_profile_id == profile_id:
        parts.append((words["named", None], w["named"]))
    return Ranked(profile_id, sum(p for _l, p in parts), parts, region, workload, experience)


def criteria_words(d: Dispatch) -> list[str]:
    """The criteria as a reader sees them."""
    levels = vocabulary.labels(TRAINER_LEVEL)
    words = [
        _("Trainers wanted: %(n)d", n=d.wanted),
        _("Level: %(v)s", v=levels.get(d.level, d.level) if d.level else _("any")),
        _("Region: %(v)s", v=REGION_LABELS.get(d.region, d.region)),
    ]
    if d.min_taught:
        words.append(_("Taught this course type at least %(n)d time(s)", n=d.min_taught))
    if d.gender:
        words.append(_("Gender: %(v)s", v=GENDERS.get(d.gender, d.gender)))
    if d.named_profile is not None:
        words.append(_("Named trainer: %(v)s", v=d.named_profile.name))
    return words
