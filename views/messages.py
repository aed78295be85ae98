"""信息沟通交流: conversations between levels (list, write, thread, reply) and the unread badge.

Thin: the rules (direction, visibility, unread) live in `app.services.messages`; a conversation
the user may not see answers 404, like any foreign id.
"""

from flask import abort, current_app, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app import clock
from app.memo import forget, memo
from app.services import files, messages, org_picker
from security import permissions
from security.guards import accepts_uploads
from views.base import perform

OWNER_TYPE = "message"  # Attachment.owner_type of a message's files (its __tablename__)
UNREAD = "message_unread"  # the badge's memo key


def unread_count() -> int:
    """The menu badge: one COUNT per page, remembered for the rest of the request."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return memo(UNREAD, lambda: messages.unread_count(user), on=user)


def _attachments(message_list) -> dict:
    return {m.id: files.attachments_of(m) for m in message_list}


class MessageView(BaseView):
    """信息沟通交流: the user's conversations, a form to write, a thread page with replies."""

    route_base = "/messages"
    default_view = "list"
    class_permission_name = permissions.MESSAGE
    method_permission_name = {"list": "read", "thread": "read", "new": "write", "reply": "write"}
    base_permissions = ["can_read", "can_write"]

    @expose("/")
    @has_access
    def list(self):
        return self.render_template(
            "messages/list.html",
            title=_("Messages"),
            rows=messages.conversations(g.user),
            counterpart=lambda c: messages.counterpart(g.user, c),
            can_write=bool(messages.recipients(g.user)),
        )

    @expose("/new", methods=["GET", "POST"])
    @has_access
    @accepts_uploads
    def new(self):
        form = {
            "recipient": request.form.get("recipient", request.args.get("to", "")),
            "subject": request.form.get("subject", ""),
            "body": request.form.get("body", ""),
        }
        sent = []
        if request.method == "POST" and perform(
            lambda: sent.append(
                messages.start(
                    g.user,
                    messages.recipient_org(form["recipient"]),
                    form["subject"],
                    form["body"],
                    clock.now(),
                    request.files.getlist("attachments"),
                )
            ),
            success=_("Message sent."),
        ):
            return redirect(url_for("MessageView.thread", conversation_id=sent[0].conversation_id))
        # The recipient is picked through the org picker (searchable, scoped): the page holds
        # only the chosen org, shown with its path.
        found = org_picker.search(g.user, "message", ids=[form["recipient"]])[0]
        return self.render_template(
            "messages/new.html",
            title=_("Write a message"),
            can_write=bool(org_picker.search(g.user, "message")[0]),
            chosen=found[0] if found and form["recipient"] else None,
            form=form,
        )

    @expose("/<int:conversation_id>")
    @has_access
    def thread(self, conversation_id):
        conversation = messages.visible_conversation(g.user, conversation_id)
        if conversation is None:
            abort(404)
        messages.mark_read(g.user, conversation)  # commits
        forget(UNREAD)  # the badge must count this thread as read
        return self.render_template(
            "messages/thread.html",
            title=conversation.subject,
            conversation=conversation,
            counterpart=messages.counterpart(g.user, conversation),
            attachments=_attachments(conversation.messages),
        )

    @expose("/<int:conversation_id>/reply", methods=["POST"])
    @has_access
    @accepts_uploads
    def reply(self, conversation_id):
        conversation = messages.visible_conversation(g.user, conversation_id)
        if conversation is None:
            abort(404)
        body, uploads = request.form.get("body", ""), request.files.getlist("attachments")
        perform(
            lambda: messages.reply(g.user, conversation, body, clock.now(), uploads),
            success=_("Reply sent."),
        )
        return redirect(url_for("MessageView.thread", conversation_id=conversation_id))


def register(appbuilder) -> None:
    """What has no menu entry (called by views.register; the menu is security.permissions)."""
    current_app.jinja_env.globals["message_unread_count"] = unread_count  # the navbar badge
    # A message's files: only users who see its conversation (the two parties) may download.
    files.register_owner(
        OWNER_TYPE, lambda message_id: messages.visible_message(g.user, message_id)
    )
