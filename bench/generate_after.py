"""Bulk rows of what follows a class (issue 16 point 9, Annex 1 rows 20–23), after the grade step:

- every class with a lead trainer has its 讲师培训班活动报告 (`activity_report`): a draft with the
  lead's to-do while the class runs or is to come; for a finished class, submitted by the lead
  trainer within the 3 days after its end and approved by the center (the latest finished
  class's, and ~3 % more, still wait for the center);
- every trainer of a class has the institution's 培训师授课意见反馈表 (`trainer_feedback`): empty
  with the institution's to-do before the end, submitted after it, its ``score`` the mean of the
  scale answers (`trainer_feedback.submit`'s rule);
- every class whose grade sheet the center approved has its 合格讲师证书信息
  (`certificate_batch`), one `certificate` per PASSED line, numbered by the numbering rule
  (`certificates.format_number`, a sequence per year, province and course type in issue order);
  a batch is a draft at the province while the entry month runs, then submitted; the center has
  entered the lecturers of the classes ended more than ENTERED_AFTER_DAYS ago into the pool
  (`pool_entry.enter`): each certificate issued (an `issued_document` with its verification code
  and the rendered certificate text — the verify page reads them; the PDF bytes are a
  placeholder, see PDF_PLACEHOLDER), a faculty profile in force per person (one per person: a
  second certificate of the same person is attached to the same profile), the class closed.

Plain dicts for Core executemany or COPY, like the other steps; own random stream.
"""

from __future__ import annotations

import base64
import json
import random
from collections import defaultdict
from datetime import datetime, time, timedelta

from flask import render_template
from sqlalchemy import text

from app.services import activity_reports, certificates, review, trainer_feedback
from app.services.review import KINDS, SUBMITTER_STEP
from models.classroom import SCALE, TEXT
from models.document import CERTIFICATE, VALID
from models.faculty import ACTIVE
from models.review import APPROVED, DRAFT, PENDING
from models.user import CENTER, INSTITUTION, PROVINCE, TRAINER

STILL_PENDING = 0.03  # reports the center has not reviewed yet, whatever their age
ENTERED_AFTER_DAYS = 45  # the entry month (row 22) and the center's 10 days (row 23)
# Issuing builds a PDF with an embedded Chinese font (~tens of ms each): tens of thousands at
# scale 1.0 would take the bench's whole build. The row, number, code and rendered text are
# the service's; the bytes are this marker (docs/benchmarks.md says so).
PDF_PLACEHOLDER = b"%PDF-1.4\n% malan bench: placeholder (flask malan generate)\n%%EOF\n"
OVERVIEWS = ("培训班按计划顺利完成，学员出勤良好。", "培训班如期举办，教学秩序良好。")
PROBLEMS = ("部分学员试讲准备时间不足。", "场地设备偶有故障。", None)
SUGGESTIONS = ("建议增加试讲练习时间。", "建议提前发放教材。", None)
FEEDBACK_TEXTS = ("讲解清楚，案例丰富。", "互动充分，时间把控好。", "")


def _code(rng: random.Random) -> str:
    """A verification code in `documents.new_code`'s form (16 base32 characters), from the
    generator's stream so that a seed gives the same codes."""
    return base64.b32encode(rng.getrandbits(80).to_bytes(10, "big")).decode("ascii")


def feedback_answers(questions: list[dict], rng) -> tuple[dict, float | None]:
    """An institution's answers and their score, as `trainer_feedback.submit` stores them."""
    answers, scores = {}, []
    for q in questions:
        if q["type"] == SCALE:
            score = rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 6, 30, 45))[0]
            answers[q["key"]] = score
            scores.append(score)
        elif q["type"] == TEXT:
            words = rng.choice(FEEDBACK_TEXTS)
            if words:
                answers[q["key"]] = words
    return answers, (round(sum(scores) / len(scores), 2) if scores else None)


def _gender_birth(id_number: str) -> tuple[str, int]:
    """What `faculty.check_profile` reads from a 身份证号: the 17th digit's parity, the year."""
    return ("M" if int(id_number[16]) % 2 else "F"), int(id_number[6:10])


class After:
    def __init__(self, g):
        self.g = g
        self.rng = random.Random(g.seed * 1_000 + 20)
        self.today = g.now.date()
        self.center_user = g.authority(g.center["id"])
        self.revisions, self.tasks, self.events = [], [], []
        self.reports, self.feedback = [], []
        self.batches, self.lines, self.documents, self.profiles = [], [], [], []
        self.closed: list[dict] = []
        self.first = {
            t: g._next_id(t)
            for t in (
                "activity_report",
                "trainer_feedback",
                "certificate_batch",
                "certificate",
                "issued_document",
                "faculty_profile",
            )
        }

    # ---------------------------------------------------------------- reading what exists

    def load(self):
        conn = self.g.conn
        self.trainers = defaultdict(list)  # class id -> [(user id, lead, created_at)]
        for class_id, uid, lead, created in conn.execute(
            text(
                "SELECT class_id, user_id, is_lead, created_at FROM class_trainer "
                "WHERE user_id IS NOT NULL ORDER BY class_id, is_lead DESC, id"
            )
        ):
            self.trainers[class_id].append((uid, bool(lead), created))
        self.trainees = {
            r["id"]: dict(r)
            for r in conn.execute(
                text(
                    "SELECT id, class_id, user_id, name, id_number, mobile, employer, years "
                    "FROM class_trainee WHERE withdrawn_at IS NULL"
                )
            ).mappings()
        }
        self.passed = defaultdict(list)  # class id -> passed trainee ids (approved sheets)
        self.approved_at = {}  # class id -> the center's approval of its grade sheet
        for class_id, trainee_id, passed in conn.execute(
            text(
                "SELECT s.class_id, e.trainee_id, e.passed FROM grade_sheet s "
                "JOIN grade_entry e ON e.sheet_id = s.id "
                "WHERE s.in_force_revision IS NOT NULL ORDER BY e.trainee_id"
            )
        ):
            self.passed.setdefault(class_id, [])
            if passed:
                self.passed[class_id].append(trainee_id)
        for class_id, done in conn.execute(
            text(
                "SELECT s.class_id, t.done_at FROM grade_sheet s JOIN review_task t "
                "ON t.record_type = 'grade_sheet' AND t.record_id = s.id "
                "WHERE t.decision = 'approve'"
            )
        ):
            self.approved_at[class_id] = _dt(done)
        self.mobiles = {
            m for (m,) in conn.execute(text("SELECT mobile FROM faculty_profile"))
        }  # a pool profile's mobile is never a second one's
        fb = {
            q: i
            for q, i in conn.execute(text("SELECT kind, min(id) FROM questionnaire GROUP BY kind"))
        }
        self.feedback_form = fb[trainer_feedback.KIND]
        self.feedback_questions = trainer_feedback.default_questions()

    # ---------------------------------------------------------------- per class

    def run(self):
        self.load()
        finished = [k for k in self.g.classes if k["end_date"] < self.today]
        last_end = max((k["end_date"] for k in finished), default=None)
        for klass in self.g.classes:
            staff = self.trainers.get(klass["id"], [])
            if not staff:
                continue
            done = klass["end_date"] < self.today
            self._report(klass, staff, done, klass["end_date"] == last_end)
            for uid, _lead, created in staff:
                self._feedback(klass, uid, _dt(created), done)
        # Certificates in issue order: the numbering rule's sequence follows it.
        approved = sorted(
            (k for k in finished if k["id"] in self.approved_at),
            key=lambda k: (self.approved_at[k["id"]], k["id"]),
        )
        seq = defaultdict(int)
        for klass in approved:
            self._batch(klass, seq)

    def _user(self, uid):
        return self.g.user_by_id[uid]

    def _report(self, klass, staff, done, latest):
        g, r = self.g, self.rng
        lead = next((uid for uid, is_lead, _c in staff if is_lead), None)
        if lead is None:
            return
        rid = self.first["activity_report"] + len(self.reports)
        kind = KINDS["activity_report"]
        created = _dt(staff[0][2])
        submitter_org = self._user(lead)[3] or klass["org_id"]
        row = {
            "id": rid,
            "class_id": klass["id"],
            "org_id": klass["org_id"],
            "submitter_org_id": submitter_org,
            "lead_user_id": lead,
            "overview": None,
            "teaching": None,
            "problems": None,
            "suggestions": None,
            "created_at": created,
            "status": DRAFT,
            "step": None,
            "revision": 1,
            "in_force_revision": None,
            "version": 1,
            "submitted_at": None,
            "submitted_by_id": None,
        }
        self.reports.append(row)
        due = activity_reports.due_after_end(_Klass(klass))
        if not done:  # the lead's to-do, open
            self.tasks.append(
                self._todo(kind, rid, TRAINER, klass["org_id"], created, due, assignee=lead)
            )
            return
        end = datetime.combine(klass["end_date"], time())
        submitted = min(end + timedelta(hours=r.uniform(10, 70)), g.now - timedelta(hours=1))
        decided = submitted + timedelta(hours=r.uniform(2, 70))
        waiting = latest or decided > g.now or r.random() < STILL_PENDING
        values = {
            "overview": r.choice(OVERVIEWS),
            "teaching": json.dumps(
                [
                    {"day": day.isoformat(), "content": f"第{n}天：创业培训课程讲授与试讲。"}
                    for n, day in enumerate(activity_reports.class_dates(_Klass(klass)), 1)
                ],
                ensure_ascii=False,
            ),
            "problems": r.choice(PROBLEMS),
            "suggestions": r.choice(SUGGESTIONS),
        }
        status = PENDING if waiting else APPROVED
        row.update(
            values,
            status=status,
            step=0 if waiting else None,
            in_force_revision=None if waiting else 1,
            submitted_at=submitted,
            submitted_by_id=lead,
        )
        self.tasks.append(
            self._todo(kind, rid, TRAINER, klass["org_id"], created, due, lead, submitted, lead)
        )
        self.revisions.append(review.revision_row(kind, rid, 1, status, values, submitted, lead))
        self.events.append(
            g._event("activity_report", rid, 0, "submit", DRAFT, PENDING, lead, submitted)
        )
        center, reviewer = g.center["id"], self.center_user
        step_due = submitted + timedelta(days=3)
        if waiting:
            self.tasks.append(
                g._task(
                    "activity_report", rid, 0, CENTER, center, submitted, step_due, None, None, None
                )
            )
            return
        self.tasks.append(
            g._task(
                "activity_report",
                rid,
                0,
                CENTER,
                center,
                submitted,
                step_due,
                decided,
                "approve",
                reviewer,
            )
        )
        self.events.append(
            g._event("activity_report", rid, 0, "approve", PENDING, APPROVED, reviewer, decided)
        )

    def _feedback(self, klass, uid, created, done):
        g, r = self.g, self.rng
        fid = self.first["trainer_feedback"] + len(self.feedback)
        kind = KINDS["trainer_feedback"]
        due = activity_reports.due_after_end(_Klass(klass))
        row = {
            "id": fid,
            "class_id": klass["id"],
            "org_id": klass["org_id"],
            "trainer_user_id": uid,
            "questionnaire_id": self.feedback_form,
            "answers": None,
            "score": None,
            "created_at": created,
            "submitted_at": None,
            "submitted_by_id": None,
        }
        self.feedback.append(row)
        if not done:
            self.tasks.append(self._todo(kind, fid, INSTITUTION, klass["org_id"], created, due))
            return
        answers, score = feedback_answers(self.feedback_questions, r)
        inst_user = g.authority(klass["org_id"])
        end = datetime.combine(klass["end_date"], time())
        at = min(end + timedelta(hours=r.uniform(8, 70)), g.now - timedelta(minutes=30))
        row.update(
            answers=json.dumps(answers, ensure_ascii=False),
            score=score,
            submitted_at=at,
            submitted_by_id=inst_user,
        )
        self.tasks.append(
            self._todo(kind, fid, INSTITUTION, klass["org_id"], created, due, None, at, inst_user)
        )

    def _batch(self, klass, seq):
        g, r = self.g, self.rng
        inst = g.orgs[klass["org_id"]]
        province = g.orgs[inst["province_id"]]
        opened = self.approved_at[klass["id"]]
        bid = self.first["certificate_batch"] + len(self.batches)
        kind = KINDS["certificates"]
        due = certificates.entry_due(_Klass(klass))
        passed = self.passed.get(klass["id"], [])
        entered = (
            bool(passed)
            and (self.today - klass["end_date"]).days > ENTERED_AFTER_DAYS
            and opened < g.now - timedelta(days=20)
        )
        submitted_early = opened + timedelta(days=r.uniform(2, 20))
        batch = {
            "id": bid,
            "class_id": klass["id"],
            "org_id": klass["org_id"],
            "province_org_id": province["id"],
            "created_at": opened,
            "pooled_at": None,
            "pooled_by_id": None,
            "status": DRAFT,
            "step": None,
            "revision": 1,
            "in_force_revision": None,
            "version": 1,
            "submitted_at": None,
            "submitted_by_id": None,
        }
        self.batches.append(batch)
        issued_on = opened.date()
        numbers = []
        for tid in passed:
            seq[issued_on.year, province["code"], klass["course_type"]] += 1
            numbers.append(
                (
                    tid,
                    certificates.format_number(
                        certificates.number_rule(),
                        issued_on.year,
                        province["code"],
                        klass["course_type"],
                        seq[issued_on.year, province["code"], klass["course_type"]],
                    ),
                )
            )
        submitter = g.authority(province["id"])
        submitted = min(submitted_early, g.now - timedelta(hours=2))
        if not entered and (not passed or submitted_early > g.now - timedelta(days=5)):
            # Still at the province (its entry month runs): a draft and its to-do.
            self.tasks.append(self._todo(kind, bid, PROVINCE, province["id"], opened, due))
        else:
            self.tasks.append(
                self._todo(
                    kind, bid, PROVINCE, province["id"], opened, due, None, submitted, submitter
                )
            )
            self.events.append(
                g._event("certificates", bid, 0, "submit", DRAFT, PENDING, submitter, submitted)
            )
            batch.update(status=PENDING, step=0, submitted_at=submitted, submitted_by_id=submitter)
            step_due = submitted + timedelta(days=10)
            if not entered:
                self.revisions.append(
                    review.revision_row(kind, bid, 1, PENDING, {}, submitted, submitter)
                )
                self.tasks.append(
                    g._task(
                        "certificates",
                        bid,
                        0,
                        CENTER,
                        g.center["id"],
                        submitted,
                        step_due,
                        None,
                        None,
                        None,
                    )
                )
            else:
                pooled = submitted + timedelta(hours=r.uniform(4, 200))
                pooled = min(pooled, g.now - timedelta(hours=1))
                self.revisions.append(
                    review.revision_row(kind, bid, 1, APPROVED, {}, submitted, submitter)
                )
                self.tasks.append(
                    g._task(
                        "certificates",
                        bid,
                        0,
                        CENTER,
                        g.center["id"],
                        submitted,
                        step_due,
                        pooled,
                        "approve",
                        self.center_user,
                    )
                )
                self.events.append(
                    g._event(
                        "certificates",
                        bid,
                        0,
                        "approve",
                        PENDING,
                        APPROVED,
                        self.center_user,
                        pooled,
                    )
                )
                batch.update(
                    status=APPROVED,
                    step=None,
                    in_force_revision=1,
                    pooled_at=pooled,
                    pooled_by_id=self.center_user,
                )
                self.closed.append({"id": klass["id"], "at": pooled, "by": self.center_user})
        for tid, number in numbers:
            self._line(klass, batch, tid, number, issued_on)

    def _line(self, klass, batch, tid, number, issued_on):
        g = self.g
        trainee = self.trainees[tid]
        valid_until = certificates.default_validity(issued_on)
        line = {
            "id": self.first["certificate"] + len(self.lines),
            "batch_id": batch["id"],
            "class_id": klass["id"],
            "org_id": klass["org_id"],
            "trainee_id": tid,
            "user_id": trainee["user_id"],
            "number": number,
            "issued_on": issued_on,
            "valid_until": valid_until,
            "course_type": klass["course_type"],
            "level": certificates.DEFAULT_LEVEL,
            "document_id": None,
            "profile_id": None,
        }
        self.lines.append(line)
        if batch["pooled_at"] is None:
            return
        pooled = batch["pooled_at"]
        inst = g.orgs[klass["org_id"]]
        did = self.first["issued_document"] + len(self.documents)
        context = {
            "holder": trainee["name"],
            "id_number": trainee["id_number"],
            "class_code": klass["code"],
            "institution": inst["name"],
            "course": self.course_labels.get(klass["course_type"], klass["course_type"]),
            "level": self.level_labels.get(line["level"], line["level"]),
            "start": klass["start_date"].isoformat(),
            "end": klass["end_date"].isoformat(),
            "issued": issued_on.isoformat(),
            "valid_until": valid_until.isoformat(),
        }
        body = render_template(
            f"pdf/{CERTIFICATE}.txt",
            number=number,
            issuer=g.center["name"],
            issued_on=f"{pooled.year}年{pooled.month}月{pooled.day}日",
            **context,
        )
        self.documents.append(
            {
                "id": did,
                "kind": CERTIFICATE,
                "number": number,
                "code": _code(self.rng),
                "status": VALID,
                "org_id": klass["org_id"],
                "owner_user_id": trainee["user_id"],
                "class_id": klass["id"],
                "seat_id": None,
                "subject_code": klass["code"],
                "start_date": issued_on,
                "end_date": valid_until,
                "title": "合格讲师证书",
                "filename": f"合格讲师证书-{number}.pdf",
                "pdf": PDF_PLACEHOLDER,
                "text": body,
                "issued_at": pooled,
                "issued_by_id": self.center_user,
                "issuer_name": g.center["name"],
                "version": 1,
            }
        )
        line["document_id"] = did
        line["profile_id"] = self._profile(klass, trainee, line, pooled)

    def _profile(self, klass, trainee, line, pooled) -> int:
        """The person's one profile: a second certificate of the same person (the same mobile)
        goes to the profile the first made."""
        known = self.profile_by_mobile.get(trainee["mobile"])
        if known is not None:
            codes = known["course_types"].split()
            known["course_types"] = " ".join(dict.fromkeys([*codes, line["course_type"]]))
            known.update(
                certificate_no=line["number"],
                certificate_date=line["issued_on"],
                certificate_expiry=line["valid_until"],
            )
            return known["id"]
        if trainee["mobile"] in self.mobiles:  # never at generated data: skip, do not collide
            return None
        inst = self.g.orgs[klass["org_id"]]
        gender, birth_year = _gender_birth(trainee["id_number"])
        row = {
            "id": self.first["faculty_profile"] + len(self.profiles),
            "user_id": None,  # as `pool_entry` makes it: the account is linked by its trainer
            "name": trainee["name"],
            "gender": gender,
            "birth_year": birth_year,
            "id_number": trainee["id_number"],
            "mobile": trainee["mobile"],
            "email": None,
            "org_id": inst["city_id"] or inst["province_id"],
            "employer": trainee["employer"],
            "level": line["level"],
            "certificate_no": line["number"],
            "certificate_date": line["issued_on"],
            "certificate_expiry": line["valid_until"],
            "course_types": line["course_type"],
            "languages": None,
            "years_experience": trainee["years"],
            "biography": None,
            "service_status": ACTIVE,
            "created_at": pooled,
            "created_by_id": self.center_user,
            "status": APPROVED,
            "revision": 1,
            "in_force_revision": 1,
            "version": 1,
            "submitted_at": pooled,
            "submitted_by_id": self.center_user,
        }
        self.profiles.append(row)
        self.profile_by_mobile[trainee["mobile"]] = row
        return row["id"]

    def _todo(self, kind, rid, level, org_id, entered, due, assignee=None, done=None, by=None):
        row = self.g._task(
            kind.name,
            rid,
            SUBMITTER_STEP,
            level,
            org_id,
            entered,
            due,
            done,
            "submit" if done else None,
            by,
        )
        row["assignee_id"] = assignee
        return row

    # ---------------------------------------------------------------- writing

    def write(self):
        g = self.g
        g._timed("activity reports", lambda: g._insert("activity_report", self.reports))
        g._timed("trainer feedback", lambda: g._insert("trainer_feedback", self.feedback))
        g._timed("faculty pool entries", lambda: g._insert("faculty_profile", self.profiles))
        g._timed("certificate batches", lambda: g._insert("certificate_batch", self.batches))
        g._timed("certificates issued", lambda: g._insert("issued_document", self.documents))
        g._timed("certificates", lambda: g._insert("certificate", self.lines))
        for task in self.tasks:  # one set of columns for the bulk insert
            task.setdefault("assignee_id", None)
        g._write_reviews("after class", self.revisions, self.tasks, self.events)

        def close():
            if self.closed:
                g.conn.execute(
                    text(
                        "UPDATE training_class SET closed_at = :at, closed_by_id = :by "
                        "WHERE id = :id"
                    ),
                    self.closed,
                )
            return len(self.closed)

        g._timed("classes closed", close)


class _Klass:
    """The attributes the services' date rules read, over a generated class dict."""

    def __init__(self, klass: dict):
        self.start_date, self.end_date = klass["start_date"], klass["end_date"]


def _dt(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def fill(g) -> None:
    """The generator's after-class step (after `bench.generate_grades.fill`)."""
    from app.services import vocabulary
    from models.vocabulary import COURSE_TYPE, TRAINER_LEVEL

    step = After(g)
    step.course_labels = vocabulary.labels(COURSE_TYPE)
    step.level_labels = vocabulary.labels(TRAINER_LEVEL)
    step.profile_by_mobile = {}
    step.run()
    step.write()
