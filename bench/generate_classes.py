"""Bulk row builders for running classes (issue 13 point 7): trainee accounts, class trainees,
class trainers, evaluation submissions and their answers, as plain dicts for Core executemany
or COPY. The generator (`bench.generate`, past classes at national scale) and B6's setup
(`bench.b6`, one class running today) both build their rows here, so that both write what the
services write: one submission per (class, trainee, form, day), one answer per question and,
for a per-trainer question, per trainer.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import text

from app.services import evaluations
from models.classroom import DAILY, FINAL, MIDTERM, MULTIPLE, SCALE, SINGLE, SUBMITTED, TEXT

TEXT_ANSWERS = (
    "案例分析很实用，收获很大。",
    "希望多一些小组练习。",
    "讲师讲解清楚，节奏合适。",
    "建议增加试讲的时间。",
    "",
)
FORM_DAYS_RESPONSE = 0.9  # share of trainees who answer a form in a generated past class


def trainee_account(
    uid: int,
    username: str,
    name: str,
    org_id: int,
    mobile: str,
    password_hash: str,
    now,
    start,
    end,
) -> dict:
    """An ab_user row of a trainee account (the class's dates give its sign-in window); without
    ``id`` when ``uid`` is None (the database assigns it)."""
    row = {
        "id": uid,
        "first_name": name,
        "last_name": "",
        "username": username,
        "password": password_hash,
        "active": True,
        "email": f"{username}@users.malan.invalid",
        "login_count": 0,
        "fail_login_count": 0,
        "created_on": now,
        "changed_on": now,
        "org_id": org_id,
        "mobile": mobile,
        "must_change_password": False,
        "password_changed_at": now,
        "is_demo": False,
        "class_start": start,
        "class_end": end,
    }
    if uid is None:
        del row["id"]
    return row


def class_trainee(
    tid: int, klass: dict, uid: int, name: str, id_number: str, mobile: str, rng, now
) -> dict:
    """A class_trainee row (参训学员) of ``klass`` (a dict with id, org_id, start_date)."""
    return {
        "id": tid,
        "class_id": klass["id"],
        "org_id": klass["org_id"],
        "user_id": uid,
        "name": name,
        "gender": rng.choice("MF"),
        "id_number": id_number,
        "mobile": mobile,
        "employer": rng.choice(("就业服务中心", "创业指导站", "职业技能培训学校", "人力资源公司")),
        "position": rng.choice(("讲师", "培训师", "项目主管", "")) or None,
        "city": None,
        "years": rng.randint(0, 12),
        "certificates": rng.choice(("SYB讲师证", "", "GYB讲师证")) or None,
        "added_at": now,
        "added_by_id": None,
    }


def class_trainer(row_id: int, klass: dict, uid: int, faculty_id: int | None, lead: bool) -> dict:
    return {
        "id": row_id,
        "class_id": klass["id"],
        "org_id": klass["org_id"],
        "user_id": uid,
        "faculty_id": faculty_id,
        "is_lead": lead,
        "source": "center",
        "created_at": datetime.combine(
            klass["start_date"] - timedelta(days=20), datetime.min.time()
        ),
        "created_by_id": None,
    }


def forms_of(start: date, end: date, until: date):
    """(kind, day) of every form of a class from its first day up to ``until`` (the rule of
    `evaluations.forms_on`: daily each day, mid-term on the middle day, final on the last)."""
    middle = start + timedelta(days=(end - start).days // 2)
    day = start
    while day <= min(end, until):
        yield DAILY, day
        if day == middle:
            yield MIDTERM, day
        if day == end:
            yield FINAL, day
        day += timedelta(days=1)


def answers(questions: list[dict], trainer_ids: list[int], rng: random.Random) -> list[dict]:
    """One answer row per item of the form (without submission_id), every required one filled;
    scores lean to 满意 as real feedback does."""
    out = []
    for q in questions:
        for trainer in trainer_ids if q["per_trainer"] else [None]:
            row = {"question": q["key"], "trainer_id": trainer, "score": None, "choice": None}
            row["text"] = None
            if q["type"] == SCALE:
                row["score"] = rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 8, 30, 40))[0]
            elif q["type"] == SINGLE:
                row["choice"] = str(rng.randint(1, len(q["options"])))
            elif q["type"] == MULTIPLE:
                picked = rng.sample(range(1, len(q["options"]) + 1), rng.randint(1, 2))
                row["choice"] = ";".join(str(p) for p in sorted(picked))
            elif q["type"] == TEXT:
                text = rng.choice(TEXT_ANSWERS)
                if not text:
                    continue  # free text is optional in the default forms
                row["text"] = text
            out.append(row)
    return out


def form_body(questions: list[dict], trainer_ids: list[int], rng: random.Random) -> list:
    """The same answers as the form posts them (input name, value): what a phone sends."""
    fields = []
    for row in answers(questions, trainer_ids, rng):
        name = (
            row["question"]
            if row["trainer_id"] is None
            else f"{row['question']}_{row['trainer_id']}"
        )
        value = row["score"] if row["score"] is not None else row["choice"] or row["text"]
        for part in str(value).split(";") if row["choice"] else [value]:
            fields.append((name, str(part)))
    return fields


def submission(
    sid: int, klass: dict, trainee: dict, questionnaire_id: int, kind: str, day: date, rng
) -> dict:
    """A submitted evaluation_submission row, sent during the evening of ``day``."""
    at = datetime.combine(day, datetime.min.time()) + timedelta(
        hours=17, seconds=rng.randint(0, 6 * 3600)
    )
    return {
        "id": sid,
        "class_id": klass["id"],
        "org_id": klass["org_id"],
        "user_id": trainee["user_id"],
        "trainee_id": trainee["id"],
        "questionnaire_id": questionnaire_id,
        "kind": kind,
        "day": day,
        "status": SUBMITTED,
        "saved_at": at,
        "submitted_at": at,
    }


def default_questions() -> dict[str, list[dict]]:
    return {kind: evaluations.default_questions(kind) for kind in (DAILY, MIDTERM, FINAL)}


# ---------------------------------------------------------------- the generator's step


def fill(g) -> None:
    """The generator's classroom step (`bench.generate.Generator._classroom`): for every
    generated class, its trainers (the dispatch's accepted seats, the lead seat first; for a
    class not staffed yet, one or two pool trainers with an account, the first the lead)
    and its trainees (the generated trainee accounts, in turn); for every class that has
    started, the forms of its days up to today, answered by ~90% of its trainees. Its own
    random stream: the steps after it generate the same rows as before."""
    rng = random.Random(g.seed * 1_000 + 13)
    questions = default_questions()
    questionnaire_ids = dict(
        g.conn.execute(text("SELECT kind, min(id) FROM questionnaire GROUP BY kind")).all()
    )
    trainers = [
        (uid, profile_id)
        for (profile_id, _org), (uid, _u, role, _o, _n) in zip(
            g.trainer_profiles, [u for u in g.users if u[2] == "trainer"], strict=False
        )
    ]
    people = [u for u in g.users if u[2] == "trainee"]
    if not people or not trainers or not g.classes:
        return
    places = g._birth_places()
    today = g.now.date()
    first = {
        t: g._next_id(t)
        for t in ("class_trainer", "class_trainee", "evaluation_submission", "evaluation_answer")
    }
    class_trainers, class_trainees, submissions, answer_rows = [], [], [], []
    taught: dict[int, list[int]] = {}
    turn = 0
    # A class the center staffed (bench.generate's dispatch step) is taught by its accepted
    # seats, the lead seat first; the others (far ahead) by pool trainers drawn at random.
    seated: dict[int, list[tuple[int, int]]] = {}
    for class_id, uid, profile_id in g.conn.execute(
        text(
            "SELECT class_id, trainer_user_id, profile_id FROM dispatch_seat "
            "WHERE status = 'accepted' AND trainer_user_id IS NOT NULL "
            "ORDER BY class_id, lead DESC, id"
        )
    ):
        seated.setdefault(class_id, []).append((uid, profile_id))
    for klass in g.classes:
        picked = seated.get(klass["id"]) or rng.sample(trainers, 2 if rng.random() < 0.6 else 1)
        taught[klass["id"]] = [uid for uid, _p in picked]
        for k, (uid, profile_id) in enumerate(picked):
            class_trainers.append(
                class_trainer(
                    first["class_trainer"] + len(class_trainers), klass, uid, profile_id, k == 0
                )
            )
        enrolled = []
        for _ in range(klass["expected_trainees"]):
            uid, _username, _role, org_id, name = people[turn % len(people)]
            turn += 1
            birth = date(rng.randint(1970, 2000), rng.randint(1, 12), rng.randint(1, 28))
            row = class_trainee(
                first["class_trainee"] + len(class_trainees),
                klass,
                uid,
                name,
                g.id_number(places[org_id], birth),
                g.user_mobile[uid],
                rng,
                datetime.combine(klass["start_date"], datetime.min.time()) - timedelta(days=5),
            )
            class_trainees.append(row)
            enrolled.append(row)
        for kind, day in forms_of(klass["start_date"], klass["end_date"], today):
            for trainee in enrolled:
                if rng.random() >= FORM_DAYS_RESPONSE:
                    continue
                sid = first["evaluation_submission"] + len(submissions)
                submissions.append(
                    submission(sid, klass, trainee, questionnaire_ids[kind], kind, day, rng)
                )
                for a in answers(questions[kind], taught[klass["id"]], rng):
                    a["id"] = first["evaluation_answer"] + len(answer_rows)
                    a["submission_id"] = sid
                    answer_rows.append(a)
    g._timed("class trainers", lambda: g._insert("class_trainer", class_trainers))
    g._timed("class trainees", lambda: g._insert("class_trainee", class_trainees))
    g._timed("evaluation forms", lambda: g._insert("evaluation_submission", submissions))
    g._timed(
        "evaluation answers",
        lambda: g._bulk("evaluation_answer", lambda: g._insert("evaluation_answer", answer_rows)),
    )
