"""帮助 › 用户手册 (第十四条): the chapters, one per role (the reader's own first), each step with
its screenshot, a PDF per role, and the screenshots themselves (signed-in users only).

The pages show text and the acceptance test's pictures of the demo only: nothing of the
database, so nothing of another region can appear here.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app import clock
from app.labels import role_label
from app.services import manual
from app.services.documents import font
from app.services.errors import DomainError
from reports import manual_pdf
from reports.xlsx import content_disposition, download_name
from security import permissions


def step_heading(step: manual.Step) -> str:
    return _("Step %(row)s: %(title)s", row=step.row, title=step.title)


def facts(step: manual.Step) -> list[str]:
    """The lines under a step's heading: where it is, and by when."""
    lines = []
    where = manual.menu_label(step.menu) or step.where
    if where:
        lines.append(_("Menu: %(where)s", where=where))
    if step.deadline:
        lines.append(_("Deadline: %(deadline)s", deadline=step.deadline))
    return lines


class ManualView(BaseView):
    """用户手册: every role reads every chapter; the reader's own role comes first."""

    route_base = "/help"
    default_view = "index"
    class_permission_name = permissions.HELP
    method_permission_name = {"index": "read", "chapter": "read", "pdf": "read", "shot": "read"}
    base_permissions = ["can_read"]

    def _chapter_or_404(self, kind: str) -> manual.Chapter:
        found = manual.chapter(kind)
        if found is None:
            abort(404)
        return found

    @expose("/")
    @has_access
    def index(self):
        own = g.user.role_kind
        return self.render_template(
            "manual/index.html",
            chapters=manual.ordered(own),
            own=own,
            role_label=role_label,
            title=_("User manual"),
        )

    @expose("/<kind>")
    @has_access
    def chapter(self, kind):
        found = self._chapter_or_404(kind)
        return self.render_template(
            "manual/chapter.html",
            chapter=found,
            role=role_label(kind),
            shots=manual.shots(current_app.config["MANUAL_DIR"]),
            heading=step_heading,
            facts=facts,
            title=_("User manual: %(role)s", role=role_label(kind)),
        )

    @expose("/<kind>/pdf")
    @has_access
    def pdf(self, kind):
        found = self._chapter_or_404(kind)
        role = role_label(kind)
        folder = current_app.config["MANUAL_DIR"]
        shots = manual.shots(folder)
        try:
            cjk = font()
        except DomainError as exc:
            flash(str(exc), "danger")
            return redirect(url_for(f"{self.endpoint}.chapter", kind=kind))

        def section(step, photographed=True):
            name = shots.files.get(step.id) if photographed else None
            placeholder = [] if name or not photographed else [_("Screenshot pending")]
            return manual_pdf.Section(
                step_heading(step) if photographed else step.title,
                facts(step),
                [*step.do, *placeholder],
                f"{folder}/{name}" if name else None,
            )

        body = manual_pdf.build(
            _("User manual: %(role)s", role=role),
            list(found.intro),
            [
                (_("Steps of the class workflow"), [section(s) for s in found.steps]),
                (_("Daily pages"), [section(p, photographed=False) for p in found.pages]),
            ],
            cjk,
        )
        name = download_name(_("User manual"), role, when=clock.now().date(), ext="pdf")
        response = current_app.response_class(body, mimetype="application/pdf")
        response.headers["Content-Disposition"] = content_disposition(name)
        return response

    @expose("/shot/<name>")
    @has_access
    def shot(self, name):
        path = manual.shot_path(current_app.config["MANUAL_DIR"], name)
        if path is None:
            abort(404)
        return send_file(path, mimetype="image/png", max_age=0)
