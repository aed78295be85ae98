"""The registry of reviewable kinds: each kind of record declares once what review needs of it.

A domain service registers its kind with `register(Kind(...))` at import (the domain services
are imported by `app.services`); review, the to-do list, the overdue board, comments and files
read the registry, never attributes of the model. A kind without a chain (a plan round) only puts
items into to-do lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.services.review.chains import CHAINS, Chain


@dataclass(frozen=True)
class Kind:
    name: str  # ReviewTask.record_type, ReviewEvent.record_type, comments' record_type
    model: type
    label: Any  # what kind of record it is, for lists (a lazy msgid)
    record_page: str | None  # endpoint of the view whose show page is the record's page
    chain: str | Callable[[Any], str] | None = None  # a chain name, or one chosen per record
    fields: tuple[str, ...] = ()  # the values a revision holds (columns or properties)
    # Hooks, each called inside the review's transaction; a refusal raises a DomainError.
    before_submit: Callable | None = None  # (record, actor, now)
    before_approve: Callable | None = None  # (record, actor, now, params) at every approval
    on_approved: Callable | None = None  # (record, actor, now) at the final approval
    on_rejected: Callable | None = None  # (record, actor, now) after a rejection
    todo_label: Callable | None = None  # (task) -> English msgid of the to-do item
    applicant_name: Callable | None = None  # (record) -> name in the history (public forms)
    org_field: str = "org_id"  # the column naming the org that submits (chains start there)
    returnable: bool = True  # False: the submitter cannot revise it (no account), reject instead
    # (record) -> the user id whose to-do list alone gets a returned record's "revise and
    # resubmit" item, when the submitter is one person among many of its org (a class's lead
    # trainer: a trainer's org is its city, shared with every other trainer of the city).
    submitter_of: Callable | None = None
    # A to-do item of a person rather than of an org (a trainer's needs analysis): (user) -> a
    # SELECT of the record ids whose items are that user's. Its items' ``reviewer_org_id`` is
    # the org that supervises the step (the class's institution): the overdue board's row.
    extra: dict = field(default_factory=dict)

    def chain_of(self, record) -> Chain:
        name = self.chain(record) if callable(self.chain) else self.chain
        return CHAINS[name]

    @property
    def reviewed(self) -> bool:
        return self.chain is not None


KINDS: dict[str, Kind] = {}
_BY_MODEL: dict[type, Kind] = {}


def register(kind: Kind) -> Kind:
    """Declare a kind once; a second declaration of the same name is a programming error."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise RuntimeError(f"review kind {kind.name!r} is registered twice")
    for name in kind.fields:
        if not hasattr(kind.model, name):
            raise RuntimeError(f"review kind {kind.name!r}: {kind.model.__name__} has no {name!r}")
    if kind.chain is not None and not callable(kind.chain) and kind.chain not in CHAINS:
        raise RuntimeError(f"review kind {kind.name!r}: unknown chain {kind.chain!r}")
    KINDS[kind.name] = kind
    _BY_MODEL[kind.model] = kind
    return kind


def kind_of(record_or_model) -> Kind:
    model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise LookupError(f"{model.__name__} is not a registered review kind") from None


def is_reviewable(record_or_model) -> bool:
    model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
    kind = _BY_MODEL.get(model)
    return kind is not None and kind.reviewed


def record_type(record) -> str:
    return kind_of(record).name


def chain_of(record) -> Chain:
    return kind_of(record).chain_of(record)


def review_fields(record) -> tuple[str, ...]:
    return kind_of(record).fields
