"""Loading the administrative tree from ``app/data/divisions.csv`` (see its header for the source)."""

import csv
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org

DIVISIONS = Path(__file__).resolve().parent.parent / "data" / "divisions.csv"
CENTER_CODE = "000000"
CENTER_NAME = "部中心（中国就业培训技术指导中心）"


def read_divisions(path: Path = DIVISIONS) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def load_tree(path: Path = DIVISIONS) -> int:
    """Create the center and every missing province and city. Idempotent; returns rows added.
    Inserted without explicit ids (PITFALLS: PostgreSQL sequences)."""
    existing = {org.code: org for org in db.session.scalars(select(Org))}
    added = 0
    center = existing.get(CENTER_CODE)
    if center is None:
        center = Org(kind=CENTER, code=CENTER_CODE, name=CENTER_NAME)
        db.session.add(center)
        added += 1
    rows = read_divisions(path)
    for level, kind in (("province", PROVINCE), ("city", CITY)):
        db.session.flush()
        for row in rows:
            if row["level"] != level or row["code"] in existing:
                continue
            parent = center if kind == PROVINCE else existing[row["parent_code"]]
            org = Org(kind=kind, code=row["code"], name=row["name"])
            org.parent = parent
            db.session.add(org)
            existing[row["code"]] = org
            added += 1
    db.session.flush()
    return added


def next_institution_code(city: Org) -> str:
    """Institution codes: the city's 6-digit code + a 4-digit sequence (1101010001, …)."""
    last = db.session.scalar(
        select(func.max(Org.code)).where(Org.parent_id == city.id, Org.kind == INSTITUTION)
    )
    return f"{city.code}{(int(last[-4:]) + 1 if last else 1):04d}"
