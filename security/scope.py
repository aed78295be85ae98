"""Data scope — the one mechanism that keeps every user inside its node of the tree.

Every model that holds regional data declares ``__scope__`` (models/base.py). Reads go through
`ScopedSQLAInterface`, whose base query is always filtered, so lists, show/edit/delete, actions,
REST item endpoints, related-field dropdowns and searches all see the same rows. Writes go
through `check_write`, which rejects a row (or a row it points to) outside the scope.
Rules: center/administrators at the center see all; province its province; city its city;
institution itself; trainer and trainee only rows they own. A user without an org sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import false, or_, select
from sqlalchemy.orm import RelationshipDirection

from app.extensions import db
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from models.user import TRAINEE, TRAINER

ALL, NODE, OWNER, NOTHING = "all", "node", "owner", "nothing"


@dataclass(frozen=True)
class Scope:
    mode: str  # ALL | NODE (org subtree) | OWNER (own rows) | NOTHING
    org_id: int | None = None
    org_kind: str | None = None
    user_id: int | None = None


SYSTEM = Scope(ALL)  # CLI jobs and migrations: no request, no user


def scope_of(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return Scope(NOTHING)
    kind = user.role_kind
    if kind in (TRAINER, TRAINEE):
        return Scope(OWNER, user_id=user.id)
    org = user.org
    if org is None:  # e.g. an admin made by `flask fab create-admin`: fail closed
        return Scope(NOTHING, user_id=user.id)
    if org.kind == CENTER:
        return Scope(ALL, org.id, CENTER, user.id)
    return Scope(NODE, org.id, org.kind, user.id)


def current_scope() -> Scope:
    """The scope of the signed-in user; outside a request (CLI) the system sees all."""
    if not has_request_context():
        return SYSTEM
    if "malan_scope" not in g:
        g.malan_scope = scope_of(getattr(g, "user", None))
    return g.malan_scope


def org_subtree(scope: Scope):
    """A SELECT of the org ids inside a NODE scope (one indexed query)."""
    column = {PROVINCE: Org.province_id, CITY: Org.city_id}.get(scope.org_kind)
    cond = Org.id == scope.org_id
    if column is not None:
        cond = or_(cond, column == scope.org_id)
    return select(Org.id).where(cond)


def scope_clause(model, scope: Scope):
    """SQL condition limiting ``model`` to ``scope``; None means unrestricted."""
    spec = getattr(model, "__scope__", None)
    if spec is None or scope.mode == ALL:
        return None
    if scope.mode == NODE and spec.org:
        return getattr(model, spec.org).in_(org_subtree(scope))
    if scope.mode == OWNER and spec.owner:
        return getattr(model, spec.owner) == scope.user_id
    return false()


def is_scoped(model) -> bool:
    return getattr(model, "__scope__", None) is not None


def _org_in_scope(org_id, scope: Scope, strictly_below: bool = False) -> bool:
    if org_id is None:
        return False
    with db.session.no_autoflush:
        org = db.session.get(Org, org_id)
    if org is None:
        return False
    if strictly_below and org.id == scope.org_id:
        return False
    return org.id == scope.org_id or scope.org_id in (org.province_id, org.city_id)


def row_in_scope(obj, scope: Scope, for_write: bool = False) -> bool:
    spec = getattr(type(obj), "__scope__", None)
    if spec is None or scope.mode == ALL:
        return True
    if scope.mode == NODE and spec.org:
        org_id = getattr(obj, spec.org)
        if org_id is None and spec.org == "id":  # a new org: judged by where it is placed
            return _org_in_scope(obj.parent_id or (obj.parent and obj.parent.id), scope)
        return _org_in_scope(org_id, scope, strictly_below=for_write and spec.write_below_only)
    if scope.mode == OWNER and spec.owner:
        return getattr(obj, spec.owner) == scope.user_id
    return False


class OutOfScopeError(DatabaseException):
    """Raised before any write that would leave the user's scope. A DatabaseException so that
    FAB's views flash it and its REST API answers 422."""

    def __init__(self, message: str):
        super().__init__(message)
        self.__cause__ = ValueError(message)


def check_write(obj, scope: Scope | None = None) -> None:
    """Reject writing ``obj`` when it, or any scoped row it points to, lies outside the scope."""
    scope = scope or current_scope()
    if scope.mode == ALL:
        return
    with db.session.no_autoflush:
        _check_write(obj, scope)


def _check_write(obj, scope: Scope) -> None:
    if not row_in_scope(obj, scope, for_write=True):
        raise OutOfScopeError(_("This record is outside your area of responsibility."))
    for rel in type(obj).__mapper__.relationships:
        if rel.direction is not RelationshipDirection.MANYTOONE or rel.viewonly:
            continue
        target = getattr(obj, rel.key)
        if target is not None and is_scoped(type(target)) and not row_in_scope(target, scope):
            raise OutOfScopeError(
                _("The selected %(field)s is outside your area of responsibility.", field=rel.key)
            )


class ScopedSQLAInterface(SQLAInterface):
    """FAB's SQLAInterface whose every query starts from the scoped base query."""

    def _scoped(self, query):
        clause = scope_clause(self.obj, current_scope())
        return query if clause is None else query.filter(clause)

    def _apply_inner_all(self, query, *args, **kwargs):
        return super()._apply_inner_all(self._scoped(query), *args, **kwargs)

    def _get_base_query(self, query, *args, **kwargs):
        return super()._get_base_query(self._scoped(query), *args, **kwargs)

    def get_related_obj(self, col_name, value):
        return self.get_related_interface(col_name).get(value)

    def add(self, item, commit=True):
        self._guard(item)
        super().add(item, commit)

    def edit(self, item, commit=True):
        self._guard(item)
        super().edit(item, commit)

    def delete(self, item, commit=True):
        self._guard(item)
        super().delete(item, commit)

    def delete_all(self, items):
        for item in items:
            self._guard(item)
        super().delete_all(items)

    def _guard(self, item):
        try:
            check_write(item)
        except OutOfScopeError:
            self.session.rollback()  # the form may already have changed the loaded row
            raise
