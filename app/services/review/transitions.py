"""The transitions of review (谁审核，谁负责): submit, approve, return, reject, correct.

Every reviewable record moves only through these functions. Each call checks who may act (the
role *and* the org resolved from the record), records a `ReviewEvent` and an audit entry,
opens/closes `ReviewTask` rows with their due times, runs its kind's hooks, and refuses a step
that someone else has already handled ("already handled by X at T") — by the version the user
saw, by the open task, and by SQLAlchemy's version counter for truly simultaneous commits. Each
public transition is one transaction (`app.services.tx`); services take ``now``.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.exc import OperationalError

from app import audit
from app.extensions import db
from app.labels import role_label
from app.services.deadlines import due_at
from app.services.errors import Conflict, DomainError, NotAllowed
from app.services.review.chains import Step
from app.services.review.kinds import chain_of, kind_of, record_type, review_fields
from app.services.review.records import (
    APPROVE,
    CHANGE,
    CORRECT,
    ENTER,
    REJECT,
    RETURN,
    SUBMIT,
    SUBMITTER_STEP,
    _deadline_mode,
    _jsonable,
    current_revision,
    is_correction,
    may_correct,
    may_decide,
    may_submit,
    open_task,
    org_at_level,
    record_org,
    revisions,
    values_of,
)
from app.services.review.tasks import actor_fields, event_row
from app.services.tx import in_transaction, transaction
from models.review import (
    APPROVED,
    DRAFT,
    PENDING,
    REJECTED,
    RETURNED,
    ReviewEvent,
    ReviewRevision,
    ReviewTask,
)


class ReviewError(DomainError):
    """A refused transition; the message is for the user."""


class NotYourStep(ReviewError, NotAllowed):
    """The user may not act on this step (wrong role, wrong org, own submission)."""


class AlreadyHandled(ReviewError, Conflict):
    """Someone acted first (a second reviewer, a double click)."""


def _check_version(record, expected_version):
    """The version the user's page showed (a form field): any other value, garbage included,
    means the record changed since (or the page was not ours)."""
    if expected_version is not None and str(expected_version).strip() != str(record.version):
        raise _already_handled(record)


def _already_handled(record) -> AlreadyHandled:
    last = db.session.scalar(
        select(ReviewEvent)
        .where(ReviewEvent.record_type == record_type(record), ReviewEvent.record_id == record.id)
        .order_by(ReviewEvent.id.desc())
        .limit(1)
    )
    if last is None:
        return AlreadyHandled(_("This record has changed since you opened it. Reload the page."))
    return AlreadyHandled(
        _(
            "Already handled by %(who)s at %(when)s.",
            who=last.actor_name,
            when=last.at.strftime("%Y-%m-%d %H:%M"),
        )
    )


def _event(record, actor, action, from_status, now, opinion=None, step=None):
    kind = kind_of(record)
    db.session.add(
        ReviewEvent(
            **event_row(
                kind,
                record.id,
                record.revision,
                step,
                action,
                from_status,
                record.status,
                actor_fields(actor),
                now,
                opinion,
            )
        )
    )
    audit.record(
        db.session,
        f"review_{action}",
        object_type=type(record).__name__,
        object_id=record.id,
        user=actor,
        now=now,
        summary=f"{from_status} -> {record.status} (rev {record.revision})"
        + (f": {opinion}" if opinion else ""),
    )


def _open_step(record, index: int, now: datetime) -> ReviewTask:
    chain = chain_of(record)
    if index == SUBMITTER_STEP:
        level, days = chain.submitter, chain.resubmit_days
        org = record_org(record)
    else:
        step: Step = chain.steps[index]
        level, days = step.level, step.days
        org = org_at_level(record_org(record), step.level)
    if org is None:
        raise ReviewError(
            _("No organisation of level %(level)s above this record.", level=role_label(level))
        )
    kind = kind_of(record)
    task = ReviewTask(
        record_type=record_type(record),
        record_id=record.id,
        revision=record.revision,
        step=index,
        level=level,
        reviewer_org_id=org.id,
        entered_at=now,
        due_at=due_at(now, days, _deadline_mode()),
        assignee_id=kind.submitter_of(record)
        if index == SUBMITTER_STEP and kind.submitter_of is not None
        else None,
    )
    db.session.add(task)
    return task


def _close(task: ReviewTask, actor, decision: str, now: datetime, record) -> None:
    """Close an open task exactly once, even against a concurrent transaction."""
    try:
        result = db.session.execute(
            update(ReviewTask)
            .where(ReviewTask.id == task.id, ReviewTask.done_at.is_(None))
            .values(done_at=now, decision=decision, done_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
    except OperationalError:
        raise _lost_lock(record, task.id) from None
    if result.rowcount != 1:
        raise _already_handled(record)


@contextmanager
def _unit(record, task_id: int | None = None):
    """One transition = one transaction (joined to the caller's, if any): a lost race on the
    version counter or a lock becomes "already handled by X"."""
    try:
        with transaction(on_conflict=lambda: _refreshed_already_handled(record)):
            yield
    except OperationalError:
        raise _lost_lock(record, task_id) from None


def _refreshed_already_handled(record) -> AlreadyHandled:
    db.session.refresh(record)
    return _already_handled(record)


LOCK_WAIT_SECONDS = 5.0


def _lost_lock(record, task_id: int | None) -> ReviewError:
    """SQLite gives up on a write lock another transaction holds ("database is locked") instead
    of waiting for it like PostgreSQL. The other transaction is then, almost surely, the one
    handling this very step: wait for it to finish so that the user hears who handled it."""
    db.session.rollback()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while task_id is not None and time.monotonic() < deadline:
        done = db.session.scalar(select(ReviewTask.done_at).where(ReviewTask.id == task_id))
        db.session.rollback()  # end the read: the next one sees what commits meanwhile
        if done is not None:
            return _already_handled(record)
        time.sleep(0.05)
    return ReviewError(_("The record is busy; please try again in a moment."))


def submit(record, actor, now: datetime, expected_version=None) -> None:
    """Submit a draft, or resubmit a returned record: the chain starts again at its first step
    and every due time is computed afresh from ``now``. The kind's ``before_submit`` may refuse."""
    _check_version(record, expected_version)
    if record.status not in (DRAFT, RETURNED):
        raise (
            _already_handled(record)
            if record.status == PENDING
            else ReviewError(_("Only a draft or a returned record can be submitted."))
        )
    if not may_submit(record, actor):
        raise NotYourStep(_("You may not submit this record."))
    kind = kind_of(record)
    with _unit(record):
        if kind.before_submit is not None:
            kind.before_submit(record, actor, now)
        before = record.status
        waiting = open_task(record)
        if waiting is not None and waiting.step != SUBMITTER_STEP:  # a double click's second
            raise _already_handled(record)
        if waiting is not None:  # the returned record's task for its submitter
            _close(waiting, actor, SUBMIT, now, record)
        rev = current_revision(record)
        if rev is None:
            rev = ReviewRevision(
                record_type=kind.name,
                record_id=record.id,
                revision=record.revision,
                status=PENDING,
                data="{}",
                created_at=now,
                created_by_id=actor.id,
            )
            db.session.add(rev)
        if not is_correction(record):
            rev.data = json.dumps(values_of(record), ensure_ascii=False)
        rev.status = PENDING
        record.status, record.step = PENDING, 0
        record.submitted_at, record.submitted_by_id = now, actor.id
        db.session.flush()
        _open_step(record, 0, now)
        _event(record, actor, "resubmit" if before == RETURNED else SUBMIT, before, now, step=0)


def enter_review(record, now: datetime) -> None:
    """Put a record that nobody signed-in submits (a public login application) straight into
    step 0: its revision, its task and a history entry whose actor is the applicant. The record
    must be in the session; the caller commits."""
    record.status, record.step = PENDING, 0
    record.submitted_at, record.submitted_by_id = now, None
    db.session.flush()  # the record's id names its task, revision and event
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=PENDING,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
        )
    )
    _open_step(record, 0, now)
    kind = kind_of(record)
    name = kind.applicant_name(record) if kind.applicant_name else "applicant"
    db.session.add(
        ReviewEvent(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            step=0,
            action=SUBMIT,
            from_status=DRAFT,
            to_status=PENDING,
            actor_name=name[:128],
            role="applicant",
            at=now,
        )
    )
    audit.record(
        db.session,
        f"review_{SUBMIT}",
        object_type=type(record).__name__,
        object_id=record.id,
        username="applicant",
        now=now,
        summary=f"{DRAFT} -> {PENDING} (rev {record.revision})",
    )


def decide(
    record,
    actor,
    decision: str,
    now: datetime,
    opinion: str | None = None,
    expected_version=None,
    params: dict | None = None,
) -> None:
    """Approve, return or reject the pending step. Opinion required to return or reject.
    ``params`` carries what the reviewer chose on the page for its kind's ``before_approve``
    (a city's plan line)."""
    if decision not in (APPROVE, RETURN, REJECT):
        raise ReviewError(_("Unknown decision."))
    _check_version(record, expected_version)
    task = open_task(record)
    # The record as the user loaded it must still be at the step that is open: a reviewer who
    # lost a race sees the next step's task here, and is told who acted, not "not yours".
    if (
        record.status != PENDING
        or task is None
        or task.step < 0
        or task.step != record.step
        or task.revision != record.revision
    ):
        raise _already_handled(record)
    if not may_decide(record, actor, task):
        if actor.id == record.submitted_by_id:
            raise NotYourStep(_("You cannot review your own submission."))
        raise NotYourStep(_("This step is not yours to review."))
    kind = kind_of(record)
    if decision == RETURN and not kind.returnable:
        raise ReviewError(
            _(
                "This record cannot be returned: its submitter has no account to revise it "
                "with. Reject it with your opinion instead."
            )
        )
    opinion = (opinion or "").strip() or None
    if decision in (RETURN, REJECT) and not opinion:
        raise ReviewError(_("Please give your opinion when returning or rejecting."))
    with _unit(record, task.id):
        if decision == APPROVE and kind.before_approve is not None:
            kind.before_approve(record, task, actor, now, params or {})
        _close(task, actor, decision, now, record)
        before, step = record.status, record.step
        rev = current_revision(record)
        chain = chain_of(record)
        if decision == APPROVE and step + 1 < len(chain.steps):
            record.step = step + 1
            _open_step(record, record.step, now)
        elif decision == APPROVE:
            if is_correction(record):
                for field, value in json.loads(rev.data).items():
                    setattr(record, field, restore_value(record, field, value))
            record.status, record.step = APPROVED, None
            record.in_force_revision = record.revision
            rev.status = APPROVED
            if kind.on_approved is not None:
                kind.on_approved(record, actor, now)
        elif decision == RETURN:
            record.status = RETURNED
            rev.status = RETURNED
            _open_step(record, SUBMITTER_STEP, now)
        else:
            rev.status = REJECTED
            # A rejected correction leaves the approved revision in force.
            record.status = APPROVED if record.in_force_revision is not None else REJECTED
            record.step = None
            if kind.on_rejected is not None:
                kind.on_rejected(record, actor, now)
        _event(record, actor, decision, before, now, opinion=opinion, step=step)


def decide_all(records, actor, decision: str, now: datetime, opinion: str | None = None) -> int:
    """One decision with one opinion on several records (a bulk approval): every record is
    checked like a single decision, and either all of them change or none (the first refusal,
    named after its record, undoes the others)."""
    with transaction():
        for record in records:
            try:
                decide(record, actor, decision, now, opinion=opinion)
            except DomainError as exc:
                exc.args, exc.field = (f"{record}: {exc}",), None  # which record refused
                raise
    return len(records)


def submit_all(records, actor, now: datetime) -> int:
    """批量报送: several drafts (or returned records) submitted at once, each checked like a
    single submission; all of them or none (the first refusal, named after its record, undoes
    the others)."""
    with transaction():
        for record in records:
            try:
                submit(record, actor, now)
            except DomainError as exc:
                exc.args, exc.field = (f"{record}: {exc}",), None  # which record refused
                raise
    return len(records)


def submit_refusals(records, actor, now: datetime) -> dict:
    """For the confirmation page of a bulk submission: {record id: why it cannot be submitted},
    found by trying each submission alone and undoing it (nothing is kept, whatever happens;
    the caller reloads its records). Called outside any transaction."""
    if in_transaction():
        raise RuntimeError("submit_refusals runs outside any transaction")
    refusals = {}
    for record in records:
        record_id = record.id
        try:
            with transaction():  # the outermost one: leaving it by an exception rolls back
                submit(record, actor, now)
                raise _DryRun
        except _DryRun:
            pass
        except DomainError as exc:
            refusals[record_id] = str(exc)
    return refusals


class _DryRun(Exception):
    """Leaves a trial submission's transaction, undoing it."""


def start_correction(record, actor, now: datetime, expected_version=None) -> None:
    """第十条: approved data is corrected through a new revision reviewed again; the approved
    values stay in force (in the row) until the new revision is approved."""
    _check_version(record, expected_version)
    if not may_correct(record, actor):
        raise NotYourStep(_("Only the submitter of approved data may correct it."))
    with _unit(record):
        _new_revision(record, actor, now)


def _new_revision(record, actor, now):
    before = record.status
    last = max((r.revision for r in revisions(record)), default=record.revision)
    record.revision = last + 1
    record.status = DRAFT
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=DRAFT,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
            created_by_id=actor.id,
        )
    )
    _event(record, actor, CORRECT, before, now)


def record_in_force(record, actor, now: datetime, opinion: str | None = None) -> None:
    """Values the top of the chain keeps itself (the center's own entries and edits in the
    libraries, 第五条): the row's values become a new approved revision at once, with the same
    history entry and audit line a reviewer's approval leaves — who, when, what. A new record is
    "entered", an existing one "changed". The record must be in the session; the caller commits."""
    before = record.status or DRAFT
    if record.id is None:
        db.session.add(record)
        db.session.flush()  # the revision and the event point at the id
    earlier = revisions(record)
    action = CHANGE if earlier else ENTER
    if earlier:
        record.revision = max(r.revision for r in earlier) + 1
    record.status, record.step = APPROVED, None
    record.in_force_revision = record.revision
    db.session.add(
        ReviewRevision(
            record_type=record_type(record),
            record_id=record.id,
            revision=record.revision,
            status=APPROVED,
            data=json.dumps(values_of(record), ensure_ascii=False),
            created_at=now,
            created_by_id=actor.id,
        )
    )
    _event(record, actor, action, before, now, opinion=opinion)


def editable(record) -> bool:
    """Whether the record's own form may change it: a draft, or a returned record."""
    return record.status in (DRAFT, RETURNED)


def stage_edit(record) -> None:
    """Called before an edit is saved. Drafts and returned records change in place; a correction's
    new values go into its revision and the row keeps the values in force. Anything else is
    refused: approved or pending data never changes silently."""
    # No autoflush, even to load the state: that would write the form's values to the row first.
    with db.session.no_autoflush:
        if not editable(record):
            raise ReviewError(
                _(
                    "Approved or pending data cannot be edited; use “Correct” to "
                    "propose a new revision."
                )
            )
        if is_correction(record):
            _stage_correction(record)


def _stage_correction(record) -> None:
    state = inspect(record)
    rev = current_revision(record)
    proposed = json.loads(rev.data)
    in_force = None
    for field in review_fields(record):
        if field in state.attrs:  # a column: its history says whether the form changed it
            hist = state.attrs[field].history
            if hist.has_changes():
                proposed[field] = _jsonable(getattr(record, field))
                if hist.deleted:
                    setattr(record, field, hist.deleted[0])
                else:  # never loaded: let the database give the value in force back
                    db.session.expire(record, [field])
        else:  # a property over child rows: compare with the values in force, then put them back
            if in_force is None:
                in_force = _revision_values(record, record.in_force_revision)
            value = _jsonable(getattr(record, field))
            if value != in_force.get(field):
                proposed[field] = value
                setattr(record, field, in_force.get(field))
    rev.data = json.dumps(proposed, ensure_ascii=False)


def _revision_values(record, number) -> dict:
    rev = db.session.scalar(
        select(ReviewRevision).where(
            ReviewRevision.record_type == record_type(record),
            ReviewRevision.record_id == record.id,
            ReviewRevision.revision == number,
        )
    )
    return json.loads(rev.data) if rev is not None else {}


def restore_value(record, field, value):
    """JSON value back to the column's Python type (dates)."""
    column = type(record).__table__.columns.get(field)
    if value is not None and column is not None:
        python_type = getattr(column.type, "python_type", None)
        if python_type is date:
            return date.fromisoformat(value)
        if python_type is datetime:
            return datetime.fromisoformat(value)
    return value


def propose(record, values: dict) -> None:
    """Put ``values`` into the revision under preparation or review. During a correction they
    wait there (the row keeps the values in force until the revision is approved); otherwise
    they are the row's own values. The caller's transaction keeps them."""
    if not is_correction(record):
        for field, value in values.items():
            setattr(record, field, value)
        return
    rev = current_revision(record)
    data = json.loads(rev.data)
    data.update({field: _jsonable(value) for field, value in values.items()})
    rev.data = json.dumps(data, ensure_ascii=False)


def discard(record) -> None:
    """A record is deleted: its open steps leave every to-do list (its history stays)."""
    db.session.execute(
        delete(ReviewTask).where(
            ReviewTask.record_type == record_type(record),
            ReviewTask.record_id == record.id,
            ReviewTask.done_at.is_(None),
        )
    )
