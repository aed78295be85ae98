"""Issue 3, point 6 — the provincial and the national plan summary (全国讲师培训计划汇总) and their
xlsx exports, checked against totals computed by hand from the rows below; scoped, audited."""

import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.services import review
from models.application import ClassApplication
from models.audit import AuditLog
from models.org import CITY, Org
from models.plan import PlanLine, PlanRound, TrainingPlan
from models.user import MalanUser
from tests.factories import NOW, csrf_token


@pytest.fixture()
def login(login_en):
    """Signed in, in English (assertions on messages do not depend on the zh catalog)."""
    return login_en


# city key -> status, [(course type, classes, trainees per class)]
PLANS = {
    "C1": ("approved", [("SYB", 2, 30), ("GYB", 1, 25)]),  # 东城区, 北京
    "C1b": ("pending", [("IYB", 3, 20)]),  # 西城区, 北京: waiting for the province
    "C2": ("approved", [("SYB", 4, 35), ("EYB", 1, 40)]),  # 广州市, 广东
    "C2b": ("draft", [("SYB", 10, 10)]),  # 深圳市, 广东: a draft is in no summary
}
# Hand-computed from PLANS and the applications made in `plans` below.
P1 = {"plans": 2, "lines": 3, "classes": 6, "trainees": 145, "applied": 2, "approved": 1}
P2 = {"plans": 1, "lines": 2, "classes": 5, "trainees": 180, "applied": 1, "approved": 1}
TOTAL = {"plans": 3, "lines": 5, "classes": 11, "trainees": 325, "applied": 3, "approved": 2}
APPROVED = {"plans": 2, "lines": 4, "classes": 8, "trainees": 265, "applied": 3, "approved": 2}
UNDER_REVIEW = {"plans": 1, "lines": 1, "classes": 3, "trainees": 60, "applied": 0, "approved": 0}
KEYS = ["plans", "lines", "classes", "trainees", "applied", "approved"]


def _application(world, line, status, in_force=None):
    db.session.add(
        ClassApplication(
            org_id=world["org"]["I1" if line.org_id == world["org"]["C1"] else "I2"],
            course_type=line.course_type,
            start_date=date(2026, 4, 20),
            end_date=date(2026, 4, 25),
            venue="培训楼",
            expected_trainees=30,
            contact_name="周",
            contact_phone="1",
            plan_line_id=line.id,
            status=status,
            in_force_revision=in_force,
        )
    )


@pytest.fixture()
def plans(frozen_clock, world):
    shenzhen = Org(
        kind=CITY, code="440300", name="深圳市", parent=db.session.get(Org, world["org"]["P2"])
    )
    db.session.add(shenzhen)
    db.session.flush()
    world["org"]["C2b"] = shenzhen.id
    rnd = PlanRound(year=2026, month=6, deadline=date(2026, 3, 20), opened_at=NOW)
    old = PlanRound(year=2026, month=1, deadline=date(2026, 1, 20), opened_at=NOW)
    db.session.add_all([rnd, old])
    db.session.flush()
    made = {}
    for key, (status, lines) in PLANS.items():
        plan = TrainingPlan(
            round_id=rnd.id,
            org_id=world["org"][key],
            status=status,
            in_force_revision=1 if status == "approved" else None,
        )
        plan.lines = [
            PlanLine(
                org_id=plan.org_id,
                course_type=c,
                classes=n,
                trainees_per_class=t,
                start_from=date(2026, 4, 1),
                start_to=date(2026, 5, 31),
                venue_city_id=plan.org_id,
                contact_name="=HYPERLINK(1)",
            )
            for c, n, t in lines
        ]
        db.session.add(plan)
        made[key] = plan
    other = TrainingPlan(
        round_id=old.id, org_id=world["org"]["C1"], status="approved", in_force_revision=1
    )  # another round: not counted
    other.lines = [
        PlanLine(
            org_id=other.org_id,
            course_type="SYB",
            classes=7,
            trainees_per_class=7,
            start_from=date(2026, 2, 1),
            start_to=date(2026, 2, 2),
        )
    ]
    db.session.add(other)
    db.session.flush()
    syb_c1, eyb_c2 = made["C1"].lines[0], made["C2"].lines[1]
    _application(world, syb_c1, "approved", in_force=1)
    _application(world, syb_c1, "pending")
    _application(world, syb_c1, "rejected")  # holds no place
    _application(world, eyb_c2, "approved", in_force=1)
    db.session.commit()
    return {"round": rnd.id, **{k: p.id for k, p in made.items()}}


def table(html, table_id) -> list[list[str]]:
    body = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', html, re.S).group(1)
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        if cells:
            rows.append(cells)
    return rows


def numbers(cells) -> dict:
    return dict(zip(KEYS, (int(c) for c in cells[-6:]), strict=True))


def test_point6_national_summary_by_province_and_city(client, login, world, plans):
    login("center")
    html = client.get(f"/plansummary/national?round={plans['round']}").get_data(as_text=True)
    rows = table(html, "by-city")
    assert [r[:2] for r in rows] == [
        ["北京市", "东城区"],
        ["北京市", "西城区"],
        ["北京市", "Subtotal"],
        ["广东省", "广州市"],
        ["广东省", "Subtotal"],
        ["Total", ""],
    ]
    assert numbers(rows[0]) == {
        "plans": 1,
        "lines": 2,
        "classes": 3,
        "trainees": 85,
        "applied": 2,
        "approved": 1,
    }
    assert numbers(rows[2]) == P1 and numbers(rows[4]) == P2 and numbers(rows[5]) == TOTAL
    by_status = table(html, "by-status")
    assert [numbers(r) for r in by_status] == [APPROVED, UNDER_REVIEW, TOTAL]


def test_point6_provincial_summary_shows_only_the_province(client, login, world, plans):
    login("p1")
    html = client.get(f"/plansummary/province?round={plans['round']}").get_data(as_text=True)
    rows = table(html, "by-city")
    assert [r[0] for r in rows] == ["东城区", "西城区", "Total"]
    assert numbers(rows[-1]) == P1
    assert len(table(html, "lines")) == 3 and "广州市" not in html
    assert "submit-summary" in html  # the province can submit its summary from here
    # The center picks a province.
    login("center")
    html = client.get(
        f"/plansummary/province?round={plans['round']}&province={world['org']['P2']}"
    ).get_data(as_text=True)
    assert numbers(table(html, "by-city")[-1]) == P2 and "submit-summary" not in html


def test_point6_summary_scope(client, login, world, plans):
    login("p1")
    base = f"/plansummary/province?round={plans['round']}"
    assert client.get(f"{base}&province={world['org']['P2']}").status_code == 404
    assert (
        client.get(
            f"/plansummary/province.xlsx?round={plans['round']}&province={world['org']['P2']}"
        ).status_code
        == 404
    )
    assert client.get(f"/plansummary/national?round={plans['round']}").status_code == 403
    assert client.get(f"/plansummary/national.xlsx?round={plans['round']}").status_code == 403
    assert client.get("/plansummary/province?round=999999").status_code == 404
    for who in ("c1", "i1"):
        login(who)
        assert client.get(base).status_code in (302, 403)


def _sheet(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def _exports():
    db.session.rollback()
    return db.session.scalars(
        select(AuditLog).where(AuditLog.event == "export", AuditLog.object_type == "PlanSummary")
    ).all()


def test_point6_national_xlsx(client, login, world, plans):
    login("center")
    ws = _sheet(client.get(f"/plansummary/national.xlsx?round={plans['round']}"))
    assert ws.freeze_panes == "A3"  # title row, then the frozen header row
    values = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    assert [r[:2] for r in values] == [
        ["北京市", "东城区"],
        ["北京市", "西城区"],
        ["北京市", "Subtotal"],
        ["广东省", "广州市"],
        ["广东省", "Subtotal"],
        ["Total", None],
    ]
    assert dict(zip(KEYS, values[2][3:], strict=True)) == P1
    assert dict(zip(KEYS, values[4][3:], strict=True)) == P2
    assert dict(zip(KEYS, values[-1][3:], strict=True)) == TOTAL
    assert all(isinstance(v, (int, float)) for r in values for v in r[3:])  # numbers as numbers
    assert ws.column_dimensions["B"].width > 10
    (entry,) = _exports()
    assert entry.summary.startswith("5 rows") and entry.username == world["username"]["center"]


def test_point6_provincial_xlsx(client, login, world, plans):
    login("p1")
    ws = _sheet(client.get(f"/plansummary/province.xlsx?round={plans['round']}"))
    assert ws.freeze_panes == "A3"
    header = [c.value for c in ws[2]]
    assert len(header) == 13 and all(header)
    lines = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    assert [(r[0], r[2], r[3], r[5]) for r in lines[:-1]] == [
        ("东城区", "SYB", 2, 60),
        ("东城区", "GYB", 1, 25),
        ("西城区", "IYB", 3, 60),
    ]
    total = lines[-1]
    assert (total[3], total[5], total[11], total[12]) == (6, 145, 2, 1)
    assert lines[0][9] == "=HYPERLINK(1)" and ws.cell(3, 10).data_type == "s"  # text, not a formula
    (entry,) = _exports()
    assert entry.summary.startswith("3 rows")


def test_point6_submitting_the_provincial_summary_forwards_waiting_plans(
    client, login, world, plans
):
    """Row 2: the province's summary = its pending city plans approved and sent to the center."""
    plan = db.session.get(TrainingPlan, plans["C1b"])
    plan.status = "draft"
    db.session.commit()
    review.submit(plan, db.session.get(MalanUser, world["user"]["c1b"]), NOW)
    login("p1")
    token = csrf_token(client, "/password/change")
    client.post("/planview/submit_summary", data={"round_id": plans["round"], "csrf_token": token})
    client.post(  # confirmed (views.plans.PlanView.submit_summary lists the plans first)
        "/planview/submit_summary",
        data={
            "round_id": plans["round"],
            "confirmed": "1",
            "rowid": [str(plans["C1b"])],
            "csrf_token": token,
        },
    )
    db.session.rollback()
    assert db.session.get(TrainingPlan, plans["C1b"]).step == 1
    html = client.get(f"/plansummary/province?round={plans['round']}").get_data(as_text=True)
    assert numbers(table(html, "by-city")[-1]) == P1  # still under review, now at the center


def test_point6_summary_pages_before_any_plan(client, login, world, frozen_clock):
    login("center")
    assert client.get("/plansummary/province").status_code == 200  # no round yet
    db.session.add(PlanRound(year=2026, month=6, deadline=date(2026, 3, 20), opened_at=NOW))
    db.session.commit()
    for url in (
        "/plansummary/national",
        "/plansummary/province",
        f"/plansummary/province?province={world['org']['P1']}",
    ):
        assert client.get(url).status_code == 200, url
    ws = _sheet(client.get("/plansummary/national.xlsx"))
    assert [c.value for c in ws[ws.max_row]][3:] == [0, 0, 0, 0, 0, 0]
    for url in ("/planroundview/add", "/planview/list/", "/planroundview/list/"):
        assert client.get(url).status_code == 200, url
