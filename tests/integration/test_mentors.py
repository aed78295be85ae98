"""Issue 4, point 2 — the mentor pool (创业导师库): a city or a province enters a mentor, the level
above reviews it (a city's by its province, a province's by the center; the center's own entries
are in force at once); the keepers' list is strictly scoped; the shared page shows the approved
mentors of the whole country, contact masked outside the viewer's scope. Point 6: the export."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from models.audit import AuditLog
from models.mentor import MentorProfile
from models.review import ReviewEvent, ReviewTask
from tests.factories import MENTOR_SEED, NOW, flashes, post_form, seed_mentors, switch_language

# key -> (org key, industry, expertise, mobile, email); one approved mentor per entering region.


@pytest.fixture()
def login(login_en):
    """Signed in, in English (assertions on messages do not depend on the zh catalog)."""
    return login_en


@pytest.fixture()
def seeded(world):
    return seed_mentors(world)


post = post_form  # every form here is posted with a session CSRF token


def mentor(mentor_id) -> MentorProfile:
    db.session.rollback()
    return db.session.get(MentorProfile, mentor_id)


def form(**over):
    values = {
        "name": "新导师",
        "gender": "M",
        "employer": "某创业园",
        "title": "教授",
        "industry": "I",
        "expertise": "电子商务、直播带货",
        "mobile": "138 0013 8000",
        "email": "new@example.cn",
        "biography": "连续创业者",
        "availability": "每周三下午",
    }
    return {**values, **over}


def enter(client, login, who, **over) -> MentorProfile | None:
    login(who)
    post(client, "/mentorview/add", **form(**over))
    db.session.rollback()
    return db.session.scalar(
        select(MentorProfile)
        .where(MentorProfile.name == over.get("name", "新导师"))
        .order_by(MentorProfile.id.desc())
    )


def act(client, mentor_id, action, opinion=""):
    version = mentor(mentor_id).version
    return post(
        client, f"/mentorview/review/{mentor_id}", action=action, opinion=opinion, version=version
    )


def listed(client, url="/mentorview/list/?psize_MentorView=100") -> set:
    html = client.get(url).get_data(as_text=True)
    return {int(pk) for pk in re.findall(r"/mentorview/show/(\d+)", html)}


def pool(client, query="") -> dict:
    """The shared page's rows: mentor id -> (mobile, email) as shown."""
    response = client.get(f"/mentorpool/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = re.findall(
        r'data-mentor="(\d+)".*?class="mentor-mobile">([^<]*)<.*?'
        r'class="mentor-email">([^<]*)<',
        html,
        re.S,
    )
    return {int(pk): (mobile, email) for pk, mobile, email in rows}


# ---------------------------------------------------------------- scope of the keepers' list

EXPECTED_SCOPE = {
    "center": {"P1", "P2", "C1", "C1b", "C2"},
    "p1": {"P1", "C1", "C1b"},
    "p2": {"P2", "C2"},
    "c1": {"C1"},
    "c1b": {"C1b"},
    "c2": {"C2"},
    "i1": set(),
    "trainer1": set(),
}


def test_point2_keepers_list_is_scoped_per_role(client, login, seeded):
    """The entering org and the orgs above it; institutions and trainers keep no mentors."""
    for who, keys in EXPECTED_SCOPE.items():
        login(who)
        assert listed(client) == {seeded[k] for k in keys}, who
        for key, pk in seeded.items():
            status = client.get(f"/mentorview/show/{pk}").status_code
            assert status == (200 if key in keys else 404), (who, key, status)
        # Every business user is pointed to the shared page, from the home page and the list.
        assert "/mentorpool/" in client.get("/").get_data(as_text=True)
        assert 'id="mentor-pool-link"' in client.get("/mentorview/list/").get_data(as_text=True)


# ---------------------------------------------------------------- entering and review


def test_point2_city_entry_is_reviewed_by_its_province_only(
    frozen_clock, client, login, world, seeded
):
    m = enter(client, login, "c1")
    assert (m.status, m.chain, m.org_id) == ("draft", "mentor_city", world["org"]["C1"])
    assert m.mobile == "13800138000" and m.created_by_id == world["user"]["c1"]
    act(client, m.id, "submit")
    task = db.session.scalar(
        select(ReviewTask).where(ReviewTask.record_id == m.id, ReviewTask.record_type == "mentor")
    )
    assert mentor(m.id).status == "pending" and task.reviewer_org_id == world["org"]["P1"]

    login("p2")  # another province does not even see it
    assert act(client, m.id, "approve").status_code == 404
    login("center")  # the center sees it, but the step is the province's
    act(client, m.id, "approve")
    assert "This step is not yours to review." in flashes(client)
    assert mentor(m.id).status == "pending"
    login("c1")
    assert m.id not in pool(client)  # not approved: not shared yet

    login("p1")
    act(client, m.id, "approve", opinion="同意")
    assert mentor(m.id).status == "approved" and mentor(m.id).in_force_revision == 1
    event = db.session.scalars(
        select(ReviewEvent).where(ReviewEvent.record_id == m.id, ReviewEvent.action == "approve")
    ).one()
    assert event.actor_id == world["user"]["p1"] and event.opinion == "同意"
    login("c2")
    assert pool(client)[m.id] == ("138****8000", "n***@example.cn")


def test_point2_province_entry_is_reviewed_by_the_center(frozen_clock, client, login, world):
    m = enter(client, login, "p1")
    assert (m.chain, m.org_id) == ("mentor_province", world["org"]["P1"])
    act(client, m.id, "submit")
    login("p2")
    assert act(client, m.id, "approve").status_code == 404
    login("center")
    act(client, m.id, "approve")
    assert mentor(m.id).status == "approved"


def test_point2_center_entry_is_in_force_at_once_with_history(frozen_clock, client, login, world):
    m = enter(client, login, "center")
    assert (m.status, m.in_force_revision, m.org_id) == ("approved", 1, world["org"]["center"])
    events = db.session.scalars(select(ReviewEvent).where(ReviewEvent.record_id == m.id)).all()
    assert [(e.action, e.actor_id, e.at) for e in events] == [
        ("enter", world["user"]["center"], NOW)
    ]
    page = client.get(f"/mentorview/show/{m.id}").get_data(as_text=True)
    assert "review-history" in page and world["username"]["center"] in page
    assert "Entered by the center" in page  # the history says the center entered it
    # The center's own change is in force at once too, as a new revision with its entry.
    post(client, f"/mentorview/edit/{m.id}", **form(employer="部中心专家库"))
    m = mentor(m.id)
    assert (m.employer, m.status, m.revision, m.in_force_revision) == (
        "部中心专家库",
        "approved",
        2,
        2,
    )
    post(client, f"/mentorview/edit/{m.id}", **form(employer="部中心专家库"))  # unchanged
    assert mentor(m.id).revision == 2
    login("i2")
    assert m.id in pool(client)


def test_point2_province_approves_its_cities_entries_in_bulk(frozen_clock, client, login, world):
    first = enter(client, login, "c1", name="甲导师")
    act(client, first.id, "submit")
    second = enter(client, login, "c1b", name="乙导师")
    act(client, second.id, "submit")
    ids = [str(first.id), str(second.id)]
    login("center")  # not the center's step: each one is refused, nothing changes
    post(client, "/mentorview/action_post", action="bulk_approve", rowid=ids)
    assert {mentor(first.id).status, mentor(second.id).status} == {"pending"}
    login("p1")
    post(client, "/mentorview/action_post", action="bulk_approve", rowid=ids)
    # the action asks first (issue 15 point 5): nothing changes until the list is confirmed
    assert {mentor(first.id).status, mentor(second.id).status} == {"pending"}
    post(client, "/mentorview/bulk_review", decision="approve", rowid=ids, opinion="同意")
    assert {mentor(first.id).status, mentor(second.id).status} == {"approved"}


BAD_INPUT = [
    ({"name": " "}, "Full name: required."),
    ({"gender": "X"}, "Gender: X is not one of: Male、Female."),
    ({"industry": ""}, "Industry: required."),
    ({"expertise": ""}, "Fields of expertise: required."),
    ({"mobile": "12345"}, "Mobile: must be an 11-digit mainland mobile number (found 12345)."),
    ({"email": "not-an-address"}, "Email: not a valid address (not-an-address)."),
    ({"availability": "很" * 256}, "Availability: at most 255 characters (this one has 256)."),
]


def test_point2_bad_input_is_refused_with_a_message_naming_the_field(client, login, world):
    login("c1")
    for over, message in BAD_INPUT:
        response = post(client, "/mentorview/add", **form(**over))
        assert response.status_code == 200  # the form again, with what was typed
        html = response.get_data(as_text=True)
        assert message in html, message
        assert 'value="某创业园"' in html
    db.session.rollback()
    assert db.session.query(MentorProfile).count() == 0


def test_point2_a_mentor_needs_a_contact(client, login, world):
    login("c1")
    post(client, "/mentorview/add", **form(mobile="", email=""))
    assert "Contact: enter a mobile number or an e-mail address." in flashes(client)
    db.session.rollback()
    assert db.session.query(MentorProfile).count() == 0


def test_point2_approved_entry_is_not_edited_in_place(client, login, seeded):
    login("c1")
    post(client, f"/mentorview/edit/{seeded['C1']}", **form(name="改名"))
    assert any("use “Correct”" in f for f in flashes(client))
    assert mentor(seeded["C1"]).name == "导师C1"


def test_point2_correction_keeps_approved_values_until_approved(
    frozen_clock, client, login, seeded
):
    pk = seeded["C1"]
    login("c1")
    act(client, pk, "correct")
    post(client, f"/mentorview/edit/{pk}", **form(name="导师C1", employer="新的单位"))
    assert mentor(pk).employer == "C1创业服务中心"  # the row keeps the values in force
    act(client, pk, "submit")
    for who in ("c2", "i1", "c1"):  # still shared, with the approved values
        login(who)
        assert pk in pool(client)
        page = client.get(f"/mentorpool/show/{pk}").get_data(as_text=True)
        assert "C1创业服务中心" in page and "新的单位" not in page
    login("center")  # a city's correction is the province's to review
    act(client, pk, "approve")
    assert mentor(pk).employer == "C1创业服务中心"
    login("p1")
    act(client, pk, "approve")
    m = mentor(pk)
    assert (m.employer, m.status, m.in_force_revision) == ("新的单位", "approved", 2)
    login("c2")
    assert "新的单位" in client.get(f"/mentorpool/show/{pk}").get_data(as_text=True)


# ---------------------------------------------------------------- the shared page


def test_point2_shared_page_masks_contact_outside_the_scope(client, login, world, seeded):
    draft = MentorProfile(
        chain="mentor_city",
        org_id=world["org"]["C2"],
        name="草稿导师",
        gender="M",
        industry="C",
        expertise="制造",
        mobile="13911112222",
        created_at=NOW,
    )
    db.session.add(draft)
    db.session.commit()
    full = {k: (MENTOR_SEED[k][3], MENTOR_SEED[k][4]) for k in MENTOR_SEED}
    masked = {k: (f"{m[:3]}****{m[-4:]}", f"{e[0]}***@example.cn") for k, (m, e) in full.items()}
    in_scope = {
        "center": set(MENTOR_SEED),
        "p1": {"P1", "C1", "C1b"},
        "c1": {"C1"},
        "c2": {"C2"},
        "i1": set(),
        "trainer1": set(),
    }
    for who, own in in_scope.items():
        login(who)
        rows = pool(client)
        assert set(rows) == set(seeded.values()), who  # every approved mentor, no draft
        for key, pk in seeded.items():
            assert rows[pk] == (full if key in own else masked)[key], (who, key)
    login("c1")
    foreign = client.get(f"/mentorpool/show/{seeded['C2']}")
    assert foreign.status_code == 200
    html = foreign.get_data(as_text=True)
    assert "139****0005" in html and "13900000005" not in html and "c2mentor@" not in html
    own = client.get(f"/mentorpool/show/{seeded['C1']}").get_data(as_text=True)
    assert "13900000003" in own and "c1mentor@example.cn" in own
    assert client.get(f"/mentorpool/show/{draft.id}").status_code == 404  # foreign, unapproved
    assert client.get("/mentorpool/show/999999").status_code == 404
    assert client.get("/mentorpool/show/abc").status_code == 404
    login("c2")  # its own draft is not shared either (the keepers' list shows it)
    assert client.get(f"/mentorpool/show/{draft.id}").status_code == 404
    assert draft.id in listed(client)


def test_point2_trainee_has_no_mentor_pool(client, login, seeded):
    login("trainee1")
    assert client.get("/mentorpool/").status_code == 403
    assert client.get(f"/mentorpool/show/{seeded['C1']}").status_code == 403


SEARCHES = [
    ("province={P1}", {"P1", "C1", "C1b"}),
    ("province={P2}", {"P2", "C2"}),
    ("city={C1}", {"C1"}),
    ("province={P1}&city={C2}", set()),
    ("industry=I", {"P1", "C1"}),
    ("industry=I&province={P2}", set()),
    ("expertise=融资", {"P1", "P2"}),
    ("expertise=市场营销&province={P2}", {"C2"}),
    ("q=C1b创业", {"C1b"}),
    ("expertise=%25", set()),  # a LIKE wildcard is text, not a pattern
    ("industry=nonsense", set(MENTOR_SEED)),  # an unknown industry is no filter
]


def test_point2_search_by_region_industry_and_expertise(client, login, world, seeded):
    login("i2")
    for query, keys in SEARCHES:
        rows = pool(client, query.format(**world["org"]))
        assert set(rows) == {seeded[k] for k in keys}, query


def test_point2_shared_page_pages_by_twenty(client, login, world, seeded):
    for n in range(25):
        db.session.add(
            MentorProfile(
                chain="mentor_city",
                org_id=world["org"]["C2"],
                name=f"批量导师{n:02d}",
                gender="M",
                industry="C",
                expertise="制造",
                mobile=f"1370000{n:04d}",
                created_at=NOW,
                status="approved",
                revision=1,
                in_force_revision=1,
            )
        )
    db.session.commit()
    login("c1")
    first, second = pool(client), pool(client, "page=2")
    assert len(first) == 20 and len(second) == 10 and not set(first) & set(second)
    assert "30 mentor(s) found." in client.get("/mentorpool/").get_data(as_text=True)
    assert pool(client, "page=99") == second  # past the end: the last page
    # The pager and the export keep the search and nothing else of the address.
    html = client.get("/mentorpool/?industry=C&unknown=1").get_data(as_text=True)
    assert re.findall(r'<a rel="next" href="([^"]+)"', html) == [
        "/mentorpool/?industry=C&amp;page=2"
    ]
    assert 'href="/mentorpool/export?industry=C"' in html


# ---------------------------------------------------------------- point 6: export


def sheet(response) -> list[list]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(response.data)).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_point6_keepers_export_is_scoped_and_audited(client, login, seeded):
    login("p1")
    rows = sheet(client.get("/mentorview/export"))
    assert rows[0][:2] == ["Full name", "Gender"]
    assert sorted(r[0] for r in rows[1:]) == ["导师C1", "导师C1b", "导师P1"]
    assert {r[8] for r in rows[1:]} == {"13900000001", "13900000003", "13900000004"}
    entry = db.session.scalars(select(AuditLog).where(AuditLog.event == "export")).one()
    assert entry.object_type == "MentorProfile" and entry.summary.startswith("3 rows")
    login("c2")
    assert [r[0] for r in sheet(client.get("/mentorview/export"))[1:]] == ["导师C2"]


def test_point6_shared_export_masks_contact_outside_the_scope(client, login, seeded):
    login("c1")
    rows = sheet(client.get("/mentorpool/export?province=&industry=I"))
    contacts = {r[0]: (r[8], r[9]) for r in rows[1:]}
    assert contacts == {
        "导师C1": ("13900000003", "c1mentor@example.cn"),
        "导师P1": ("139****0001", "p***@example.cn"),
    }
    for who in ("i1", "trainer1", "trainee1"):  # no export permission
        login(who)
        assert client.get("/mentorpool/export").status_code == 403
        assert client.get("/mentorview/export").status_code == 403


def test_point6_export_writes_formula_like_text_as_text(client, login, world, seeded):
    m = mentor(seeded["C1"])
    m.employer, m.expertise = '=HYPERLINK("http://evil","x")', "+1-2"
    db.session.commit()
    login("c1")
    response = client.get("/mentorview/export")
    ws = load_workbook(io.BytesIO(response.data)).active
    cells = {c.value: c for row in ws.iter_rows(min_row=2) for c in row if c.value}
    for text in ('=HYPERLINK("http://evil","x")', "+1-2"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix


def test_point2_the_menu_leads_everyone_to_the_shared_pool_and_keepers_to_their_list(
    frozen_clock, client, login, world
):
    login("i1")  # an institution finds mentors; it keeps none
    page = client.get("/mentorpool/").get_data(as_text=True)
    assert 'href="/mentorpool/' in page and "/mentorview/list/" not in page
    login("c1")  # a city reaches the entries it keeps from the pool page
    page = client.get("/mentorpool/").get_data(as_text=True)
    assert "/mentorview/list/" in page


# ---------------------------------------------------------------- issue 11 point 2: refusals
# A refused act is one transaction rolled back: the user reads why (in Chinese, the default
# language), and the database is as it was.


def test_issue11_an_entry_without_contact_is_refused_in_chinese(client, login, world):
    login("c1")
    switch_language(client, "zh")
    post(client, "/mentorview/add", **form(mobile="", email=""))
    assert "联系方式：请至少填写手机号码或电子邮箱之一。" in flashes(client)
    db.session.rollback()
    assert db.session.query(MentorProfile).count() == 0


def test_issue11_removing_a_drafts_contact_is_refused_in_chinese(client, login, world):
    login("c1")
    post(client, "/mentorview/add", **form())
    db.session.rollback()
    [draft] = db.session.scalars(select(MentorProfile)).all()
    switch_language(client, "zh")
    post(client, f"/mentorview/edit/{draft.id}", **form(name="改名", mobile="", email=""))
    assert "联系方式：请至少填写手机号码或电子邮箱之一。" in flashes(client)
    draft = mentor(draft.id)
    assert (draft.name, draft.mobile, draft.email) == ("新导师", "13800138000", "new@example.cn")
