"""A class before and while it runs (Annex 1 rows 15–16): its trainers, its trainees and their
accounts, the trainers' needs analyses, and who may see a class.

- **Trainers** (`class_trainer`): a confirmed dispatch (`app.services.dispatch_notices`) puts
  its seats here with ``source=SOURCE_DISPATCH`` (`assign_trainer`); the center's form on the
  class page (`assign_by_username`) stays as a fallback for trainers arranged off-platform. A trainer is never on two overlapping classes. Each trainer gets a
  to-do "training needs analysis", due two days before the start.
- **Trainees** (`class_trainee`): the institution imports its list (reports/trainee_import.py)
  or adds one person, and may withdraw one, until the class starts. Each person gets a trainee
  account by the platform's username rule (one account per person: a person already known from
  an earlier class keeps its account); the account works from two days before the start until
  N days after the end (`security.trainee_window`), from the class dates copied onto the account
  here. A person already on an overlapping class is refused. The institution's to-do "import the
  trainee list" is opened with the class, due two days before the start, closed by the import.
- **Who sees a class**: the center, the class's province, city and institution (the scope of
  ``training_class``), its trainers, and — its own class only — its trainees.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app import audit
from app.extensions import db
from app.labels import N_
from app.services import accounts, fields, review
from app.services.deadlines import due_at
from app.services.errors import Conflict, InvalidValue, NotAllowed
from models.application import TrainingClass
from models.classroom import (
    SOURCE_CENTER,
    ClassTrainee,
    ClassTrainer,
    NeedsAnalysis,
)
from models.faculty import FacultyProfile
from models.user import CENTER, INSTITUTION, TRAINEE, TRAINER, MalanUser
from security.scope import row_in_scope, scope_of

LEAD_DAYS = 2  # rows 15 and 16: done two days before the start
TEXT_LIMIT = 4000  # the needs analysis' free texts
GENDERS = {"M": _l("Male"), "F": _l("Female")}
GENDER_WORDS = {"男": "M", "女": "F", "MALE": "M", "FEMALE": "F"}


# What opens or closes with a trainer on a class (the after-class forms of rows 20–21): callables
# (klass, ClassTrainer row, now) run in the caller's transaction, registered by their services
# at import (they read this module; this module does not import them).
ON_TRAINER_ADDED: list = []
ON_TRAINER_REMOVED: list = []  # (klass, row, actor, now)


def _import_label(task) -> str:
    return N_("Import the trainee list and open the accounts")


def _needs_label(task) -> str:
    return N_("Fill in the training needs analysis")


# Not reviewed: to-do items with a deadline (so they show in 我的待办 and on the overdue board).
TRAINEE_LIST = review.register(
    review.Kind(
        name="class_trainees",
        model=TrainingClass,
        label=_l("Trainee list"),
        record_page="TrainingClassView",
        todo_label=_import_label,
    )
)
NEEDS = review.register(
    review.Kind(
        name="needs_analysis",
        model=ClassTrainer,
        label=_l("Training needs analysis"),
        record_page="NeedsAnalysisView",
        todo_label=_needs_label,
    )
)


def due_before_start(klass: TrainingClass) -> datetime:
    """The end of the day two days before the class starts (rows 15 and 16)."""
    return due_at(datetime.combine(klass.start_date - timedelta(days=LEAD_DAYS), time()), 0)


def class_opened(klass: TrainingClass, now: datetime) -> None:
    """A new class: "import the trainee list" goes into its institution's to-do list."""
    review.open_todos(
        TRAINEE_LIST, klass.id, INSTITUTION, [klass.org_id], now, due_before_start(klass)
    )


def started(klass: TrainingClass, today: date) -> bool:
    return today >= klass.start_date


# ---------------------------------------------------------------- who sees a class


def trainer_row(user, klass: TrainingClass) -> ClassTrainer | None:
    if user is None or user.role_kind != TRAINER:
        return None
    return db.session.scalar(
        select(ClassTrainer).where(
            ClassTrainer.class_id == klass.id, ClassTrainer.user_id == user.id
        )
    )


def trainee_row(user, klass: TrainingClass) -> ClassTrainee | None:
    if user is None or user.role_kind != TRAINEE:
        return None
    return db.session.scalar(
        select(ClassTrainee).where(
            ClassTrainee.class_id == klass.id,
            ClassTrainee.user_id == user.id,
            ClassTrainee.withdrawn_at.is_(None),
        )
    )


def may_see_class(user, klass: TrainingClass | None) -> bool:
    """Center, the class's province, city and institution; its trainers; its own trainees."""
    if klass is None or user is None or not getattr(user, "is_authenticated", False):
        return False
    kind = user.role_kind
    if kind == TRAINER:
        return trainer_row(user, klass) is not None
    if kind == TRAINEE:
        return trainee_row(user, klass) is not None
    if kind not in (CENTER, "province", "city", INSTITUTION):
        return False
    return row_in_scope(klass, scope_of(user))


def visible_class(user, class_id) -> TrainingClass | None:
    """The class, or None when it does not exist or the user may not see it (a 404 either way)."""
    try:
        klass = db.session.get(TrainingClass, int(class_id))
    except (TypeError, ValueError):
        return None
    return klass if may_see_class(user, klass) else None


def trainers_of(klass: TrainingClass) -> list[ClassTrainer]:
    return list(
        db.session.scalars(
            select(ClassTrainer)
            .where(ClassTrainer.class_id == klass.id)
            .order_by(ClassTrainer.is_lead.desc(), ClassTrainer.id)
        )
    )


def trainees_of(klass: TrainingClass, include_withdrawn: bool = False) -> list[ClassTrainee]:
    query = select(ClassTrainee).where(ClassTrainee.class_id == klass.id)
    if not include_withdrawn:
        query = query.where(ClassTrainee.withdrawn_at.is_(None))
    return list(db.session.scalars(query.order_by(ClassTrainee.id)))


def classes_taught(user) -> list[TrainingClass]:
    """A trainer's classes, latest first."""
    return list(
        db.session.scalars(
            select(TrainingClass)
            .join(ClassTrainer, ClassTrainer.class_id == TrainingClass.id)
            .where(ClassTrainer.user_id == user.id)
            .order_by(TrainingClass.start_date.desc())
        )
    )


def teaching_history(profile) -> list[tuple[TrainingClass, bool]]:
    """The classes a faculty-pool profile taught (by the profile or its linked account), latest
    first, each with whether it was the lead trainer (主讲)."""
    who = ClassTrainer.faculty_id == profile.id
    if profile.user_id is not None:
        who = or_(who, ClassTrainer.user_id == profile.user_id)
    rows = db.session.execute(
        select(TrainingClass, ClassTrainer.is_lead)
        .join(ClassTrainer, ClassTrainer.class_id == TrainingClass.id)
        .where(who)
        .order_by(TrainingClass.start_date.desc())
    ).all()
    seen, out = set(), []
    for klass, is_lead in rows:
        if klass.id not in seen:
            seen.add(klass.id)
            out.append((klass, bool(is_lead)))
    return out


# ---------------------------------------------------------------- trainers


def assign_trainer(
    klass: TrainingClass,
    actor,
    now: datetime,
    *,
    user: MalanUser | None = None,
    faculty: FacultyProfile | None = None,
    is_lead: bool = False,
    source: str = SOURCE_CENTER,
) -> ClassTrainer:
    """Put a trainer (an account and/or a faculty-pool profile) on a class. The center's act
    (directly, or by confirming a dispatch); in the caller's transaction."""
    if actor.role_kind != CENTER:
        raise NotAllowed(_("Only the center assigns the trainers of a class."))
    if now.date() > klass.end_date:
        raise NotAllowed(_("Class %(code)s has ended.", code=klass.code))
    if user is None and faculty is None:
        raise InvalidValue(_("Choose a trainer."), field="username")
    if user is not None and (user.role_kind != TRAINER or not user.active):
        raise InvalidValue(
            _("%(u)s is not an active trainer account.", u=user.username), field="username"
        )
    if faculty is None and user is not None:
        faculty = db.session.scalar(select(FacultyProfile).where(FacultyProfile.user_id == user.id))
    if user is None and faculty is not None and faculty.user_id:
        user = db.session.get(MalanUser, faculty.user_id)
    name = user.full_name if user is not None else faculty.name
    _check_free(klass, user, faculty, name)
    if is_lead:
        for other in trainers_of(klass):
            other.is_lead = False
    row = ClassTrainer(
        class_id=klass.id,
        org_id=klass.org_id,
        user_id=user.id if user is not None else None,
        faculty_id=faculty.id if faculty is not None else None,
        is_lead=bool(is_lead),
        source=source,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    if user is not None and not started(klass, now.date()):
        review.open_todos(
            NEEDS,
            row.id,
            TRAINER,
            [klass.org_id],
            now,
            due_before_start(klass),
            assignee_id=row.user_id,
        )
    if user is not None:
        for hook in ON_TRAINER_ADDED:
            hook(klass, row, now)
    audit.record(
        db.session,
        "trainer_assign",
        object_type="TrainingClass",
        object_id=klass.id,
        summary=f"{klass.code}: {name}{'（主讲）' if is_lead else ''} ({source})",
        now=now,
    )
    return row


def _check_free(klass, user, faculty, name) -> None:
    """Not twice on the class; never on two overlapping classes (SPEC §9)."""
    who = []
    if user is not None:
        who.append(ClassTrainer.user_id == user.id)
    if faculty is not None:
        who.append(ClassTrainer.faculty_id == faculty.id)
    taken = db.session.execute(
        select(
            TrainingClass.id, TrainingClass.code, TrainingClass.start_date, TrainingClass.end_date
        )
        .join(ClassTrainer, ClassTrainer.class_id == TrainingClass.id)
        .where(
            or_(*who),
            TrainingClass.start_date <= klass.end_date,
            TrainingClass.end_date >= klass.start_date,
        )
    ).first()
    if taken is None:
        return
    if taken.id == klass.id:
        raise Conflict(
            _("%(name)s is already a trainer of this class.", name=name), field="username"
        )
    raise Conflict(
        _(
            "%(name)s already teaches class %(code)s (%(start)s – %(end)s), which overlaps "
            "this one.",
            name=name,
            code=taken.code,
            start=taken.start_date.isoformat(),
            end=taken.end_date.isoformat(),
        ),
        field="username",
    )


def assign_by_username(klass, username: str, is_lead: bool, actor, now: datetime) -> ClassTrainer:
    """The center's small form on the class page: a trainer account's username."""
    username = (username or "").strip()
    if not username:
        raise InvalidValue(_("Trainer account: required."), field="username")
    user = db.session.scalar(select(MalanUser).where(MalanUser.username == username))
    if user is None:
        raise InvalidValue(_("No account %(u)s.", u=username), field="username")
    return assign_trainer(klass, actor, now, user=user, is_lead=is_lead)


def remove_trainer(row: ClassTrainer, actor, now: datetime) -> None:
    """The center takes a trainer off a class before it starts (not once its analysis is in)."""
    klass = row.training_class
    if actor.role_kind != CENTER:
        raise NotAllowed(_("Only the center assigns the trainers of a class."))
    if started(klass, now.date()):
        raise NotAllowed(_("Class %(code)s has started: its trainers stay.", code=klass.code))
    if row.user_id and db.session.scalar(
        select(NeedsAnalysis.id).where(
            NeedsAnalysis.class_id == klass.id, NeedsAnalysis.user_id == row.user_id
        )
    ):
        raise Conflict(_("This trainer has already submitted the needs analysis."))
    review.close_todo(NEEDS, row.id, klass.org_id, actor, now, "withdrawn")
    for hook in ON_TRAINER_REMOVED:
        hook(klass, row, actor, now)
    audit.record(
        db.session,
        "trainer_remove",
        object_type="TrainingClass",
        object_id=klass.id,
        summary=f"{klass.code}: {row!r}",
        now=now,
    )
    db.session.delete(row)


# ---------------------------------------------------------------- trainees


def trainee_fields():
    """The fields of a trainee, as the form and the import check them."""
    return (
        fields.Field("name", _l("Name"), fields.Text(64, squash_spaces=True), required=True),
        fields.Field("gender", _l("Gender"), fields.Choice(GENDERS, GENDER_WORDS), required=True),
        fields.Field("id_number", _l("ID number"), fields.id_number, required=True),
        fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),
        fields.Field("employer", _l("Work unit"), fields.Text(128), required=True),
        fields.Field("position", _l("Position"), fields.Text(64)),
        fields.Field("city", _l("City"), fields.Text(64)),
        fields.Field(
            "years", _l("Years in entrepreneurship training"), fields.Integer(0, 60, "年")
        ),
        fields.Field("certificates", _l("Certificates held"), fields.Text(255)),
    )


def check_may_change(user, klass: TrainingClass, today: date) -> None:
    """Only the class's institution changes its trainee list, and only before the start."""
    if user is None or user.role_kind != INSTITUTION or user.org_id != klass.org_id:
        raise NotAllowed(_("Only the institution running the class keeps its trainee list."))
    if started(klass, today):
        raise NotAllowed(
            _(
                "Class %(code)s started on %(day)s: its trainee list can no longer change.",
                code=klass.code,
                day=klass.start_date.isoformat(),
            )
        )


def person_conflicts(klass: TrainingClass, rows: list[dict]) -> list[tuple[int, str, str]]:
    """(index in ``rows``, field, message) for each person who may not join the class: already on
    it, on an overlapping class (named), or whose mobile belongs to someone else's account."""
    out = []
    numbers = {r["id_number"]: i for i, r in enumerate(rows) if r.get("id_number")}
    if numbers:
        taken = db.session.execute(
            select(ClassTrainee.id_number, TrainingClass.id, TrainingClass.code)
            .join(TrainingClass, TrainingClass.id == ClassTrainee.class_id)
            .where(
                ClassTrainee.id_number.in_(list(numbers)),
                ClassTrainee.withdrawn_at.is_(None),
                TrainingClass.start_date <= klass.end_date,
                TrainingClass.end_date >= klass.start_date,
            )
        )
        for number, class_id, code in taken:
            message = (
                _("%(v)s is already a trainee of this class.", v=number)
                if class_id == klass.id
                else _(
                    "%(v)s is already a trainee of class %(code)s, whose dates overlap this one.",
                    v=number,
                    code=code,
                )
            )
            out.append((numbers[number], "id_number", message))
    mobiles = {r["mobile"]: i for i, r in enumerate(rows) if r.get("mobile")}
    if mobiles:
        owners = db.session.execute(
            select(MalanUser.id, MalanUser.mobile).where(MalanUser.mobile.in_(list(mobiles)))
        )
        for user_id, mobile in owners:
            index = mobiles[mobile]
            known = _known_account(rows[index]["id_number"])
            if known is None or known.id != user_id:
                out.append(
                    (
                        index,
                        "mobile",
                        _(
                            "Mobile number %(m)s already has an account: one account per person.",
                            m=mobile,
                        ),
                    )
                )
    return sorted(out)


def _known_account(id_number: str | None) -> MalanUser | None:
    """The trainee account of a person from an earlier class (one account per person)."""
    if not id_number:
        return None
    return db.session.scalar(
        select(MalanUser)
        .join(ClassTrainee, ClassTrainee.user_id == MalanUser.id)
        .where(ClassTrainee.id_number == id_number)
        .order_by(ClassTrainee.id.desc())
        .limit(1)
    )


def enrol(
    klass: TrainingClass, rows: list[dict], actor, now: datetime, source: str = ""
) -> list[tuple[ClassTrainee, str | None]]:
    """Put checked people on the class with their accounts, all or none (the caller's
    transaction). Returns each trainee with its initial password (None: an account it already
    had keeps its password). Checked again here: the data may have changed since the preview."""
    check_may_change(actor, klass, now.date())
    conflicts = person_conflicts(klass, rows)
    if conflicts:
        index, field, message = conflicts[0]
        raise Conflict(
            _(
                "Person %(n)d (%(name)s): %(message)s",
                n=index + 1,
                name=rows[index]["name"],
                message=message,
            ),
            field=field,
        )
    out = [_enrol_one(klass, row, actor, now) for row in rows]
    review.close_todo(TRAINEE_LIST, klass.id, klass.org_id, actor, now, "submit")
    audit.record(
        db.session,
        "trainee_import" if source else "trainee_add",
        object_type="TrainingClass",
        object_id=klass.id,
        summary=f"{klass.code}: {len(out)} {source}".strip(),
        now=now,
    )
    return out


def _enrol_one(klass, row: dict, actor, now) -> tuple[ClassTrainee, str | None]:
    user, password = _account_for(klass, row, now)
    trainee = db.session.scalar(
        select(ClassTrainee).where(
            ClassTrainee.class_id == klass.id, ClassTrainee.id_number == row["id_number"]
        )
    )
    if trainee is None:  # else a withdrawn person comes back
        trainee = ClassTrainee(class_id=klass.id, org_id=klass.org_id)
        db.session.add(trainee)
    for key in ("name", "gender", "id_number", "mobile", "employer", "position", "city"):
        setattr(trainee, key, row.get(key))
    trainee.years, trainee.certificates = row.get("years"), row.get("certificates")
    trainee.user_id = user.id
    trainee.added_at, trainee.added_by_id = now, actor.id
    trainee.withdrawn_at = trainee.withdrawn_by_id = None
    db.session.flush()
    refresh_window(user)
    return trainee, password


def _account_for(klass, row: dict, now) -> tuple[MalanUser, str | None]:
    """The person's account: the one from an earlier class, or a new one by the username rule."""
    user = _known_account(row["id_number"])
    if user is not None:
        user.org_id, user.active = klass.org_id, True
        if user.mobile != row["mobile"]:
            user.mobile = row["mobile"]  # free: `person_conflicts` checked it
        db.session.flush()
        return user, None
    try:
        user, password = accounts.create_account(
            name=row["name"], role_kind=TRAINEE, org=klass.org, now=now, mobile=row["mobile"]
        )
    except accounts.AccountError as exc:
        raise InvalidValue(str(exc), field="mobile") from exc
    db.session.flush()
    return user, password


def refresh_window(user: MalanUser) -> bool:
    """Copy the dates of the person's classes onto its account (the sign-in window reads them):
    from the earliest start to the latest end of its classes. False when none is left."""
    span = db.session.execute(
        select(TrainingClass.start_date, TrainingClass.end_date)
        .join(ClassTrainee, ClassTrainee.class_id == TrainingClass.id)
        .where(ClassTrainee.user_id == user.id, ClassTrainee.withdrawn_at.is_(None))
    ).all()
    if not span:
        return False
    user.class_start = min(s for s, _e in span)
    user.class_end = max(e for _s, e in span)
    return True


def add_trainee(klass: TrainingClass, values: dict, actor, now: datetime):
    """The institution adds one person before the start: checked like an imported row."""
    check_may_change(actor, klass, now.date())
    spec = trainee_fields()
    row = fields.validate(spec, values)
    conflicts = person_conflicts(klass, [row])
    if conflicts:
        _index, field, message = conflicts[0]
        raise Conflict(fields.framed(spec, field, message), field=field)
    return enrol(klass, [row], actor, now)[0]


def withdraw_trainee(trainee: ClassTrainee, actor, now: datetime) -> None:
    """The institution takes a person off its class before the start; an account left without
    any class is disabled (its history stays)."""
    klass = trainee.training_class
    check_may_change(actor, klass, now.date())
    if trainee.withdrawn_at is not None:
        raise Conflict(_("%(name)s was already withdrawn.", name=trainee.name))
    trainee.withdrawn_at, trainee.withdrawn_by_id = now, actor.id
    db.session.flush()
    user = trainee.user
    if not refresh_window(user):
        accounts.disable(user, now)
    audit.record(
        db.session,
        "trainee_withdraw",
        object_type="ClassTrainee",
        object_id=trainee.id,
        summary=f"{klass.code}: {trainee.name}",
        now=now,
    )


def account_window(klass: TrainingClass) -> tuple[date, date]:
    from security.trainee_window import window

    return window(
        klass.start_date, klass.end_date, current_app.config.get("TRAINEE_ACCOUNT_DAYS_AFTER")
    )


# ---------------------------------------------------------------- needs analysis (row 16)


def background_summary(klass: TrainingClass) -> str:
    """The trainees' background as the import gave it, in a few lines the trainer can edit."""
    people = trainees_of(klass)
    if not people:
        return _("No trainees have been imported yet.")
    women = sum(1 for p in people if p.gender == "F")
    years = [p.years for p in people if p.years is not None]
    lines = [
        _("%(n)d trainees (%(m)d men, %(f)d women).", n=len(people), m=len(people) - women, f=women)
    ]
    if years:
        lines.append(
            _(
                "Years in entrepreneurship training: average %(avg).1f, from %(low)d to %(high)d.",
                avg=sum(years) / len(years),
                low=min(years),
                high=max(years),
            )
        )
    for label, key in ((_("Employers"), "employer"), (_("Cities"), "city")):
        counts: dict[str, int] = {}
        for p in people:
            value = getattr(p, key)
            if value:
                counts[value] = counts.get(value, 0) + 1
        if counts:
            top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            lines.append(f"{label}：" + "、".join(f"{k}（{v}）" for k, v in top))
    certified = sum(1 for p in people if p.certificates)
    lines.append(_("%(n)d of them hold certificates.", n=certified))
    return "\n".join(lines)


def needs_fields():
    return (
        fields.Field(
            "background", _l("Trainees' background"), fields.Text(TEXT_LIMIT), required=True
        ),
        fields.Field("needs", _l("Training needs"), fields.Text(TEXT_LIMIT), required=True),
        fields.Field(
            "adjustments",
            _l("Adjustments to the teaching plan"),
            fields.Text(TEXT_LIMIT),
            required=True,
        ),
    )


def needs_analyses(klass: TrainingClass) -> list[NeedsAnalysis]:
    return list(
        db.session.scalars(
            select(NeedsAnalysis)
            .where(NeedsAnalysis.class_id == klass.id)
            .order_by(NeedsAnalysis.id)
        )
    )


def needs_of(row: ClassTrainer) -> NeedsAnalysis | None:
    if row.user_id is None:
        return None
    return db.session.scalar(
        select(NeedsAnalysis).where(
            NeedsAnalysis.class_id == row.class_id, NeedsAnalysis.user_id == row.user_id
        )
    )


def submit_needs(row: ClassTrainer, actor, values: dict, now: datetime) -> NeedsAnalysis:
    """The trainer's 培训需求分析 for its class: saved (again) until the class ends; the first
    submission closes its to-do item."""
    klass = row.training_class
    if actor is None or row.user_id != actor.id:
        raise NotAllowed(_("Only the trainer fills in its own needs analysis."))
    if now.date() > klass.end_date:
        raise NotAllowed(_("Class %(code)s has ended.", code=klass.code))
    cleaned = fields.validate(needs_fields(), values)
    record = needs_of(row)
    if record is None:
        record = NeedsAnalysis(
            class_id=klass.id, org_id=klass.org_id, user_id=actor.id, submitted_at=now
        )
        db.session.add(record)
    for key, value in cleaned.items():
        setattr(record, key, value)
    record.updated_at = now
    review.close_todo(NEEDS, row.id, klass.org_id, actor, now, "submit")
    db.session.flush()
    audit.record(
        db.session,
        "needs_analysis",
        object_type="TrainingClass",
        object_id=klass.id,
        summary=f"{klass.code}: {actor.full_name}",
        now=now,
    )
    return record
