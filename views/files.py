"""Attachment downloads: the only way a stored file leaves the server.

``url_for("FileView.download", attachment_id=a.id)`` is the link every module uses. A file whose
owner the user may not see answers 404, the same as a file that does not exist.
"""

from flask import abort, current_app, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose

from app import audit, clock
from app.extensions import db
from app.services import files
from app.services.tx import transaction
from models.attachment import Attachment


class FileView(BaseView):
    route_base = "/files"
    default_view = "download"

    @expose("/<int:attachment_id>")
    def download(self, attachment_id):
        user = g.user
        if user is None or not user.is_authenticated:
            return redirect(
                url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login", next=request.path)
            )
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None:
            abort(404)
        visible = files.visible_owner(attachment) is not None
        # A refused attempt is recorded too: someone holds a link to a file outside their area.
        with transaction():
            audit.record(
                db.session,
                "download",
                object_type="Attachment",
                object_id=attachment.id,
                summary=f"{attachment.owner_type}#{attachment.owner_id}: {attachment.filename}",
                success=visible,
                now=clock.now(),
            )
        if not visible:
            abort(404)
        if not files.path_of(attachment).is_file():
            current_app.logger.error(
                "attachment %s: file %s is missing", attachment.id, attachment.stored_name
            )
            abort(404)
        return files.send(attachment)


def register(appbuilder) -> None:
    """Add this module's views to the menu (called by views.register)."""
    appbuilder.add_view_no_menu(FileView)
