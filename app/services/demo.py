"""Demo data for `make run`: the tree, two institutions, three trainers, one account per role,
a little content in each library (`demo_libraries`), the dispatch's start: the trainers'
calendars and one approved class ready for dispatch (`load_dispatch_demo`), a class running
today with its trainers, trainees and evaluation forms (`load_running_class`), a class that
ended last week with its approved grade sheet (`load_finished_class`), and a closed class whose
qualified lecturers have their certificates and are in the faculty pool (`load_closed_class`)."""

from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.services import accounts, tree
from models.application import TrainingClass
from models.org import INSTITUTION, Org
from models.user import (
    AUDITOR,
    CENTER,
    CITY,
    PROVINCE,
    SECADMIN,
    SYSADMIN,
    TRAINEE,
    TRAINER,
    MalanUser,
)
from models.user import (
    INSTITUTION as INSTITUTION_ROLE,
)

DEMO_PASSWORD = "Malan@demo2026"

# (role, org code, name); institutions are referred to by their city code + "/" + name.
DEMO_INSTITUTIONS = [
    ("110101", "北京东城创业培训学校", "91110101MA01A2B3CA"),
    ("440100", "广州市创业培训中心", None),
]
DEMO_ACCOUNTS = [
    (CENTER, "000000", "张中心"),
    (PROVINCE, "110000", "李北京"),
    (PROVINCE, "440000", "王广东"),
    (CITY, "110101", "赵东城"),
    (CITY, "440100", "钱广州"),
    (INSTITUTION_ROLE, "inst:110101", "孙机构"),
    (INSTITUTION_ROLE, "inst:440100", "周机构"),
    (TRAINER, "110101", "吴讲师"),
    (TRAINER, "440100", "郑讲师"),
    (TRAINER, "440100", "冯讲师"),
    (TRAINEE, "inst:110101", "陈学员"),
    (SYSADMIN, "000000", "系统管理员"),
    (SECADMIN, "000000", "安全管理员"),
    (AUDITOR, "000000", "审计管理员"),
]


class DemoRefused(RuntimeError):
    pass


def load_demo(now: datetime) -> list[MalanUser]:
    """Load the demo once. Refuses a database that holds non-demo users; does nothing when the
    demo is already there."""
    if db.session.scalar(select(MalanUser.id).where(MalanUser.is_demo.is_(False)).limit(1)):
        raise DemoRefused(_("The database holds real accounts: demo data is not loaded."))
    if db.session.scalar(select(MalanUser.id).where(MalanUser.is_demo.is_(True)).limit(1)):
        return demo_users()
    tree.load_tree()
    by_code = {o.code: o for o in db.session.scalars(select(Org))}
    for city_code, name, credit in DEMO_INSTITUTIONS:
        city = by_code[city_code]
        inst = Org(
            kind=INSTITUTION,
            name=name,
            credit_code=credit,
            contact_name="联系人",
            contact_phone="010-12345678",
            address=city.name,
        )
        inst.parent = city
        inst.code = tree.next_institution_code(city)
        db.session.add(inst)
        db.session.flush()
        by_code[f"inst:{city_code}"] = inst
    for kind, code, name in DEMO_ACCOUNTS:
        if kind == TRAINEE:  # trainees get their accounts from their class's import
            continue
        accounts.create_account(
            name=name,
            role_kind=kind,
            org=by_code[code],
            now=now,
            password=DEMO_PASSWORD,
            is_demo=True,
        )
        db.session.flush()
    db.session.commit()
    from app.services import demo_libraries  # the libraries' services import much of the app

    demo_libraries.load(demo_users(), now)
    load_dispatch_demo(demo_users(), now)
    load_running_class(demo_users(), now)
    db.session.commit()
    load_finished_class(demo_users(), now)
    load_closed_class(demo_users(), now)
    from app.services import demo_workflow  # plans, applications, notices, messages (issue 15)

    demo_workflow.load_workflow_demo(demo_users(), now)
    return demo_users()


DISPATCH_MARKED_WEEKS = 8  # each demo trainer marks its weekdays for the next eight weeks
DISPATCH_CLASS_AFTER_DAYS = 21  # the class starts on the first Monday three weeks away or more…
DISPATCH_CLASS_DAYS = 3  # …and lasts Monday to Wednesday: inside every trainer's calendar


def dispatch_class_start(today: date) -> date:
    first = today + timedelta(days=DISPATCH_CLASS_AFTER_DAYS)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def load_dispatch_demo(users: list[MalanUser], now: datetime):
    """派遣's demo (Annex 1 rows 8–9), through the services: every demo trainer marks its
    weekdays of the coming weeks; 孙机构 (北京东城) applies for an SYB class, approved by 东城,
    北京 and the center, so the institution can enter criteria and see the recommendation.
    Returns the class."""
    from app.services import availability, review
    from app.services.applications import check_dates
    from models.application import ClassApplication
    from models.faculty import FacultyProfile

    by_kind: dict[str, list[MalanUser]] = {}
    for user in users:
        by_kind.setdefault(user.role_kind, []).append(user)
    today = now.date()
    days = availability.days_between(
        today + timedelta(days=1),
        today + timedelta(weeks=DISPATCH_MARKED_WEEKS),
        weekdays_only=True,
    )
    for trainer in by_kind.get(TRAINER, []):
        profile = db.session.scalar(
            select(FacultyProfile).where(FacultyProfile.user_id == trainer.id)
        )
        if profile is not None:
            availability.set_days(profile, trainer, days, True, now)

    institution = by_kind[INSTITUTION_ROLE][0]  # 孙机构, 北京东城
    city = next(u for u in by_kind[CITY] if u.org_id == institution.org.parent_id)
    province = next(u for u in by_kind[PROVINCE] if u.org_id == city.org.parent_id)
    start = dispatch_class_start(today)
    application = ClassApplication(
        org_id=institution.org_id,
        course_type="SYB",
        start_date=start,
        end_date=start + timedelta(days=DISPATCH_CLASS_DAYS - 1),
        venue="北京市东城区创业大厦3楼",
        expected_trainees=30,
        contact_name=institution.full_name,
        contact_phone="010-12345678",
        trainer_criteria="具备SYB讲师资格，有授课经验",
    )
    check_dates(application, today)
    db.session.add(application)
    db.session.flush()
    review.submit(application, institution, now)
    review.decide(
        application, city, review.APPROVE, now, "同意开班（计划外）", params={"choice": "extra"}
    )
    review.decide(application, province, review.APPROVE, now, "同意")
    review.decide(application, by_kind[CENTER][0], review.APPROVE, now, "同意开班")
    db.session.commit()
    return application.training_class


# The finished class's trainees: name, gender, days attended, (trial score of the lead, of the
# second trainer), written-test score — one of them short of the attendance, one under the line.
FINISHED_TRAINEES = [
    ("林晓", "F", 5, (88, 84), 90),
    ("黄海", "M", 5, (76, 80), 72),
    ("何静", "F", 3, (85, 85), 80),
    ("罗强", "M", 5, (60, 56), 48),
]


# The closed class's trainees (same columns): three pass, one is short of the attendance.
CLOSED_TRAINEES = [
    ("宋佳", "F", 5, (86, 88), 85),
    ("唐磊", "M", 5, (80, 78), 76),
    ("韩雪", "F", 5, (90, 92), 88),
    ("曹阳", "M", 2, (82, 80), 79),
]


def load_finished_class(
    users: list[MalanUser],
    now: datetime,
    ended_days_ago: int = 8,
    trainees=FINISHED_TRAINEES,
    person_base: int = 300,
    mobile_prefix: str = "1361000",
):
    """A class of the Beijing demo institution that ended ``ended_days_ago`` days ago (last
    week): two trainers, four trainees, their trial and written scores and the grade sheet the
    lead trainer submitted and the center approved — each step through its service, at the
    moment it would have happened. The approval opens the province's certificate entry."""
    from datetime import time, timedelta

    from app.services import applications, classroom, fields, grades
    from app.services.demo_libraries import _id_number
    from models.application import ClassApplication
    from security import passwords

    grades.seed_defaults()  # migration 0014 inserts it; a schema made otherwise lacks it
    by_kind: dict[str, list[MalanUser]] = {}
    for user in users:
        by_kind.setdefault(user.role_kind, []).append(user)
    center = by_kind[CENTER][0]
    institution = next(u for u in by_kind[INSTITUTION_ROLE] if u.org.code.startswith("110101"))
    lead = next(u for u in by_kind[TRAINER] if u.org.code == "110101")
    second = next(u for u in by_kind[TRAINER] if u is not lead)
    end = now.date() - timedelta(days=ended_days_ago)
    start = end - timedelta(days=4)
    before = datetime.combine(start - timedelta(days=10), time(9))
    application = ClassApplication(
        org_id=institution.org_id,
        course_type="SYB",
        start_date=start,
        end_date=end,
        venue="东城区创业孵化基地三楼教室",
        expected_trainees=len(trainees),
        contact_name=institution.full_name,
        contact_phone="010-12345678",
        status="approved",
    )
    db.session.add(application)
    db.session.flush()
    klass = applications.create_class(application, before)
    application.class_id = klass.id
    for trainer, is_lead in ((lead, True), (second, False)):
        row = classroom.assign_trainer(klass, center, before, user=trainer, is_lead=is_lead)
        db.session.flush()
        classroom.submit_needs(  # its to-do item closed, not left overdue
            row,
            trainer,
            {
                "background": "学员均为区县就业服务机构的创业指导人员，多数有两年以上工作经历。",
                "needs": "希望加强案例教学与试讲点评。",
                "adjustments": "增加一次试讲练习与同伴互评。",
            },
            before,
        )
    spec = classroom.trainee_fields()
    rows = [
        fields.validate(
            spec,
            {
                "name": name,
                "gender": gender,
                "id_number": _id_number("110101", datetime(1988, 3, 1 + n).date(), person_base + n),
                "mobile": f"{mobile_prefix}{n:04d}",
                "employer": "东城区就业服务中心",
                "position": "创业指导员",
                "city": "东城区",
                "years": str(2 + n),
                "certificates": "",
            },
        )
        for n, (name, gender, *_rest) in enumerate(trainees, 1)
    ]
    enrolled = classroom.enrol(klass, rows, institution, before, source="demo")
    for trainee, _password in enrolled:  # demo accounts, with the demo password
        trainee.user.is_demo = True
        passwords.set_password(trainee.user, DEMO_PASSWORD, before, must_change=False)
    db.session.commit()
    last_day = datetime.combine(end, time(16))
    criteria = grades.criteria(grades.scheme_for(klass))
    written = {}
    for (trainee, _pw), (_name, _g, _days, trials, score) in zip(enrolled, trainees, strict=True):
        for trainer, trial in zip((lead, second), trials, strict=True):
            values = {f"c_{c['key']}": str(trial) for c in criteria}
            grades.score_trial(klass, trainee.id, trainer, values, last_day)
        written[f"written_{trainee.id}"] = str(score)
    grades.enter_written(klass, lead, written, last_day)
    grades.mark_attendance(
        klass,
        institution,
        {
            f"attendance_{t.id}": str(days)
            for (t, _pw), (_n, _g, days, *_r) in zip(enrolled, trainees, strict=True)
        },
        last_day,
    )
    grades.submit(klass, lead, last_day + timedelta(hours=1))
    grades.decide(
        grades.sheet_of(klass),
        center,
        "approve",
        last_day + timedelta(days=1),
        opinion="同意",
    )
    db.session.commit()
    _after_class(klass, center, institution, lead, last_day)
    return klass


def _after_class(klass, center, institution, lead, last_day: datetime) -> None:
    """Rows 20–21 of the finished class: the lead trainer's activity report, approved by the
    center, and the institution's feedback on each trainer — through their services."""
    from datetime import timedelta

    from app.services import activity_reports, classroom, trainer_feedback

    trainer_feedback.seed_defaults(datetime(2020, 1, 1))  # migration 0016 inserts it
    after = last_day + timedelta(days=1)
    typed = {
        "overview": (
            f"本期讲师培训班由{klass.org.name}承办，{len(classroom.trainees_of(klass))}名学员全程参训，"
            "两名培训师授课，按计划完成全部教学内容与试讲考核。"
        ),
        "problems": "部分学员试讲时间控制不够熟练。",
        "suggestions": "建议下期增加一次试讲演练，并提前发放案例材料。",
    }
    topics = [
        "创业意识与创业计划",
        "市场评估与营销",
        "企业组织与法律责任",
        "财务预测与风险",
        "试讲与点评",
    ]
    for n, day in enumerate(activity_reports.class_dates(klass)):
        typed[f"day_{day.isoformat()}"] = topics[n % len(topics)]
    activity_reports.save(klass, lead, typed, after)
    activity_reports.submit(klass, lead, after)
    activity_reports.decide(
        activity_reports.report_of(klass), center, "approve", after + timedelta(days=1), "同意"
    )
    answers = {"q1": "5", "q2": "5", "q3": "4", "q4": "5", "q5": "5", "q6": "案例丰富，互动充分。"}
    for row in classroom.trainers_of(klass):
        record = trainer_feedback.feedback_of(klass, row.user_id)
        if record is not None:
            trainer_feedback.submit(record, institution, answers, after)
    db.session.commit()


def load_closed_class(users: list[MalanUser], now: datetime):
    """A class that ended six weeks ago and is closed (已结班, rows 22–23): its province entered
    the certificates of the three qualified lecturers (numbered by the rule) and submitted them,
    the center entered them into the faculty pool — each certificate issued with its PDF and
    verification code. Without a usable Chinese font the certificates cannot be issued: the
    class then stays waiting for the center's pool entry."""
    from app.services import certificates, documents, pool_entry
    from app.services.errors import Conflict

    klass = load_finished_class(
        users,
        now,
        ended_days_ago=42,
        trainees=CLOSED_TRAINEES,
        person_base=400,
        mobile_prefix="1362000",
    )
    center = next(u for u in users if u.role_kind == CENTER)
    province = next(u for u in users if u.role_kind == PROVINCE and u.org.code == "110000")
    batch = certificates.batch_of(klass)
    entered = datetime.combine(klass.end_date + timedelta(days=10), time(10))
    certificates.submit(batch, province, entered)
    db.session.commit()
    try:
        documents.font()
    except Conflict:
        return klass
    pool_entry.enter_pool(batch, center, entered + timedelta(days=3))
    db.session.commit()
    return klass


def demo_users() -> list[MalanUser]:
    return list(
        db.session.scalars(
            select(MalanUser).where(MalanUser.is_demo.is_(True)).order_by(MalanUser.id)
        )
    )


def demo_accounts_json() -> list[dict]:
    """The accounts `make run` prints: one per line of DEMO_ACCOUNTS (a running class's other
    trainees are demo accounts too, with the same password, but not listed)."""
    listed = {(kind, name) for kind, _code, name in DEMO_ACCOUNTS}
    return [
        {
            "username": u.username,
            "password": DEMO_PASSWORD,
            "role": u.role_kind,
            "org_code": u.org.code if u.org else None,
            "org_name": u.org.name if u.org else None,
            "name": u.full_name,
        }
        for u in demo_users()
        if (u.role_kind, u.full_name) in listed
    ]


# ---------------------------------------------------------------- a class running today (issue 13)

# The demo trainee (陈学员, listed by `make run`) and classmates (accounts too, not listed).
RUNNING_CLASS_TRAINEES = [
    ("陈学员", "男", "13600000001"),
    ("林晓燕", "女", "13600000002"),
    ("黄志强", "男", "13600000003"),
    ("何丽娟", "女", "13600000004"),
    ("郭建华", "男", "13600000005"),
    ("罗静", "女", "13600000006"),
]
# Today's daily form: classmates 1 and 2 submitted it, 3 saved a draft, 4 and 陈学员 have not.
TODAY_SUBMITTED, TODAY_DRAFT = (1, 2), (3,)


def _demo_answers(form, seed: int) -> dict:
    """Plausible answers to every item of ``form`` (as the form posts them)."""
    from models.classroom import MULTIPLE, SCALE, SINGLE, TEXT

    remarks = ("案例讲解很实用。", "希望增加小组练习时间。", "")
    raw = {}
    for n, (name, question, _trainer, _number) in enumerate(form.items()):
        if question["type"] == SCALE:
            raw[name] = [str(4 + (seed + n) % 2)]
        elif question["type"] in (SINGLE, MULTIPLE):
            raw[name] = [str(1 + (seed + n) % len(question["options"]))]
        elif question["type"] == TEXT and remarks[(seed + n) % 3]:
            raw[name] = [remarks[(seed + n) % 3]]
    return raw


def load_running_class(users: list[MalanUser], now: datetime) -> TrainingClass:
    """A class of 北京东城创业培训学校 running today (from two days ago to two days ahead), through
    the services as it happened: the class opened on its approval, the center assigned 郑讲师
    (lead) and 冯讲师, the institution imported six trainees before the start (陈学员 among
    them), most answered the past days' daily forms; today the daily and the mid-term forms
    are due: two classmates have submitted the daily one, one saved a draft, 陈学员 and another
    have not (the trainee's home page shows what is due)."""
    from app.services import applications, classroom, evaluations
    from app.services import fields as field_rules
    from models.application import ClassApplication
    from models.classroom import DAILY
    from security import passwords

    by_role: dict[str, list[MalanUser]] = {}
    for user in users:
        by_role.setdefault(user.role_kind, []).append(user)
    center = by_role[CENTER][0]
    institution = next(u for u in by_role[INSTITUTION_ROLE] if u.org.code.startswith("110101"))
    # 郑讲师 and 冯讲师 (广州): 吴讲师 stays free for the classes a demo user creates today.
    trainers = [by_role[TRAINER][1], by_role[TRAINER][2]]
    today = now.date()
    start, end = today - timedelta(days=2), today + timedelta(days=2)
    before = datetime.combine(start, time(9)) - timedelta(days=20)
    evaluations.seed_defaults(before)
    application = ClassApplication(  # approved long ago: the review history is not the point
        org_id=institution.org_id,
        course_type="SYB",
        start_date=start,
        end_date=end,
        venue="北京市东城区创业大厦3楼",
        expected_trainees=len(RUNNING_CLASS_TRAINEES),
        contact_name=institution.full_name,
        contact_phone="010-12345678",
        trainer_criteria="具备SYB讲师资格",
        status="approved",
    )
    db.session.add(application)
    db.session.flush()
    klass = applications.create_class(application, before)
    application.class_id = klass.id
    for n, trainer in enumerate(trainers):
        row = classroom.assign_trainer(
            klass, center, before + timedelta(days=5), user=trainer, is_lead=n == 0
        )
        db.session.flush()
        classroom.submit_needs(  # before the start, as row 16 asks: no overdue item in the demo
            row,
            trainer,
            {
                "background": "学员来自东城区各街道就业服务站，多数从事创业指导一至三年。",
                "needs": "希望多讲创业计划书的写作与点评。",
                "adjustments": "第二天下午增加一次分组试讲。",
            },
            before + timedelta(days=10),
        )
    spec = classroom.trainee_fields()
    rows = [
        field_rules.validate(
            spec,
            {
                "name": name,
                "gender": gender,
                "id_number": _demo_id("110101", date(1985 + n, 3, 10 + n), 200 + n * 2),
                "mobile": mobile,
                "employer": "东城区就业服务中心" if n % 2 else "东城区创业指导站",
                "position": "讲师",
                "city": "东城区",
                "years": str(2 + n),
                "certificates": "SYB讲师证" if n % 2 == 0 else "",
            },
        )
        for n, (name, gender, mobile) in enumerate(RUNNING_CLASS_TRAINEES)
    ]
    enrolled = classroom.enrol(
        klass, rows, institution, datetime.combine(start, time(10)) - timedelta(days=3), "demo"
    )
    people = []
    for trainee, _initial in enrolled:
        account = trainee.user
        account.is_demo = True  # the demo's own accounts; the password is the demo one
        passwords.set_password(account, DEMO_PASSWORD, now, must_change=False)
        people.append(account)
    db.session.commit()
    # The past days' daily forms (all but one classmate each evening), then today's.
    day = start
    while day < today:
        for n, person in enumerate(people[1:], start=1):
            if (n + day.day) % 5:
                _answer(klass, person, DAILY, day, datetime.combine(day, time(20)), n, True)
        day += timedelta(days=1)
    for n, person in enumerate(people):
        if n in TODAY_SUBMITTED or n in TODAY_DRAFT:
            _answer(klass, person, DAILY, today, now, n, n in TODAY_SUBMITTED)
    return klass


def _answer(klass, person, kind, day, at, seed, submit) -> None:
    from app.services import evaluations

    form = evaluations.open_form(person, klass.id, kind, day, at)
    evaluations.save(person, klass.id, kind, day, _demo_answers(form, seed), at, submit, form=form)


def _demo_id(region: str, born: date, seq: int) -> str:
    from app.services import fields as field_rules

    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + field_rules.id_check_digit(body)
