"""Demo content of the libraries for `make run`: what a new official sees on first sign-in.

Everything goes through the services the screens use (review chain, files), so the demo shows
real histories: the trainers' profiles entered by the center, a mentor entered by a city and
approved by its province, a course resource uploaded by the center with a small PDF.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.services import courses, faculty, fields, mentors, review, vocabulary
from models.course import CourseResource
from models.faculty import FacultyProfile
from models.mentor import MentorProfile
from models.user import CENTER, CITY, PROVINCE, TRAINER, MalanUser

# A one-page PDF (the smallest a browser renders), written here rather than shipped as a binary.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _id_number(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + fields.id_check_digit(body)


def load(users: list[MalanUser], now: datetime) -> None:
    vocabulary.seed_defaults()  # migration 0004 inserts them; a schema made otherwise lacks them
    by_kind: dict[str, list[MalanUser]] = {}
    for user in users:
        by_kind.setdefault(user.role_kind, []).append(user)
    center = by_kind[CENTER][0]
    for n, trainer in enumerate(by_kind.get(TRAINER, []), start=1):
        region = trainer.org.code[:6]
        born = date(1980 + n, n, 10 + n)
        profile = FacultyProfile(
            user_id=trainer.id,
            name=trainer.full_name,
            gender="M" if n % 2 else "F",
            birth_year=born.year,
            id_number=_id_number(region, born, 100 + n * 2 + (n % 2)),
            mobile=f"1390000{n:04d}",
            email=f"trainer{n}@example.cn",
            org_id=trainer.org_id,
            employer=f"{trainer.org.name}创业指导中心",
            level="trainer" if n == 1 else "lecturer",
            certificate_no=f"SYB-2020-{n:04d}",
            certificate_date=date(2020, 6, n),
            certificate_expiry=date(2027, 1, 15) if n == 1 else date(2029, 6, n),
            course_types="GYB SYB" if n != 2 else "SYB IYB",
            languages="普通话",
            years_experience=5 + n,
            biography="长期从事创业培训教学。",
        )
        faculty.enter_approved(profile, center, now)

    city, province = (
        by_kind[CITY][0],
        next(p for p in by_kind[PROVINCE] if p.org_id == by_kind[CITY][0].org.parent_id),
    )
    mentor = MentorProfile(
        name="刘导师",
        gender="F",
        employer="东城科创孵化器",
        title="创业导师",
        industry="I",
        expertise="互联网创业、融资路演",
        mobile="13911112222",
        email="liu@example.cn",
        biography="十年孵化器运营经验。",
        availability="每月第二周可安排辅导",
    )
    mentors.prepare_new(mentor, city, now)
    db.session.add(mentor)
    db.session.flush()
    review.submit(mentor, city, now)
    review.decide(mentor, province, review.APPROVE, now, opinion="同意入库")

    resource = CourseResource(
        title="SYB创办你的企业·示范课讲义",
        course_type="SYB",
        category="handout",
        description="示范课配套讲义，供讲师备课参考。",
        tags="SYB 示范课",
        author=center.full_name,
    )
    upload = FileStorage(
        io.BytesIO(_PDF), filename="SYB示范课讲义.pdf", content_type="application/pdf"
    )
    courses.prepare_new(resource, center, [upload], now)
    db.session.commit()
