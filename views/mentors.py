"""创业导师库: the keepers' list (a city or a province enters, the level above reviews; strictly
scoped) and the shared page where every business user finds the approved mentors of the whole
country (资源共享), contact masked outside the viewer's scope. Rules: app.services.mentors."""

from flask import abort, g, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField

from app import audit, clock
from app.extensions import db
from app.queries import count_rows
from app.services import mentors as service
from app.services.tx import transaction
from models.mentor import MentorProfile
from reports import mentors as report
from reports.xlsx import download_name
from security import permissions
from security.scope import ScopedSQLAInterface
from views.base import blank, xlsx_download
from views.fields import checked
from views.review import ReviewableModelView, status_label

FORM_COLUMNS = list(service.MENTOR.fields)
PAGE_SIZE = 20


def _checked(field_name):
    """The service's rule of one field (its message names the field), as a form validator: a
    refused value is shown beside the field and the form keeps what was typed."""
    return checked(service.FIELDS, field_name)


def _select(name, choices):
    return SelectField(
        service.LABELS[name],
        choices=[("", "—")] + list(choices),
        validators=[_checked(name)],
        validate_choice=False,
    )


def _text(name, area=False, description=""):
    kind = TextAreaField if area else StringField
    return kind(service.LABELS[name], validators=[_checked(name)], description=description)


def _form_fields():
    return {
        "name": _text("name"),
        "gender": _select("gender", service.GENDERS.items()),
        "employer": _text("employer"),
        "title": _text("title"),
        "industry": _select("industry", service.INDUSTRIES.items()),
        "expertise": _text(
            "expertise",
            description=_l("Separate several fields with 、 or a space, e.g. 市场营销、财务管理."),
        ),
        "mobile": _text("mobile"),
        "email": _text("email"),
        "biography": _text("biography", area=True),
        "availability": _text(
            "availability",
            description=_l(
                "When and how the mentor can help, e.g. weekends, online consultations."
            ),
        ),
    }


class MentorView(ReviewableModelView):
    """The entries a keeper is responsible for: its own and those of the orgs below it."""

    datamodel = ScopedSQLAInterface(MentorProfile)
    class_permission_name = permissions.MENTOR
    base_permissions = ["can_read", "can_write", "can_delete", "can_review", "can_export"]
    list_title = _l("Mentor pool")
    show_title = _l("Mentor")
    add_title = _l("Enter a mentor")
    edit_title = _l("Edit mentor")
    label_columns = {**service.LABELS}
    list_columns = ["name", "gender", "org", "employer", "industry", "expertise", "status"]
    show_columns = [
        "name",
        "gender",
        "org",
        "employer",
        "title",
        "industry",
        "expertise",
        "mobile",
        "email",
        "biography",
        "availability",
        "status",
        "created_at",
    ]
    add_columns = FORM_COLUMNS
    edit_columns = FORM_COLUMNS
    search_columns = ["name", "org", "employer", "expertise", "status"]
    order_columns = ["name", "created_at"]
    base_order = ("id", "desc")
    formatters_columns = {
        "status": status_label,
        "gender": service.gender_label,
        "industry": service.industry_label,
        **{
            c: blank
            for c in (
                "employer",
                "title",
                "expertise",
                "mobile",
                "email",
                "biography",
                "availability",
            )
        },
    }
    list_template = "mentors/list.html"
    add_form_extra_fields = _form_fields()
    edit_form_extra_fields = _form_fields()

    def pre_add(self, item):
        service.save(item, g.user, clock.now())

    def pre_update(self, item):
        service.save(item, g.user, clock.now())

    @expose("/export")
    @has_access
    def export(self):
        """The entries of the keeper's scope (the list's filters applied) as xlsx."""
        query, described = self.list_query(db.session.query(MentorProfile), ("name", "asc"))
        return _download(query.all(), "scope" + (f"; {described}" if described else ""))


class MentorPoolView(BaseView):
    """The shared pool: approved mentors of the whole country, searchable, one page each."""

    route_base = "/mentorpool"
    default_view = "search"
    class_permission_name = permissions.MENTOR
    method_permission_name = {"search": "read", "detail": "read", "export": "export"}

    @expose("/")
    @has_access
    def search(self):
        args = self._args()
        query = service.search(g.user, **args)
        total = count_rows(query)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(request.args.get("page", 1, type=int), 1), pages)
        rows = db.session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        return self.render_template(
            "mentors/pool.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            args=args,
            link_args={
                "province": args["province"],
                "city": args["city"],
                "industry": args["industry"],
                "expertise": args["expertise"],
                "q": args["keyword"],
            },
            provinces=service.provinces(),
            cities=service.cities(args["province"]),
            industries=service.INDUSTRIES,
            contact=lambda m: service.contact_of(g.user, m),
            region=service.region_of,
            gender=service.gender_label,
            industry=service.industry_label,
            can_export=self.appbuilder.sm.has_access("can_export", "Mentor"),
            can_keep=self.appbuilder.sm.has_access("can_write", "Mentor"),
        )

    @expose("/show/<pk>")
    @has_access
    def detail(self, pk):
        mentor = service.get_shared(pk, g.user)
        if mentor is None:
            abort(404)
        return self.render_template(
            "mentors/detail.html",
            m=mentor,
            labels=service.LABELS,
            contact=service.contact_of(g.user, mentor),
            contact_visible=service.contact_visible(g.user, mentor),
            region=service.region_of(mentor),
            gender=service.gender_label(mentor.gender),
            industry=service.industry_label(mentor.industry),
        )

    @expose("/export")
    @has_access
    def export(self):
        """The search result as xlsx: approved mentors, contact masked outside the scope."""
        args = self._args()
        rows = db.session.scalars(service.search(g.user, **args)).all()
        described = "; ".join(f"{k}={v}" for k, v in args.items() if v)
        return _download(rows, "shared" + (f"; {described}" if described else ""))

    @staticmethod
    def _args() -> dict:
        industry = request.args.get("industry", "")
        return {
            "province": request.args.get("province", type=int),
            "city": request.args.get("city", type=int),
            "industry": industry if industry in service.INDUSTRIES else None,
            "expertise": request.args.get("expertise", "").strip()[:100] or None,
            "keyword": request.args.get("q", "").strip()[:100] or None,
        }


def _download(mentors, filters: str):
    data, count = report.mentors_xlsx(mentors, g.user, status_label)
    now = clock.now()
    with transaction():
        audit.record_export(db.session, "MentorProfile", count, filters, now=now)
    return xlsx_download(data, download_name(_l("Mentor pool"), when=now))


def register(appbuilder) -> None:
    """创业导师库 has one menu entry, the shared search page (`MentorPoolView`, in
    security.permissions); the keepers' list has none: keepers reach it from the pool ("Mentors
    entered by my area") and from the to-do list."""
    appbuilder.add_view_no_menu(MentorView)
