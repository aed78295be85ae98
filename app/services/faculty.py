"""The faculty pool (创业培训师资库): rules of a profile, who sees what, the center's direct entries.

- A profile's values are checked here (the form, the bulk import and the API use the same rules);
  every message names the field, for the user to read.
- ``pool_clause``: on top of the data scope, the pool shows profiles that are in force (approved
  once); a trainer always sees its own, the center also the ones waiting for its review.
- The center maintains the pool: what it enters or edits is in force at once and is written to
  the review history as the center's act (``enter_approved``, ``center_update``). A trainer's own
  changes go through the review chain "faculty" (app.services.review).
- Photos: one image per profile (purpose ``photo``); a trainer's replacement during a correction
  waits as ``photo_pending`` until the revision is approved (files.promote).
- ``save_profile`` is the one way the form enters or changes a profile: who the actor is decides
  what happens (the center: in force at once; a trainer: its own, through review; anyone else:
  refused). ``link_account``/``unlink_account`` hand a profile to its trainer and back.

Refusals are the domain family (app.services.errors): a bad value is `FacultyError` (an
`InvalidValue` naming its field), a taken ID number or mobile and a change that collides with
the trainer's pending one are `Conflict`, a wrong actor is `NotAllowed`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from stdnum.cn import ric

from app.extensions import db
from app.services import fields, files, review, vocabulary
from app.services.errors import Conflict, InvalidValue, NotAllowed
from models.faculty import FACULTY_STATUSES, GENDERS, FacultyProfile
from models.org import CENTER, CITY, PROVINCE, Org
from models.review import DRAFT, PENDING
from models.user import TRAINER, MalanUser
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from security.scope import Scope, in_scope

ENTER = review.ENTER  # the history action of a profile entered by the center (import too)
PHOTO, PHOTO_PENDING = "photo", files.PENDING + "photo"
PHOTO_TYPES = ("jpg", "jpeg", "png", "webp")
OLDEST_BIRTH_YEAR = 1930
YOUNGEST_AGE = 18
BIOGRAPHY_MAX = 2000
# Certificate expiry windows of the search form (days ahead; "expired" = before today).
EXPIRED = "expired"
EXPIRY_WINDOWS = (30, 90, 180, 365)
# Fields only the center sets (a trainer's region is its account's; its standing is the center's).
CENTER_ONLY = ("org_id", "service_status")


class FacultyError(InvalidValue):
    """A value of a profile breaks its rule; ``field`` names it, the message is for the user."""


# ---------------------------------------------------------------- values

GENDER_WORDS = {"男": "M", "女": "F", "MALE": "M", "FEMALE": "F"}


def profile_fields(today: date) -> tuple[fields.Field, ...]:
    """A profile's fields and their rules: the form (`check_profile`) and the bulk import
    (reports.faculty_import) check the same values with the same messages. The lengths are the
    columns'. Region, level and course types are checked against the tree and the center's
    vocabularies (`_check`, and the import's batched lookups)."""
    return (
        fields.Field("name", _l("Name"), fields.Text(64, squash_spaces=True), required=True),
        fields.Field("id_number", _l("ID number"), fields.id_number, required=True),
        fields.Field(
            "birth_year",
            _l("Birth year"),
            fields.Integer(OLDEST_BIRTH_YEAR, today.year - YOUNGEST_AGE),
        ),
        fields.Field("gender", _l("Gender"), fields.Choice(GENDERS, GENDER_WORDS)),
        fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),
        fields.Field("email", _l("Email"), fields.email),
        fields.Field("employer", _l("Work unit"), fields.Text(128)),
        fields.Field("certificate_no", _l("Certificate number"), fields.Text(64)),
        fields.Field("certificate_date", _l("Certificate date"), fields.a_date),
        fields.Field("certificate_expiry", _l("Certificate expiry"), fields.a_date),
        fields.Field("languages", _l("Teaching languages/dialects"), fields.Text(128)),
        fields.Field("years_experience", _l("Years of experience"), fields.Integer(0, 70, "年")),
        fields.Field("biography", _l("Biography"), fields.Text(BIOGRAPHY_MAX)),
    )


def derived_errors(v: dict, today: date) -> list[tuple[str, str]]:
    """The rules between fields, on cleaned values (``v`` is completed in place: birth year and
    gender read from the ID number when not given). Shared by the form and the import."""
    errors = []
    born = ric.get_birth_date(v["id_number"]) if v.get("id_number") else None
    if born is not None:
        if v.get("birth_year") is None:
            v["birth_year"] = born.year
        elif v["birth_year"] != born.year:
            errors.append(
                (
                    "birth_year",
                    _(
                        "%(year)s does not match the ID number (born %(born)d).",
                        year=v["birth_year"],
                        born=born.year,
                    ),
                )
            )
        sex = "M" if int(v["id_number"][16]) % 2 else "F"
        if not v.get("gender"):
            v["gender"] = sex
        elif v["gender"] != sex:
            errors.append(("gender", _("does not match the ID number.")))
    issued, expiry = v.get("certificate_date"), v.get("certificate_expiry")
    if issued and issued > today:
        errors.append(("certificate_date", _("cannot be in the future.")))
    if issued and v.get("birth_year") and issued.year < v["birth_year"] + YOUNGEST_AGE - 2:
        errors.append(("certificate_date", _("too early for the birth year.")))
    if issued and expiry and expiry <= issued:
        errors.append(("certificate_expiry", _("must be after the certificate date.")))
    if (issued or expiry) and not v.get("certificate_no"):
        errors.append(("certificate_no", _("required when a certificate date or expiry is given.")))
    return errors


def normalize_id_number(raw) -> str:
    """居民身份证号 as stored: 18 characters, a final x upper-cased. Raises FacultyError."""
    spec = (fields.Field("id_number", _l("ID number"), fields.id_number, required=True),)
    return fields.validate(spec, {"id_number": raw}, error=FacultyError)["id_number"]


def normalize_mobile(raw) -> str:
    spec = (fields.Field("mobile", _l("Mobile"), fields.mobile, required=True),)
    return fields.validate(spec, {"mobile": raw}, error=FacultyError)["mobile"]


def course_type_codes(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    return str(value).split()


def check_profile(profile: FacultyProfile, today: date, exclude_id: int | None = None) -> None:
    """Normalise and check every value of ``profile`` in place; raise FacultyError naming the
    field. ``exclude_id``: the profile's own id (uniqueness)."""
    with db.session.no_autoflush:
        _check(profile, today, exclude_id)


def _check(p: FacultyProfile, today: date, exclude_id) -> None:
    spec = profile_fields(today)
    values, errors = fields.clean(spec, {f.name: getattr(p, f.name) for f in spec})
    errors += derived_errors(values, today)
    fields.raise_first(spec, errors, FacultyError)
    for name, value in values.items():
        setattr(p, name, value)
    _check_org(p.org_id)
    levels = {c for c, _label in vocabulary.choices(TRAINER_LEVEL)}
    if p.level and p.level not in levels and p.level != _in_force(p, "level"):
        raise FacultyError(_("Level: unknown level %(value)s.", value=p.level), field="level")
    p.level = p.level or None
    codes = course_type_codes(p.course_types)
    known = {c for c, _label in vocabulary.choices(COURSE_TYPE)}
    kept = set(course_type_codes(_in_force(p, "course_types")))  # retired terms already held
    unknown = [c for c in codes if c not in known and c not in kept]
    if unknown:
        raise FacultyError(
            _("Course types: unknown type %(value)s.", value=", ".join(unknown)),
            field="course_types",
        )
    p.course_types = " ".join(dict.fromkeys(codes)) or None
    p.service_status = p.service_status or "active"
    if p.service_status not in FACULTY_STATUSES:
        raise FacultyError(_("Status: unknown status."), field="service_status")
    _check_unique(p, exclude_id)


def _in_force(p, field):
    """The value in force of an existing profile (a retired term it already holds stays valid)."""
    if p.id is None:
        return None
    row = db.session.execute(
        select(getattr(FacultyProfile, field)).where(FacultyProfile.id == p.id)
    ).first()
    return row[0] if row else None


def _check_org(org_id) -> None:
    org = db.session.get(Org, org_id) if org_id else None
    if org is None:
        raise FacultyError(_("Region: choose a province or city."), field="org_id")
    if org.kind not in (PROVINCE, CITY):
        raise FacultyError(_("Region: must be a province or a city."), field="org_id")


def _check_unique(p: FacultyProfile, exclude_id) -> None:
    """Unique among the values in force AND the values waiting in open corrections."""

    def taken(column, value, unlinked=False):
        query = select(FacultyProfile.id).where(column == value)
        if unlinked:
            query = query.where(FacultyProfile.user_id.is_(None))
        if exclude_id is not None:
            query = query.where(FacultyProfile.id != exclude_id)
        return db.session.scalar(query.limit(1)) is not None

    if taken(FacultyProfile.id_number, p.id_number):
        if (
            p.id is None
            and p.user_id is not None
            and taken(FacultyProfile.id_number, p.id_number, unlinked=True)
        ):
            # A trainer entering the profile the center has already entered or imported.
            account = db.session.get(MalanUser, p.user_id)
            raise Conflict(
                _(
                    "ID number: your profile is already in the pool, entered by the "
                    "center. Ask the center to link it to your account %(name)s; "
                    "you will then keep it here.",
                    name=account.username,
                ),
                field="id_number",
            )
        raise Conflict(
            _("ID number: another profile already has this ID number."), field="id_number"
        )
    if taken(FacultyProfile.mobile, p.mobile):
        raise Conflict(_("Mobile: another profile already has this mobile number."), field="mobile")


# ---------------------------------------------------------------- who sees what


def pool_clause(user):
    """On top of the data scope: in-force profiles; one's own always; for the center, also the
    profiles waiting for its review (its to-do list links to them)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false()
    conds = [FacultyProfile.in_force_revision.isnot(None), FacultyProfile.user_id == user.id]
    if user.role_kind == CENTER:
        conds.append(FacultyProfile.status == PENDING)
    return or_(*conds)


def is_center(user) -> bool:
    org = getattr(user, "org", None)
    return getattr(user, "role_kind", None) == CENTER and org is not None and org.kind == CENTER


def sees_personal_data(user) -> bool:
    """The center sees ID numbers and mobiles whole; everybody else masked (a trainer its own)."""
    return is_center(user)


def expiry_clause(window: str, today: date):
    """Certificate expiry window: "expired", or a number of days ahead ("90": within 90 days)."""
    column = FacultyProfile.certificate_expiry
    if window == EXPIRED:
        return column < today
    try:
        days = int(window)
    except (TypeError, ValueError):
        return true()
    return and_(column >= today, column <= today + timedelta(days=days))


def region_clause(org_id):
    """Profiles of a province or city and of everything below it."""
    below = select(Org.id).where(
        or_(Org.id == org_id, Org.province_id == org_id, Org.city_id == org_id)
    )
    return FacultyProfile.org_id.in_(below)


def region_choices(scope: Scope) -> list[tuple[str, str]]:
    """Provinces and cities the user may filter by (its scope)."""
    query = select(Org.id, Org.name, Org.kind).where(Org.kind.in_((PROVINCE, CITY)))
    query = in_scope(query, Org, scope)
    return [(str(i), n) for i, n, _k in db.session.execute(query.order_by(Org.code))]


# ---------------------------------------------------------------- entering and changing a profile


def hidden_fields(actor) -> tuple[str, ...]:
    """Fields the actor's form neither shows nor sets: the center-only ones for anyone but the
    center (a trainer's region is its account's, its standing the center's)."""
    return () if is_center(actor) else CENTER_ONLY


def save_profile(profile: FacultyProfile, actor, now: datetime, photo=None) -> None:
    """The form's one call to enter (``profile.id`` None) or change a profile; who the actor is
    decides what happens:

    - the center: the values checked, in force at once with the center's history entry
      (`enter_approved`, `center_update`); a trainer's own profile stays in its account's region;
    - a trainer: its own profile only. A new one is a draft in its own region; a change goes
      through review (`review.stage_edit`: drafts in place, a correction's values wait);
    - anyone else: refused.

    ``photo`` (an upload or None) is stored with it; during a correction it waits as the pending
    photo. The caller's transaction keeps everything or nothing."""
    if is_center(actor):
        _save_as_center(profile, actor, now)
    elif profile.id is None:
        if not is_trainer(actor):
            raise NotAllowed(_("Only the center or the trainer may enter a profile."))
        prepare_own(profile, actor, now)
        check_profile(profile, now.date())
        db.session.add(profile)
    else:
        with db.session.no_autoflush:  # the form's values are checked before anything is written
            if profile.user_id != actor.id:
                raise NotAllowed(_("You may change only your own profile."))
            # Nothing of the center's decides here: the region and standing stay as they are.
            check_profile(profile, now.date(), exclude_id=profile.id)
            review.stage_edit(profile)
            if photo is not None:
                store_photo(profile, photo, actor, now, pending=review.is_correction(profile))
        return
    if photo is not None:
        store_photo(profile, photo, actor, now, pending=False)


def _save_as_center(profile: FacultyProfile, actor, now: datetime) -> None:
    if profile.id is None:
        check_profile(profile, now.date())
        enter_approved(profile, actor, now)
        return
    check_profile(profile, now.date(), exclude_id=profile.id)
    if profile.user_id is not None and profile.user is not None:
        if profile.org_id != profile.user.org_id:
            raise FacultyError(
                _("Region: a trainer's own profile stays in the region of the trainer's account."),
                field="org_id",
            )
    center_update(profile, actor, now)


def before_delete(profile: FacultyProfile, actor) -> None:
    """The center removes any profile; anyone else (a trainer) only a draft never submitted.
    The profile's files and open review steps go with it."""
    if not is_center(actor) and (profile.status != DRAFT or profile.in_force_revision is not None):
        raise NotAllowed(_("Only a draft that was never submitted can be deleted."))
    files.delete_all_of(profile)
    review.discard(profile)


# ---------------------------------------------------------------- the center's own entries


def enter_approved(
    profile: FacultyProfile, actor, now: datetime, opinion: str | None = None
) -> None:
    """A profile entered by the center is in force at once (`review.record_in_force`)."""
    if profile.created_at is None:
        profile.created_at = now
    profile.created_by_id = profile.created_by_id or getattr(actor, "id", None)
    review.record_in_force(profile, actor, now, opinion=opinion)


def _trainer_change_waits(profile: FacultyProfile) -> Conflict:
    return Conflict(
        _(
            "The trainer's changes to this profile are under review or being "
            "prepared; decide on them first."
        )
    )


def center_update(profile: FacultyProfile, actor, now: datetime) -> None:
    """The center's edit of a profile in force: in force at once, as a new approved revision
    with the center's history entry. Refused while the trainer's own change waits."""
    if profile.status == PENDING or review.is_correction(profile):
        raise _trainer_change_waits(profile)
    if profile.in_force_revision is None and profile.user_id is not None:
        raise NotAllowed(_("This profile is the trainer's draft; it can be edited once approved."))
    review.record_in_force(profile, actor, now)


# ---------------------------------------------------------------- the trainer's own profile


def own_profile(user) -> FacultyProfile | None:
    return db.session.scalar(select(FacultyProfile).where(FacultyProfile.user_id == user.id))


def prepare_own(profile: FacultyProfile, user, now: datetime) -> None:
    """A trainer's new profile: its own, in its own region, a draft until the center approves."""
    if own_profile(user) is not None:
        raise Conflict(_("You already have a profile; open it to change it."))
    profile.user_id, profile.org_id = user.id, user.org_id
    profile.status, profile.revision = "draft", 1
    profile.created_at, profile.created_by_id = now, user.id


def may_link_accounts(user) -> bool:
    """Linking profiles to trainer accounts is the center's (it keeps the pool)."""
    return is_center(user)


def _only_the_center(actor) -> None:
    if not may_link_accounts(actor):
        raise NotAllowed(_("Only the center links trainer accounts to profiles."))


def _written_now() -> None:
    """Write the link before the commit: an account or profile changed meanwhile (the unique
    account column, the version counter) is a conflict the user can retry, not an error page."""
    try:
        db.session.flush()
    except (IntegrityError, StaleDataError):
        raise Conflict(
            _(
                "The profile or the account was changed by someone else just now; "
                "look again and retry."
            )
        ) from None


def link_account(profile: FacultyProfile, username: str, actor) -> MalanUser:
    """The center hands an entered or imported profile to its trainer's account: from then on
    the trainer keeps it (我的师资信息) and its changes go to the center's review. Only a
    profile in force and not yet anyone's, only a trainer account of the same region without a
    profile of its own; the audit log keeps who linked which account, and when."""
    _only_the_center(actor)
    if profile.user_id is not None:
        raise Conflict(_("This profile is already linked to a trainer account."))
    if (
        profile.in_force_revision is None
        or profile.status == PENDING
        or review.is_correction(profile)
    ):
        raise Conflict(_("Only a profile in force, with no change under review, can be linked."))
    username = (username or "").strip()
    user = (
        db.session.scalar(select(MalanUser).where(MalanUser.username == username))
        if username
        else None
    )
    if user is None or user.role_kind != TRAINER or not user.active:
        raise InvalidValue(
            _(
                "Account: no active trainer account has the username %(name)s.",
                name=username or "—",
            ),
            field="username",
        )
    if own_profile(user) is not None:
        raise Conflict(
            _("Account: %(name)s already has a profile of its own.", name=username),
            field="username",
        )
    if user.org_id != profile.org_id:
        raise InvalidValue(
            _(
                "Region: the profile is in %(profile)s, the account in %(account)s; "
                "correct the one that is wrong first.",
                profile=profile.org.name if profile.org else "—",
                account=user.org.name if user.org else "—",
            ),
            field="username",
        )
    if user.full_name.replace(" ", "") != (profile.name or "").replace(" ", ""):
        # The center links a person to its own profile: the names must agree.
        raise InvalidValue(
            _(
                "Account: %(username)s belongs to %(account)s, the profile to %(profile)s.",
                username=username,
                account=user.full_name,
                profile=profile.name,
            ),
            field="username",
        )
    profile.user_id = user.id  # the audit log's update entry keeps who linked it, and when
    _written_now()
    return user


def unlink_account(profile: FacultyProfile, actor) -> None:
    """Undo a wrong link: the profile goes back to the center's keeping. Not while the trainer's
    own change is under way (decide on it first)."""
    _only_the_center(actor)
    if profile.user_id is None:
        raise Conflict(_("This profile is not linked to a trainer account."))
    if (
        profile.status == PENDING
        or review.is_correction(profile)
        or profile.in_force_revision is None
    ):
        raise _trainer_change_waits(profile)
    profile.user_id = None
    _written_now()


def is_trainer(user) -> bool:
    return getattr(user, "role_kind", None) == TRAINER


# ---------------------------------------------------------------- photo


def store_photo(profile: FacultyProfile, upload, actor, now: datetime, pending: bool) -> None:
    """Keep ``upload`` as the profile's photo. ``pending``: a correction's replacement, shown
    once the revision is approved (the photo in force stays until then)."""
    name = files.clean_filename(getattr(upload, "filename", None))
    if files.extension(name) not in PHOTO_TYPES:
        raise files.FileRejected(
            _("Photo: only JPG, PNG or WebP images are accepted."), field="photo"
        )
    purpose = PHOTO_PENDING if pending else PHOTO
    for old in files.attachments_of(profile, purpose):
        db.session.delete(old)
    try:
        files.store(upload, owner=profile, actor=actor, now=now, purpose=purpose)
    except files.FileRejected as exc:
        exc.field = exc.field or "photo"
        raise


def photo_of(profile, pending: bool = False):
    found = files.attachments_of(profile, PHOTO_PENDING if pending else PHOTO)
    return found[-1] if found else None


def _on_approved(profile: FacultyProfile, actor, now) -> None:
    """The review approved a revision: a replacement photo waiting for it is now in force."""
    files.promote(profile, pending=PHOTO_PENDING, purpose=PHOTO)


def drop_pending_photo(profile: FacultyProfile, actor=None, now=None) -> None:
    """A rejected revision's replacement photo goes (the review's rejection, same transaction)."""
    for old in files.attachments_of(profile, PHOTO_PENDING):
        db.session.delete(old)


FACULTY = review.register(
    review.Kind(
        name="faculty",
        model=FacultyProfile,
        label=_l("Trainer profile"),
        record_page="FacultyView",
        chain="faculty",
        fields=(
            "name",
            "gender",
            "birth_year",
            "id_number",
            "mobile",
            "email",
            "org_id",
            "employer",
            "level",
            "certificate_no",
            "certificate_date",
            "certificate_expiry",
            "course_types",
            "languages",
            "years_experience",
            "biography",
            "service_status",
        ),
        on_approved=_on_approved,
        on_rejected=drop_pending_photo,
    )
)
