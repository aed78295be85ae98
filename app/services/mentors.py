"""创业导师库 (the mentor pool): entry rules, the shared-reading rule and the contact rule.

Two ways of reading one table:
- the keepers' list (views.mentors.MentorView) is strictly scoped like every ModelView: the
  entering city or province and the orgs above it;
- the shared page (资源共享) shows the *approved* mentors of the whole country to every business
  user: `shared_clause` is its one visibility rule, and `contact_visible` decides, for the page,
  the detail page and every export alike, whether the contact is shown whole or masked.
A mentor's region is the org that entered it (a city, a province, or the center itself).
``save`` is the form's one call to enter or change an entry. Refusals are the domain family
(app.services.errors): a bad value is `MentorError` (an `InvalidValue` naming its field), a wrong
actor `NotAllowed`.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, inspect, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.services import fields, masking, review
from app.services.errors import InvalidValue, NotAllowed
from models.mentor import MENTOR_CHAINS, MentorProfile
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from models.review import APPROVED, DRAFT
from models.user import TRAINER
from security.scope import row_in_scope, scope_of

# Who reads the shared pool (第七条's business users; never trainees or the administrators).
READER_KINDS = (CENTER, PROVINCE, CITY, INSTITUTION, TRAINER)
ENTERING_KINDS = tuple(MENTOR_CHAINS)  # city, province, center

GENDERS = {"M": _l("Male"), "F": _l("Female")}

# Industries: the 20 sections (门类) of GB/T 4754-2017, coded by their letter.
INDUSTRIES = {
    "A": _l("Agriculture, forestry, animal husbandry and fishery"),
    "B": _l("Mining"),
    "C": _l("Manufacturing"),
    "D": _l("Electricity, heat, gas and water supply"),
    "E": _l("Construction"),
    "F": _l("Wholesale and retail trade"),
    "G": _l("Transport, storage and postal services"),
    "H": _l("Accommodation and catering"),
    "I": _l("Information transmission, software and IT services"),
    "J": _l("Finance"),
    "K": _l("Real estate"),
    "L": _l("Leasing and business services"),
    "M": _l("Scientific research and technical services"),
    "N": _l("Water conservancy, environment and public facilities management"),
    "O": _l("Resident services, repair and other services"),
    "P": _l("Education"),
    "Q": _l("Health and social work"),
    "R": _l("Culture, sports and entertainment"),
    "S": _l("Public administration, social security and social organisations"),
    "T": _l("International organisations"),
}

# Field labels, shared by the forms, the pages, the messages and the export.
LABELS = {
    "name": _l("Full name"),
    "gender": _l("Gender"),
    "org": _l("Region"),
    "employer": _l("Work unit"),
    "title": _l("Professional title"),
    "industry": _l("Industry"),
    "expertise": _l("Fields of expertise"),
    "mobile": _l("Mobile"),
    "email": _l("Email"),
    "biography": _l("Biography"),
    "availability": _l("Availability"),
    "created_at": _l("Entered at"),
}
# The entry's fields and their rules (`app.services.fields`); lengths are the columns'.
FIELDS = (
    fields.Field("name", LABELS["name"], fields.Text(64), required=True),
    fields.Field("gender", LABELS["gender"], fields.Choice(GENDERS)),
    fields.Field("employer", LABELS["employer"], fields.Text(128)),
    fields.Field("title", LABELS["title"], fields.Text(64)),
    fields.Field("industry", LABELS["industry"], fields.Choice(INDUSTRIES), required=True),
    fields.Field("expertise", LABELS["expertise"], fields.Text(255), required=True),
    fields.Field("mobile", LABELS["mobile"], fields.mobile),
    fields.Field("email", LABELS["email"], fields.email),
    fields.Field("biography", LABELS["biography"], fields.Text(4000)),
    fields.Field("availability", LABELS["availability"], fields.Text(255)),
)
_BY_NAME = {f.name: f for f in FIELDS}


class MentorError(InvalidValue):
    """A value of an entry breaks its rule; the message names the field (``field``) for the
    user."""


def gender_label(code) -> str:
    return str(GENDERS.get(code, code or ""))


def industry_label(code) -> str:
    return str(INDUSTRIES.get(code, code or ""))


# ---------------------------------------------------------------- checks


def check_field(field: str, value):
    """One field's value, cleaned (stripped, mobile normalised), or MentorError naming it."""
    spec = (_BY_NAME[field],)
    return fields.validate(spec, {field: value}, error=MentorError)[field]


def check(mentor: MentorProfile) -> None:
    """Every field of the entry (in place); a mentor needs a way to be reached."""
    with db.session.no_autoflush:
        for field in MENTOR.fields:
            setattr(mentor, field, check_field(field, getattr(mentor, field)))
    if not mentor.mobile and not mentor.email:
        raise MentorError(_("Contact: enter a mobile number or an e-mail address."), field="mobile")


# ---------------------------------------------------------------- entering


def prepare_new(mentor: MentorProfile, actor, now: datetime) -> None:
    """A new entry belongs to the actor's org, whose kind fixes the review chain for good."""
    org = actor.org
    if org is None or org.kind not in ENTERING_KINDS:
        raise NotAllowed(_("Mentors are entered by a city, a province or the center."))
    check(mentor)
    mentor.org_id, mentor.chain = org.id, MENTOR_CHAINS[org.kind]
    mentor.created_at, mentor.created_by_id = now, actor.id
    mentor.status, mentor.revision = DRAFT, 1


def save(mentor: MentorProfile, actor, now: datetime) -> None:
    """The form's one call: a new entry belongs to the actor's org (`prepare_new`); the center's
    own entries, new or approved and changed, are in force at once (`approve_center_entry`);
    anything else changes as review allows (a draft in place, a correction in its revision)."""
    if mentor.id is None:
        prepare_new(mentor, actor, now)
        if is_center_entry(mentor):
            approve_center_entry(mentor, actor, now)
        return
    check(mentor)
    if is_center_entry(mentor) and mentor.status == APPROVED:
        approve_center_entry(mentor, actor, now)
    else:
        review.stage_edit(mentor)  # drafts change in place; corrections wait in a revision


def is_center_entry(mentor: MentorProfile) -> bool:
    with db.session.no_autoflush:
        org = db.session.get(Org, mentor.org_id)
    return org is not None and org.kind == CENTER


def approve_center_entry(mentor: MentorProfile, actor, now: datetime) -> None:
    """第五条/decision 5: the center keeps the libraries, so its own entries (and its changes to
    them) are in force at once (`review.record_in_force`). The caller commits."""
    if not is_center_entry(mentor) or actor.org is None or actor.org.kind != CENTER:
        raise NotAllowed(_("Only the center's own entries are approved at entry."))
    with db.session.no_autoflush:
        if mentor.id is not None:
            state = inspect(mentor)
            if not any(state.attrs[f].history.has_changes() for f in review.review_fields(mentor)):
                return  # saved unchanged: no new revision
        review.record_in_force(mentor, actor, now)


# ---------------------------------------------------------------- shared reading


def shared_clause(user):
    """SQL condition: the mentors ``user`` may find on the shared page — every approved entry
    (its values in force; a correction under way does not hide it) for a business user."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or user.role_kind not in READER_KINDS
        or user.org is None
    ):
        return false()
    return MentorProfile.in_force_revision.is_not(None)


def search(user, *, province=None, city=None, industry=None, expertise=None, keyword=None):
    """The shared page's query: approved mentors, narrowed by region, industry, expertise and a
    keyword on name or employer. Unknown ids simply find nothing."""
    query = (
        select(MentorProfile)
        .where(shared_clause(user))
        .options(selectinload(MentorProfile.org).selectinload(Org.province))
    )
    if province:
        region = select(Org.id).where(or_(Org.id == province, Org.province_id == province))
        query = query.where(MentorProfile.org_id.in_(region))
    if city:
        query = query.where(MentorProfile.org_id == city)
    if industry:
        query = query.where(MentorProfile.industry == industry)
    if expertise:
        query = query.where(MentorProfile.expertise.contains(expertise, autoescape=True))
    if keyword:
        query = query.where(
            or_(
                MentorProfile.name.contains(keyword, autoescape=True),
                MentorProfile.employer.contains(keyword, autoescape=True),
            )
        )
    return query.order_by(MentorProfile.name, MentorProfile.id)


def get_shared(mentor_id, user) -> MentorProfile | None:
    try:
        mentor_id = int(mentor_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(
        select(MentorProfile).where(shared_clause(user), MentorProfile.id == mentor_id)
    )


def contact_visible(user, mentor: MentorProfile) -> bool:
    """The contact is shown whole only inside the viewer's own scope (the entering org and the
    orgs above it); everywhere else it is masked."""
    return row_in_scope(mentor, scope_of(user))


def contact_of(user, mentor: MentorProfile) -> tuple[str, str]:
    """(mobile, email) as ``user`` may read them."""
    mobile, email = mentor.mobile or "", mentor.email or ""
    if contact_visible(user, mentor):
        return mobile, email
    return masking.mask_mobile(mobile), masking.mask_email(email)


def region_of(mentor: MentorProfile) -> tuple[str, str]:
    """(province, city) names of the entering org ("" where it has none)."""
    org = mentor.org
    if org is None or org.kind == CENTER:
        return (org.name if org else ""), ""
    if org.kind == PROVINCE:
        return org.name, ""
    return (org.province.name if org.province else ""), org.name


def provinces() -> list[Org]:
    return list(
        db.session.scalars(
            select(Org).where(Org.kind == PROVINCE, Org.active.is_(True)).order_by(Org.code)
        )
    )


def cities(province_id=None) -> list[Org]:
    """The cities of a province, or of the whole country."""
    query = select(Org).where(Org.kind == CITY, Org.active.is_(True))
    if province_id:
        query = query.where(Org.province_id == province_id)
    return list(db.session.scalars(query.order_by(Org.code)))


MENTOR = review.register(
    review.Kind(
        name="mentor",
        model=MentorProfile,
        label=_l("Mentor"),
        record_page="MentorView",
        chain=lambda mentor: mentor.chain,
        fields=(
            "name",
            "gender",
            "employer",
            "title",
            "industry",
            "expertise",
            "mobile",
            "email",
            "biography",
            "availability",
        ),
    )
)
