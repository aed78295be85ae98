"""The demo's workflow (issue 15 point 9): work and history for every role, each step through
its service at a plausible past moment.

- Plans: an earlier round whose two demo city plans went all the way up (the approved national
  plan), and an open round with 广州's plan waiting at 广东 and 东城's plan returned by 北京.
- Applications at each step: a draft (周机构), two at the city (孙机构's, submitted eight days
  ago: the demo's one overdue item; 周机构's, submitted yesterday), one at the province, one at the center, one returned (the
  approved one is `load_dispatch_demo`'s).
- Notices with read receipts (some read, some unread), messages between accounts, and library
  entries under review (a mentor at 北京, a course resource at 广东).
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from werkzeug.datastructures import FileStorage

from app.extensions import db
from models.user import CENTER, CITY, INSTITUTION, PROVINCE, TRAINER, MalanUser

PAST_ROUND_OPENED_DAYS = 100  # the earlier round opened a hundred days ago…
OPEN_ROUND_OPENED_DAYS = 10  # …the open one ten days ago
OVERDUE_SUBMITTED_DAYS = 8  # the application waiting at the city since eight days: overdue


def _ago(now: datetime, days: float = 0, hours: float = 0) -> datetime:
    return now - timedelta(days=days, hours=hours)


class _Cast:
    """The demo accounts by role, and the Beijing / Guangdong pairs."""

    def __init__(self, users: list[MalanUser]):
        by_kind: dict[str, list[MalanUser]] = {}
        for user in users:
            by_kind.setdefault(user.role_kind, []).append(user)
        self.center = by_kind[CENTER][0]
        self.trainers = by_kind.get(TRAINER, [])

        def pick(kind, code):
            return next(u for u in by_kind[kind] if u.org.code.startswith(code))

        self.bj_city, self.gz_city = pick(CITY, "110101"), pick(CITY, "440100")
        self.bj_inst = next(
            u for u in by_kind[INSTITUTION] if u.org.parent_id == self.bj_city.org_id
        )
        self.gz_inst = next(
            u for u in by_kind[INSTITUTION] if u.org.parent_id == self.gz_city.org_id
        )
        self.bj_prov = next(u for u in by_kind[PROVINCE] if u.org_id == self.bj_city.org.parent_id)
        self.gz_prov = next(u for u in by_kind[PROVINCE] if u.org_id == self.gz_city.org.parent_id)


def load_workflow_demo(users: list[MalanUser], now: datetime) -> None:
    cast = _Cast(users)
    load_plans(cast, now)
    load_applications(cast, now)
    load_notices(cast, now)
    load_messages(cast, now)
    load_library_reviews(cast, now)
    db.session.commit()


# ---------------------------------------------------------------- plans (Annex 1 rows 1–3)


def _plan(round_, city: MalanUser, start: date, classes: int, at: datetime, note: str):
    from app.services import plans
    from models.plan import TrainingPlan

    plan = TrainingPlan(
        round_id=round_.id,
        org_id=city.org_id,
        contact_name=city.full_name,
        contact_phone="010-12345678",
        note=note,
    )
    plans.check_new_plan(plan, city.org, db.session)
    plans.check_contact(plan)
    plan.lines_data = [
        {
            "course_type": "SYB",
            "classes": classes,
            "trainees_per_class": 30,
            "start_from": start.isoformat(),
            "start_to": (start + timedelta(days=60)).isoformat(),
            "venue_city_id": city.org_id,
            "contact_name": city.full_name,
            "contact_phone": "010-12345678",
        }
    ]
    db.session.add(plan)
    db.session.flush()
    from app.services import review

    review.submit(plan, city, at)
    return plan


def load_plans(cast: _Cast, now: datetime) -> None:
    """The earlier round (next year's June round, opened a hundred days ago): both demo cities'
    plans approved by their provinces and the center. The open round (the January round after
    it, opened ten days ago): 广州's plan submitted yesterday (at 广东), 东城's returned by 北京
    for a correction. (Next year's January round stays free: tests open it themselves.)"""
    from app.services import plans, review
    from models.plan import PlanRound

    year = now.year + 1
    opened = _ago(now, PAST_ROUND_OPENED_DAYS)
    # Its deadline is still ahead: every other city's "submit your plan" item stays on time.
    earlier = PlanRound(year=year, month=6, deadline=(now + timedelta(days=5)).date())
    earlier.notice = "请各地于截止日期前报送明年一月批次讲师培训计划。"
    plans.open_round(earlier, cast.center, opened)
    for n, (city, province) in enumerate(
        ((cast.bj_city, cast.bj_prov), (cast.gz_city, cast.gz_prov))
    ):
        at = opened + timedelta(days=5 + n)
        plan = _plan(earlier, city, now.date() + timedelta(days=30), 3 + n, at, "年度计划")
        review.decide(plan, province, review.APPROVE, at + timedelta(days=1), "同意上报")
        review.decide(plan, cast.center, review.APPROVE, at + timedelta(days=2), "同意")
    opened = _ago(now, OPEN_ROUND_OPENED_DAYS)
    open_round = PlanRound(year=year + 1, month=1, deadline=(now + timedelta(days=40)).date())
    open_round.notice = "请各地报送六月批次讲师培训计划。"
    plans.open_round(open_round, cast.center, opened)
    _plan(open_round, cast.gz_city, now.date() + timedelta(days=150), 2, _ago(now, 1), "六月批次")
    returned = _plan(
        open_round, cast.bj_city, now.date() + timedelta(days=150), 4, _ago(now, 3), "六月批次"
    )
    review.decide(
        returned, cast.bj_prov, review.RETURN, _ago(now, hours=20), "班次过多，请核减至两期后重报"
    )
    db.session.commit()


# ---------------------------------------------------------------- applications (rows 4–7)


def _application(inst: MalanUser, start: date, venue: str, today: date):
    from app.services.applications import check_dates
    from models.application import ClassApplication

    app = ClassApplication(
        org_id=inst.org_id,
        course_type="SYB",
        start_date=start,
        end_date=start + timedelta(days=4),
        venue=venue,
        expected_trainees=30,
        contact_name=inst.full_name,
        contact_phone="010-12345678",
        trainer_criteria="具备SYB讲师资格",
    )
    check_dates(app, today)
    db.session.add(app)
    db.session.flush()
    return app


def load_applications(cast: _Cast, now: datetime) -> None:
    from app.services import review

    extra = {"choice": "extra"}
    today = now.date()
    base = today + timedelta(days=45)
    # A draft, not yet submitted.
    _application(cast.gz_inst, base + timedelta(days=14), "广州市天河区创业园2楼", today)
    # At the city, submitted eight days ago: overdue.
    at = _ago(now, OVERDUE_SUBMITTED_DAYS)
    late = _application(cast.bj_inst, base, "北京市东城区创业大厦5楼", at.date())
    review.submit(late, cast.bj_inst, at)
    # At 广州, submitted yesterday: on time (广州 may link it to a line of its approved plan).
    at = _ago(now, 1)
    app = _application(cast.gz_inst, base + timedelta(days=5), "广州市天河区创业园3楼", at.date())
    review.submit(app, cast.gz_inst, at)
    # At the province.
    at = _ago(now, 2)
    app = _application(cast.gz_inst, base + timedelta(days=7), "广州市越秀区培训楼", at.date())
    review.submit(app, cast.gz_inst, at)
    review.decide(app, cast.gz_city, review.APPROVE, _ago(now, hours=20), "同意", params=extra)
    # At the center.
    at = _ago(now, 4)
    app = _application(cast.bj_inst, base + timedelta(days=21), "北京市东城区职教中心", at.date())
    review.submit(app, cast.bj_inst, at)
    review.decide(app, cast.bj_city, review.APPROVE, _ago(now, 3), "同意", params=extra)
    review.decide(app, cast.bj_prov, review.APPROVE, _ago(now, hours=20), "同意")
    # Returned to the institution by its city.
    at = _ago(now, 2)
    app = _application(cast.gz_inst, base + timedelta(days=28), "广州市海珠区会议中心", at.date())
    review.submit(app, cast.gz_inst, at)
    review.decide(
        app, cast.gz_city, review.RETURN, _ago(now, hours=18), "请补充教学场地的容纳人数证明"
    )
    db.session.commit()


# ---------------------------------------------------------------- notices and messages


def load_notices(cast: _Cast, now: datetime) -> None:
    """The center's notice to every authority, institution and trainer (read by 北京 and 东城,
    not yet by the others); 广东's notice to its own area (read by 广州, not by 周机构)."""
    from app.services import notices
    from models.notice import AUTHORITIES, INSTITUTIONS, NOTICE, TRAINERS

    national = notices.publish(
        notices.Draft(
            title="关于做好明年讲师培训计划报送工作的通知",
            body="<p>请各地按时报送讲师培训计划，并做好开班申请的准备工作。</p>",
            category=NOTICE,
            org_ids=[cast.center.org_id],
            groups=[AUTHORITIES, INSTITUTIONS, TRAINERS],
            pinned=True,
        ),
        cast.center,
        _ago(now, 5),
    )
    notices.mark_read(national, cast.bj_prov, _ago(now, 4))
    notices.mark_read(national, cast.bj_city, _ago(now, 3))
    provincial = notices.publish(
        notices.Draft(
            title="广东省创业培训开班工作安排",
            body="<p>请各市、各培训机构提前十四天提交开班申请。</p>",
            category=NOTICE,
            org_ids=[cast.gz_prov.org_id],
            groups=[AUTHORITIES, INSTITUTIONS],
        ),
        cast.gz_prov,
        _ago(now, 2),
    )
    notices.mark_read(provincial, cast.gz_city, _ago(now, 1))


def load_messages(cast: _Cast, now: datetime) -> None:
    """孙机构 asks 东城 about its application (answered); 广州 writes to 广东 (unread there)."""
    from app.services import messages

    asked = messages.start(
        cast.bj_inst,
        cast.bj_city.org,
        "开班申请进度咨询",
        "我校提交的开班申请已有一周，请问何时可以审核？",
        _ago(now, 2),
    )
    messages.reply(cast.bj_city, asked.conversation, "已收到，本周内完成审核。", _ago(now, 1))
    messages.start(
        cast.gz_city,
        cast.gz_prov.org,
        "六月批次计划已报送",
        "广州市六月批次讲师培训计划已提交，请审核。",
        _ago(now, 1),
    )


# ---------------------------------------------------------------- libraries under review


def load_library_reviews(cast: _Cast, now: datetime) -> None:
    """A mentor entered by 东城, waiting at 北京; a course resource uploaded by 广州, waiting for
    its review."""
    from app.services import courses, mentors, review
    from app.services.demo_libraries import _PDF
    from models.course import CourseResource
    from models.mentor import MentorProfile

    mentor = MentorProfile(
        name="陈导师",
        gender="M",
        employer="东城青年创业园",
        title="创业导师",
        industry="I",
        expertise="电子商务、门店运营",
        mobile="13911113333",
        email="chen@example.cn",
        biography="创办过两家连锁门店。",
        availability="每周三下午",
    )
    mentors.prepare_new(mentor, cast.bj_city, _ago(now, 2))
    db.session.add(mentor)
    db.session.flush()
    review.submit(mentor, cast.bj_city, _ago(now, 2))
    resource = CourseResource(
        title="SYB创业计划书写作案例集",
        course_type="SYB",
        category="handout",
        description="广州市讲师整理的创业计划书案例。",
        tags="SYB 案例",
        author=cast.gz_city.full_name,
    )
    upload = FileStorage(io.BytesIO(_PDF), filename="案例集.pdf", content_type="application/pdf")
    courses.prepare_new(resource, cast.gz_city, [upload], _ago(now, 1))
    review.submit(resource, cast.gz_city, _ago(now, 1))
    db.session.commit()
