"""信息沟通交流: who may write to whom, who sees which conversation, unread counts, comments.

Direction (decision): a user writes *up* only to its direct superior org (逐级上报: an institution
writes to its city, not over the city's head to the province) and *down* to any org of its own
subtree (a province may write to an institution of one of its cities directly, as it may publish
notices to it). Never sideways (another city of the same province) nor outside its subtree. A
trainer, who stands beside the tree, writes to the org its account belongs to.

Visibility (decision, privacy): a conversation is seen only by the users of its two party orgs
(org roles: center, province, city, institution) and by the trainer who started it. The center
sees only the conversations it is a party to, not its provinces' exchanges; a province does not
read what its cities say to their institutions. Anything else is "not found".
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, or_, select

from app.extensions import db
from app.services import files, review
from app.services.errors import DomainError, InvalidValue, NotAllowed
from app.services.tx import transaction
from models.message import (
    BODY_MAX,
    SUBJECT_MAX,
    Conversation,
    ConversationRead,
    Message,
    RecordComment,
)
from models.org import CENTER, Org
from models.user import CITY, INSTITUTION, PROVINCE, TRAINER

ORG_ROLES = (CENTER, PROVINCE, CITY, INSTITUTION)
COMMENT_MAX = 2000


class MessageError(DomainError):
    """A refused message or comment; the text is for the user."""


class InvalidMessage(MessageError, InvalidValue):
    """A subject, body, comment or attachment breaks a rule (``field`` says which)."""


class MessageNotAllowed(MessageError, NotAllowed):
    """The user may not write to that organisation (逐级上报: up one level, or down)."""


def _role(user) -> str | None:
    return getattr(user, "role_kind", None) if user is not None else None


def takes_part(user) -> bool:
    return user is not None and user.org_id is not None and _role(user) in (*ORG_ROLES, TRAINER)


def recipients(user) -> list[Org]:
    """The orgs ``user`` may start a conversation with, superior first."""
    if not takes_part(user):
        return []
    org = user.org
    if _role(user) == TRAINER:
        return [org]
    found = [org.parent] if org.parent is not None else []
    if org.kind == CENTER:
        below = select(Org).where(Org.id != org.id)
    elif org.kind in (PROVINCE, CITY):
        column = Org.province_id if org.kind == PROVINCE else Org.city_id
        below = select(Org).where(column == org.id)
    else:
        below = None
    if below is not None:
        found += db.session.scalars(below.where(Org.active.is_(True)).order_by(Org.code)).all()
    return found


def may_write_to(user, org: Org | None) -> bool:
    if org is None or not org.active or not takes_part(user):
        return False
    mine = user.org
    if _role(user) == TRAINER:
        return org.id == mine.id
    if org.id == mine.id:
        return False
    if org.id == mine.parent_id:
        return True
    if mine.kind == CENTER:
        return True
    return mine.id in (org.province_id, org.city_id)


def visible_clause(user):
    """The one rule of who sees a conversation (see the module docstring)."""
    if not takes_part(user):
        return false()
    mine = Conversation.sender_user_id == user.id
    if _role(user) == TRAINER:
        return and_(mine, Conversation.sender_org_id.is_(None))
    return or_(
        Conversation.sender_org_id == user.org_id, Conversation.recipient_org_id == user.org_id
    )


def visible_conversation(user, conversation_id) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.id == conversation_id, visible_clause(user))
    )


def visible_message(user, message_id) -> Message | None:
    """A message whose conversation ``user`` sees (for attachment downloads)."""
    return db.session.scalar(
        select(Message).join(Conversation).where(Message.id == message_id, visible_clause(user))
    )


def _text(value: str | None, limit: int, what: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidMessage(_("%(what)s must not be empty.", what=what), field=field)
    if len(text) > limit:
        raise InvalidMessage(
            _("%(what)s is too long (at most %(n)d characters).", what=what, n=limit),
            field=field,
        )
    return text


def _attach(message: Message, uploads, user, now: datetime) -> None:
    """The uploaded files (werkzeug FileStorage) of a message; a refused one refuses it all."""
    for upload in [u for u in uploads or () if u and u.filename]:
        try:
            files.store(upload, owner=message, actor=user, now=now)
        except files.FileRejected as exc:
            raise InvalidMessage(str(exc), field="attachments") from None


def recipient_org(value) -> Org | None:
    """The org chosen on the form (an id as text); None for nothing or an unknown id."""
    try:
        org_id = int(value or 0)
    except (TypeError, ValueError):
        return None
    return db.session.get(Org, org_id) if org_id else None


def _post(user, conversation: Conversation, body: str, now: datetime, uploads=()) -> Message:
    message = Message(
        conversation=conversation,
        author_id=user.id,
        author_org_id=user.org_id,
        body=_text(body, BODY_MAX, _("Message"), "body"),
        created_at=now,
    )
    with transaction() as session:
        session.add(message)
        session.flush()
        conversation.last_message_id = message.id
        conversation.last_message_at = now
        _read_up_to(user, conversation, message.id)
        _attach(message, uploads, user, now)
    return message


def start(
    user, recipient: Org | None, subject: str, body: str, now: datetime, uploads=()
) -> Message:
    """Open a conversation with its first message and its files, in one transaction."""
    if not may_write_to(user, recipient):
        raise MessageNotAllowed(
            _("You may write only to your superior or to an organisation below you."),
            field="recipient",
        )
    conversation = Conversation(
        subject=_text(subject, SUBJECT_MAX, _("Subject"), "subject"),
        sender_org_id=None if _role(user) == TRAINER else user.org_id,
        sender_user_id=user.id,
        recipient_org_id=recipient.id,
        created_at=now,
    )
    with transaction() as session:
        session.add(conversation)
        return _post(user, conversation, body, now, uploads)


def reply(user, conversation: Conversation, body: str, now: datetime, uploads=()) -> Message:
    """A reply by anyone who sees the conversation (the caller loaded it with
    visible_conversation), with its files, in one transaction."""
    return _post(user, conversation, body, now, uploads)


def _read_up_to(user, conversation: Conversation, message_id: int) -> None:
    read = db.session.scalar(
        select(ConversationRead).where(
            ConversationRead.conversation_id == conversation.id, ConversationRead.user_id == user.id
        )
    )
    if read is None:
        db.session.add(
            ConversationRead(
                conversation_id=conversation.id, user_id=user.id, last_read_message_id=message_id
            )
        )
    elif read.last_read_message_id < message_id:
        read.last_read_message_id = message_id


def mark_read(user, conversation: Conversation) -> None:
    """Opening a thread reads it up to its last message (committed)."""
    if conversation.last_message_id is not None:
        with transaction():
            _read_up_to(user, conversation, conversation.last_message_id)


def _unread_condition(user):
    return or_(
        ConversationRead.id.is_(None),
        Conversation.last_message_id > ConversationRead.last_read_message_id,
    )


def _with_reads(query, user):
    return query.outerjoin(
        ConversationRead,
        and_(
            ConversationRead.conversation_id == Conversation.id, ConversationRead.user_id == user.id
        ),
    )


def unread_count(user) -> int:
    """Conversations with a message the user has not seen: one query."""
    if not takes_part(user):
        return 0
    query = _with_reads(select(func.count(Conversation.id)), user).where(
        visible_clause(user), _unread_condition(user)
    )
    return db.session.scalar(query) or 0


def conversations(user) -> list[tuple[Conversation, bool]]:
    """The user's conversations, latest activity first, each with its unread flag."""
    if not takes_part(user):
        return []
    query = (
        _with_reads(select(Conversation, _unread_condition(user)), user)
        .where(visible_clause(user))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return [(c, bool(unread)) for c, unread in db.session.execute(query).all()]


def counterpart(user, conversation: Conversation) -> str:
    """The other party, as the user sees it."""
    if conversation.sender_org_id is None:  # a trainer's conversation
        if conversation.sender_user_id == user.id:
            return conversation.recipient_org.name
        return conversation.sender_user.full_name
    if conversation.sender_org_id == user.org_id:
        return conversation.recipient_org.name
    return conversation.sender_org.name


# ---------------------------------------------------------------- comments on reviewable records


def comments_of(record) -> list[RecordComment]:
    """The record's comment thread, oldest first. The caller loaded ``record`` through its scoped
    view, so whoever sees the record sees its comments."""
    return db.session.scalars(
        select(RecordComment)
        .where(
            RecordComment.record_type == review.record_type(record),
            RecordComment.record_id == record.id,
        )
        .order_by(RecordComment.id)
    ).all()


def add_comment(user, record, body: str, now: datetime) -> RecordComment:
    """Added to the record's thread and committed (the audit hook logs it in the same
    transaction)."""
    comment = RecordComment(
        record_type=review.record_type(record),
        record_id=record.id,
        author_id=user.id,
        author_org_id=user.org_id,
        body=_text(body, COMMENT_MAX, _("Comments"), "comment"),
        created_at=now,
    )
    with transaction() as session:
        session.add(comment)
    return comment
