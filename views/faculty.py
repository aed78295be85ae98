"""师资库 (the faculty pool): the center maintains it, a trainer keeps its own profile (reviewed by
the center), provinces and cities read and export the trainers of their region.

Rules live in app.services.faculty; this module parses forms, masks what the user may not see
and maps refusals to messages.
"""

from __future__ import annotations

from dataclasses import replace

from flask import current_app, g, has_request_context, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterContains, FilterEqual, FilterStartsWith
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from sqlalchemy import literal, select
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import Optional

from app import audit, clock
from app.extensions import db
from app.services import classroom, faculty, files, vocabulary
from app.services.masking import mask_email, mask_id_number, mask_mobile
from app.services.tx import transaction
from models.faculty import FACULTY_STATUSES, GENDERS, FacultyProfile
from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL
from reports import faculty as report
from reports.xlsx import download_name
from security import permissions
from security.scope import (
    ScopedFilterConverter,
    ScopedSQLAInterface,
    current_scope,
    in_scope,
)
from views.base import blank, perform, xlsx_download
from views.review import ACTION_LABELS, ReviewableModelView
from views.widgets import ChineseFileInput

LABELS = {
    "name": _l("Name"),
    "gender": _l("Gender"),
    "birth_year": _l("Birth year"),
    "id_number": _l("ID number"),
    "mobile": _l("Mobile"),
    "email": _l("Email"),
    "org": _l("Region"),
    "org_id": _l("Region"),
    "region": _l("Region"),
    "employer": _l("Work unit"),
    "level": _l("Level"),
    "certificate_no": _l("Certificate number"),
    "certificate_date": _l("Certificate date"),
    "certificate_expiry": _l("Certificate expiry"),
    "course_types": _l("Course types"),
    "languages": _l("Teaching languages/dialects"),
    "years_experience": _l("Years of experience"),
    "biography": _l("Biography"),
    "service_status": _l("Service status"),
    "photo": _l("Photo"),
    "expiry_window": _l("Certificate expiry window"),
    "user": _l("Trainer account"),
    "created_at": _l("Created at"),
}
PERSONAL = {"id_number": mask_id_number, "mobile": mask_mobile, "email": mask_email}


# ---------------------------------------------------------------- display helpers


def _user():
    return getattr(g, "user", None) if has_request_context() else None


def _masked(field):
    def show(value):
        if value is None:
            return ""
        return str(value) if faculty.sees_personal_data(_user()) else PERSONAL[field](value)

    return show


def _level_label(code) -> str:
    return vocabulary.labels(TRAINER_LEVEL).get(code, code) if code else ""


def _course_labels(codes) -> str:
    labels = vocabulary.labels(COURSE_TYPE)
    return "、".join(labels.get(c, c) for c in faculty.course_type_codes(codes))


def _level_choices():
    return [("", "—")] + vocabulary.choices(TRAINER_LEVEL)


def _course_choices():
    return vocabulary.choices(COURSE_TYPE)


def _region_choices():
    return [("", "—")] + faculty.region_choices(current_scope())


def _gender_choices():
    return [("", "—")] + [(k, str(v)) for k, v in GENDERS.items()]


def _status_choices():
    return [(k, str(v)) for k, v in FACULTY_STATUSES.items()]


def _expiry_choices():
    return [("", "—"), (faculty.EXPIRED, str(_l("Expired")))] + [
        (str(d), str(_l("Expiring within %(n)d days", n=d))) for d in faculty.EXPIRY_WINDOWS
    ]


class CodesField(SelectMultipleField):
    """Several vocabulary codes, stored space-separated in one column."""

    def process_data(self, value):
        super().process_data(faculty.course_type_codes(value))

    def populate_obj(self, obj, name):
        setattr(obj, name, " ".join(self.data or []) or None)


# ---------------------------------------------------------------- search filters


class RegionFilter(BaseFilter):
    name = _l("In region")
    arg_name = "fac_region"

    def apply(self, query, value):
        try:
            return query.filter(faculty.region_clause(int(value)))
        except (TypeError, ValueError):
            return query


class CourseTypeFilter(BaseFilter):
    name = _l("Includes")
    arg_name = "fac_course"

    def apply(self, query, value):
        if not value:
            return query
        padded = literal(" ") + FacultyProfile.course_types + literal(" ")
        return query.filter(padded.contains(f" {value} ", autoescape=True))


class ExpiryWindowFilter(BaseFilter):
    name = _l("Is")
    arg_name = "fac_expiry"

    def apply(self, query, value):
        if not value:
            return query
        return query.filter(faculty.expiry_clause(value, clock.now().date()))


class FacultyFilterConverter(ScopedFilterConverter):
    special = {
        "region": [RegionFilter],
        "course_types": [CourseTypeFilter],
        "expiry_window": [ExpiryWindowFilter],
        "level": [FilterEqual],
        "service_status": [FilterEqual],
        "name": [FilterContains, FilterStartsWith, FilterEqual],
    }

    def convert(self, col_name):
        if col_name in self.special:
            return [f(col_name, self.datamodel) for f in self.special[col_name]]
        return super().convert(col_name)


PSEUDO_COLUMNS = ("region", "expiry_window")  # search fields that are not columns


class FacultyInterface(ScopedSQLAInterface):
    """The scoped base query, narrowed to the pool (in force; own; the center's review queue)."""

    filter_converter_class = FacultyFilterConverter

    def get_filters(self, search_columns=None, search_filters=None):
        # FAB reads the URL's filters from the model's columns only: add the pseudo columns.
        filters = super().get_filters(search_columns, search_filters)
        converter = self.filter_converter_class(self)
        for col in PSEUDO_COLUMNS:
            filters._all_filters[col] = converter.convert(col)  # noqa: SLF001
        return filters

    def _scoped(self, query):
        query = super()._scoped(query)
        if has_request_context():
            query = query.filter(faculty.pool_clause(getattr(g, "user", None)))
        return query


# ---------------------------------------------------------------- the view


def _form_fields():
    return {
        "id_number": StringField(
            _l("ID number"),
            description=_l("18 characters; shown masked to everyone but the center."),
        ),
        "mobile": StringField(_l("Mobile")),
        "gender": SelectField(
            _l("Gender"), choices=_gender_choices, validate_choice=False, validators=[Optional()]
        ),
        "org_id": SelectField(
            _l("Region"),
            choices=_region_choices,
            validate_choice=False,
            validators=[Optional()],
            coerce=lambda v: int(v) if v not in (None, "", "None") else None,
        ),
        "level": SelectField(
            _l("Level"), choices=_level_choices, validate_choice=False, validators=[Optional()]
        ),
        "course_types": CodesField(
            _l("Course types"),
            choices=_course_choices,
            validate_choice=False,
            validators=[Optional()],
        ),
        "service_status": SelectField(
            _l("Service status"),
            choices=_status_choices,
            validate_choice=False,
            validators=[Optional()],
        ),
        "photo": FileField(
            _l("Photo"), description=_l("JPG, PNG or WebP image."), widget=ChineseFileInput()
        ),
    }


class FacultyView(ReviewableModelView):
    """师资库: the pool within the user's region; a trainer's own profile."""

    datamodel = FacultyInterface(FacultyProfile, eager=("org",))
    class_permission_name = permissions.FACULTY
    base_permissions = [
        "can_read",
        "can_write",
        "can_delete",
        "can_review",
        "can_export",
        "can_manage",
    ]
    list_title = _l("Faculty pool")
    show_title = _l("Trainer profile")
    add_title = _l("Add trainer profile")
    edit_title = _l("Edit trainer profile")
    method_permission_name = {
        **ReviewableModelView.method_permission_name,
        "mine": "read",
        "link_account": "manage",
    }  # manage: the center's, as the import
    show_template = "faculty/show.html"
    list_template = "faculty/list.html"
    label_columns = LABELS
    list_columns = [
        "name",
        "gender",
        "org",
        "level",
        "course_types",
        "certificate_expiry",
        "mobile",
        "id_number",
        "service_status",
        "status",
    ]
    show_columns = [
        "name",
        "gender",
        "birth_year",
        "id_number",
        "mobile",
        "email",
        "org",
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
        "status",
    ]
    add_columns = [*faculty.FACULTY.fields, "photo"]
    edit_columns = add_columns
    search_columns = ["name", "region", "level", "course_types", "service_status", "expiry_window"]
    search_form_extra_fields = {
        "region": SelectField(_l("Region"), choices=_region_choices, validate_choice=False),
        "level": SelectField(_l("Level"), choices=_level_choices, validate_choice=False),
        "course_types": SelectField(
            _l("Course types"),
            choices=lambda: [("", "—")] + _course_choices(),
            validate_choice=False,
        ),
        "service_status": SelectField(
            _l("Service status"), choices=_status_choices, validate_choice=False
        ),
        "expiry_window": SelectField(
            _l("Certificate expiry window"), choices=_expiry_choices, validate_choice=False
        ),
    }
    order_columns = ["name", "certificate_expiry", "level", "service_status"]
    base_order = ("name", "asc")
    add_form_extra_fields = _form_fields()
    edit_form_extra_fields = _form_fields()
    formatters_columns = {
        **ReviewableModelView.formatters_columns,
        "id_number": _masked("id_number"),
        "mobile": _masked("mobile"),
        "email": _masked("email"),
        "gender": lambda v: str(GENDERS.get(v, v or "")),
        "level": _level_label,
        "course_types": _course_labels,
        "service_status": lambda v: str(FACULTY_STATUSES.get(v, v or "")),
        "certificate_date": blank,
        "certificate_expiry": blank,
        "certificate_no": blank,
        "employer": blank,
        "languages": blank,
        "years_experience": blank,
        "biography": blank,
        "birth_year": blank,
    }

    # ------------------------------------------------------------ forms per role

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_add_widget(form, self._excluded(exclude_cols), widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        return super()._get_edit_widget(form, self._excluded(exclude_cols), widgets)

    @staticmethod
    def _excluded(exclude_cols):
        return [*(exclude_cols or []), *faculty.hidden_fields(g.user)]

    def process_form(self, form, is_created):
        """The photo goes to the service, not to a column; the fields the user's role does not
        set are dropped from the form, whatever was posted."""
        upload = form.photo.data if "photo" in form else None
        g.faculty_photo = upload if getattr(upload, "filename", None) else None
        del form["photo"]
        for name in faculty.hidden_fields(g.user):
            if name in form:
                del form[name]

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        if "course_types" in form and isinstance(form["course_types"].data, str):
            form["course_types"].data = faculty.course_type_codes(form["course_types"].data)

    # ------------------------------------------------------------ writes
    # FAB commits after pre_add/pre_update (or flashes what they raise and saves nothing).

    def pre_add(self, item):
        faculty.save_profile(item, g.user, clock.now(), photo=g.pop("faculty_photo", None))

    def pre_update(self, item):
        faculty.save_profile(item, g.user, clock.now(), photo=g.pop("faculty_photo", None))

    def pre_delete(self, item):
        faculty.before_delete(item, g.user)

    # ------------------------------------------------------------ the profile page

    def render_template(self, template, **kwargs):
        if template == self.show_template and "record" in kwargs:
            kwargs.update(self._profile_context(kwargs["record"], kwargs.get("revisions", [])))
        return super().render_template(template, **kwargs)

    def _profile_context(self, record, revisions):
        user = g.user
        whole = faculty.sees_personal_data(user)
        own_or_center = whole or record.user_id == user.id
        return {
            "action_labels": ACTION_LABELS,
            "revisions": revisions if whole else [_masked_revision(r) for r in revisions],
            "photo": faculty.photo_of(record),
            "pending_photo": faculty.photo_of(record, pending=True) if own_or_center else None,
            "links_accounts": faculty.may_link_accounts(user),
            "teaching": classroom.teaching_history(record),
        }

    # ------------------------------------------------------------ linking a trainer's account

    @expose("/link/<pk>", methods=["POST"])
    @has_access
    def link_account(self, pk):
        """关联讲师账号: an entered or imported profile becomes the trainer's own to keep; or,
        with ``unlink``, a wrong link is undone."""
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        if request.form.get("unlink"):
            perform(
                lambda: faculty.unlink_account(record, g.user),
                success=_l("Unlinked: the center keeps this profile again."),
            )
        else:
            username = request.form.get("username", "").strip()
            perform(
                lambda: faculty.link_account(record, username, g.user),
                success=_l(
                    "Linked to the trainer account %(name)s: the trainer now keeps this profile.",
                    name=username,
                ),
            )
        return redirect(url_for(f"{self.endpoint}.show", pk=pk, _anchor="faculty-account"))

    # ------------------------------------------------------------ the trainer's own profile

    @expose("/mine")
    @has_access
    def mine(self):
        """我的师资信息: a trainer's own profile page, or the form to enter it."""
        profile = faculty.own_profile(g.user)
        if profile is None:
            return redirect(url_for(f"{self.endpoint}.add"))
        return redirect(url_for(f"{self.endpoint}.show", pk=profile.id))

    # ------------------------------------------------------------ export

    @expose("/export")
    @has_access
    def export(self):
        """The pool as xlsx: the list's scope and filters; personal data masked but for the center."""
        query, described = self.list_query(self.datamodel.session.query(FacultyProfile.id))
        ids = query.order_by(None).subquery()
        now = clock.now()
        data, count = report.export_xlsx(
            db.session,
            select(ids.c.id),
            mask=not faculty.sees_personal_data(g.user),
            title=_("Faculty pool"),
            today=now.date(),
        )
        with transaction():
            audit.record_export(db.session, "Faculty", count, described[:400], now=now)
        return xlsx_download(data, download_name(_("Faculty pool"), when=now.date()))


def _masked_revision(rv):
    def mask_values(values):
        return {k: (PERSONAL[k](v) if k in PERSONAL and v else v) for k, v in values.items()}

    changes = {
        k: tuple(PERSONAL[k](v) if v else v for v in pair) if k in PERSONAL else pair
        for k, pair in rv.changes.items()
    }
    return replace(rv, values=mask_values(rv.values), changes=changes)


def _load_visible(profile_id):
    """Photos follow the profile: read permission on the pool, and the profile in the user's pool."""
    if not current_app.appbuilder.sm.has_access("can_read", "Faculty"):
        return None
    query = select(FacultyProfile).where(
        FacultyProfile.id == profile_id, faculty.pool_clause(getattr(g, "user", None))
    )
    return db.session.scalar(in_scope(query, FacultyProfile))


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    files.register_owner(FacultyProfile.__tablename__, _load_visible)


__all__ = ["FacultyView", "register"]
