"""What tests build: the fixture world's tree and users, records written directly, workbooks and
file samples, and the small request helpers (CSRF tokens, signed-in clients) the test modules share.

Plain functions, imported by test modules and conftest.py; a test module imports nothing from
another test module. World (codes are real GB/T 2260 codes):
  center 000000
  ├── 北京市 110000 ── 东城区 110101 ── 机构 i1, i1b ;  西城区 110102
  └── 广东省 440000 ── 广州市 440100 ── 机构 i2
Users (password ``PASSWORD``): center, p1, p2, c1, c1b, c2, i1, i1b, i2, trainer1, trainer2,
trainee1, sysadmin, secadmin, auditor.
"""

import hashlib
import io
import os
import re
import uuid
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from flask_appbuilder import Model
from itsdangerous import URLSafeTimedSerializer
from openpyxl import Workbook
from sqlalchemy import create_engine, make_url, select, text
from stdnum.cn import ric

from app import clock, create_app
from app.config import TestConfig
from app.extensions import db
from app.services import accounts, evaluations, files, grades, review, trainer_feedback, vocabulary
from app.services.demo import demo_accounts_json
from models.audit import AuditLog
from models.course import COURSE_CHAINS, CourseResource
from models.faculty import FacultyProfile
from models.login_application import LoginApplication
from models.mentor import MENTOR_CHAINS, MentorProfile
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.review import ReviewRevision
from models.roster import Roster, RosterEntry
from models.user import MalanUser
from security.sync import sync_roles

PASSWORD = "Test@pass2026"
NOW = datetime(2026, 3, 2, 9, 0)  # the frozen clock's default: a Monday, no holiday around


ORGS = [  # key, kind, code, name, parent key
    ("center", CENTER, "000000", "部中心", None),
    ("P1", PROVINCE, "110000", "北京市", "center"),
    ("P2", PROVINCE, "440000", "广东省", "center"),
    ("C1", CITY, "110101", "东城区", "P1"),
    ("C1b", CITY, "110102", "西城区", "P1"),
    ("C2", CITY, "440100", "广州市", "P2"),
    ("I1", INSTITUTION, "1101010001", "东城创业学校", "C1"),
    ("I1b", INSTITUTION, "1101010002", "东城第二培训中心", "C1"),
    ("I2", INSTITUTION, "4401000001", "广州创业学院", "C2"),
]


USERS = [  # key, role kind, org key, name
    ("center", "center", "center", "张中心"),
    ("p1", "province", "P1", "李北京"),
    ("p2", "province", "P2", "王广东"),
    ("c1", "city", "C1", "赵东城"),
    ("c1b", "city", "C1b", "钱西城"),
    ("c2", "city", "C2", "孙广州"),
    ("i1", "institution", "I1", "周机构"),
    ("i1b", "institution", "I1b", "吴机构"),
    ("i2", "institution", "I2", "郑机构"),
    ("trainer1", "trainer", "C1", "冯讲师"),
    ("trainer2", "trainer", "C2", "陈讲师"),
    ("trainee1", "trainee", "I1", "褚学员"),
    ("sysadmin", "sysadmin", "center", "系统管理员"),
    ("secadmin", "secadmin", "center", "安全管理员"),
    ("auditor", "auditor", "center", "审计员"),
]


def build_world(app, now) -> dict:
    """A fresh schema with the tree and users above in ``app``'s database; returns ids by key."""
    Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    sync_roles(app.appbuilder.sm)
    vocabulary.seed_defaults()  # what migration 0004 inserts into a new database
    evaluations.seed_defaults(datetime(2020, 1, 1))  # what migration 0010 inserts
    grades.seed_defaults()  # what migration 0014 inserts
    trainer_feedback.seed_defaults(datetime(2020, 1, 1))  # what migration 0016 inserts
    orgs = {}
    for key, kind, code, name, parent in ORGS:
        org = Org(kind=kind, code=code, name=name)
        if parent:
            org.parent = orgs[parent]
        db.session.add(org)
        db.session.flush()
        orgs[key] = org
    users = {}
    for key, kind, org_key, name in USERS:
        user, _pw = accounts.create_account(
            name=name, role_kind=kind, org=orgs[org_key], now=now, password=PASSWORD
        )
        user.must_change_password = False
        db.session.flush()
        users[key] = user
    db.session.commit()
    return {
        "org": {k: o.id for k, o in orgs.items()},
        "user": {k: u.id for k, u in users.items()},
        "username": {k: u.username for k, u in users.items()},
    }


def csrf_token(client, url="/login/") -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    return match.group(1) if match else ""


def zip_bytes(entries: dict) -> bytes:
    """A deflated zip archive of ``{name: content}`` (what office files and zip bombs are)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def real_xlsx() -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    book.add_worksheet().write(0, 0, "姓名")
    book.close()
    return buf.getvalue()


CT = "[Content_Types].xml"


SAMPLES = {
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
    "png": b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40,
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40,
    "gif": b"GIF89a" + b"\x00" * 40,
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 100,
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm" + b"\x00" * 40,
    "doc": files.OLE_MAGIC + b"\x00" * 600,
    "docx": zip_bytes({CT: "<Types/>", "word/document.xml": "<w:document/>"}),
    "xlsx": real_xlsx(),
    "pptx": zip_bytes({CT: "<Types/>", "ppt/presentation.xml": "<p:presentation/>"}),
    "txt": "学员名单\r\n张三\t李四\n".encode(),
    "csv": "姓名,手机\n张三,13800000000\n".encode("gbk"),
    "exe": b"MZ\x90\x00" + b"\x00" * 200,
    "zip": zip_bytes({"readme.txt": "hello"}),
    "html": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "docm": zip_bytes(
        {CT: "<Types/>", "word/document.xml": "<w:document/>", "word/vbaProject.bin": b"\x00macro"}
    ),
}


ANNEX2_HEADER = [
    "序号",
    "姓名",
    "工作单位",
    "职务",
    "办公电话",
    "手机号",
    "微信号",
    "类型",
    "所属地市",
]


ANNEX2_TITLE = "省（市）级创业培训主管部门、创业培训机构平台联络员信息汇总表"


def build_xlsx(
    rows,
    *,
    header=ANNEX2_HEADER,
    title=True,
    province="广东省",
    merge_title=True,
    sheet="Sheet1",
    extra_sheet_first=False,
    merges=(),
    number_format=None,
) -> bytes:
    """An Annex-2-like workbook: optional title (merged) and 省份 rows, the header, then rows
    (lists of cell values; None leaves a cell empty; [] is an empty row)."""
    book = Workbook()
    if extra_sheet_first:
        book.active.title = "说明"
        book.active.append(["请按附件2填写"])
        ws = book.create_sheet(sheet)
    else:
        ws = book.active
        ws.title = sheet
    if title:
        ws.append([ANNEX2_TITLE])
        if merge_title:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.append([f"省份：{province}"])
    ws.append(list(header))
    for row in rows:
        if row:
            ws.append(list(row))
        else:
            ws.append([None])
    for merged in merges:
        ws.merge_cells(merged)
    if number_format:
        for row in ws.iter_rows():
            for cell in row:
                cell.number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class FreshClient(FlaskClient):
    """One app context per request, as in production. The session-wide ``app`` fixture keeps an
    app context pushed; with the stock client ``g`` (Flask-WTF's CSRF token, the cached scope)
    and the db session would carry over from one request to the next."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def browser(app) -> FreshClient:
    return FreshClient(app, app.response_class, use_cookies=True)


def sign_in(app, username, password=PASSWORD) -> FreshClient:
    """A browser signed in as ``username``; ``.csrf`` holds a token valid for its session."""
    app.appbuilder.sm.limiter.reset()  # hundreds of logins per minute here are not an attack
    client = browser(app)
    response = client.post(
        "/login/",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    client.csrf = csrf_token(client, "/password/change")
    assert client.csrf
    return client


def api_headers(app, username, password=PASSWORD) -> dict:
    """JWT login through FAB's security API, as a script would."""
    response = browser(app).post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def grant(app, role_name, resource, permissions) -> None:
    """Give a role permissions the shipped table does not (for this test's database only)."""
    sm = app.appbuilder.sm
    role = sm.find_role(role_name)
    for permission in permissions:
        sm.add_permission_role(role, sm.add_permission_view_menu(permission, resource))
    db.session.commit()


def rows(table_or_select) -> list:
    """Every row as committed, read afresh (not through an identity map)."""
    db.session.rollback()
    query = table_or_select if hasattr(table_or_select, "whereclause") else select(table_or_select)
    return sorted(tuple(r) for r in db.session.execute(query).all())


AUDIT_WRITES = ("create", "update", "delete", "password_reset")


def snapshot() -> dict:
    """What a refused request must not change: the scoped tables and the write audit."""
    state = {"org": rows(Org.__table__)}
    users = MalanUser.__table__
    volatile = {"last_login", "login_count", "fail_login_count", "changed_on"}
    state["ab_user"] = sorted(
        tuple(v for k, v in r._mapping.items() if k not in volatile)
        for r in db.session.execute(select(users)).all()
    )
    state["audit"] = rows(AuditLog.__table__.select().where(AuditLog.event.in_(AUDIT_WRITES)))
    return state


def seed_applications(world, now):
    """One draft application per institution and one class per region, written directly."""
    from datetime import timedelta

    from models.application import ClassApplication, TrainingClass

    start = now.date() + timedelta(days=30)
    for n, key in enumerate(("I1", "I1b", "I2"), start=1):
        app_row = ClassApplication(
            org_id=world["org"][key],
            course_type="SYB",
            start_date=start,
            end_date=start,
            venue="教室",
            expected_trainees=30,
            contact_name="联系人",
            contact_phone="010-1",
        )
        db.session.add(app_row)
        db.session.flush()
        db.session.add(
            TrainingClass(
                code=f"JS-TEST-{n}",
                application_id=app_row.id,
                org_id=world["org"][key],
                course_type="SYB",
                start_date=start,
                end_date=start,
                created_at=now,
            )
        )
    db.session.commit()


def post_login(client, username, password, **headers):
    token = csrf_token(client)
    return client.post(
        "/login/", data={"username": username, "password": password, "csrf_token": token}, **headers
    )


def fresh_app(**extra):
    """A new app (another worker, other settings) on the test database; sign-in failures only,
    so it needs the tables but no users."""
    from flask_appbuilder import Model

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()} | extra
    application = create_app(config)
    with application.app_context():
        Model.metadata.create_all(db.engine)
    return application


class Actors:
    def __init__(self, world):
        self.world = world

    def __getattr__(self, key):
        return db.session.get(MalanUser, self.world["user"][key])


def make_plan(world, city="C1", **values) -> TrainingPlan:
    rnd = db.session.scalar(select(PlanRound).where(PlanRound.year == 2026, PlanRound.month == 6))
    if rnd is None:
        rnd = PlanRound(year=2026, month=6, deadline=date(2026, 3, 31), opened_at=NOW)
        db.session.add(rnd)
        db.session.flush()
    plan = TrainingPlan(
        round_id=rnd.id,
        org_id=world["org"][city],
        contact_name="赵联系",
        contact_phone="13800000001",
        note="第一稿",
        **values,
    )
    # A valid line, so that the plans view's own checks let it be submitted (dates from today:
    # the view reads the real clock).
    start = date.today() + timedelta(days=60)
    plan.lines.append(
        PlanLine(
            org_id=world["org"][city],
            course_type="SYB",
            classes=2,
            trainees_per_class=30,
            start_from=start,
            start_to=start + timedelta(days=30),
            venue_city_id=world["org"][city],
        )
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def seed_plans(world, now=NOW) -> dict:
    """A round and one draft plan with one line for each city of the fixture world, written
    directly (for tests that need plan rows in every region, e.g. the scope matrix)."""
    rnd = PlanRound(year=now.year, month=6, deadline=now.date(), opened_at=now)
    db.session.add(rnd)
    db.session.flush()
    ids = {}
    for key in ("C1", "C1b", "C2"):
        city = world["org"][key]
        plan = TrainingPlan(round_id=rnd.id, org_id=city, contact_name="联系人")
        plan.lines = [
            PlanLine(
                org_id=city,
                course_type="SYB",
                classes=1,
                trainees_per_class=30,
                start_from=now.date(),
                start_to=now.date(),
                venue_city_id=city,
            )
        ]
        db.session.add(plan)
        db.session.flush()
        ids[key] = plan.id
    db.session.commit()
    return ids


def seed_login_applications(world, now=NOW):
    """One pending application per city, for the scope matrix (`people` fixture)."""
    for n, city in enumerate(("C1", "C1b", "C2")):
        record = LoginApplication(
            applicant_name=f"申请人{n}",
            mobile=f"1370000000{n}",
            unit="某单位",
            role_kind="city",
            org_id=world["org"][city],
            reason="工作需要",
            created_at=now,
        )
        db.session.add(record)
        review.enter_review(record, now)
    db.session.commit()


def seed_rosters(world):
    """For the scope matrix: one pending roster per province (written directly, as submitted)."""
    for n, key in enumerate(("P1", "P2"), start=1):
        roster = Roster(
            org_id=world["org"][key],
            filename=f"roster-{key}.xlsx",
            row_count=1,
            created_at=NOW,
            status="pending",
            step=0,
            submitted_at=NOW,
        )
        roster.entries.append(
            RosterEntry(
                seq=1,
                source_row=4,
                kind="province",
                name=f"联络员{n}",
                unit="人力资源和社会保障厅",
                mobile=f"1390000100{n}",
            )
        )
        db.session.add(roster)
    db.session.commit()


ORG_UPLOADERS = {
    "P1": "p1",
    "P2": "p2",
    "C1": "c1",
    "C1b": "c1b",
    "C2": "c2",
    "I1": "i1",
    "I1b": "i1b",
    "I2": "i2",
}


def seed_courses(world, now=NOW) -> dict:
    """Published resources from every org of the world (P1, P2, C1, C1b, C2, I1, I1b, I2) and
    from trainer1 and trainer2, written directly; returns {org or user key: id}."""
    ids = {}
    rows = [(org, world["org"][org], world["user"][who], who) for org, who in ORG_UPLOADERS.items()]
    rows += [
        (who, world["org"][org], world["user"][who], who)
        for who, org in (("trainer1", "C1"), ("trainer2", "C2"))
    ]
    for key, org_id, owner_id, who in rows:
        kind = db.session.get(MalanUser, owner_id).role_kind
        record = CourseResource(
            title=f"{key}的示范课",
            course_type="SYB",
            category="demo",
            description="示范课说明",
            tags="示范",
            author=who,
            org_id=org_id,
            owner_id=owner_id,
            chain=COURSE_CHAINS[kind],
            status="approved",
            revision=1,
            in_force_revision=1,
            published_at=now,
            created_at=now,
        )
        db.session.add(record)
        db.session.flush()
        ids[key] = record.id
    db.session.commit()
    return ids


def make_id(code="110101", born="19800101", seq=1) -> str:
    body = f"{code}{born}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def approved_profile(name, seq, org_id, user_id, now, **over) -> dict:
    """The columns of an approved, in-force trainer profile (``seq`` makes the ID number and the
    mobile unique); ``over`` replaces any of them."""
    return {
        "name": name,
        "gender": "M",
        "birth_year": 1980,
        "id_number": make_id(born="19800101", seq=seq),
        "mobile": f"1370000{seq:04d}",
        "org_id": org_id,
        "user_id": user_id,
        "level": "lecturer",
        "course_types": "SYB",
        "service_status": "active",
        "certificate_no": f"P-{seq}",
        "certificate_date": date(2020, 1, 1),
        "certificate_expiry": date(2027, 1, 1),
        "created_at": now,
        "status": "approved",
        "revision": 1,
        "in_force_revision": 1,
    } | over


def seed_faculty(world, now=NOW) -> dict:
    """Approved profiles in the regions P1, P2, C1, C1b, C2 and one of trainer1 (C1) and one of
    trainer2 (C2), written directly and committed (the scope matrix's ``people``)."""
    rows = [
        ("P1", None, "北京省级讲师"),
        ("P2", None, "广东省级讲师"),
        ("C1", None, "东城讲师"),
        ("C1b", None, "西城讲师"),
        ("C2", None, "广州讲师"),
        ("C1", "trainer1", "冯讲师"),
        ("C2", "trainer2", "陈讲师"),
    ]
    ids = {}
    for seq, (org_key, owner, name) in enumerate(rows, start=101):
        profile = FacultyProfile(
            **approved_profile(
                name,
                seq,
                world["org"][org_key],
                world["user"][owner] if owner else None,
                now,
                mobile=f"1380000{seq:04d}",
                employer="培训中心",
                certificate_no=f"C-{seq}",
            )
        )
        db.session.add(profile)
        db.session.flush()
        db.session.add(
            ReviewRevision(
                record_type="faculty",
                record_id=profile.id,
                revision=1,
                status="approved",
                data="{}",
                created_at=now,
            )
        )
        ids[owner or org_key] = profile.id
    db.session.commit()
    return ids


MENTOR_SEED = {
    "P1": ("P1", "I", "互联网创业、融资", "13900000001", "p1mentor@example.cn"),
    "P2": ("P2", "J", "财务管理、融资", "13900000002", "p2mentor@example.cn"),
    "C1": ("C1", "I", "市场营销", "13900000003", "c1mentor@example.cn"),
    "C1b": ("C1b", "P", "职业教育", "13900000004", "c1bmentor@example.cn"),
    "C2": ("C2", "C", "智能制造、市场营销", "13900000005", "c2mentor@example.cn"),
}


def seed_mentors(world, now=NOW) -> dict:
    """One APPROVED mentor entered by each province and city of the fixture world (P1, P2, C1,
    C1b, C2), written directly and committed; returns org key -> mentor id."""
    kinds = {"P1": "province", "P2": "province"}
    ids = {}
    for key, (org_key, industry, expertise, mobile, email) in MENTOR_SEED.items():
        mentor = MentorProfile(
            chain=MENTOR_CHAINS[kinds.get(org_key, "city")],
            org_id=world["org"][org_key],
            name=f"导师{key}",
            gender="F",
            employer=f"{key}创业服务中心",
            title="高级经济师",
            industry=industry,
            expertise=expertise,
            mobile=mobile,
            email=email,
            biography="从事创业指导十年",
            availability="周末",
            created_at=now,
            status="approved",
            revision=1,
            in_force_revision=1,
        )
        db.session.add(mentor)
        db.session.flush()
        ids[key] = mentor.id
    db.session.commit()
    return ids


def flashes(client) -> list[str]:
    """What the user was told after the last form posted with `post_form`: the flashed messages
    waiting in the session, then the refusals shown on that form when it came back (200) with
    them beside its fields (issue 15: a refused form is shown again, not redirected)."""
    with client.session_transaction() as sess:
        told = [text for _cat, text in sess.get("_flashes", [])]
    page = getattr(client, "posted_page", None)
    if page is not None and page.status_code == 200:
        told += [message for messages in page_errors(page).values() for message in messages]
    return told


def post_form(client, url, data=None, multipart=False, **fields):
    """POST a form with a CSRF token valid for the signed-in session (any page with a form
    gives one)."""
    data = {"csrf_token": csrf_token(client, "/password/change"), **(data or {}), **fields}
    if multipart:
        response = client.post(url, data=data, content_type="multipart/form-data")
    else:
        response = client.post(url, data=data)
    client.posted_page = response  # `flashes` reads the refusals shown on it
    return response


def post_token(app, client) -> str:
    """A valid CSRF token for the client's session, without needing a page that shows a form:
    a refused POST must be refused by the permission check, not by a missing token."""
    with client.session_transaction() as session:
        session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        raw = session["csrf_token"]
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def store_files_in(app, monkeypatch, folder):
    """Points the app's FILES_DIR at ``folder`` for one test; returns it."""
    monkeypatch.setitem(app.config, "FILES_DIR", str(folder))
    return folder


def on_disk(files_dir) -> set:
    return {p.name for p in Path(files_dir).glob("*")} if Path(files_dir).exists() else set()


@contextmanager
def scratch_database(url: str, suffix: str):
    """A fresh PostgreSQL database beside ``url``'s (named ``<db>_<suffix>_<random>``), yielded
    as a URL and dropped afterwards."""
    base = make_url(url)
    name = f"{base.database}_{suffix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def service_missing(problem: str) -> None:
    """A service the test needs (Chromium, Redis) is not there: skip with the reason locally,
    fail in CI (CI=true), where it must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"must run in CI: {problem}")
    pytest.skip(problem)


# ---------------------------------------------------------------- browser tests (tests/browser)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots, kept by CI


def demo_account(app, role, org_prefix) -> dict:
    """The demo account (`flask malan load-demo`) of ``role`` whose org code starts so."""
    with app.app_context():
        return next(
            a
            for a in demo_accounts_json()
            if a["role"] == role and (a["org_code"] or "").startswith(org_prefix)
        )


def publish_manual_shots(app, index: list[dict]) -> Path:
    """The user manual's hook (issue 16 point 8): the lifecycle test calls it once every step has
    passed, with its ``steps.json`` entries (``step``, ``role``, ``title``, ``screenshot``
    relative to ``ARTIFACTS``). The shots replace those of ``app.config["MANUAL_DIR"]`` (a temp
    folder under ``make test``, ``instance/manual`` under ``make manual``); returns the folder."""
    from app.services import manual

    return manual.publish(index, ARTIFACTS, app.config["MANUAL_DIR"])


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    """A real PNG of ``width`` × ``height`` white pixels (ReportLab and browsers read it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sign_in_page(page, base, who) -> None:
    """Signs a Chromium page in as the demo account ``who``, through the login form."""
    sign_out_page(page, base)
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", who["username"])
    page.fill("input[name=password]", who["password"])
    page.click("form[name=login] [type=submit]")
    page.wait_for_load_state("networkidle")
    assert urlsplit(page.url).path == "/", f"{who['username']} not signed in: {page.url}"


def sign_out(client) -> None:
    """Sign the test client out the way the navbar does: a POST with the CSRF token (a GET of
    /logout/ signs nobody out). Nothing happens when nobody is signed in."""
    token = csrf_token(client, "/password/change")
    if token:
        client.post("/logout/", data={"csrf_token": token})


def switch_language(client, code: str):
    """Switch the session's language as the navbar does (a POST with the CSRF token)."""
    token = csrf_token(client, "/password/change") or csrf_token(client, "/login/")
    return client.post(f"/lang/{code}", data={"csrf_token": token})


def sign_out_page(page, base) -> None:
    """Sign a Chromium page out as the navbar does: its POST form (a GET of /logout/ signs nobody
    out). Nothing happens when nobody is signed in."""
    page.goto(f"{base}/password/change")
    if page.locator("#logout-form").count():
        with page.expect_navigation():  # the sign-out is done when its answer has loaded
            page.locator("#logout-form").evaluate("form => form.submit()")


NEW_PASSWORD = "Neu#Kennwort2026"
LOGIN_APPLICATION_FORM = "/login-application/"


def change_password(client, old, new):
    token = csrf_token(client, "/password/change")
    return client.post(
        "/password/change",
        data={"old_password": old, "new_password": new, "confirm": new, "csrf_token": token},
    )


def login_application_fields(world, **overrides):
    data = {
        "applicant_name": "林申请",
        "mobile": "13912345678",
        "unit": "东城区就业服务中心",
        "role_kind": "city",
        "province_id": str(world["org"]["P1"]),
        "city_id": str(world["org"]["C1"]),
        "reason": "负责本区创业培训工作",
    }
    data.update(overrides)
    return data


def apply_for_login(client, world, token=True, **overrides):
    """The public login-application form, posted as a stranger would."""
    data = login_application_fields(world, **overrides)
    if token:
        data["csrf_token"] = csrf_token(client, LOGIN_APPLICATION_FORM)
    return client.post(LOGIN_APPLICATION_FORM, data=data)


# ---------------------------------------------------------------- [classroom]

TRAINEE_HEADER = [
    "姓名",
    "性别",
    "身份证号",
    "手机号",
    "工作单位",
    "职务",
    "所在地市",
    "从事创业培训年限",
    "已获证书",
]


def make_class(world, org="I1", start=None, days=5, code=None, opened_at=NOW):
    """A class of ``org`` (written directly, with its application) from ``start`` (default 10
    days after NOW) for ``days`` days; its "import the trainee list" to-do opened. Returns it."""
    from app.services import classroom
    from models.application import ClassApplication, TrainingClass

    start = start or NOW.date() + timedelta(days=10)
    end = start + timedelta(days=days - 1)
    application = ClassApplication(
        org_id=world["org"][org],
        course_type="SYB",
        start_date=start,
        end_date=end,
        venue="教室",
        expected_trainees=30,
        contact_name="联系人",
        contact_phone="010-12345678",
        status="approved",
    )
    db.session.add(application)
    db.session.flush()
    klass = TrainingClass(
        code=code or f"JS-{org}-{start:%m%d}-{application.id}",
        application_id=application.id,
        org_id=world["org"][org],
        course_type="SYB",
        start_date=start,
        end_date=end,
        venue="教室",
        created_at=opened_at,
    )
    db.session.add(klass)
    db.session.flush()
    classroom.class_opened(klass, opened_at)
    db.session.commit()
    return klass


def trainee_row(seq, code="110101", **values) -> list:
    """A trainee's row of the import file (every cell text)."""
    row = {
        "name": f"学员{seq}",
        "gender": "男" if seq % 2 else "女",
        "id_number": make_id(code, born="19900101", seq=seq),
        "mobile": f"1370000{seq:04d}",
        "employer": f"就业服务中心{seq % 3}",
        "position": "讲师",
        "city": "东城区",
        "years": str(seq % 7),
        "certificates": "SYB讲师证" if seq % 2 else "",
    } | values
    return [
        row[k]
        for k in (
            "name",
            "gender",
            "id_number",
            "mobile",
            "employer",
            "position",
            "city",
            "years",
            "certificates",
        )
    ]


def trainee_xlsx(rows, header=TRAINEE_HEADER, title=None) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "学员名单"
    if title:
        ws.append([title])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def enrol(world, klass, seqs, actor="i1", now=NOW) -> list:
    """Trainees put on ``klass`` through the service (as a confirmed import); returns
    (ClassTrainee, initial password) pairs."""
    from app.services import classroom

    spec = classroom.trainee_fields()
    header = [
        "name",
        "gender",
        "id_number",
        "mobile",
        "employer",
        "position",
        "city",
        "years",
        "certificates",
    ]
    rows = [fields_clean(spec, dict(zip(header, trainee_row(s), strict=True))) for s in seqs]
    done = classroom.enrol(klass, rows, Actors(world).__getattr__(actor), now, source="test.xlsx")
    db.session.commit()
    return done


def fields_clean(spec, values) -> dict:
    from app.services import fields

    return fields.validate(spec, values)


def assign(world, klass, trainer="trainer1", lead=False, now=NOW):
    """The center puts a trainer on ``klass`` (the service, as the class page's form does)."""
    from app.services import classroom

    actors = Actors(world)
    row = classroom.assign_trainer(
        klass, actors.center, now, user=actors.__getattr__(trainer), is_lead=lead
    )
    db.session.commit()
    return row


# ---------------------------------------------------------------- files and PostgreSQL

PG_URL = os.environ.get("DATABASE_URL", "")
ON_PG = PG_URL.startswith("postgresql")
ATTACHMENT_NAME = "关于开展2026年创业培训的通知.pdf"


def file_upload(name, data):
    """A file as a form posts it."""
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


def keep_file(world, files_dir, key="C1", name=ATTACHMENT_NAME, data=None, **kw):
    """Stores one file for org ``key`` (a scoped owner) through the files service and commits."""
    from app import clock
    from app.services import files
    from models.org import Org
    from models.user import MalanUser

    owner = db.session.get(Org, world["org"][key])
    actor = db.session.get(MalanUser, world["user"]["c1"])
    data = SAMPLES["pdf"] if data is None else data
    attachment = files.store(
        file_upload(name, data), owner=owner, actor=actor, now=clock.now(), **kw
    )
    db.session.commit()
    return attachment


# ---------------------------------------------------------------- dispatch ([dispatch], issue 12)


def make_trainer(world, key, city="C1", name=None, now=NOW, **profile) -> int:
    """A trainer account of ``city`` with an approved, in-force profile; the profile's id. The
    account is in ``world["user"][key]``."""
    org = db.session.get(Org, world["org"][city])
    user, _pw = accounts.create_account(
        name=name or f"讲师{key}", role_kind="trainer", org=org, now=now, password=PASSWORD
    )
    user.must_change_password = False
    db.session.flush()
    seq = 300 + len(world["user"])
    values = approved_profile(
        name or f"讲师{key}",
        seq,
        org.id,
        user.id,
        now,
        course_types="SYB GYB",
        certificate_no=f"D-{seq}",
        certificate_expiry=date(2028, 1, 1),
    )
    values.update(profile)
    p = FacultyProfile(**values)
    db.session.add(p)
    db.session.commit()
    world["user"][key], world["username"][key] = user.id, user.username
    world.setdefault("profile", {})[key] = p.id
    return p.id


def mark_available(profile_id, start, days=30) -> None:
    """Availability rows for ``days`` days from ``start`` (written directly)."""
    from models.dispatch import Availability

    db.session.add_all(
        Availability(profile_id=profile_id, day=start + timedelta(days=n)) for n in range(days)
    )
    db.session.commit()


def seed_dispatch(world, now=NOW) -> None:
    """A dispatch on every seeded class (seed_applications) and a request to trainer1 on I1's
    class and to trainer2 on I2's (seed_faculty's profiles): the scope matrix's population."""
    from models.application import TrainingClass
    from models.dispatch import Dispatch, DispatchSeat

    profiles = {
        p.user_id: p.id
        for p in db.session.scalars(
            select(FacultyProfile).where(FacultyProfile.user_id.isnot(None))
        )
    }
    for klass in db.session.scalars(select(TrainingClass).order_by(TrainingClass.id)):
        d = Dispatch(
            class_id=klass.id,
            org_id=klass.org_id,
            course_type=klass.course_type,
            wanted=1,
            region="any",
            status="requesting",
            created_at=now,
        )
        db.session.add(d)
        db.session.flush()
        trainer = {world["org"]["I1"]: "trainer1", world["org"]["I2"]: "trainer2"}.get(klass.org_id)
        if trainer:
            user_id = world["user"][trainer]
            db.session.add(
                DispatchSeat(
                    dispatch_id=d.id,
                    class_id=klass.id,
                    org_id=klass.org_id,
                    profile_id=profiles[user_id],
                    trainer_user_id=user_id,
                    lead=True,
                    status="requested",
                    requested_at=now,
                )
            )
    db.session.flush()
    _seed_notices(world, now)
    db.session.commit()


def _seed_notices(world, now) -> None:
    """[dispatch] rows 12–14: a 派遣通知书 per seat and a 执行任务通知书 per class that has one,
    written directly (no PDF is built): the scope matrix's documents."""
    from models.dispatch import DispatchSeat
    from models.document import DISPATCH_NOTICE, TASK_NOTICE, IssuedDocument

    center = world["user"]["center"]
    for n, seat in enumerate(db.session.scalars(select(DispatchSeat).order_by(DispatchSeat.id))):
        for kind, owner in ((DISPATCH_NOTICE, seat.trainer_user_id), (TASK_NOTICE, None)):
            db.session.add(
                IssuedDocument(
                    kind=kind,
                    number=f"{kind[:2].upper()}-{now.year}-{n + 1:05d}",
                    code=f"SEED{kind[:2].upper()}{n:010d}",
                    org_id=seat.org_id,
                    owner_user_id=owner,
                    class_id=seat.class_id,
                    seat_id=seat.id if owner else None,
                    title=kind,
                    filename=f"{kind}.pdf",
                    pdf=b"%PDF-1.4",
                    text="# seed",
                    issued_at=now,
                    issued_by_id=center,
                    issuer_name="部中心",
                )
            )


@contextmanager
def file_arena(app, request, tmp_path, lock_timeout: float = 5.0):
    """(app, ids) whose database concurrent threads share, for the race tests: on SQLite a file
    database of its own (an in-memory one is private to its connection), with ``lock_timeout``
    seconds of lock wait; on PostgreSQL the test database and its usual world."""
    if db.engine.dialect.name != "sqlite":
        yield app, request.getfixturevalue("world")
        return

    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'arena.db'}"
        SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"timeout": lock_timeout}}

    file_app = create_app(FileConfig)
    with file_app.app_context():
        ids = build_world(file_app, NOW)
    yield file_app, ids
    with file_app.app_context():
        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- issue 14: the Annex-2 corpus

# Annex 2 as the regulation prints it: no 类型, no 所属地市.
ANNEX2_ORIGINAL_HEADER = ["序号", "姓名", "工作单位", "职务", "办公电话", "手机号", "微信号"]


def build_annex2_file(
    rows,
    *,
    header=ANNEX2_ORIGINAL_HEADER,
    title=ANNEX2_TITLE,
    province_line="省份：广东省",
    hidden=(),
    notes=(),
    merges=(),
    sheet_before=None,
) -> bytes:
    """A roster as provinces fill it in by hand: a merged title, a "省份：" line, the header, the
    rows (None: an empty cell, []: a blank row), rows hidden by their index in ``rows``, lines
    of notes under the table (each merged across), extra merged ranges ("C5:C6"), and a sheet
    of instructions before the form's sheet."""
    book = Workbook()
    ws = book.active
    if sheet_before:
        ws.title = "填表说明"
        ws.append([sheet_before])
        ws = book.create_sheet("附件2")
    width = len(header)
    if title:
        ws.append([title])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    if province_line is not None:
        ws.append([province_line])
    ws.append(list(header))
    first = ws.max_row + 1
    for row in rows:
        ws.append(list(row) if row else [None])
    for index in hidden:
        ws.row_dimensions[first + index].hidden = True
    for note in notes:
        ws.append([note])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    for merged in merges:
        ws.merge_cells(merged)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A few KB that claim to be a workbook and inflate to ~60 MB."""
    return zip_bytes(
        {
            "[Content_Types].xml": "<Types/>",
            "xl/workbook.xml": "<workbook/>",
            "xl/worksheets/sheet1.xml": b"<worksheet>"
            + b" " * (60 * 1024 * 1024)
            + b"</worksheet>",
        }
    )


def annex2_corpus() -> dict:
    """Every kind of roster file a 广东省 upload meets (world: city 广州市, institution 广州创业
    学院; 北京市 with 东城区, 东城创业学校), keyed by name. The expected outcome of each is in
    tests/integration/test_roster_corpus.py."""
    clean_original = [
        ["1", "黄省联", "广东省人力资源和社会保障厅", "处长", "020-83333333", "13900001001", "hsl"],
        ["2", "梁市联", "广州市人力资源和社会保障局", "科长", None, "13900001002", None],
        ["3", "罗机构", "广州创业学院有限公司", "校长", None, "13900001003", None],
        ["4", "陈机构", "广州新创培训学校", "教务", None, "13900001004", None],
        ["5", "何某", "南粤青年创业服务社", None, None, "13900001005", None],
    ]
    messy = [
        [
            "1",
            "黄　省联",
            "广东省人社厅",
            "处长",
            "０２０－８３３３ ３３３３转８０１",
            "+86 139 0000 2001",
            "ＨＳＬ０１",
        ],
        [],
        ["2", "梁市联", "广州市就业服务中心", None, "+86-20-87654321", "86-139-0000-2002", None],
        ["3", "罗机构", "广州 创业学院", None, None, "13900002003／020-12345678", None],
        ["4", "隐藏人", "广州创业学院", None, None, "13900002099", None],
        [
            "5",
            "陈机构",
            "广州新创培训学校",
            None,
            "(020) 1234-5678 ext 12",
            "１３９ ００００ ２００４",
            None,
        ],
        ["6", "何机构", None, None, None, "13900002005", None],
        [],
    ]
    return {
        "clean_original": build_annex2_file(clean_original),
        "app_template": build_xlsx(
            [
                [
                    "1",
                    "黄省联",
                    "广东省人力资源和社会保障厅",
                    None,
                    None,
                    "13900003001",
                    None,
                    "省级",
                    None,
                ],
                ["2", "梁市联", "广州市就业局", None, None, "13900003002", None, None, "广州"],
                ["3", "罗机构", "广州创业学院", None, None, "13900003003", None, "机构", "广州市"],
            ],
            header=ANNEX2_HEADER,  # the app's own template (类型, 所属地市)
        ),
        # the unit of 何机构 is merged with 陈机构's (rows 9-10), row 8 (index 4) is hidden
        "messy": build_annex2_file(
            messy,
            hidden=(4,),
            merges=("C9:C10",),
            notes=("注：第1行为省级联络员。", "填表人：张三  联系电话：13900002999"),
            sheet_before="请按附件2填写，手机号按文本填写。",
        ),
        "other_province": build_annex2_file(clean_original, province_line="省份：浙江省"),
        "other_province_title": build_annex2_file(
            clean_original, title="北京市创业培训联络员信息汇总表", province_line=None
        ),
        "mixed_errors": build_annex2_file(
            [
                clean_original[0],
                ["2", "甲", "东城区人力资源和社会保障局", None, None, "13900004002", None],
                ["3", "乙", "东城创业学校", None, None, "13900004003", None],
                ["4", "丙", "广州新创培训学校", None, None, "1390000400", None],
                ["5", "丁", "广州新创培训学校", None, "020-abc", "13900001001", None],
            ]
        ),
        "formulas": build_annex2_file(
            [
                clean_original[0],
                [
                    "2",
                    '=HYPERLINK("http://x","甲")',
                    "广州创业学院",
                    None,
                    None,
                    "13900005002",
                    None,
                ],
                ["3", "乙", "广州创业学院", None, None, "=13900005003+0", None],
            ]
        ),
        "not_a_workbook": b"%PDF-1.4\n% not a workbook\n",
        "zip_bomb": zip_bomb(),
    }


def second_secadmin(world, now=None) -> dict:
    """A second security administrator (三员分立: the approver of the first one's proposals);
    signs in with PASSWORD. Returns its id and username."""
    org = db.session.get(Org, world["org"]["center"])
    user, _pw = accounts.create_account(
        name="安全管理员乙",
        role_kind="secadmin",
        org=org,
        now=now or clock.now(),
        password=PASSWORD,
    )
    user.must_change_password = False
    db.session.commit()
    return {"id": user.id, "username": user.username}


def account_request_of(target_id=None, operation=None):
    """The latest account-change proposal (of ``target_id``/``operation`` when given)."""
    from models.account_request import AccountRequest

    db.session.expire_all()
    query = select(AccountRequest).order_by(AccountRequest.id.desc()).limit(1)
    if target_id is not None:
        query = query.where(AccountRequest.target_id == target_id)
    if operation is not None:
        query = query.where(AccountRequest.operation == operation)
    return db.session.scalar(query)


def decide_account_request(client, record, action="approve", opinion=""):
    """A decision on the record page of an account-change proposal."""
    return post_form(
        client,
        f"/accountrequestview/review/{record.id}",
        action=action,
        opinion=opinion,
        version=record.version,
    )


def seed_account_requests(world, now=None) -> None:
    """For the scope matrix: a pending proposal of the system administrator (at the center)."""
    from app.services import account_requests

    sysadmin = db.session.get(MalanUser, world["user"]["sysadmin"])
    target = db.session.get(MalanUser, world["user"]["p1"])
    account_requests.propose(sysadmin, "reset_password", now or clock.now(), target=target)


_SHOWN_ERROR = re.compile(
    r'<div class="[^"]*\b(?:field-error|form-error)\b[^"]*"(?: data-field="([^"]*)")?[^>]*>(.*?)</div>',
    re.S,
)


def page_errors(response) -> dict[str, list[str]]:
    """The refusals a re-rendered form shows (app/templates/forms/_errors.html): {field name, or
    "" for the form as a whole: [messages]}."""
    html = response.get_data(as_text=True)
    shown: dict[str, list[str]] = {}
    for field, body in _SHOWN_ERROR.findall(html):
        messages = re.findall(r'<span class="error-message">(.*?)</span>', body, re.S)
        shown.setdefault(field, []).extend(unescape(m).strip() for m in messages)
    return shown


def staffed_dispatch(world, start) -> dict:
    """I1's 2-day class from ``start``, its dispatch opened, and four trainers: ta, tb in 东城
    (C1), tc in 西城 (C1b, same province), td in 广州 (C2); all available around the class."""
    from app.services import dispatch
    from app.services.tx import transaction
    from models.application import TrainingClass
    from models.user import MalanUser

    class_id = make_class(world, "I1", start, days=2).id
    for key, city in (("ta", "C1"), ("tb", "C1"), ("tc", "C1b"), ("td", "C2")):
        mark_available(make_trainer(world, key, city), start - timedelta(days=5), 20)
    institution = db.session.get(MalanUser, world["user"]["i1"])
    with transaction():
        d = dispatch.open_dispatch(db.session.get(TrainingClass, class_id), institution, NOW)
    world["class"], world["dispatch"] = class_id, d.id
    return world


def propose_candidates(world, wanted=2) -> None:
    """The institution's criteria (``wanted`` trainers, anywhere) and its proposal: ta, tb, tc
    (at most twice the number wanted)."""
    from app.services import dispatch
    from app.services.tx import transaction
    from models.dispatch import Dispatch
    from models.user import MalanUser

    p = world["profile"]
    institution = db.session.get(MalanUser, world["user"]["i1"])
    d = db.session.get(Dispatch, world["dispatch"])
    criteria = dict(wanted=wanted, level="", region="any", min_taught="", gender="")
    with transaction():
        dispatch.save_criteria(d, institution, {**criteria, "named_profile_id": ""}, NOW)
    with transaction():
        dispatch.propose(d, institution, [p["ta"], p["tb"], p["tc"]][: 2 * wanted], NOW)


def seat_of(profile_id):
    from models.dispatch import DispatchSeat

    return db.session.scalar(select(DispatchSeat).where(DispatchSeat.profile_id == profile_id))


# ---------------------------------------------------------------- certificates (rows 22–23)

ALL_SCORES = {f"c_{k}": "80" for k in ("design", "content", "delivery", "interaction", "timing")}


def graded_class(world, passed=(1, 2), failed=(3,)) -> object:
    """A 5-day class of I1 (trainer1 lead) whose grade sheet the center approved on its last
    day: trainees ``学员<seq>`` of ``passed`` pass (total 80), those of ``failed`` fail (total 56).
    The approval opens the province's certificate entry. Returns the class."""
    from datetime import time

    from app.services import grades

    klass = make_class(world, days=5)
    assign(world, klass, "trainer1", lead=True)
    people = dict(zip((*passed, *failed), enrol(world, klass, [*passed, *failed]), strict=True))
    actors = Actors(world)
    last_day = datetime.combine(klass.end_date, time(10))
    for trainee, _pw in people.values():
        grades.score_trial(klass, trainee.id, actors.trainer1, ALL_SCORES, last_day)
    written = {f"written_{t.id}": ("80" if s in passed else "20") for s, (t, _) in people.items()}
    grades.enter_written(klass, actors.trainer1, written, last_day)
    days = {f"attendance_{t.id}": "5" for t, _pw in people.values()}
    grades.mark_attendance(klass, actors.i1, days, last_day)
    grades.submit(klass, actors.trainer1, last_day)
    grades.decide(grades.sheet_of(klass), actors.center, "approve", last_day)
    db.session.commit()
    return klass
