"""National-scale data generator (issue 7): `flask malan generate --scale X --seed N`.

Fills an empty database (SQLite or PostgreSQL) with reproducible national data: the same scale
and seed give the same rows. At scale 1.0: the whole administrative tree (app/data/divisions.csv,
the same at every scale), 10,000 institutions, 50,000 trainers, 20,000 mentors, 20,000 course
resources (each with a tiny text file on disk under FILES_DIR), 150,000 accounts, 5,000 notices
with read receipts, 2,000 plan lines, 5,000 class applications with their review histories, the
pool's availability for the coming 26 weeks (~1.6 million days), the dispatches of the classes
already held or about to start (accepted seats and their bookings), two classes for the bench's
dispatch pages (`BENCH_CLASSES`), the classes' trainers and trainees with their evaluation forms
(bench/generate_classes.py), the trial scores and reviewed grade sheets of the classes already
finished (bench/generate_grades.py) and 5,000,000 audit entries; every other scale is the same shape,
multiplied.

How it stays fast: rows are built as plain dicts and written with SQLAlchemy Core executemany in
chunks (PostgreSQL: COPY), one commit per table; ids are assigned here, so that rows can point
at each other without reading back, and PostgreSQL's sequences are moved past them at the end
(PITFALLS: explicit ids do not advance a sequence). Every account shares ONE password hash,
computed once (scrypt costs ~0.1 s: 150,000 hashes would take hours). Core inserts bypass the
session's audit hooks: the generated audit entries are the audit log, plus one ``generate``
entry that names the generator version, seed and scale (the bench reads it to reuse a database).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, select, text, update

from app import audit_chain
from app.extensions import db
from app.services import review
from app.services.review import KINDS
from models.vocabulary import COURSE_TYPE, DEFAULT_TERMS

# 2: availability, past dispatches and the bench's two dispatches; 3: classes' trainers,
# trainees and evaluation forms (issue 13); 4: finished classes' trial scores and grade sheets
# with their reviews (issue 13 point 7); 5: class trainers from the dispatches' accepted seats,
# activity reports, trainer feedback, certificates, pool entries, closed classes (issue 16)
GENERATOR_VERSION = 5
BENCH_PASSWORD = "Malan@bench2026"  # every generated account; README/docs say so
AT_SCALE_1 = {
    "institutions": 10_000,
    "trainers": 50_000,
    "mentors": 20_000,
    "courses": 20_000,
    "accounts": 150_000,
    "notices": 5_000,
    "plan_lines": 2_000,
    "applications": 5_000,
    "audit": 5_000_000,
}
TRAINERS_WITH_ACCOUNT = 0.8  # the rest of the pool has no account (entered by the center)
READS_PER_NOTICE_CAP = 1_000  # a country-wide notice is not read by 10,000 accounts in a bench
CHUNK = 20_000
# Availability (档期): the share of the pool that keeps a calendar, and the chance such a trainer
# marks one week (Monday to Friday) of the coming AVAILABILITY_WEEKS.
MARKS_CALENDAR, MARKS_WEEK, AVAILABILITY_WEEKS = 0.7, 0.45, 26
STAFFED_AHEAD_DAYS = 21  # classes starting within three weeks are already staffed
# The bench's dispatch pages (bench/pages.py): one class whose institution is choosing (its
# recommendation), one whose candidates wait for the center's choice. Codes, found by the bench.
BENCH_CLASSES = {"draft": "JSBENCH-DRAFT", "proposed": "JSBENCH-PROPOSED"}
BENCH_CITY = "440100"  # their institution: the first of 广州市, else of 广东省, else the first

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉鹏飞丹萍晨宇浩然"
    "子涵欣怡梓轩雨桐思远嘉怡俊杰佳琪婷婷振华海燕玉梅春梅晓东国庆立新卫东建华永强"
)
INSTITUTION_WORDS = ("启航", "兴业", "博创", "众创", "立业", "腾飞", "鸿图", "智远", "明德", "致远")
INSTITUTION_KINDS = (
    "创业培训学校",
    "职业技能培训中心",
    "创业学院",
    "就业创业服务中心",
    "职业培训学校",
)
INDUSTRIES = (
    "餐饮",
    "零售",
    "电子商务",
    "农业",
    "制造",
    "物流",
    "教育培训",
    "信息技术",
    "文化旅游",
    "家政服务",
)
# The default vocabulary (a generated database keeps the terms the migration inserts).
COURSE_TYPES = tuple(code for kind, code, _label in DEFAULT_TERMS if kind == COURSE_TYPE)
COURSE_CATEGORIES = ("demo", "courseware", "handout", "case", "video", "other")
MOBILE_PREFIXES = ("138", "139", "150", "186", "137", "158", "188", "177", "135", "136")
AUDIT_EVENTS = (  # (event, weight, object type)
    ("login", 40, None),
    ("logout", 18, None),
    ("login_failed", 4, None),
    ("update", 14, "FacultyProfile"),
    ("create", 8, "ClassApplication"),
    ("export", 3, "AuditLog"),
    ("review_approve", 5, "ClassApplication"),
    ("review_submit", 4, "TrainingPlan"),
    ("notice_publish", 1, "Notice"),
    ("password_change", 3, None),
)


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


class GenerateRefused(RuntimeError):
    """The database is not empty (it holds accounts): nothing is generated."""


@dataclass
class Stats:
    rows: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def sizes(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in AT_SCALE_1.items()}


def schema_fingerprint() -> str:
    """Tables and columns of the models: a database generated for other columns is rebuilt by
    the bench (indexes are not part of it: the bench adds missing ones to a reused database)."""
    from flask_appbuilder import Model

    shape = sorted(
        (t.name, c.name, str(c.type)) for t in Model.metadata.tables.values() for c in t.columns
    )
    return hashlib.sha1(json.dumps(shape).encode()).hexdigest()[:12]


def marker(session=None) -> dict | None:
    """The newest ``generate`` audit entry's parameters, or None (a database not generated)."""
    from models.audit import AuditLog

    session = session or db.session
    summary = session.scalar(
        select(AuditLog.summary)
        .where(AuditLog.event == "generate")
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    try:
        return json.loads(summary) if summary else None
    except ValueError:
        return None


class Generator:
    def __init__(self, scale: float, seed: int, *, now: datetime, files_dir: str, echo=print):
        self.scale, self.seed, self.now, self.echo = scale, seed, now, echo
        self.n = sizes(scale)
        self.rng = random.Random(seed)
        self.files_dir = Path(files_dir)
        self.stats = Stats()
        self.conn = None
        self.pg = db.engine.dialect.name == "postgresql"
        self._mobile_seq = 0
        self._id_numbers: set[str] = set()

    # ------------------------------------------------------------ plumbing

    def run(self) -> Stats:
        from models.user import MalanUser

        if db.session.scalar(select(MalanUser.id).limit(1)) is not None:
            raise GenerateRefused("the database already holds accounts: generate into an empty one")
        started = time.perf_counter()
        self._prerequisites()
        self.conn = db.session.connection()
        if not self.pg:
            self.conn.exec_driver_sql("PRAGMA synchronous=OFF")
        self._load_tree()
        for step in (
            self._institutions,
            self._accounts,
            self._faculty,
            self._mentors,
            self._courses,
            self._notices,
            self._plans,
            self._applications,
            self._dispatches,
            self._classroom,
            self._grades,
            self._after_class,
            self._audit,
        ):
            step()
        if self.pg:
            self._advance_sequences()
        self._mark(time.perf_counter() - started)
        db.session.commit()
        total = time.perf_counter() - started
        self.echo(f"{'total':<26}{sum(self.stats.rows.values()):>12,} rows {total:8.1f} s")
        return self.stats

    def _prerequisites(self):
        """Roles, vocabularies and the tree, through the ordinary services (a few hundred rows)."""
        from flask import current_app

        from app.services import tree, vocabulary
        from security.sync import sync_roles

        sync_roles(current_app.appbuilder.sm)
        vocabulary.seed_defaults()
        tree.load_tree()
        from app.services import evaluations  # the questionnaires in force for every class

        evaluations.seed_defaults(self.now - timedelta(days=800))
        from app.services import grades  # the grade scheme's version 1 (the migration's)

        grades.seed_defaults()
        from app.services import trainer_feedback  # its form's version 1 (migration 0016's)

        trainer_feedback.seed_defaults(self.now - timedelta(days=800))
        db.session.commit()

    def _next_id(self, table: str) -> int:
        return (self.conn.execute(text(f"SELECT max(id) FROM {table}")).scalar() or 0) + 1

    def _insert(self, table_name: str, rows, columns: list[str] | None = None) -> int:
        """Write rows in chunks: dicts, or tuples in the order of ``columns`` (the audit log)."""
        from flask_appbuilder import Model

        table = Model.metadata.tables[table_name]
        count, chunk = 0, []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                count += self._write(table, chunk, columns)
                chunk = []
        if chunk:
            count += self._write(table, chunk, columns)
        return count

    def _write(self, table, chunk: list, names: list[str] | None) -> int:
        if names is None:  # dicts: every column a row names, plus the scalar defaults
            columns = [
                c
                for c in table.columns
                if c.name in chunk[0] or (c.default is not None and c.default.is_scalar)
            ]
            names = [c.name for c in columns]
            fill = {c.name: c.default.arg for c in columns if c.name not in chunk[0]}
            chunk = [tuple(row[n] if n in row else fill[n] for n in names) for row in chunk]
        if self.pg:
            cursor = self.conn.connection.driver_connection.cursor()
            quoted = ", ".join(f'"{n}"' for n in names)
            with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
        else:
            # Core executemany on the driver: values as SQLAlchemy's SQLite types store them
            # (ISO text for dates and times), without its per-row processing (4x slower here).
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})"
            )
            self.conn.exec_driver_sql(sql, [tuple(map(_sqlite_value, row)) for row in chunk])
        return len(chunk)

    def _bulk(self, table_name: str, fill):
        """Secondary indexes dropped while ``fill`` runs, rebuilt once after (faster than
        maintaining them row by row on millions of rows)."""
        from flask_appbuilder import Model

        table = Model.metadata.tables[table_name]
        indexes = [ix for ix in table.indexes if not ix.unique]
        for ix in indexes:
            self.conn.execute(text(f"DROP INDEX {ix.name}"))
        rows = fill()
        for ix in indexes:
            ix.create(self.conn)
        return rows

    def _timed(self, name: str, fn):
        started = time.perf_counter()
        rows = fn()
        db.session.commit()
        self.conn = db.session.connection()
        secs = max(time.perf_counter() - started, 1e-6)
        self.stats.rows[name], self.stats.seconds[name] = rows, secs
        self.echo(f"{name:<26}{rows:>12,} rows {secs:8.1f} s {rows / secs:>12,.0f} rows/s")

    def _advance_sequences(self):
        for (table,) in self.conn.execute(
            text(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'id' "
                "AND table_schema = current_schema() AND column_default LIKE 'nextval%'"
            )
        ):
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )
            )
        self.conn.execute(text("ANALYZE"))  # what autovacuum would do soon after such a load

    def _mark(self, seconds: float):
        from app import audit

        audit.record(
            db.session,
            "generate",
            object_type="Database",
            summary=json.dumps(
                {
                    "generator": GENERATOR_VERSION,
                    "seed": self.seed,
                    "scale": self.scale,
                    "schema": schema_fingerprint(),
                    "rows": sum(self.stats.rows.values()),
                    "seconds": round(seconds, 1),
                }
            ),
            now=self.now,
        )

    # ------------------------------------------------------------ people

    def name(self) -> str:
        r = self.rng
        return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))

    def mobile(self) -> str:
        """Unique by construction: a counter through a permutation of 0..10^8-1."""
        self._mobile_seq += 1
        n = (self._mobile_seq * 7_368_787 + self.seed) % 100_000_000
        return f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n:08d}"

    def id_number(self, place: str, birth: date) -> str:
        from stdnum.cn import ric

        for seq in range(1000):
            body = f"{place}{birth:%Y%m%d}{(seq * 37 + self.rng.randrange(1000)) % 1000:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number
        raise RuntimeError("no free ID number")

    def _birth_places(self):
        """Per org, a 6-digit birth place that stdnum's GB/T 2260 table knows (else 东城区)."""
        from stdnum.cn import ric

        places = {}
        for org in self.orgs.values():
            code = org["code"][:6]
            probe = f"{code}19850101001"
            probe += ric.calc_check_digit(probe + "0")
            places[org["id"]] = code if ric.is_valid(probe) else "110101"
        return places

    # ------------------------------------------------------------ the tree and institutions

    def _load_tree(self):
        rows = self.conn.execute(
            text("SELECT id, kind, code, name, province_id, city_id, parent_id FROM org")
        ).mappings()
        self.orgs = {r["id"]: dict(r) for r in rows}
        self.center = next(o for o in self.orgs.values() if o["kind"] == "center")
        self.provinces = [o for o in self.orgs.values() if o["kind"] == "province"]
        self.cities = sorted(
            (o for o in self.orgs.values() if o["kind"] == "city"), key=lambda o: o["code"]
        )
        self.stats.rows["tree"] = len(self.orgs)
        self.echo(f"{'tree':<26}{len(self.orgs):>12,} rows (app/data/divisions.csv)")

    def _institutions(self):
        def rows():
            weights = [self.rng.uniform(0.5, 3.0) for _ in self.cities]
            chosen = self.rng.choices(self.cities, weights=weights, k=self.n["institutions"])
            seq = defaultdict(int)
            next_id = self._next_id("org")
            self.institutions = []
            for i, city in enumerate(sorted(chosen, key=lambda c: c["code"])):
                seq[city["id"]] += 1
                org = {
                    "id": next_id + i,
                    "kind": "institution",
                    "code": f"{city['code']}{seq[city['id']]:04d}",
                    "name": f"{city['name']}{self.rng.choice(INSTITUTION_WORDS)}"
                    f"{self.rng.choice(INSTITUTION_KINDS)}（{seq[city['id']]}）",
                    "parent_id": city["id"],
                    "province_id": city["province_id"],
                    "city_id": city["id"],
                    "credit_code": self._credit_code(city["code"], i),
                    "address": f"{city['name']}人民路{self.rng.randint(1, 999)}号",
                    "contact_name": self.name(),
                    "contact_phone": self.mobile(),
                    "active": self.rng.random() > 0.02,
                }
                self.orgs[org["id"]] = org
                self.institutions.append(org)
                yield org

        self._timed("institutions", lambda: self._insert("org", rows()))

    @staticmethod
    def _credit_code(region: str, i: int) -> str:
        """统一社会信用代码: 52 (民办非企业单位) + region + GB 11714 code + check character."""
        from stdnum.cn import uscc

        digits = f"{(i * 7_919 + 10_000_000) % 100_000_000:08d}"
        weights = (3, 7, 9, 10, 5, 8, 4, 2)
        check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        org_code = digits + {10: "X", 11: "0"}.get(check, str(check))
        body = f"52{region[:6]}{org_code}"
        return body + uscc.calc_check_digit(body + "0")

    # ------------------------------------------------------------ accounts

    def _accounts(self):
        from flask import current_app
        from werkzeug.security import generate_password_hash

        password = generate_password_hash(
            BENCH_PASSWORD, method=current_app.config["FAB_PASSWORD_HASH_METHOD"]
        )
        roles = dict(self.conn.execute(text("SELECT name, id FROM ab_role")).all())
        next_id = self._next_id("ab_user")
        self.users = []  # (id, username, role, org_id, name)
        self.by_org_role = defaultdict(list)  # (org_id, role) -> [user ids]
        self.user_mobile = {}
        plan = [
            ("center", "zx", self.center),
            ("sysadmin", "gl", self.center),
            ("secadmin", "aq", self.center),
            ("auditor", "sj", self.center),
        ]
        plan += [("province", "sf", p) for p in self.provinces]
        plan += [("city", "ds", c) for c in self.cities]
        plan += [("institution", "jg", i) for i in self.institutions]
        trainers = round(self.n["trainers"] * TRAINERS_WITH_ACCOUNT)
        regions = self.provinces + self.cities
        weights = [0.3 if o["kind"] == "province" else 1.0 for o in regions]
        plan += [
            ("trainer", "px", o)
            for o in sorted(
                self.rng.choices(regions, weights=weights, k=trainers), key=lambda o: o["code"]
            )
        ]
        trainees = max(0, self.n["accounts"] - len(plan))
        if self.institutions:
            plan += [
                ("trainee", "xy", o)
                for o in sorted(
                    self.rng.choices(self.institutions, k=trainees), key=lambda o: o["code"]
                )
            ]
        seq = defaultdict(int)
        today = self.now.date()

        def users():
            for i, (role, prefix, org) in enumerate(plan):
                seq[prefix, org["id"]] += 1
                uid, username = next_id + i, f"{prefix}{org['code']}{seq[prefix, org['id']]:03d}"
                name = self.name()
                start = today + timedelta(days=self.rng.randint(-60, 60))
                mobile = self.user_mobile[uid] = self.mobile()
                self.users.append((uid, username, role, org["id"], name))
                self.by_org_role[org["id"], role].append(uid)
                yield {
                    "id": uid,
                    "first_name": name,
                    "last_name": "",
                    "username": username,
                    "password": password,
                    "active": True,
                    "email": f"{username}@users.malan.invalid",
                    "login_count": 0,
                    "fail_login_count": 0,
                    "created_on": self.now,
                    "changed_on": self.now,
                    "org_id": org["id"],
                    "mobile": mobile,
                    "must_change_password": False,
                    "password_changed_at": self.now,
                    "is_demo": False,
                    "class_start": start if role == "trainee" else None,
                    "class_end": start + timedelta(days=10) if role == "trainee" else None,
                }

        def user_roles():
            first = self._next_id("ab_user_role")
            for i, (uid, _u, role, _o, _n) in enumerate(self.users):
                yield {"id": first + i, "user_id": uid, "role_id": roles[role]}

        self._timed("accounts", lambda: self._insert("ab_user", users()))
        self._timed("account roles", lambda: self._insert("ab_user_role", user_roles()))
        self.user_by_id = {u[0]: u for u in self.users}

    def authority(self, org_id: int) -> int:
        """The account acting for an org (the first of its own level)."""
        kind = self.orgs[org_id]["kind"]
        return self.by_org_role[org_id, kind][0]

    # ------------------------------------------------------------ libraries

    def _faculty(self):
        places = self._birth_places()
        trainers = [u for u in self.users if u[2] == "trainer"]
        regions = self.provinces + self.cities
        center_user = self.authority(self.center["id"])
        first = self._next_id("faculty_profile")
        self.trainer_profiles = []
        self.pool = []  # (profile id, user id, org id, course types, certificate expiry)

        def rows():
            for i in range(self.n["trainers"]):
                r = self.rng
                if i < len(trainers):
                    uid, _username, _role, org_id, name = trainers[i]
                    mobile = self.user_mobile[uid]  # the same person
                else:
                    uid, org_id, name, mobile = (
                        None,
                        r.choice(regions)["id"],
                        self.name(),
                        self.mobile(),
                    )
                birth = date(r.randint(1962, 1996), r.randint(1, 12), r.randint(1, 28))
                certified = date(r.randint(2012, 2025), r.randint(1, 12), r.randint(1, 28))
                self.trainer_profiles.append((first + i, org_id))
                course_types = " ".join(sorted(r.sample(COURSE_TYPES, r.randint(1, 3))))
                expiry = certified.replace(year=certified.year + 5)
                if uid is not None:
                    self.pool.append((first + i, uid, org_id, course_types.split(), expiry))
                yield {
                    "id": first + i,
                    "user_id": uid,
                    "name": name,
                    "gender": r.choice("MF"),
                    "birth_year": birth.year,
                    "id_number": self.id_number(places[org_id], birth),
                    "mobile": mobile,
                    "email": None,
                    "org_id": org_id,
                    "employer": f"{self.orgs[org_id]['name']}{r.choice(INSTITUTION_KINDS)}",
                    "level": r.choice(("lecturer", "trainer")),
                    "certificate_no": f"SYB{certified.year}{i:07d}",
                    "certificate_date": certified,
                    "certificate_expiry": expiry,
                    "course_types": course_types,
                    "languages": "普通话",
                    "years_experience": r.randint(1, 25),
                    "biography": f"从事创业培训{r.randint(1, 20)}年。",
                    "created_at": self.now - timedelta(days=r.randint(1, 1500)),
                    "created_by_id": uid or center_user,
                    "status": "approved",
                    "revision": 1,
                    "in_force_revision": 1,
                    "version": 1,
                    "submitted_at": self.now - timedelta(days=r.randint(1, 1500)),
                    "submitted_by_id": uid,
                }

        self._timed("trainers", lambda: self._insert("faculty_profile", rows()))

    def _mentors(self):
        first = self._next_id("mentor_profile")

        def rows():
            for i in range(self.n["mentors"]):
                r = self.rng
                org = r.choice(self.cities) if r.random() < 0.7 else r.choice(self.provinces)
                chain = "mentor_city" if org["kind"] == "city" else "mentor_province"
                status = "approved" if r.random() < 0.85 else "pending"
                yield {
                    "id": first + i,
                    "chain": chain,
                    "org_id": org["id"],
                    "name": self.name(),
                    "gender": r.choice("MF"),
                    "employer": f"{org['name']}{r.choice(INDUSTRIES)}有限公司",
                    "title": r.choice(("总经理", "创始人", "高级经济师", "副教授", "董事长")),
                    "industry": r.choice(INDUSTRIES),
                    "expertise": "、".join(r.sample(INDUSTRIES, 2)),
                    "mobile": self.mobile(),
                    "email": None,
                    "biography": "创业导师。",
                    "availability": r.choice(("工作日", "周末", "每月一次")),
                    "created_at": self.now - timedelta(days=r.randint(1, 1000)),
                    "created_by_id": self.authority(org["id"]),
                    "status": status,
                    "step": 0 if status == "pending" else None,
                    "revision": 1,
                    "in_force_revision": 1 if status == "approved" else None,
                    "version": 1,
                    "submitted_at": self.now - timedelta(days=r.randint(1, 1000)),
                    "submitted_by_id": self.authority(org["id"]),
                }

        self._timed("mentors", lambda: self._insert("mentor_profile", rows()))

    def _courses(self):
        """Course resources, each with one tiny text file under FILES_DIR and its attachment row."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        first, first_att = self._next_id("course_resource"), self._next_id("attachment")
        trainers = [u for u in self.users if u[2] == "trainer"]
        attachments = []

        def rows():
            for i in range(self.n["courses"]):
                r = self.rng
                pick = r.random()
                if pick < 0.4 and trainers:
                    uid, _n, _r, org_id, author = r.choice(trainers)
                    chain = "course_trainer"
                else:
                    kind = "institution" if pick < 0.7 else "city" if pick < 0.9 else "province"
                    pool = {
                        "institution": self.institutions,
                        "city": self.cities,
                        "province": self.provinces,
                    }[kind] or self.cities
                    org_id = r.choice(pool)["id"]
                    uid, chain, author = (
                        self.authority(org_id),
                        f"course_{self.orgs[org_id]['kind']}",
                        self.name(),
                    )
                course_type = r.choice(COURSE_TYPES)
                title = f"{course_type}{r.choice(('示范课', '课件', '讲义', '案例'))}：{r.choice(INDUSTRIES)}创业第{i + 1}讲"
                published = r.random() < 0.85
                created = self.now - timedelta(days=r.randint(1, 1000))
                content = f"{title}\n{author}\n".encode()
                stored = hashlib.sha1(f"{self.seed}-{first + i}".encode()).hexdigest()[:32]
                (self.files_dir / stored).write_bytes(content)
                attachments.append(
                    {
                        "id": first_att + i,
                        "owner_type": "course_resource",
                        "owner_id": first + i,
                        "purpose": "attachment",
                        "filename": f"{title}.txt",
                        "stored_name": stored,
                        "content_type": "text/plain",
                        "size": len(content),
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "created_at": created,
                        "created_by_id": uid,
                    }
                )
                yield {
                    "id": first + i,
                    "chain": chain,
                    "title": title,
                    "course_type": course_type,
                    "category": r.choice(COURSE_CATEGORIES),
                    "description": f"{title}。",
                    "tags": r.choice(INDUSTRIES),
                    "author": author,
                    "org_id": org_id,
                    "owner_id": uid,
                    "for_trainees": r.random() < 0.2,
                    "download_count": r.randint(0, 500),
                    "published_at": created + timedelta(days=3) if published else None,
                    "created_at": created,
                    "status": "approved" if published else "pending",
                    "step": None if published else 0,
                    "revision": 1,
                    "in_force_revision": 1 if published else None,
                    "version": 1,
                    "submitted_at": created,
                    "submitted_by_id": uid,
                }

        self._timed("course resources", lambda: self._insert("course_resource", rows()))
        self._timed("course files", lambda: self._insert("attachment", attachments))

    # ------------------------------------------------------------ notices

    def _notices(self):
        first, first_rev = self._next_id("notice"), self._next_id("notice_revision")
        groups = {
            "authorities": ("center", "province", "city"),
            "institutions": ("institution",),
            "trainers": ("trainer",),
            "trainees": ("trainee",),
        }
        role_group = {role: g for g, roles in groups.items() for role in roles}
        below = defaultdict(list)  # (org id, group) -> user ids at it or below it
        for uid, _u, role, org_id, _n in self.users:
            org, group = self.orgs[org_id], role_group.get(role)
            if group is None:
                continue
            for node in {org_id, org.get("city_id"), org.get("province_id"), self.center["id"]}:
                if node is not None:
                    below[node, group].append(uid)
        notices, audience, revisions, reads = [], [], [], []
        for i in range(self.n["notices"]):
            r = self.rng
            pick = r.random()
            org = (
                self.center
                if pick < 0.05
                else r.choice(self.provinces)
                if pick < 0.3
                else r.choice(self.cities)
            )
            nid, author = first + i, self.authority(org["id"])
            published = self.now - timedelta(days=r.uniform(0, 365))
            to = {
                "authorities": True,
                "institutions": r.random() < 0.9,
                "trainers": r.random() < 0.3,
                "trainees": r.random() < 0.05,
            }
            title = f"关于做好{r.choice(INDUSTRIES)}创业培训工作的{r.choice(('通知', '公告', '函'))}（{nid}）"
            body = f"<p>{title}。各单位请按要求落实。</p>"
            notices.append(
                {
                    "id": nid,
                    "title": title,
                    "body": body,
                    "category": r.choice(("notice", "announcement", "document", "other")),
                    "publisher_org_id": org["id"],
                    "created_by_id": author,
                    "created_at": published,
                    "publish_at": published,
                    "expires_at": None,
                    "pinned": r.random() < 0.02,
                    **{f"to_{g}": v for g, v in to.items()},
                    "version": 1,
                    "withdrawn_at": published + timedelta(days=1) if r.random() < 0.02 else None,
                    "withdrawn_by_id": None,
                }
            )
            audience.append({"notice_id": nid, "org_id": org["id"]})
            revisions.append(
                {
                    "id": first_rev + i,
                    "notice_id": nid,
                    "version": 1,
                    "title": title,
                    "body": body,
                    "category": notices[-1]["category"],
                    "pinned": False,
                    "changed_by_id": author,
                    "changed_at": published,
                }
            )
            candidates = [
                u for g, on in to.items() if on for u in below[org["id"], g] if u != author
            ]
            want = min(READS_PER_NOTICE_CAP, round(len(candidates) * r.uniform(0.3, 0.9)))
            for uid in r.sample(candidates, want):
                reads.append(
                    {
                        "notice_id": nid,
                        "user_id": uid,
                        "read_at": published + timedelta(hours=r.uniform(0.1, 240)),
                    }
                )
        first_read = self._next_id("notice_read")
        for j, row in enumerate(reads):
            row["id"] = first_read + j
        self._timed("notices", lambda: self._insert("notice", notices))
        self._timed("notice audiences", lambda: self._insert("notice_audience", audience))
        self._timed("notice revisions", lambda: self._insert("notice_revision", revisions))
        self._timed(
            "notice read receipts",
            lambda: self._bulk("notice_read", lambda: self._insert("notice_read", reads)),
        )

    # ------------------------------------------------------------ reviews

    def _review_rows(self, kind, record_id, levels_orgs, submitter, submitted, outcome, data):
        """Revision, tasks and events of a record through its chain.

        ``outcome``: ("draft",) | ("pending", step) | ("approved",) | ("returned", step) |
        ("rejected", step). Returns (revisions, tasks, events, status, step)."""
        r = self.rng
        if outcome[0] == "draft":
            return [], [], [], "draft", None
        final = {
            "pending": "pending",
            "approved": "approved",
            "returned": "returned",
            "rejected": "rejected",
        }[outcome[0]]
        revisions = [
            review.revision_row(KINDS[kind], record_id, 1, final, data, submitted, submitter)
        ]
        events = [
            self._event(kind, record_id, 0, "submit", "draft", "pending", submitter, submitted)
        ]
        tasks, at = [], submitted
        last = len(levels_orgs) - 1 if outcome[0] == "approved" else outcome[1]
        for step, (level, org_id) in enumerate(levels_orgs[: last + 1]):
            due = at + timedelta(days=3)
            done = at + timedelta(hours=r.uniform(2, 90))
            is_last = step == last
            if is_last and outcome[0] == "pending":
                tasks.append(
                    self._task(kind, record_id, step, level, org_id, at, due, None, None, None)
                )
                return revisions, tasks, events, "pending", step
            if not is_last or outcome[0] == "approved":
                decision = "approve"
            else:
                decision = {"returned": "return", "rejected": "reject"}[outcome[0]]
            actor = self.authority(org_id)
            tasks.append(
                self._task(kind, record_id, step, level, org_id, at, due, done, decision, actor)
            )
            to_status = (
                "pending"
                if decision == "approve" and not is_last
                else {"approve": "approved", "return": "returned", "reject": "rejected"}[decision]
            )
            events.append(
                self._event(
                    kind,
                    record_id,
                    step,
                    decision,
                    "pending",
                    to_status,
                    actor,
                    done,
                    opinion=None if decision == "approve" else "材料不全，请补充。",
                )
            )
            at = done
        if outcome[0] == "returned":
            submitter_org = self.user_by_id[submitter][3]
            tasks.append(
                self._task(
                    kind,
                    record_id,
                    -1,
                    self.orgs[submitter_org]["kind"],
                    submitter_org,
                    at,
                    at + timedelta(days=2),
                    None,
                    None,
                    None,
                )
            )
        return revisions, tasks, events, final, None

    def _task(self, kind, record_id, step, level, org_id, entered, due, done, decision, actor):
        return review.task_row(
            KINDS[kind], record_id, 1, step, level, org_id, entered, due, done, decision, actor
        )

    def _event(self, kind, record_id, step, action, before, after, actor, at, opinion=None):
        uid, username, role, org_id, name = self.user_by_id[actor]
        who = {
            "id": uid,
            "name": f"{name}（{username}）",
            "role": role,
            "org_id": org_id,
            "org_name": self.orgs[org_id]["name"],
        }
        return review.event_row(
            KINDS[kind], record_id, 1, step, action, before, after, who, at, opinion
        )

    def _write_reviews(self, label, revisions, tasks, events):
        for table, rows in (
            ("review_revision", revisions),
            ("review_task", tasks),
            ("review_event", events),
        ):
            first = self._next_id(table)
            for j, row in enumerate(rows):
                row["id"] = first + j
            self._timed(
                f"{label} {table.split('_')[1]}s", lambda t=table, rs=rows: self._insert(t, rs)
            )

    # ------------------------------------------------------------ plans

    def _plans(self):
        r, year = self.rng, self.now.year
        rounds = [(year - 1, 1), (year - 1, 6), (year, 1), (year, 6)]
        first_round = self._next_id("plan_round")
        center_user = self.authority(self.center["id"])
        round_rows = [
            {
                "id": first_round + k,
                "year": y,
                "month": m,
                "deadline": date(y, m, 20),
                "notice": f"{y}年{m}月讲师培训计划申报",
                "opened_at": datetime(y, m, 1, 9),
                "opened_by_id": center_user,
            }
            for k, (y, m) in enumerate(rounds)
        ]
        plans, lines, revisions, tasks, events = [], [], [], [], []
        first_plan, first_line = self._next_id("training_plan"), self._next_id("plan_line")
        pairs = [(k, c) for k in range(len(rounds)) for c in self.cities]
        r.shuffle(pairs)
        self.approved_lines = defaultdict(list)  # (city id, course type) -> [(line id, classes)]
        latest = len(rounds) - 1
        for k, city in pairs:
            if len(lines) >= self.n["plan_lines"]:
                break
            pid, opened = first_plan + len(plans), round_rows[k]["opened_at"]
            if k < latest:
                outcome = ("approved",)
            else:
                x = r.random()
                outcome = (
                    ("approved",)
                    if x < 0.5
                    else ("pending", r.randint(0, 1))
                    if x < 0.8
                    else ("draft",)
                )
            plan_lines = []
            for _ in range(r.randint(1, 3)):
                start = date(rounds[k][0], rounds[k][1], 1) + timedelta(days=r.randint(30, 150))
                venue = r.choice(
                    [c for c in self.cities if c["province_id"] == city["province_id"]]
                )
                line = {
                    "id": first_line + len(lines),
                    "plan_id": pid,
                    "org_id": city["id"],
                    "course_type": r.choice(COURSE_TYPES),
                    "classes": r.randint(2, 10),
                    "trainees_per_class": r.choice((20, 25, 30, 40)),
                    "start_from": start,
                    "start_to": start + timedelta(days=60),
                    "venue_city_id": venue["id"],
                    "contact_name": self.name(),
                    "contact_phone": self.mobile(),
                }
                lines.append(line)
                plan_lines.append(line)
                if outcome[0] == "approved":
                    self.approved_lines[city["id"], line["course_type"]].append(
                        [line["id"], line["classes"]]
                    )
            submitter = self.authority(city["id"])
            chain = [("province", city["province_id"]), ("center", self.center["id"])]
            data = {
                "contact_name": plan_lines[0]["contact_name"],
                "note": None,
                "lines_data": [
                    {k2: v for k2, v in ln.items() if k2 not in ("plan_id", "org_id")}
                    for ln in plan_lines
                ],
            }
            revs, tks, evs, status, step = self._review_rows(
                "plan",
                pid,
                chain,
                submitter,
                opened + timedelta(days=r.randint(1, 15)),
                outcome,
                data,
            )
            revisions += revs
            tasks += tks
            events += evs
            plans.append(
                {
                    "id": pid,
                    "round_id": round_rows[k]["id"],
                    "org_id": city["id"],
                    "contact_name": data["contact_name"],
                    "contact_phone": self.mobile(),
                    "note": None,
                    "status": status,
                    "step": step,
                    "revision": 1,
                    "in_force_revision": 1 if status == "approved" else None,
                    "version": 1,
                    "submitted_at": revs[0]["created_at"] if revs else None,
                    "submitted_by_id": submitter if revs else None,
                }
            )
        # The latest round's "submit your plan" to-do item of every city (done where it did).
        submitted = {
            p["org_id"]
            for p in plans
            if p["round_id"] == round_rows[latest]["id"] and p["status"] != "draft"
        }
        opened = round_rows[latest]["opened_at"]
        for city in self.cities:
            done = city["id"] in submitted
            tasks.append(
                self._task(
                    "plan_round",
                    round_rows[latest]["id"],
                    -1,
                    "city",
                    city["id"],
                    opened,
                    datetime.combine(round_rows[latest]["deadline"], datetime.max.time()).replace(
                        microsecond=0
                    ),
                    opened + timedelta(days=5) if done else None,
                    "submit" if done else None,
                    self.authority(city["id"]) if done else None,
                )
            )
        self._timed("plan rounds", lambda: self._insert("plan_round", round_rows))
        self._timed("plans", lambda: self._insert("training_plan", plans))
        self._timed("plan lines", lambda: self._insert("plan_line", lines))
        self._write_reviews("plan", revisions, tasks, events)

    # ------------------------------------------------------------ class applications

    def _applications(self):
        r = self.rng
        first, first_class = self._next_id("class_application"), self._next_id("training_class")
        apps, classes, revisions, tasks, events = [], [], [], [], []
        class_seq = defaultdict(int)
        today = self.now.date()
        for i in range(self.n["applications"]):
            aid, inst = first + i, r.choice(self.institutions)
            course_type = r.choice(COURSE_TYPES)
            start = today + timedelta(days=r.randint(-330, 120))
            line_id, extra = None, True
            free = [
                ln
                for ln in self.approved_lines.get((inst["city_id"], course_type), [])
                if ln[1] > 0
            ]
            if free and r.random() < 0.7:
                free[0][1] -= 1
                line_id, extra = free[0][0], False
            x = r.random()
            outcome = (
                ("draft",)
                if x < 0.05
                else ("pending", r.randint(0, 2))
                if x < 0.30
                else ("returned", r.randint(0, 2))
                if x < 0.37
                else ("rejected", r.randint(0, 2))
                if x < 0.40
                else ("approved",)
            )
            app = {
                "id": aid,
                "org_id": inst["id"],
                "course_type": course_type,
                "start_date": start,
                "end_date": start + timedelta(days=r.randint(4, 9)),
                "venue": f"{self.orgs[inst['city_id']]['name']}创业大厦{r.randint(1, 30)}楼",
                "expected_trainees": r.choice((20, 25, 30, 35, 40)),
                "contact_name": self.name(),
                "contact_phone": self.mobile(),
                "trainer_criteria": "具备SYB讲师资格",
                "plan_line_id": line_id,
                "is_extra": extra,
                "late_reason": None,
                "class_id": None,
                "revision": 1,
                "version": 1,
            }
            submitter = self.authority(inst["id"])
            chain = [
                ("city", inst["city_id"]),
                ("province", inst["province_id"]),
                ("center", self.center["id"]),
            ]
            submitted = datetime.combine(
                start - timedelta(days=r.randint(15, 40)), datetime.min.time()
            ) + timedelta(hours=r.uniform(8, 18))
            data = {k: app[k] for k in KINDS["application"].fields}
            revs, tks, evs, status, step = self._review_rows(
                "application", aid, chain, submitter, submitted, outcome, data
            )
            revisions += revs
            tasks += tks
            events += evs
            app.update(
                status=status,
                step=step,
                submitted_at=submitted if revs else None,
                submitted_by_id=submitter if revs else None,
                in_force_revision=1 if status == "approved" else None,
            )
            if status == "approved":
                province_code = self.orgs[inst["province_id"]]["code"][:2]
                class_seq[start.year, province_code] += 1
                cid = first_class + len(classes)
                app["class_id"] = cid
                classes.append(
                    {
                        "id": cid,
                        "code": f"JS{start.year}{province_code}"
                        f"{class_seq[start.year, province_code]:04d}",
                        "application_id": aid,
                        "org_id": inst["id"],
                        "course_type": course_type,
                        "start_date": start,
                        "end_date": app["end_date"],
                        "venue": app["venue"],
                        "expected_trainees": app["expected_trainees"],
                        "plan_line_id": line_id,
                        "is_extra": extra,
                        "created_at": evs[-1]["at"],
                    }
                )
            apps.append(app)
        # An application and its class point at each other: applications first (no class),
        # then the classes, then the applications' class ids.
        self.classes = classes
        class_ids = {a["id"]: a.pop("class_id") for a in apps}
        for a in apps:
            a["class_id"] = None
        self._timed("class applications", lambda: self._insert("class_application", apps))
        self._timed("training classes", lambda: self._insert("training_class", classes))
        self._timed("application class links", lambda: self._link_classes(class_ids))
        self._write_reviews("application", revisions, tasks, events)

    def _link_classes(self, class_ids: dict) -> int:
        from models.application import ClassApplication

        pairs = [{"a": a, "c": c} for a, c in class_ids.items() if c is not None]
        if pairs:
            table = ClassApplication.__table__
            self.conn.execute(
                update(table).where(table.c.id == bindparam("a")).values(class_id=bindparam("c")),
                pairs,
            )
        return len(pairs)

    # ------------------------------------------------------------ dispatch (派遣)

    def _dispatches(self):
        """The recommendation's load: accepted seats (and their booked days) on the classes held
        in the last year or starting within STAFFED_AHEAD_DAYS, the pool's calendars for the
        coming weeks, and the bench's two dispatches. A trainer is never booked twice a day."""
        r, today = self.rng, self.now.date()
        qualified = defaultdict(list)  # course type -> pool entries
        for entry in self.pool:
            for course_type in entry[3]:
                qualified[course_type].append(entry)
        booked = defaultdict(set)  # profile id -> booked days
        ids = {t: self._next_id(t) for t in ("dispatch", "dispatch_seat", "booking")}
        dispatches, candidates, seats, bookings, events = [], [], [], [], []
        center = self.authority(self.center["id"])
        for klass in self.classes:
            if klass["start_date"] > today + timedelta(days=STAFFED_AHEAD_DAYS):
                continue
            days = [
                klass["start_date"] + timedelta(days=n)
                for n in range((klass["end_date"] - klass["start_date"]).days + 1)
            ]
            chosen, pool = [], qualified.get(klass["course_type"], [])
            wanted = r.choice((1, 2, 2, 3))
            for _try in range(20):
                if len(chosen) == wanted or not pool:
                    break
                entry = pool[r.randrange(len(pool))]
                if entry in chosen or booked[entry[0]].intersection(days):
                    continue
                chosen.append(entry)
            if not chosen:
                continue
            did = ids["dispatch"] + len(dispatches)
            inst = self.orgs[klass["org_id"]]
            opened = klass["created_at"]
            dispatches.append(self._dispatch_row(did, klass, "staffed", len(chosen), opened, inst))
            events.append(self._dispatch_event(did, None, "created", opened, inst["id"]))
            events.append(self._dispatch_event(did, None, "proposed", opened, inst["id"]))
            for n, (pid, uid, _org, _types, _expiry) in enumerate(chosen):
                sid = ids["dispatch_seat"] + len(seats)
                asked = opened + timedelta(days=1, hours=r.uniform(0, 8))
                answered = asked + timedelta(hours=r.uniform(1, 40))
                candidates.append({"dispatch_id": did, "profile_id": pid, "position": n})
                seats.append(
                    {
                        "id": sid,
                        "dispatch_id": did,
                        "class_id": klass["id"],
                        "org_id": inst["id"],
                        "profile_id": pid,
                        "trainer_user_id": uid,
                        "lead": n == 0,
                        "status": "accepted",
                        "requested_at": asked,
                        "requested_by_id": center,
                        "answered_at": answered,
                        "version": 2,
                    }
                )
                events.append(self._dispatch_event(did, sid, "requested", asked, center))
                events.append(self._dispatch_event(did, sid, "accepted", answered, uid))
                booked[pid].update(days)
                bookings += [
                    {"profile_id": pid, "day": day, "seat_id": sid, "class_id": klass["id"]}
                    for day in days
                ]
        self._bench_dispatches(dispatches, candidates, events, booked)
        for n, row in enumerate(bookings):
            row["id"] = ids["booking"] + n
        for table, rows in (
            ("dispatch", dispatches),
            ("dispatch_candidate", candidates),
            ("dispatch_seat", seats),
            ("booking", bookings),
            ("dispatch_event", events),
        ):
            self._timed(table.replace("_", " "), lambda t=table, rs=rows: self._insert(t, rs))
        self._timed("availability", lambda: self._insert("availability", self._calendars(booked)))

    def _calendars(self, booked):
        """Whole weeks (Monday to Friday) of the coming AVAILABILITY_WEEKS, and every day a
        trainer is booked on from today (it was available when it was asked)."""
        r, today = self.rng, self.now.date()
        monday = today + timedelta(days=7 - today.weekday())
        weeks = [
            [monday + timedelta(weeks=w, days=d) for d in range(5)]
            for w in range(AVAILABILITY_WEEKS)
        ]
        next_id = self._next_id("availability")
        for pid, _uid, _org, _types, _expiry in self.pool:
            days = {d for d in booked.get(pid, ()) if d > today}
            days.update(self.bench_available.get(pid, ()))
            if r.random() < MARKS_CALENDAR:
                for week in weeks:
                    if r.random() < MARKS_WEEK:
                        days.update(week)
            for day in sorted(days):
                yield {"id": next_id, "profile_id": pid, "day": day}
                next_id += 1

    def _dispatch_row(self, did, klass, status, wanted, at, inst) -> dict:
        return {
            "id": did,
            "class_id": klass["id"],
            "org_id": inst["id"],
            "status": status,
            "wanted": wanted,
            "course_type": klass["course_type"],
            "level": None,
            "region": "any",
            "created_at": at,
            "proposed_at": at if status != "draft" else None,
            "proposed_by_id": self.authority(inst["id"]) if status != "draft" else None,
            "version": 2 if status != "draft" else 1,
        }

    def _dispatch_event(self, did, sid, action, at, actor) -> dict:
        _uid, _username, _role, org_id, name = self.user_by_id[actor]
        return {
            "dispatch_id": did,
            "seat_id": sid,
            "action": action,
            "at": at,
            "actor_id": actor,
            "actor_name": name,
            "org_name": self.orgs[org_id]["name"],
        }

    def _bench_institution(self) -> dict:
        """The first institution of BENCH_CITY, else of its province, else the first one."""
        city = next((c for c in self.cities if c["code"] == BENCH_CITY), None)
        if city is not None:
            for key, value in (("city_id", city["id"]), ("province_id", city["province_id"])):
                found = next((i for i in self.institutions if i[key] == value), None)
                if found is not None:
                    return found
        return self.institutions[0]

    def _bench_dispatches(self, dispatches, candidates, events, booked):
        """Two SYB classes of one institution, Monday to Friday four weeks ahead: one dispatch in
        draft (the institution's recommendation page), one proposed with four candidates who pass
        every filter (the center's choice page). Approved applications without review rows."""
        today = self.now.date()
        start = today + timedelta(days=28 + (7 - today.weekday()) % 7)
        end = start + timedelta(days=4)
        days = {start + timedelta(days=n) for n in range(5)}
        inst = self._bench_institution()
        first_app, first_class = (
            self._next_id("class_application"),
            self._next_id("training_class"),
        )
        apps, classes, self.bench_candidates = [], [], []
        for n, (status, code) in enumerate(BENCH_CLASSES.items()):
            klass = {
                "id": first_class + n,
                "code": code,
                "application_id": first_app + n,
                "org_id": inst["id"],
                "course_type": "SYB",
                "start_date": start,
                "end_date": end,
                "venue": f"{inst['name']}培训室",
                "expected_trainees": 30,
                "is_extra": True,
                "created_at": self.now - timedelta(days=3),
            }
            apps.append(
                {
                    "id": first_app + n,
                    "org_id": inst["id"],
                    "course_type": "SYB",
                    "start_date": start,
                    "end_date": end,
                    "venue": klass["venue"],
                    "expected_trainees": 30,
                    "contact_name": "联系人",
                    "contact_phone": "020-12345678",
                    "is_extra": True,
                    "status": "approved",
                    "step": None,
                    "revision": 1,
                    "in_force_revision": 1,
                    "version": 1,
                }
            )
            classes.append(klass)
            did = self._next_id("dispatch") + len(dispatches)
            dispatches.append(self._dispatch_row(did, klass, status, 2, klass["created_at"], inst))
            inst_user = self.authority(inst["id"])
            events.append(
                self._dispatch_event(did, None, "created", klass["created_at"], inst_user)
            )
            if status == "proposed":
                events.append(
                    self._dispatch_event(did, None, "proposed", klass["created_at"], inst_user)
                )
                fit = [
                    e
                    for e in self.pool
                    if "SYB" in e[3] and e[4] >= end and not booked.get(e[0], set()) & days
                ][:4]
                for position, entry in enumerate(fit):
                    candidates.append(
                        {"dispatch_id": did, "profile_id": entry[0], "position": position}
                    )
                self.bench_candidates = [e[0] for e in fit]
        self._timed("bench class applications", lambda: self._insert("class_application", apps))
        self._timed("bench training classes", lambda: self._insert("training_class", classes))
        self._timed(
            "bench class links",
            lambda: self._link_classes(
                {a["id"]: c["id"] for a, c in zip(apps, classes, strict=True)}
            ),
        )
        # The candidates were available when the institution ticked them (see _calendars).
        self.bench_available = {pid: days for pid in self.bench_candidates}

    # ------------------------------------------------------------ running classes (issue 13)

    def _classroom(self):
        from bench.generate_classes import fill

        fill(self)

    def _grades(self):
        """Finished classes' trial scores and grade sheets (after the classroom step)."""
        from bench.generate_grades import fill

        fill(self)

    def _after_class(self):
        """Activity reports, trainer feedback, certificates, pool entries and closed classes
        (issue 16 point 9; after the grade step)."""
        from bench.generate_after import fill

        fill(self)

    # ------------------------------------------------------------ the audit log

    def _audit(self):
        first = self._next_id("audit_log")
        total = self.n["audit"]
        span = timedelta(days=730).total_seconds()
        events = [e for e in AUDIT_EVENTS for _ in range(e[1])]
        users, orgs = self.users, self.orgs
        start = self.now - timedelta(days=730)

        columns = ["id", *audit_chain.FIELDS]  # the columns an entry's hash covers

        def rows():
            r = self.rng
            for i in range(total):
                uid, username, role, org_id, _name = users[r.randrange(len(users))]
                event, _w, object_type = events[r.randrange(len(events))]
                yield (
                    first + i,
                    start + timedelta(seconds=span * i / total),
                    uid,
                    username,
                    f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
                    role,
                    org_id,
                    orgs[org_id]["name"],
                    event,
                    object_type,
                    str(r.randrange(1, 50_000)) if object_type else None,
                    f"{event} {object_type or ''}".strip(),
                    '{"status": ["draft", "pending"]}' if event == "update" else None,
                    event != "login_failed",
                )

        self._timed(
            "audit entries",
            lambda: self._bulk("audit_log", lambda: self._insert("audit_log", rows(), columns)),
        )


def generate(scale: float, seed: int, *, now: datetime, files_dir: str, echo=print) -> Stats:
    return Generator(scale, seed, now=now, files_dir=files_dir, echo=echo).run()
