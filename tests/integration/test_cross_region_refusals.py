"""Issue 17 point 8: a request refused because it names another region's record (the 404 of the
data scope) leaves one audit entry with its path; the security administrator's board lists the
refusals per user — count, last time, last path — scoped like the audit log."""

from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.user import MalanUser
from tests.factories import api_headers, browser, csrf_token, seed_plans


def refusals(**where):
    db.session.rollback()
    query = select(AuditLog).where(AuditLog.event == "access_refused").filter_by(**where)
    return db.session.scalars(query.order_by(AuditLog.id)).all()


def test_point8_a_foreign_id_is_refused_and_audited_with_its_path(client, login, world):
    login("c1")
    foreign = world["org"]["I2"]  # 广州, another province
    assert client.get(f"/orgview/show/{foreign}").status_code == 404
    [entry] = refusals()
    assert entry.username == world["username"]["c1"] and not entry.success
    assert (entry.object_type, entry.object_id) == ("Org", str(foreign))
    assert entry.summary == f"GET /orgview/show/{foreign}"
    assert entry.ip == "127.0.0.1"


def test_point8_own_region_and_missing_ids_are_not_refusals(client, login, world):
    login("c1")
    assert client.get(f"/orgview/show/{world['org']['I1']}").status_code == 200
    assert client.get("/orgview/show/999999").status_code == 404  # no such row: not a refusal
    assert refusals() == []


def test_point8_a_refused_write_and_api_read_are_audited(app, client, login, world):
    foreign = seed_plans(world)["C2"]  # 广州's plan
    login("c1")
    token = csrf_token(client, "/password/change")
    answer = client.post(f"/planview/edit/{foreign}", data={"note": "越权", "csrf_token": token})
    assert answer.status_code == 404
    headers = api_headers(app, world["username"]["c2"])
    assert browser(app).get(f"/api/v1/org/{world['org']['I1']}", headers=headers).status_code == 404
    got = [(e.username, e.summary.split(" ")[0], e.object_id) for e in refusals()]
    assert got == [
        (world["username"]["c1"], "POST", str(foreign)),
        (world["username"]["c2"], "GET", str(world["org"]["I1"])),
    ]


def _refuse(client, login, who, times):
    login(who)
    for _ in range(times):
        client.get(f"/orgview/show/{world_ids['foreign'][who]}")


world_ids = {}


def test_point8_secadmin_board_counts_refusals_per_user(client, login, world):
    world_ids["foreign"] = {"c1": world["org"]["I2"], "c2": world["org"]["I1"]}
    _refuse(client, login, "c1", 3)
    _refuse(client, login, "c2", 1)
    login("secadmin")
    page = client.get("/refusals/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for who, count in (("c1", 3), ("c2", 1)):
        row = html.split(f'data-username="{world["username"][who]}"', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="refusal-count">{count}</td>' in row
        assert f"/orgview/show/{world_ids['foreign'][who]}" in row


def test_point8_the_board_is_the_security_administrators_only(client, login, world):
    for who in ("auditor", "sysadmin", "center", "c1"):
        login(who)
        answer = client.get("/refusals/")
        assert answer.status_code in (302, 403), who
        assert "refusal-count" not in answer.get_data(as_text=True)


def test_point8_the_board_is_scoped_like_the_audit_log(client, login, world):
    world_ids["foreign"] = {"c1": world["org"]["I2"], "c2": world["org"]["I1"]}
    _refuse(client, login, "c1", 1)
    _refuse(client, login, "c2", 1)
    secadmin = db.session.get(MalanUser, world["user"]["secadmin"])
    secadmin.org_id = world["org"]["P1"]  # a security administrator placed in 北京
    db.session.commit()
    login("secadmin")
    html = client.get("/refusals/").get_data(as_text=True)
    assert world["username"]["c1"] in html and world["username"]["c2"] not in html
