"""创业培训课程库: the uploaders' and reviewers' list (strictly scoped) and the shared library.

`CourseResourceView` is where a resource is uploaded, corrected and reviewed: a scoped
ModelView like every other (the uploading org and those above it; a trainer its own). The
library (`CourseLibraryView`, the menu entry) is what every business user reads: published
resources only, by the one rule `app.services.courses.visible_clause`, with search, preview
(PDF, images, video, served by us) and counted downloads. Anything it does not show is 404.
"""

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect
from wtforms import MultipleFileField, SelectField, SelectMultipleField
from wtforms.validators import DataRequired

from app import audit, clock
from app.extensions import db
from app.services import courses as svc
from app.services import files, vocabulary
from app.services.tx import transaction
from models.course import CATEGORIES, CourseResource
from security import permissions
from security.guards import accepts_uploads
from security.scope import ScopedSQLAInterface
from views.base import blank, perform, yes_no
from views.review import ReviewableModelView, status_label
from views.widgets import ChineseFileInput

PER_PAGE = 20
FILE_FIELD = svc.FILES_FIELD
REMOVE_FIELD = "remove_files"
LABELS = {
    "title": _l("Title"),
    "course_type": _l("Course type"),
    "category": _l("Category"),
    "description": _l("Description"),
    "tags": _l("Tags"),
    "author": _l("Author"),
    "org": _l("Uploading organisation"),
    "owner": _l("Uploaded by"),
    "for_trainees": _l("For trainees"),
    "download_count": _l("Downloads"),
    "published_at": _l("Published at"),
    "created_at": _l("Uploaded at"),
    FILE_FIELD: _l("Attachment"),
    REMOVE_FIELD: _l("Remove files"),
}


def category_label(code) -> str:
    return str(CATEGORIES.get(code, code or ""))


def course_type_label(code) -> str:
    return vocabulary.labels("course_type").get(code, code or "")  # read once per request


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _uploads():
    return [f for f in request.files.getlist(FILE_FIELD) if f and f.filename]


def _ids(values) -> list[int]:
    """The ids ticked in a multiple choice; anything not a number is no choice."""
    return [int(v) for v in values if str(v).isdigit()]


class CourseResourceView(ReviewableModelView):
    """我的上传 / 待我审核: resources of the user's scope, with the review buttons."""

    datamodel = ScopedSQLAInterface(CourseResource)
    class_permission_name = permissions.COURSE
    base_permissions = ["can_read", "can_write", "can_delete", "can_review"]
    show_template = "courses/show.html"
    list_title = _l("Course resources: my uploads and reviews")
    show_title = _l("Course resource")
    add_title = _l("Upload a course resource")
    edit_title = _l("Edit course resource")
    label_columns = LABELS
    list_columns = [
        "title",
        "course_type",
        "category",
        "org",
        "status",
        "published_at",
        "download_count",
    ]
    show_columns = [
        "title",
        "course_type",
        "category",
        "description",
        "tags",
        "author",
        "org",
        "owner",
        "status",
        "published_at",
        "for_trainees",
        "download_count",
        "created_at",
    ]
    add_columns = ["title", "course_type", "category", "description", "tags", "author", FILE_FIELD]
    edit_columns = add_columns + [REMOVE_FIELD]
    search_columns = ["title", "course_type", "category", "tags", "status"]
    order_columns = ["title", "published_at", "download_count"]
    base_order = ("id", "desc")
    formatters_columns = {
        "status": status_label,
        "category": category_label,
        "course_type": course_type_label,
        "for_trainees": yes_no,
        "published_at": _when,
        "created_at": _when,
        "description": blank,
        "tags": blank,
        "author": blank,
        "owner": blank,
    }
    description_columns = {
        FILE_FIELD: _l(
            "PDF, Office documents, images, MP4/WebM video. While a correction is "
            "prepared, the files uploaded replace all current files once the "
            "revision is approved."
        ),
    }
    _fields = {
        "course_type": SelectField(
            _l("Course type"),
            validators=[DataRequired()],
            choices=lambda: vocabulary.choices("course_type"),
            validate_choice=False,
        ),
        "category": SelectField(
            _l("Category"),
            validators=[DataRequired()],
            choices=[(k, v) for k, v in CATEGORIES.items()],
            validate_choice=False,
        ),
        FILE_FIELD: MultipleFileField(_l("Attachment"), widget=ChineseFileInput(multiple=True)),
    }
    add_form_extra_fields = _fields
    edit_form_extra_fields = {
        **_fields,
        REMOVE_FIELD: SelectMultipleField(
            _l("Remove files"), coerce=int, choices=[], validate_choice=False
        ),
    }

    # -------------------------------------------------------- add, edit, delete

    @expose("/add", methods=["GET", "POST"])
    @has_access
    @accepts_uploads
    def add(self):
        return super().add.__wrapped__(self)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    @accepts_uploads
    def edit(self, pk):
        return super().edit.__wrapped__(self, pk)

    def pre_add(self, item):
        svc.prepare_new(item, g.user, _uploads(), clock.now())
        g.course_added = item

    def post_add_redirect(self):
        item = g.pop("course_added", None)
        if item is not None and inspect(item).persistent:  # saved, not rolled back
            return redirect(url_for(f"{self.endpoint}.show", pk=item.id))
        return super().post_add_redirect()

    def prefill_form(self, form, pk):
        super().prefill_form(form, pk)
        record = self.datamodel.get(pk)
        if record is not None and record.in_force_revision is None:
            form[REMOVE_FIELD].choices = [
                (a.id, a.filename) for a in files.attachments_of(record, svc.IN_FORCE)
            ]

    def pre_update(self, item):
        svc.save_edit(
            item, g.user, _uploads(), _ids(request.form.getlist(REMOVE_FIELD)), clock.now()
        )

    def pre_delete(self, item):
        svc.before_delete(item, g.user)

    # -------------------------------------------------------- the record page

    def review_actions(self, record) -> list[str]:
        return svc.review_actions(record, g.user)

    def show_extras(self, record) -> dict:
        return {
            "attachments": files.attachments_of(record, svc.IN_FORCE),
            "pending": svc.pending_attachments(record),
            "in_library": svc.get_visible(record.id, g.user) is not None,
        }

    @expose("/review/<pk>", methods=["POST"])
    @has_access
    def review_action(self, pk):
        record = self._record_or_404(self._deserialize_pk_if_composite(pk))
        if record.chain is None:  # the center's own resources are published without review
            flash(_("The center's own resources need no review."), "warning")
            return redirect(url_for(f"{self.endpoint}.show", pk=pk))
        return super().review_action.__wrapped__(self, pk)


class CourseLibraryView(BaseView):
    """课程库: the published resources, shared with every business user (trainees: only those
    the center marks for them)."""

    route_base = "/courselibrary"
    default_view = "list"
    class_permission_name = permissions.COURSE
    method_permission_name = {
        "list": "read",
        "show": "read",
        "download": "read",
        "inline": "read",
        "trainees": "manage",
    }
    base_permissions = ["can_read", "can_manage"]

    def _get(self, pk):
        record = svc.get_visible(pk, g.user)
        if record is None:
            abort(404)
        return record

    def _file(self, pk, attachment_id):
        record = self._get(pk)
        attachment = svc.library_attachment(record, attachment_id)
        if attachment is None or not files.path_of(attachment).is_file():
            abort(404)
        return record, attachment

    @expose("/")
    @has_access
    def list(self):
        args = request.args
        q = (args.get("q") or "").strip()[:100]
        course_type, category = args.get("course_type", ""), args.get("category", "")
        page = max(args.get("page", 1, type=int) or 1, 1)
        rows, total, page = svc.search(g.user, q, course_type, category, page, PER_PAGE)
        sm = self.appbuilder.sm
        return self.render_template(
            "courses/library.html",
            rows=rows,
            total=total,
            page=page,
            pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
            q=q,
            course_type=course_type,
            category=category,
            course_types=vocabulary.choices("course_type"),
            type_labels=vocabulary.labels("course_type"),
            categories=CATEGORIES,
            can_upload=sm.has_access("can_write", "Course"),
            can_keep=sm.has_access("can_write", "Course") or sm.has_access("can_review", "Course"),
            title=_("Course library"),
        )

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        record = self._get(pk)
        attachments = files.attachments_of(record, svc.IN_FORCE)
        return self.render_template(
            "courses/resource.html",
            record=record,
            attachments=attachments,
            previews=[(a, svc.preview_kind(a)) for a in attachments],
            type_labels=vocabulary.labels("course_type"),
            categories=CATEGORIES,
            can_manage=self.appbuilder.sm.has_access("can_manage", "Course"),
            title=record.title,
        )

    @expose("/<int:pk>/download/<int:attachment_id>")
    @has_access
    def download(self, pk, attachment_id):
        record, attachment = self._file(pk, attachment_id)
        with transaction():
            svc.count_download(record.id)
            audit.record(
                db.session,
                "download",
                object_type="Attachment",
                object_id=attachment.id,
                summary=f"course_resource#{record.id}: {attachment.filename}",
                now=clock.now(),
            )
        return files.send(attachment, as_attachment=True)

    @expose("/<int:pk>/view/<int:attachment_id>")
    @has_access
    def inline(self, pk, attachment_id):
        """The preview source (PDF frame, image, video with HTTP Range); not counted."""
        _record, attachment = self._file(pk, attachment_id)
        if svc.preview_kind(attachment) is None:
            abort(404)
        response = files.send(attachment, as_attachment=False)
        # The one response shown in a frame (the PDF preview), of our own pages only.
        response.frame_same_origin = True
        return response

    @expose("/<int:pk>/trainees", methods=["POST"])
    @has_access
    def trainees(self, pk):
        record = self._get(pk)
        flag = request.form.get("for_trainees") == "y"
        perform(
            lambda: svc.set_for_trainees(record, flag, g.user, clock.now()), success=_l("Saved.")
        )
        return redirect(url_for("CourseLibraryView.show", pk=pk))


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    appbuilder.add_view_no_menu(CourseResourceView)
    files.register_owner(CourseResource.__tablename__, svc.load_for_files)
