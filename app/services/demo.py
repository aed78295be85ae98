"""Demo data for `make run`: the tree, two institutions, three trainers, one account per role,
and a little content in each library (`demo_libraries`)."""

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.services import accounts, tree
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
    return demo_users()


def demo_users() -> list[MalanUser]:
    return list(
        db.session.scalars(
            select(MalanUser).where(MalanUser.is_demo.is_(True)).order_by(MalanUser.id)
        )
    )


def demo_accounts_json() -> list[dict]:
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
    ]
