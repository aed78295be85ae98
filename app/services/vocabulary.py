"""The center's vocabularies: choices for forms and filters, checks for imports, new terms."""

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.memo import memo
from app.services.errors import Conflict, InvalidValue
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


def check_new_term(term: Term) -> None:
    """A new term (the center's form): code and name trimmed and required; a code is unique in
    its vocabulary (retired terms included: records may still hold it)."""
    term.code = (term.code or "").strip()
    term.label = (term.label or "").strip()
    if not term.code or not term.label:
        raise InvalidValue(
            _("Code and name are required."), field="code" if not term.code else "label"
        )
    check_code_free(term.kind, term.code)


def check_code_free(kind: str, code) -> None:
    """`Conflict` on ``code`` when the vocabulary ``kind`` already has that code."""
    code = (code or "").strip()
    with db.session.no_autoflush:
        taken = db.session.scalar(
            select(Term.id).where(Term.kind == kind, Term.code == code).limit(1)
        )
    if code and taken is not None:
        raise Conflict(
            _("Code: %(code)s is already a term of this vocabulary.", code=code), field="code"
        )
