"""Bulk row builders for the grade sheets of finished classes (issue 13 point 7, Annex 1 row 19):
every trainer's 试讲评分表 of every trainee (`trial_score`), the class's 成绩单 (`grade_sheet`)
with one `grade_entry` line per trainee, and the sheet's review history (the lead trainer
submits, the center reviews), as plain dicts for Core executemany or COPY.

The lines are computed by the service's own pure rule (`app.services.grades`: `trial_of`,
`mean_of`, `total_of`, `passes`) under the scheme in force when the class started, from the
attendance the generated daily feedback gives (`derived_attendance`'s count) — or, for some
trainees who missed a form, the days the institution marked. Most sheets are approved; those
whose review would still be running at ``now`` (and a few others) wait for the center.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, time, timedelta

from sqlalchemy import select, text

from app.extensions import db
from app.services import grades, review
from models.classroom import DAILY, SUBMITTED
from models.grades import GradeScheme
from models.review import APPROVED, PENDING
from models.user import CENTER

MARKED = 0.5  # share of trainees with missed feedback whose days the institution marks
STILL_PENDING = 0.03  # sheets the center has not reviewed yet, whatever their age


def scheme_in_force(schemes: list, start) -> object:
    """`grades.scheme_for` over loaded versions: the latest made before the class's first day,
    else the first."""
    begin = datetime.combine(start, time())
    before = [s for s in schemes if s.created_at < begin]
    return max(before, key=lambda s: s.version) if before else min(schemes, key=lambda s: s.version)


def trial_row(row_id: int, klass: dict, trainee_id: int, uid: int, scheme, ability, rng, at):
    """One trainer's 试讲评分表 of one trainee: a score per criterion around the trainee's
    ability, and their weighted sum as the service computes it."""
    top = scheme.scale_max
    scores = {
        c["key"]: grades.round1(min(top, max(0, rng.gauss(ability, 6) * top / 100)))
        for c in grades.criteria(scheme)
    }
    return {
        "id": row_id,
        "class_id": klass["id"],
        "org_id": klass["org_id"],
        "trainee_id": trainee_id,
        "user_id": uid,
        "scores": json.dumps(scores, ensure_ascii=False),
        "total": grades.trial_of(scheme, scores),
        "updated_at": at,
    }


def entry_line(scheme, trials: list[float], written, attendance: int, marked: bool, days: int):
    """A trainee's line, exactly as `grades.compute` makes it."""
    trial = grades.mean_of(trials)
    total = grades.total_of(scheme, trial, written)
    return {
        "attendance": attendance,
        "attendance_marked": marked,
        "trial": trial,
        "trial_count": len(trials),
        "written": written,
        "total": total,
        "passed": grades.passes(scheme, total, attendance, days),
    }


def fill(g) -> None:
    """The generator's grade step, after the classroom step: for every class that has ended
    and has trainees, its trial scores, grade sheet, lines and review rows. Its own random
    stream (the audit step after it generates the same rows as before)."""
    rng = random.Random(g.seed * 1_000 + 19)
    today = g.now.date()
    finished = [k for k in g.classes if k["end_date"] < today]
    if not finished:
        return
    schemes = list(db.session.scalars(select(GradeScheme)))
    trainees: dict[int, list[int]] = {}
    for tid, class_id in g.conn.execute(
        text("SELECT id, class_id FROM class_trainee WHERE withdrawn_at IS NULL ORDER BY id")
    ):
        trainees.setdefault(class_id, []).append(tid)
    trainers: dict[int, list[tuple[int, bool]]] = {}
    for class_id, uid, lead in g.conn.execute(
        text(
            "SELECT class_id, user_id, is_lead FROM class_trainer "
            "WHERE user_id IS NOT NULL ORDER BY is_lead DESC, id"
        )
    ):
        trainers.setdefault(class_id, []).append((uid, bool(lead)))
    derived = dict(
        g.conn.execute(
            text(
                "SELECT trainee_id, count(DISTINCT day) FROM evaluation_submission "
                "WHERE kind = :kind AND status = :status GROUP BY trainee_id"
            ),
            {"kind": DAILY, "status": SUBMITTED},
        ).all()
    )
    center = g.center["id"]
    reviewer = g.authority(center)
    step_days = 3  # the grade_sheet chain's one step (the center, three days)
    first = {t: g._next_id(t) for t in ("trial_score", "grade_sheet", "grade_entry")}
    trial_rows, sheets, entries, revisions, tasks, events = [], [], [], [], [], []
    last_end = max(k["end_date"] for k in finished)
    for klass in finished:
        people, staff = trainees.get(klass["id"], []), trainers.get(klass["id"], [])
        leads = [uid for uid, lead in staff if lead]
        if not people or not leads:
            continue
        lead = leads[0]
        scheme = scheme_in_force(schemes, klass["start_date"])
        days = (klass["end_date"] - klass["start_date"]).days + 1
        end = datetime.combine(klass["end_date"], time())
        scored_at = end + timedelta(hours=rng.uniform(9, 17))
        lines = {}
        for tid in people:
            ability = rng.uniform(55, 95)
            totals = []
            for uid, _lead in staff:
                row = trial_row(
                    first["trial_score"] + len(trial_rows),
                    klass,
                    tid,
                    uid,
                    scheme,
                    ability,
                    rng,
                    scored_at,
                )
                trial_rows.append(row)
                totals.append(row["total"])
            attendance, marked = min(derived.get(tid, 0), days), False
            if attendance < days and rng.random() < MARKED:
                attendance, marked = rng.randint(attendance, days), True
            top = scheme.scale_max
            written = grades.round1(min(top, max(0, rng.gauss(ability, 10) * top / 100)))
            lines[str(tid)] = entry_line(scheme, totals, written, attendance, marked, days)
        sid = first["grade_sheet"] + len(sheets)
        submitted = min(
            end + timedelta(days=rng.randint(1, 4), hours=rng.uniform(9, 18)),
            g.now - timedelta(hours=rng.uniform(1, 6)),
        )
        decided = submitted + timedelta(hours=rng.uniform(2, 70))
        # The latest class's sheet always waits (the generated database shows one of each).
        waiting = decided > g.now or klass["end_date"] == last_end or rng.random() < STILL_PENDING
        status = PENDING if waiting else APPROVED
        kind = grades.GRADE_SHEET
        revisions.append(
            review.revision_row(kind, sid, 1, status, {"entries": lines}, submitted, lead)
        )
        events.append(g._event("grade_sheet", sid, 0, "submit", "draft", PENDING, lead, submitted))
        due = submitted + timedelta(days=step_days)
        if waiting:
            tasks.append(
                g._task("grade_sheet", sid, 0, CENTER, center, submitted, due, *[None] * 3)
            )
        else:
            tasks.append(
                g._task(
                    "grade_sheet",
                    sid,
                    0,
                    CENTER,
                    center,
                    submitted,
                    due,
                    decided,
                    "approve",
                    reviewer,
                )
            )
            events.append(
                g._event("grade_sheet", sid, 0, "approve", PENDING, APPROVED, reviewer, decided)
            )
        sheets.append(
            {
                "id": sid,
                "class_id": klass["id"],
                "org_id": klass["org_id"],
                "submitter_org_id": g.user_by_id[lead][3] or klass["org_id"],
                "scheme_id": scheme.id,
                "created_at": scored_at,
                "status": status,
                "step": 0 if waiting else None,
                "revision": 1,
                "in_force_revision": None if waiting else 1,
                "version": 1,
                "submitted_at": submitted,
                "submitted_by_id": lead,
            }
        )
        for key, line in lines.items():
            entries.append(
                {
                    "id": first["grade_entry"] + len(entries),
                    "sheet_id": sid,
                    "trainee_id": int(key),
                    **line,
                }
            )
    g._timed("trial scores", lambda: g._insert("trial_score", trial_rows))
    g._timed("grade sheets", lambda: g._insert("grade_sheet", sheets))
    g._timed("grade entries", lambda: g._insert("grade_entry", entries))
    g._write_reviews("grade sheet", revisions, tasks, events)
