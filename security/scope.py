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

from flask import current_app, g, has_request_context
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.filters import FilterRelationOneToManyEqual, SQLAFilterConverter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from sqlalchemy import false, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import QueryableAttribute, RelationshipDirection, selectinload

from app.extensions import db
from app.memo import memo
from models.org import CENTER, CITY, PROVINCE, Org
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
    """The scope of the signed-in user; outside a request (CLI) the system sees all.

    Computed once per request and user (`app.memo`: the JWT API sets ``g.user`` only after the
    before-request hooks ran, and one user's scope must never be handed to another).
    """
    if not has_request_context():
        return SYSTEM
    user = getattr(g, "user", None)
    return memo("scope", lambda: scope_of(user), on=user)


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


def in_scope(query, model, scope: Scope | None = None):
    """``query`` (a ``select()`` or an ORM ``Query``) limited to the rows of ``model`` inside
    ``scope`` — by default the current user's. The one way a hand-written query is scoped."""
    clause = scope_clause(model, current_scope() if scope is None else scope)
    return query if clause is None else query.where(clause)


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


class WriteRefused(DatabaseException):
    """A refused write. A DatabaseException so that FAB's views flash it and its REST API answers
    422; the API prints ``__cause__``, so that carries the user's message, never SQL."""

    def __init__(self, message: str):
        super().__init__(message)
        self.__cause__ = ValueError(message)


class OutOfScopeError(WriteRefused):
    """Raised before any write that would leave the user's scope."""


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
                _("A selected related record is outside your area of responsibility.")
            )


class ScopedRelationEqual(FilterRelationOneToManyEqual):
    """ "Relation equals X": FAB compares with None when X is not found, which matches every row
    whose relation is empty. A foreign (hence invisible) X must match nothing."""

    def apply(self, query, value):
        if (
            value not in (None, "")
            and self.datamodel.get_related_obj(self.column_name, value) is None
        ):
            return query.filter(false())
        return super().apply(query, value)


class ScopedFilterConverter(SQLAFilterConverter):
    conversion_table = tuple(
        (test, [ScopedRelationEqual if f is FilterRelationOneToManyEqual else f for f in filters])
        for test, filters in SQLAFilterConverter.conversion_table
    )


class AtLeast(int):
    """A count that reached its cap: the page arithmetic sees the number, the page shows "N+"."""

    def __str__(self):
        return f"{int(self) - 1}+"


class ScopedSQLAInterface(SQLAInterface):
    """FAB's SQLAInterface whose every query starts from the scoped base query."""

    filter_converter_class = ScopedFilterConverter

    def __init__(
        self, obj, session=None, *, eager: tuple[str, ...] = (), count_cap: int | None = None
    ):
        """``eager``: relationships a list page shows (or a listed property reads), loaded for
        the whole page in one SELECT each instead of one per row (bench B2: no N+1).
        ``count_cap``: a list of millions of rows counts at most this many (bench B1)."""
        super().__init__(obj, session)
        self.eager = eager
        self.count_cap = count_cap

    def query_count(self, query, filters=None, select_columns=None):
        """FAB counts every matching row for "Record Count" and the page links: over millions
        that is a full scan on every page. Capped, the count stops at the cap (shown "N+")."""
        if not self.count_cap:
            return super().query_count(query, filters, select_columns)
        inner = self._apply_inner_all(
            query, filters, select_columns=select_columns, aliases_mapping={}
        )
        count = inner.limit(self.count_cap + 1).count()
        return AtLeast(count) if count > self.count_cap else count

    def get_order_columns_list(self, list_columns=None):
        """FAB offers a sort link on every listed non-callable attribute, a Python property too
        (a plan line's ``trainees``): sorting by it is a 500. Only what SQL can order by."""
        return [
            name
            for name in super().get_order_columns_list(list_columns)
            if "." in name
            or hasattr(getattr(self.obj, name, None), "_col_name")
            or isinstance(getattr(self.obj, name, None), QueryableAttribute)
        ]

    def apply_pagination(self, query, page, page_size):
        # The request guard (`bounded_list_args`) caps ?psize_; this caps every other caller.
        cap = current_app.config.get("MAX_PAGE_SIZE", 100)
        if page_size is not None and page_size > cap:
            page_size = cap
        return super().apply_pagination(query, max(page or 0, 0) or None, page_size)

    def _scoped(self, query):
        return in_scope(query, self.obj)

    def _apply_inner_all(self, query, *args, **kwargs):
        page_size = kwargs.get("page_size", args[4] if len(args) > 4 else None)
        if self.eager and page_size:  # a list page (the count query passes no page size)
            query = query.options(*(selectinload(getattr(self.obj, name)) for name in self.eager))
        return super()._apply_inner_all(self._scoped(query), *args, **kwargs)

    def _get_base_query(self, query, *args, **kwargs):
        return super()._get_base_query(self._scoped(query), *args, **kwargs)

    def get(self, id, filters=None, *args, **kwargs):
        item = super().get(id, filters, *args, **kwargs)
        if item is None:
            self._note_refusal(id)
        return item

    def _note_refusal(self, pk) -> None:
        """A row that exists outside the user's scope: the request is refused (404) and
        `app.audit.record_refusals` logs it, for the security administrator's board."""
        if not has_request_context() or self.is_pk_composite():
            return
        clause = scope_clause(self.obj, current_scope())
        if clause is None:
            return
        column = getattr(self.obj, self.get_pk_name())
        try:  # FAB hands the id over as the URL's text; PostgreSQL compares types strictly
            pk = column.type.python_type(pk)
        except (ValueError, TypeError, NotImplementedError):
            return
        with self.session.no_autoflush:
            exists = self.session.execute(select(column).where(column == pk)).first()
            if exists is None:
                return
            if self.session.execute(select(column).where(column == pk, clause)).first() is None:
                g.setdefault("malan_scope_refusals", []).append((self.obj.__name__, str(pk)))

    def get_related_interface(self, col_name):
        # Dropdowns, `_info` choices and relation filters read the related model through this:
        # it must be scoped too, whatever FAB's base class does. Kept per column: FAB asks for
        # it once per dropdown option (10,000 institutions: 10,000 interfaces, 0.8 s a page).
        # The scope is applied when a query runs, so one interface serves every user.
        related = self.__dict__.setdefault("_related_interfaces", {})
        if col_name not in related:
            related[col_name] = ScopedSQLAInterface(self.get_related_model(col_name), self._session)
        return related[col_name]

    def get_related_obj(self, col_name, value):
        # Used by the relation search filters: a foreign id finds nothing.
        return self.get_related_interface(col_name).get(value)

    def add(self, item, commit=True):
        self._guard(item)
        self._write(super().add, item, commit)

    def edit(self, item, commit=True):
        self._guard(item)
        self._write(super().edit, item, commit)

    def delete(self, item, commit=True):
        self._guard(item)
        self._write(super().delete, item, commit)

    def delete_all(self, items):
        for item in items:
            self._guard(item)
        self._write(super().delete_all, items)

    def _guard(self, item):
        try:
            check_write(item)
        except OutOfScopeError:
            self.session.rollback()  # the form may already have changed the loaded row
            raise

    def _write(self, operation, *args):
        """FAB lets a raw SQLAlchemyError out of ``add`` (the REST API answers 500) and shows the
        SQL of a failed edit to the user. Both paths handle a WriteRefused (422 / a flash)."""
        try:
            operation(*args)
        except WriteRefused:
            raise
        except (DatabaseException, SQLAlchemyError):
            self.session.rollback()
            raise WriteRefused(_("The record conflicts with existing data."))  # noqa: B904
