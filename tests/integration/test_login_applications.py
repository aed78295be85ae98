"""Issue 6 point 5 — login applications (登录申请, 第六条(二)), through the real pages.

A stranger applies on a public page (linked from the sign-in page); the province of the chosen
city reviews the applicant; the center's approval allocates the account, whose initial password
is shown once and must be changed at first sign-in. Rate-limited per IP, CSRF-protected, and the
public answer never depends on whether the mobile already has an account.
"""

import html as html_module
import itertools
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.services import review
from models.audit import AuditLog
from models.login_application import LoginApplication
from models.org import Org
from models.review import ReviewEvent, ReviewTask
from models.user import MalanUser
from tests.factories import (
    apply_for_login,
    csrf_token,
    login_application_fields,
    page_errors,
    seed_login_applications,
    sign_out,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")

FORM = "/login-application/"
BASE = "/loginapplicationview"
NEW_PASSWORD = "Xin#Mima2026q"
_ips = itertools.count(1)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture()
def anon(app, client):
    """The test client as a stranger from an address of its own (the limiter counts per IP)."""
    app.appbuilder.sm.limiter.reset()
    sign_out(client)
    client.environ_base["REMOTE_ADDR"] = f"10.66.0.{next(_ips)}"
    yield client
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"


fields, apply = login_application_fields, apply_for_login


def applications():
    db.session.expire_all()
    return db.session.scalars(select(LoginApplication).order_by(LoginApplication.id)).all()


def row(pk) -> LoginApplication:
    db.session.expire_all()
    return db.session.get(LoginApplication, pk)


def page_token(client, url="/password/change") -> str:
    """A CSRF token for the signed-in session (any page with a form carries one)."""
    match = CSRF.search(client.get(url).get_data(as_text=True))
    return match.group(1) or match.group(2)


def act(client, pk, action, opinion=""):
    record = row(pk)
    data = {
        "action": action,
        "opinion": opinion,
        "version": record.version,
        "csrf_token": page_token(client),
    }
    return client.post(f"{BASE}/review/{pk}", data=data)


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def submitted(anon, world, **overrides) -> int:
    response = apply(anon, world, **overrides)
    assert response.status_code == 302, text(response)
    return applications()[-1].id


# ---------------------------------------------------------------- the public page


def test_point5_sign_in_page_links_to_the_public_form_which_needs_no_login(anon, world):
    login_page = text(anon.get("/login/"))
    assert 'id="apply-for-account"' in login_page and FORM in login_page
    page = anon.get(FORM)
    assert page.status_code == 200
    html = text(page)
    # Only the roles a stranger may ask for; cities grouped under their province (no script).
    roles = set(re.findall(r'<option[^>]*value="([a-z]+)"', html))
    assert roles == {"city", "institution", "trainer"}
    assert '<optgroup label="北京市">' in html and "东城区" in html and "广州市" in html


def test_point5_submission_enters_provincial_review_at_once(anon, world):
    pk = submitted(anon, world, mobile="139 1234 5678")
    record = row(pk)
    assert (record.status, record.step, record.mobile, record.org_id) == (
        "pending",
        0,
        "13912345678",
        world["org"]["C1"],
    )
    task = review.open_task(record)
    assert (task.level, task.reviewer_org_id) == ("province", world["org"]["P1"])
    event = review.history(record)[0]
    assert (event.role, event.actor_id, event.action) == ("applicant", None, "submit")
    assert "林申请" in event.actor_name
    assert anon.get(f"{BASE}/show/{pk}").status_code in (302, 401, 403)  # not for strangers


def test_point5_from_submission_to_account_and_forced_password_change(anon, world, login):
    pk = submitted(anon, world)

    login("p1")
    listing = text(anon.get(f"{BASE}/list/"))
    assert "林申请" in listing
    page = text(anon.get(f"{BASE}/show/{pk}"))
    assert 'value="approve"' in page and 'value="reject"' in page
    assert 'value="return"' not in page  # nobody could revise it
    act(anon, pk, "approve", "资格符合")
    record = row(pk)
    assert (record.status, record.step) == ("pending", 1)
    assert review.open_task(record).level == "center"
    assert count(MalanUser) == len(world["user"])  # the province allocates nothing

    login("center")
    answer = act(anon, pk, "approve")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    html = text(answer)
    username = re.search(r'id="allocated-username">([^<]+)<', html).group(1)
    # The page escapes the password as HTML (a random "&" becomes "&amp;").
    password = html_module.unescape(
        re.search(r'id="allocated-password"><code>([^<]+)<', html).group(1)
    )
    record = row(pk)
    assert record.status == "approved"
    user = record.account
    assert (user.username, user.mobile, user.org_id, user.role_kind, user.full_name) == (
        username,
        "13912345678",
        world["org"]["C1"],
        "city",
        "林申请",
    )
    assert username.startswith("ds110101") and user.must_change_password
    assert password not in text(anon.get(f"{BASE}/show/{pk}"))  # shown once, kept nowhere
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.event == "create",
                AuditLog.object_type == "MalanUser",
                AuditLog.object_id == str(user.id),
            )
        )
        == 1
    )

    # The new liaison signs in and must change the initial password first.
    sign_out(anon)
    signed = anon.post(
        "/login/", data={"username": username, "password": password, "csrf_token": csrf_token(anon)}
    )
    assert signed.status_code == 302
    home = anon.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/password/change")
    changed = anon.post(
        "/password/change",
        data={
            "old_password": password,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(anon, "/password/change"),
        },
    )
    assert changed.status_code == 302
    assert anon.get("/").status_code == 200


def test_point5_institution_liaison_is_placed_in_the_named_institution(anon, world, login):
    same = submitted(
        anon, world, role_kind="institution", unit="东城创业学校", mobile="13912345601"
    )
    new = submitted(
        anon,
        world,
        role_kind="institution",
        unit="东城新办培训学校",
        mobile="13912345602",
        city_id=str(world["org"]["C1"]),
    )
    for pk in (same, new):
        login("p1")
        act(anon, pk, "approve")
        login("center")
        assert act(anon, pk, "approve").status_code == 200
    assert row(same).account.org_id == world["org"]["I1"]  # the existing institution
    created = row(new).account.org
    assert (created.kind, created.name, created.parent_id) == (
        "institution",
        "东城新办培训学校",
        world["org"]["C1"],
    )
    assert created.code == "1101010003"


def test_point5_province_of_another_region_cannot_see_it(anon, world, login):
    pk = submitted(anon, world)
    login("p2")
    assert anon.get(f"{BASE}/show/{pk}").status_code == 404
    assert "林申请" not in text(anon.get(f"{BASE}/list/"))
    assert act(anon, pk, "approve").status_code == 404
    assert (row(pk).status, row(pk).step) == ("pending", 0)
    login("c1")  # a city does not review login applications at all
    assert anon.get(f"{BASE}/show/{pk}").status_code in (302, 403)


def test_point5_wrong_level_actors_are_refused(anon, world, login):
    pk = submitted(anon, world)
    before = (count(ReviewEvent), count(ReviewTask))
    login("center")  # the center's step has not come yet
    act(anon, pk, "approve")
    assert (row(pk).step, count(ReviewEvent), count(ReviewTask)) == (0, *before)
    login("p1")
    act(anon, pk, "return", "请补充")  # not offered, and refused if forged
    assert (row(pk).status, row(pk).step) == ("pending", 0)
    act(anon, pk, "approve")
    act(anon, pk, "approve")  # the province again, at the center's step
    assert (row(pk).status, row(pk).step, row(pk).account_id) == ("pending", 1, None)
    assert count(MalanUser) == len(world["user"])
    # Logged-in users add or edit nothing: applications only come from the public form.
    assert anon.get(f"{BASE}/add").status_code in (302, 403)
    assert anon.get(f"{BASE}/edit/{pk}").status_code in (302, 403)


def test_point5_province_rejects_with_opinion_and_no_account_is_made(anon, world, login):
    pk = submitted(anon, world)
    login("p1")
    act(anon, pk, "reject")  # an opinion is required
    assert row(pk).status == "pending"
    act(anon, pk, "reject", "非创业培训工作人员")
    record = row(pk)
    assert (record.status, record.account_id) == ("rejected", None)
    assert review.history(record)[-1].opinion == "非创业培训工作人员"
    assert count(MalanUser) == len(world["user"])


def test_point5_person_with_an_account_is_refused_at_the_center(anon, world, login):
    """第十一条: one account per person; the reviewers see the duplicate, the public does not."""
    existing = db.session.get(MalanUser, world["user"]["c1"])
    existing.mobile = "13812340000"
    db.session.commit()
    pk = submitted(anon, world, mobile="13812340000")
    login("p1")
    assert row(pk).has_account
    # The only yes/no on the page: "already has an account" (是 in Chinese).
    assert re.search(r"<span[^>]*>(是|Yes)</span>", text(anon.get(f"{BASE}/show/{pk}")))
    act(anon, pk, "approve")
    login("center")
    users = count(MalanUser)
    answer = act(anon, pk, "approve")
    # the record page again, the refusal on it (issue 15 point 1: what was typed is kept)
    assert answer.status_code == 200 and 'id="allocated-password"' not in text(answer)
    messages = [m for shown in page_errors(answer).values() for m in shown]
    assert any("13812340000" in message for message in messages)
    assert count(MalanUser) == users
    assert (row(pk).status, row(pk).step, row(pk).account_id) == ("pending", 1, None)


# ---------------------------------------------------------------- abuse


def test_point5_no_user_enumeration(anon, world):
    """The same answer whether or not the mobile already has an account."""
    existing = db.session.get(MalanUser, world["user"]["c1"])
    existing.mobile = "13812340000"
    db.session.commit()
    known = apply(anon, world, mobile="13812340000")
    unknown = apply(anon, world, mobile="13812349999")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert known.get_data() == unknown.get_data()
    pages = [
        re.sub(r'nonce="[^"]+"', "", text(anon.get(r.headers["Location"])))
        for r in (known, unknown)
    ]
    assert pages[0] == pages[1]
    assert len(applications()) == 2  # both recorded; the duplicate is the reviewers' business


def test_point5_rate_limited_per_ip(app, anon, world):
    limit = int(app.config.get("LOGIN_APPLICATION_RATE_LIMIT", "5 per hour").split()[0])
    for n in range(limit):
        assert apply(anon, world, mobile=f"1391234{n:04d}").status_code == 302
    assert apply(anon, world, mobile="13912349999").status_code == 429
    assert len(applications()) == limit
    assert anon.get(FORM).status_code == 200  # reading the form is not counted
    anon.environ_base["REMOTE_ADDR"] = "10.77.0.1"  # another address is not affected
    assert apply(anon, world, mobile="13912349999").status_code == 302


def test_point5_csrf_token_required(anon, world):
    assert apply(anon, world, token=False).status_code == 400
    response = anon.post(FORM, data={**fields(world), "csrf_token": "forged"})
    assert response.status_code == 400
    assert applications() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"mobile": "12345"},
        {"mobile": ""},
        {"applicant_name": ""},
        {"reason": ""},
        {"unit": "x" * 200},
        {"role_kind": "sysadmin"},
        {"role_kind": "center"},
        {"role_kind": "province"},
        {"city_id": "C2"},  # a city of another province
        {"city_id": "P1"},  # a province is not a city
        {"city_id": "I1"},
        {"city_id": "999999"},
        {"province_id": "abc"},
    ],
)
def test_point5_bad_input_is_refused_and_nothing_is_stored(anon, world, overrides):
    overrides = {
        k: str(world["org"][v]) if k == "city_id" and v in world["org"] else v
        for k, v in overrides.items()
    }
    response = apply(anon, world, **overrides)
    assert response.status_code == 200  # the form again, with the field's message
    assert "has-error" in text(response)
    assert applications() == []
    assert count(ReviewTask) == 0


def test_point5_enter_review_needs_no_user(app, world):
    seed_login_applications(world)
    records = applications()
    assert [r.status for r in records] == ["pending"] * 3
    reviewers = {review.open_task(r).reviewer_org_id for r in records}
    assert reviewers == {world["org"]["P1"], world["org"]["P2"]}
    assert db.session.get(Org, world["org"]["C2"]).province_id == world["org"]["P2"]


def test_issue11_a_city_of_another_province_is_refused_beside_the_city_field(anon, world):
    """The city rule is the service's (`login_applications.apply`): its refusal is shown in
    Chinese next to the city field, and nothing is stored."""
    response = apply(anon, world, city_id=str(world["org"]["C2"]))
    assert response.status_code == 200
    assert page_errors(response)["city_id"] == ["所选地市不属于所选省份。"]
    assert applications() == [] and count(ReviewTask) == 0
