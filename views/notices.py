"""通知公告: list, page, publish, correct, withdraw, read receipts (+ export).

No FAB ModelView/API is registered over `Notice`: every read here goes through
`app.services.notices.visible_clause` (the audience rule), so there is no second, unfiltered path
(actions, REST, dropdowns) to guard. A notice outside the audience answers 404 everywhere.
"""

from flask import abort, current_app, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from app import clock
from app.extensions import db
from app.memo import memo
from app.services import files, org_picker
from app.services import notices as svc
from models.notice import ANNOUNCEMENT, DOCUMENT, NOTICE, OTHER, ROLE_GROUPS, Notice
from reports.xlsx import download_name
from security import permissions
from security.guards import accepts_uploads
from views.base import perform, xlsx_download
from views.widgets import posted_datetime

CATEGORY_LABELS = {
    NOTICE: _l("Notice"),
    ANNOUNCEMENT: _l("Announcement"),
    DOCUMENT: _l("Document"),
    OTHER: _l("Other"),
}
GROUP_LABELS = {
    "authorities": _l("Authorities (center, provinces, cities)"),
    "institutions": _l("Training institution"),
    "trainers": _l("Trainer"),
    "trainees": _l("Trainee"),  # 参训学员 (not the head count 学员人数)
}
FIELD_LABELS = {
    "title": _l("Title"),
    "body": _l("Body"),
    "category": _l("Category"),
    "expires_at": _l("Expires at"),
    "pinned": _l("Pinned"),
}
PAGE_SIZE = 25  # newest first; older pages by ?page=N (bench B1: a page, not the 200 newest)


def _uploads():
    return request.files.getlist("files")


def _draft(form) -> svc.Draft:
    """The publish form as the service takes it (a bad date refuses, next to its field)."""
    return svc.Draft(
        title=form.get("title", ""),
        body=form.get("body", ""),
        category=form.get("category", ""),
        org_ids=form.getlist("org_ids"),
        groups=[x for x in form.getlist("groups") if x in ROLE_GROUPS],
        publish_at=svc.parse_time(posted_datetime(form, "publish_at"), "publish_at"),
        expires_at=svc.parse_time(posted_datetime(form, "expires_at"), "expires_at"),
        pinned=form.get("pinned") == "y",
    )


def unread_count() -> int:
    """The menu/home badge: one COUNT per request."""
    user = getattr(g, "user", None)
    return memo("notice_unread", lambda: svc.unread_count(user, clock.now()), on=user)


def latest_unread():
    """The home panel's titles (at most five), newest first."""
    return svc.latest_unread(getattr(g, "user", None), clock.now())


class NoticeView(BaseView):
    route_base = "/notices"
    default_view = "list"
    class_permission_name = permissions.NOTICE
    method_permission_name = {
        "list": "read",
        "show": "read",
        "add": "write",
        "correct": "write",
        "withdraw": "write",
        "receipts": "write",
        "export_receipts": "write",
    }
    base_permissions = ["can_read", "can_write"]

    def _get(self, pk, now):
        notice = svc.get_visible(pk, g.user, now)
        if notice is None:
            abort(404)
        return notice

    def _managed(self, pk, now):
        """A notice the user's org published (others: 404, as if it did not exist)."""
        notice = self._get(pk, now)
        if not svc.is_publisher(g.user, notice):
            abort(404)
        return notice

    @expose("/")
    @has_access
    def list(self):
        now = clock.now()
        query = svc.visible_query(g.user, now)
        q = (request.args.get("q") or "").strip()[:100]
        if q:
            like = f"%{q}%"
            query = query.where(or_(Notice.title.ilike(like), Notice.body.ilike(like)))
        query = query.order_by(Notice.pinned.desc(), Notice.publish_at.desc(), Notice.id.desc())
        # The list shows each publisher: one SELECT for the page, not one per publishing org.
        query = query.options(selectinload(Notice.publisher_org))
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        # One row more than a page tells whether a next page exists, without counting them all.
        rows = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
        has_next, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        return self.render_template(
            "notices/list.html",
            rows=rows,
            unread=svc.unread_among(g.user, rows),
            q=q,
            now=now,
            page=page,
            has_next=has_next,
            categories=CATEGORY_LABELS,
            can_publish=svc.may_publish(g.user)
            and self.appbuilder.sm.has_access("can_write", "Notice"),
            unread_total=unread_count(),
            title=_("Notices"),
        )

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        now = clock.now()
        notice = self._get(pk, now)
        svc.mark_read(notice, g.user, now)  # commits its receipt
        publisher = svc.is_publisher(g.user, notice)
        history = svc.revisions_with_changes(notice) if svc.shows_history(g.user, notice) else []
        return self.render_template(
            "notices/show.html",
            notice=notice,
            body=svc.sanitise(notice.body),
            attachments=files.attachments_of(notice),
            publisher=publisher,
            history=history,
            categories=CATEGORY_LABELS,
            groups=GROUP_LABELS,
            fields=FIELD_LABELS,
            now=now,
            title=notice.title,
        )

    def _form(self, template, notice=None, errors=None, **extra):
        return self.render_template(
            template,
            notice=notice,
            errors=errors or {},
            tree=org_picker.audience_tree(g.user),
            form=request.form,
            categories=CATEGORY_LABELS,
            groups=GROUP_LABELS,
            title=_("Publish a notice"),
            **extra,
        )

    @expose("/new", methods=["GET", "POST"])
    @has_access
    @accepts_uploads
    def add(self):
        if not svc.may_publish(g.user):
            abort(403)
        if request.method == "GET":
            return self._form("notices/form.html")
        now = clock.now()
        published, errors = [], {}
        if not perform(
            lambda: published.append(svc.publish(_draft(request.form), g.user, now, _uploads())),
            success=_("The notice was published."),
            form=errors,
        ):
            return self._form("notices/form.html", errors=errors), 422
        return redirect(url_for("NoticeView.show", pk=published[0].id))

    @expose("/<int:pk>/correct", methods=["GET", "POST"])
    @has_access
    @accepts_uploads
    def correct(self, pk):
        now = clock.now()
        notice = self._managed(pk, now)
        if request.method == "GET":
            return self._form("notices/correct.html", notice=notice)
        form = request.form

        def correct():
            svc.correct(
                notice,
                g.user,
                now,
                note=form.get("note", ""),
                uploads=_uploads(),
                title=form.get("title", ""),
                body=form.get("body", ""),
                category=form.get("category", ""),
                expires_at=svc.parse_time(posted_datetime(form, "expires_at"), "expires_at"),
                pinned=form.get("pinned") == "y",
            )

        errors = {}
        if not perform(correct, success=_("The notice was corrected."), form=errors):
            return self._form("notices/correct.html", notice=notice, errors=errors), 422
        return redirect(url_for("NoticeView.show", pk=pk))

    @expose("/<int:pk>/withdraw", methods=["POST"])
    @has_access
    def withdraw(self, pk):
        now = clock.now()
        notice = self._managed(pk, now)
        perform(lambda: svc.withdraw(notice, g.user, now), success=_("The notice was withdrawn."))
        return redirect(url_for("NoticeView.show", pk=pk))

    @expose("/<int:pk>/receipts")
    @has_access
    def receipts(self, pk):
        now = clock.now()
        notice = self._managed(pk, now)
        rows = svc.receipts(notice, now)
        return self.render_template(
            "notices/receipts.html",
            notice=notice,
            rows=rows,
            totals=svc.totals(rows),
            title=_("Read receipts"),
        )

    @expose("/<int:pk>/receipts/export")
    @has_access
    def export_receipts(self, pk):
        now = clock.now()
        notice = self._managed(pk, now)
        data = svc.unread_file(notice, now)
        return xlsx_download(data, download_name(notice.title[:40], _("Unread"), when=now))


def _load_visible(owner_id):
    """Attachments of a notice follow its audience (files.register_owner)."""
    return svc.get_visible(owner_id, getattr(g, "user", None), clock.now())


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    current_app.jinja_env.globals["notice_unread_count"] = unread_count  # menu/home badge
    current_app.jinja_env.globals["notice_latest_unread"] = latest_unread  # home panel
    files.register_owner(Notice.__tablename__, _load_visible)
