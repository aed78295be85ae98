"""Reading the center's vocabularies: choices for forms and filters, checks for imports."""

from sqlalchemy import select

from app.extensions import db
from app.memo import memo
from models.vocabulary import DEFAULT_TERMS, Term


def terms(kind: str, include_retired: bool = False) -> list[Term]:
    query = select(Term).where(Term.kind == kind)
    if not include_retired:
        query = query.where(Term.active.is_(True))
    return list(db.session.scalars(query.order_by(Term.position, Term.id)))


def choices(kind: str, keep=()) -> list[tuple[str, str]]:
    """(code, label) pairs of the active terms, in the center's order, then the codes in
    ``keep`` that are not among them (a record's stored value, a retired term: an edit form
    offers it, so that saving does not change it silently)."""
    out = [(t.code, t.label) for t in terms(kind)]
    have = {code for code, _label in out}
    extra = [code for code in dict.fromkeys(keep) if code and code not in have]
    if extra:
        names = labels(kind)
        out += [(code, names.get(code, code)) for code in extra]
    return out


def labels(kind: str) -> dict[str, str]:
    """code -> label of every term, retired ones included (old records keep their wording).
    Read once per request: a list formats every row with it."""
    return memo(
        f"vocabulary:{kind}", lambda: {t.code: t.label for t in terms(kind, include_retired=True)}
    )


def seed_defaults(session=None) -> None:
    """Insert the default terms that are missing (a fresh database, a test world)."""
    session = session or db.session
    have = {(k, c) for k, c in session.execute(select(Term.kind, Term.code))}
    for position, (kind, code, label) in enumerate(DEFAULT_TERMS):
        if (kind, code) not in have:
            session.add(Term(kind=kind, code=code, label=label, position=position))
