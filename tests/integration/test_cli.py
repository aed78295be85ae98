"""`flask malan` commands: load-tree (issue 2 point 3) and the demo data (point 10).

These tests build their own empty schema: the `world` fixture brings a tree of its own.
"""

import json

import pytest
from flask_appbuilder import Model
from sqlalchemy import event, func, inspect, select

from app import clock
from app.extensions import db
from app.services import accounts
from app.services.demo import DEMO_PASSWORD
from app.services.tree import CENTER_CODE, read_divisions
from models.org import CENTER, CITY, INSTITUTION, PROVINCE, Org
from models.user import ADMIN_KINDS, ROLE_KINDS, MalanUser
from security.scope import NODE, Scope, scope_clause
from tests.factories import csrf_token, page_errors


@pytest.fixture()
def empty_db(app):
    Model.metadata.drop_all(db.engine)
    Model.metadata.create_all(db.engine)
    yield
    db.session.remove()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


def _count(model, *where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- point 3: the tree


def test_point3_load_tree_loads_every_division_once(empty_db, runner):
    rows = read_divisions()
    result = runner.invoke(args=["malan", "load-tree"])
    assert result.exit_code == 0, result.output
    assert _count(Org, Org.kind == PROVINCE) == 32
    assert _count(Org, Org.kind == CITY) == sum(r["level"] == "city" for r in rows)
    assert _count(Org, Org.kind == CENTER) == 1
    xpcc = db.session.scalar(select(Org).where(Org.code == "660000"))
    assert xpcc.name == "新疆生产建设兵团" and xpcc.parent.code == CENTER_CODE
    guangzhou = db.session.scalar(select(Org).where(Org.code == "440100"))
    assert guangzhou.parent.code == "440000" and guangzhou.province_id == guangzhou.parent_id
    total = _count(Org)

    again = runner.invoke(args=["malan", "load-tree"])
    assert again.exit_code == 0 and "0 org(s) added" in again.output
    assert _count(Org) == total


def test_point3_subtree_is_one_indexed_query(empty_db, runner, app):
    runner.invoke(args=["malan", "load-tree"])
    indexed = {tuple(ix["column_names"]) for ix in inspect(db.engine).get_indexes("org")}
    assert {("province_id",), ("city_id",)} <= indexed

    guangdong = db.session.scalar(select(Org).where(Org.code == "440000"))
    statements = []

    def seen(_conn, _cursor, statement, parameters, *_args):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        ids = db.session.scalars(
            select(Org.id).where(scope_clause(Org, Scope(NODE, guangdong.id, PROVINCE)))
        ).all()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1, "this node and below: one query, no walking the tree"
    assert len(ids) == 1 + _count(Org, Org.parent_id == guangdong.id)
    if db.engine.dialect.name == "sqlite":
        statement, parameters = statements[0]
        plan = " ".join(
            str(r)
            for r in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters
            )
        )
        assert "ix_org_province_id" in plan, plan


def _org_form(client, url):
    return {"csrf_token": csrf_token(client, url)}


def test_point3_invalid_credit_code_is_refused_and_nothing_written(client, login, world):
    login("sysadmin")
    before = _count(Org)
    data = _org_form(client, "/orgview/add")
    data.update(
        parent=world["org"]["C1"],
        name="无效代码培训学校",
        credit_code="91110101MA01A2B3CB",
        address="北京",
        contact_name="王",
        contact_phone="010-1",
    )
    response = client.post("/orgview/add", data=data)
    # the form again, the refusal beside the field (issue 15 point 1)
    assert response.status_code == 200
    assert "统一社会信用代码" in " ".join(page_errors(response)["credit_code"])
    assert _count(Org) == before

    data["credit_code"] = "91110101MA01A2B3CA"  # valid check character
    client.post("/orgview/add", data=data)
    created = db.session.scalar(select(Org).where(Org.name == "无效代码培训学校"))
    assert created is not None and created.kind == INSTITUTION and created.code == "1101010003"


def test_point3_invalid_credit_code_on_edit_changes_nothing(client, login, world):
    login("sysadmin")
    pk = world["org"]["I1"]
    data = _org_form(client, f"/orgview/edit/{pk}")
    data.update(
        name="改名", credit_code="12345", address="", contact_name="", contact_phone="", active="y"
    )
    response = client.post(f"/orgview/edit/{pk}", data=data)
    # The test client shares the app context (and so the session) across requests; a real
    # request ends with the session removed, which is what happens to a refused form here.
    db.session.remove()
    assert response.status_code == 200
    assert "统一社会信用代码" in " ".join(page_errors(response)["credit_code"])
    org = db.session.get(Org, pk)
    assert org.name == "东城创业学校" and org.credit_code is None


# ---------------------------------------------------------------- point 10: demo data


def _load_demo(runner):
    result = runner.invoke(args=["malan", "load-demo"])
    assert result.exit_code == 0, result.output
    return result


def test_point10_load_demo_builds_everything(empty_db, runner):
    _load_demo(runner)
    assert _count(Org, Org.kind == PROVINCE) == 32
    institutions = db.session.scalars(select(Org).where(Org.kind == INSTITUTION)).all()
    assert len(institutions) == 2
    assert len({i.parent_id for i in institutions}) == 2
    assert len({i.province_id for i in institutions}) == 2

    users = db.session.scalars(select(MalanUser)).all()
    assert users and all(u.is_demo for u in users)
    kinds = [u.role_kind for u in users]
    assert set(kinds) == set(ROLE_KINDS)
    for kind, n in [("province", 2), ("city", 2), ("institution", 2), ("trainer", 3)]:
        assert kinds.count(kind) == n, kind
    # Each library has something to show, approved through the review chain.
    from models.course import CourseResource
    from models.faculty import FacultyProfile
    from models.mentor import MentorProfile

    # the trainers' own profiles, and the closed class's three lecturers entered by the center
    pooled = db.session.scalars(select(FacultyProfile).where(FacultyProfile.user_id.is_(None)))
    assert sorted(p.name for p in pooled) == ["唐磊", "宋佳", "韩雪"]
    profiles = db.session.scalars(
        select(FacultyProfile).where(FacultyProfile.user_id.isnot(None))
    ).all()
    assert sorted(p.user.full_name for p in profiles) == sorted(
        u.full_name for u in users if u.role_kind == "trainer"
    )
    assert all(p.status == "approved" for p in profiles)
    # the approved entries, and one of each under review (issue 15 point 9)
    mentors = db.session.scalars(select(MentorProfile).order_by(MentorProfile.id)).all()
    assert [m.status for m in mentors] == ["approved", "pending"]
    resources = db.session.scalars(select(CourseResource).order_by(CourseResource.id)).all()
    assert [r.status for r in resources] == ["approved", "pending"]
    assert resources[0].published_at is not None
    for kind in ("center", *ADMIN_KINDS):
        assert kinds.count(kind) == 1, kind
    # the running class's six trainees (陈学员 among them), the finished and closed classes' four
    assert kinds.count("trainee") == 14
    from app.services import classroom, grades
    from models.application import ClassApplication, TrainingClass

    classes = db.session.scalars(select(TrainingClass)).all()
    # the finished class, the closed one, the running one and the one waiting for its trainers
    closed, finished = sorted(
        (c for c in classes if c.end_date < clock.now().date()), key=lambda c: c.end_date
    )
    assert len(classes) == 4
    # issue 16 point 9: the closed class, its three qualified lecturers certified and pooled
    from app.services import certificates

    assert closed.closed_at is not None and finished.closed_at is None
    lines = certificates.batch_of(closed).lines
    assert len(lines) == 3 and all(line.document_id and line.profile_id for line in lines)
    assert certificates.batch_of(finished).status == "draft"  # the province's to-do, not late
    sheet = grades.sheet_of(finished)
    assert (sheet.status, sheet.in_force_revision) == ("approved", 1)
    assert len(sheet.entries) == 4 and all(e["total"] is not None for e in sheet.entries.values())
    # issue 16 point 9: its activity report approved, the institution's feedback on each trainer
    from app.services import activity_reports, trainer_feedback

    report = activity_reports.report_of(finished)
    assert (report.status, report.in_force_revision) == ("approved", 1) and report.overview
    given = [
        trainer_feedback.feedback_of(finished, t.user_id) for t in classroom.trainers_of(finished)
    ]
    assert len(given) == 2 and all(f.submitted_at and f.score for f in given)
    from app.services import review

    # Exactly one item is late: the application waiting at 东城 for eight days.
    late = db.session.scalars(review.overdue_tasks(clock.now())).all()
    assert [(t.record_type, t.level) for t in late] == [("application", "city")]
    assert db.session.get(ClassApplication, late[0].record_id).org.parent.code == "110101"
    # Each business account sits in the part of the tree its role belongs to.
    for u in users:
        assert u.org.kind in accounts.ROLE_ORG_KINDS[u.role_kind]
    assert not any(u.must_change_password for u in users)


def test_issue17_point8_demo_trainers_save_their_own_profiles(empty_db, runner):
    """The demo trainers' ID numbers pass the one ID rule: each saves its own profile."""
    from app.services import faculty, review
    from app.services.tx import transaction

    _load_demo(runner)
    trainers = db.session.scalars(select(MalanUser)).all()
    trainers = [u for u in trainers if u.role_kind == "trainer"]
    assert len(trainers) == 3
    for trainer in trainers:
        profile = faculty.own_profile(trainer)
        review.start_correction(profile, trainer, clock.now())
        with transaction():
            profile.employer = f"{profile.employer}（改）"
            faculty.save_profile(profile, trainer, clock.now())
        db.session.expire_all()
        assert review.is_correction(faculty.own_profile(trainer))


def test_issue12_point7_demo_trainers_are_available_and_a_class_is_ready_for_dispatch(
    empty_db, runner
):
    """`make run`'s demo: every demo trainer has marked the coming weeks; 孙机构's class is
    approved (by its city, province and the center), in the future, and its institution's
    recommendation lists the demo trainers who teach SYB."""
    from app.services import dispatch
    from app.services.demo import DISPATCH_CLASS_DAYS
    from app.services.recommendation import recommend
    from app.services.tx import transaction
    from models.application import ClassApplication, TrainingClass
    from models.dispatch import Availability
    from models.faculty import FacultyProfile

    _load_demo(runner)
    today = clock.now().date()
    users = {u.full_name: u for u in db.session.scalars(select(MalanUser))}
    # the demo trainers (the closed class's pooled lecturers have marked no calendar)
    profiles = db.session.scalars(
        select(FacultyProfile).where(FacultyProfile.user_id.isnot(None))
    ).all()
    for profile in profiles:
        days = db.session.scalars(
            select(Availability.day).where(Availability.profile_id == profile.id)
        ).all()
        assert len(days) >= 30 and min(days) > today, profile.name
        assert all(d.weekday() < 5 for d in days)
    # The class ready for dispatch (the demo's other class runs today: issue 13).
    [klass] = [k for k in db.session.scalars(select(TrainingClass)).all() if k.start_date > today]
    application = db.session.get(ClassApplication, klass.application_id)
    assert application.status == "approved" and application.submitted_by_id == users["孙机构"].id
    assert klass.org_id == users["孙机构"].org_id and klass.course_type == "SYB"
    assert klass.start_date > today and klass.start_date.weekday() == 0
    assert (klass.end_date - klass.start_date).days + 1 == DISPATCH_CLASS_DAYS
    with transaction():
        d = dispatch.open_dispatch(klass, users["孙机构"], clock.now())
    ranked = {r.profile.name for r in recommend(d, today).ranked}
    syb = {p.name for p in profiles if "SYB" in p.course_types.split()}
    expiring = {p.name for p in profiles if p.certificate_expiry < klass.end_date}
    assert syb - expiring and ranked == syb - expiring


def test_point10_rerun_is_a_no_op(empty_db, runner):
    _load_demo(runner)
    counts = (_count(Org), _count(MalanUser))
    _load_demo(runner)
    assert (_count(Org), _count(MalanUser)) == counts


def test_point10_refused_when_real_accounts_exist(empty_db, runner, app):
    from security.sync import sync_roles

    runner.invoke(args=["malan", "load-tree"])
    sync_roles(app.appbuilder.sm)
    center = db.session.scalar(select(Org).where(Org.code == CENTER_CODE))
    accounts.create_account(
        name="真实用户", role_kind="center", org=center, now=clock.now(), password="Real@pass2026"
    )
    db.session.commit()
    orgs = _count(Org)

    result = runner.invoke(args=["malan", "load-demo"])
    assert result.exit_code != 0
    assert _count(MalanUser) == 1 and _count(MalanUser, MalanUser.is_demo.is_(True)) == 0
    assert _count(Org) == orgs


def test_point10_demo_accounts_json_and_each_can_log_in(empty_db, runner, app):
    _load_demo(runner)
    result = runner.invoke(args=["malan", "demo-accounts"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert len(listed) == 14  # one per role and org of the table; classmates are not listed
    for entry in listed:
        assert {"username", "password", "role", "org_code", "org_name"} <= set(entry)
        assert entry["password"] == DEMO_PASSWORD
    assert {e["role"] for e in listed} == set(ROLE_KINDS)
    city = next(e for e in listed if e["role"] == "city")
    assert (
        db.session.scalar(select(Org.name).where(Org.code == city["org_code"])) == city["org_name"]
    )

    for role in ("city", "auditor", "trainee"):
        entry = next(e for e in listed if e["role"] == role)
        with app.test_client() as client:
            token = csrf_token(client)
            response = client.post(
                "/login/",
                data={
                    "username": entry["username"],
                    "password": entry["password"],
                    "csrf_token": token,
                },
            )
            assert response.status_code == 302, role
            home = client.get("/")
            assert home.status_code == 200, f"{role}: demo accounts skip the forced change"
            assert entry["org_name"] in home.get_data(as_text=True)


def test_issue13_point7_demo_class_runs_today_with_forms_due(empty_db, runner, app):
    """The demo's class runs today: its trainers, six trainees with accounts, the past days'
    daily forms answered, today's daily form submitted by two, drafted by one; the listed demo
    trainee 陈学员 signs in and sees exactly today's forms as due."""
    from models.application import TrainingClass
    from models.classroom import ClassTrainee, ClassTrainer, EvaluationSubmission

    _load_demo(runner)
    today = clock.now().date()
    [klass] = [
        k
        for k in db.session.scalars(select(TrainingClass)).all()
        if k.start_date <= today <= k.end_date
    ]
    assert klass.start_date < today < klass.end_date
    assert _count(ClassTrainer, ClassTrainer.class_id == klass.id) == 2
    assert _count(ClassTrainee, ClassTrainee.class_id == klass.id) == 6
    today_forms = db.session.execute(
        select(EvaluationSubmission.status).where(
            EvaluationSubmission.class_id == klass.id, EvaluationSubmission.day == today
        )
    ).scalars()
    assert sorted(today_forms) == ["draft", "submitted", "submitted"]
    assert _count(EvaluationSubmission, EvaluationSubmission.day < today) >= 5

    listed = json.loads(runner.invoke(args=["malan", "demo-accounts"]).output)
    [trainee] = [e for e in listed if e["role"] == "trainee"]
    assert trainee["name"] == "陈学员"
    with app.test_client() as client:
        response = client.post(
            "/login/",
            data={
                "username": trainee["username"],
                "password": trainee["password"],
                "csrf_token": csrf_token(client),
            },
        )
        assert response.status_code == 302
        home = client.get("/").get_data(as_text=True)
        page = client.get("/evaluation/").get_data(as_text=True)
    for html in (home, page):
        assert "每日意见反馈表" in html and "期中评估表" in html
        assert f"/evaluation/{klass.id}/daily/{today.isoformat()}" in html


def test_issue15_point9_every_role_finds_work_and_history(empty_db, runner):
    """`make run`'s demo is alive: plans in both rounds, applications at each step, notices with
    read and unread receipts, messages and library entries under review — each business role
    has something to do or to look back on."""
    from app.services import messages, notices, review
    from app.services.todo import todo_items
    from models.application import ClassApplication
    from models.audit import AuditLog
    from models.dispatch import Availability
    from models.faculty import FacultyProfile
    from models.message import Message
    from models.notice import NoticeRead
    from models.plan import PlanRound, TrainingPlan

    _load_demo(runner)
    now = clock.now()
    users = db.session.scalars(select(MalanUser).order_by(MalanUser.id)).all()

    def named(name):
        return next(u for u in users if u.full_name == name)

    def todo(name):
        return {
            (t.record_type, t.level)
            for t in db.session.scalars(review.todo_tasks(named(name))).all()
        }

    # Plans: the earlier round approved all the way up, the open one with a submitted and a
    # returned plan.
    rounds = db.session.scalars(select(PlanRound).order_by(PlanRound.year, PlanRound.month)).all()
    assert len(rounds) == 2
    by_round = {
        r.id: sorted(
            (p.org.code, p.status)
            for p in db.session.scalars(select(TrainingPlan).where(TrainingPlan.round_id == r.id))
        )
        for r in rounds
    }
    assert by_round[rounds[0].id] == [("110101", "approved"), ("440100", "approved")]
    assert by_round[rounds[1].id] == [("110101", "returned"), ("440100", "pending")]
    # Applications: draft, at the city, at the province, at the center, returned, approved.
    steps = set()
    for app in db.session.scalars(select(ClassApplication)):
        task = review.open_task(app)
        steps.add(
            (app.status, task.level if task is not None and app.status == "pending" else None)
        )
    assert {
        ("draft", None),
        ("pending", "city"),
        ("pending", "province"),
        ("pending", "center"),
        ("returned", None),
        ("approved", None),
    } <= steps

    # center: an application at its step; the approved plans to sum up
    assert ("application", "center") in todo("张中心")
    # province: 广州's plan and application to review
    assert {("plan", "province"), ("application", "province")} <= todo("王广东")
    # city: 东城's returned plan to resubmit and the (overdue) application to review
    assert {("plan", "city"), ("application", "city")} <= todo("赵东城")
    assert ("mentor", "province") in todo("李北京")
    assert ("application", "city") in todo("钱广州")  # 周机构's, on time
    # institution: its applications, a draft and a returned one for 周机构
    for name in ("孙机构", "周机构"):
        assert _count(ClassApplication, ClassApplication.org_id == named(name).org_id) >= 3
    assert ("application", "institution") in todo("周机构")
    assert todo_items(named("周机构")) and todo_items(named("赵东城"))
    # trainer: its calendar marked
    for trainer in (u for u in users if u.role_kind == "trainer"):
        profile = db.session.scalar(
            select(FacultyProfile).where(FacultyProfile.user_id == trainer.id)
        )
        assert _count(Availability, Availability.profile_id == profile.id) > 0
    # auditor: audit entries of the demo's acts
    assert _count(AuditLog) > 10

    # Notices with read and unread receipts; messages between accounts.
    assert _count(NoticeRead) >= 3
    assert notices.unread_count(named("李北京"), now) == 0
    assert notices.unread_count(named("孙机构"), now) >= 1
    assert notices.unread_count(named("周机构"), now) >= 2
    assert _count(Message) >= 3
    assert messages.unread_count(named("王广东")) == 1
    assert messages.unread_count(named("孙机构")) == 1  # 东城's answer
    assert messages.unread_count(named("赵东城")) == 0
