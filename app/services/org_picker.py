"""The org picker: one scoped search over the tree for every org choice of the app.

A picker asks for a *purpose* (what the org is chosen for) and gets the matching orgs with
their path (广东省 / 广州市 / 天河区). Each purpose reuses the rule of the service that later
checks the choice, so the picker never offers what the save would refuse:

- ``account`` (an account's org): the administrator's data scope (`security.scope.in_scope`),
  narrowed to the org kinds the chosen role may sit at (`accounts.ROLE_ORG_KINDS`);
- ``notice`` (a notice's audience): `notices.addressable_orgs`;
- ``message`` (a message's recipient): `messages.recipients`' rule (the parent and the subtree).

A foreign org is never listed, whatever the query says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.services import accounts, messages, notices
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from security.scope import in_scope

PURPOSES = ("account", "notice", "message")
PAGE_SIZE = 30
QUERY_MAX = 64


@dataclass(frozen=True)
class Choice:
    id: int
    kind: str
    code: str
    name: str
    path: str  # 广东省 / 广州市 / 天河区


def _message_clause(user):
    if not messages.takes_part(user):
        return false()
    org = user.org
    if messages._role(user) == messages.TRAINER:
        return Org.id == org.id
    own = [Org.id == org.parent_id] if org.parent_id is not None else []
    if org.kind == CENTER:
        below = Org.id != org.id
    elif org.kind in (PROVINCE, CITY):
        below = (Org.province_id if org.kind == PROVINCE else Org.city_id) == org.id
    else:
        below = None
    parts = own + ([below] if below is not None else [])
    return or_(*parts) if parts else false()


def candidates(user, purpose: str, role: str | None = None):
    """A SELECT of the orgs ``user`` may choose for ``purpose`` (unknown purpose: none)."""
    if user is None or purpose not in PURPOSES:
        return select(Org).where(false())
    if purpose == "notice":
        return notices.addressable_orgs(user)
    if purpose == "message":
        return select(Org).where(Org.active.is_(True), _message_clause(user))
    query = in_scope(select(Org), Org)
    if role:
        kinds = accounts.ROLE_ORG_KINDS.get(role)
        if not kinds or role not in accounts.BUSINESS_KINDS:
            return query.where(false())
        query = query.where(Org.kind.in_(sorted(kinds)))
    return query


def search(
    user, purpose: str, q: str = "", role: str | None = None, page: int = 1, under=None, ids=()
):
    """(choices, more): a page of the candidates matching ``q`` in the name, code or path
    (``under``: only the children of that org — the audience tree's lazy branches)."""
    province, city = aliased(Org), aliased(Org)
    query = candidates(user, purpose, role)
    query = query.add_columns(province.name, city.name)
    query = query.outerjoin(province, province.id == Org.province_id)
    query = query.outerjoin(city, city.id == Org.city_id)
    q = (q or "").strip()[:QUERY_MAX]
    for word in q.replace("/", " ").split():
        like = f"%{word}%"
        query = query.where(
            or_(
                Org.name.ilike(like),
                Org.code.like(f"{word}%"),
                province.name.ilike(like),
                city.name.ilike(like),
            )
        )
    if under:
        query = query.where(Org.parent_id == under)
    if ids:
        wanted = [int(i) for i in ids if str(i).isdigit()]
        query = query.where(Org.id.in_(wanted))
    page = max(int(page or 1), 1)
    query = query.order_by(Org.code).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    rows = db.session.execute(query).all()
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return [_choice(org, p, c) for org, p, c in rows], more


def path_of(org: Org) -> str:
    names = [o.name for o in (org.province, org.city) if o is not None and o.id != org.id]
    return " / ".join([*names, org.name])


def _choice(org, province_name, city_name) -> Choice:
    names = [n for n in (province_name, city_name) if n]
    return Choice(org.id, org.kind, org.code, org.name, " / ".join([*names, org.name]))


@dataclass
class Node:
    id: int
    kind: str
    code: str
    name: str
    path: str
    children: list = field(default_factory=list)
    lazy: bool = False  # its children are fetched on demand (a large tree)


TREE_MAX = 2000  # above this, institutions are loaded per city when opened (bench: 10,500 orgs)


def audience_tree(user) -> list[Node]:
    """The orgs ``user`` may address as a tree (province → city → institution), roots first."""
    base = notices.addressable_orgs(user)
    total = db.session.scalar(base.with_only_columns(func.count(Org.id)).order_by(None)) or 0
    lazy = total > TREE_MAX
    if lazy:
        base = base.where(Org.kind != INSTITUTION)
    rows = db.session.execute(
        base.with_only_columns(Org.id, Org.kind, Org.code, Org.name, Org.parent_id).order_by(
            Org.code
        )
    ).all()
    nodes = {r.id: Node(r.id, r.kind, r.code, r.name, r.name) for r in rows}
    roots = []
    for r in rows:
        parent = nodes.get(r.parent_id)
        if parent is None:
            roots.append(nodes[r.id])
        else:
            parent.children.append(nodes[r.id])

    def walk(node, prefix):
        node.path = f"{prefix} / {node.name}" if prefix else node.name
        node.lazy = lazy and node.kind == CITY
        for child in node.children:
            walk(child, node.path if node.kind != CENTER else "")

    for root in roots:
        walk(root, "")
    return roots
