"""Issue 15 point 4 — pickers that scale: one scoped org-picker JSON for every org choice (the
account form, the notice audience, the message recipient), the notice audience as a tree with
"all below" at each node, the notice body in an editor served from the app, 参训学员."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from models.notice import Notice
from models.user import MalanUser
from tests.factories import sign_in


def pick(client, **args):
    response = client.get("/orgs/pick/", query_string=args)
    assert response.status_code == 200
    return response.json


def ids(answer) -> set:
    return {r["id"] for r in answer["results"]}


def orgs(world, *keys) -> set:
    return {world["org"][k] for k in keys}


# ---------------------------------------------------------------- the org picker's JSON


def test_search_by_name_shows_the_path(app, world):
    client = sign_in(app, world["username"]["center"])
    answer = pick(client, purpose="account", q="东城创业")
    assert ids(answer) == orgs(world, "I1")
    [row] = answer["results"]
    assert row["text"] == "北京市 / 东城区 / 东城创业学校"


def test_search_by_path_text_finds_everything_under_the_place(app, world):
    client = sign_in(app, world["username"]["center"])
    assert ids(pick(client, purpose="account", q="广东省")) == orgs(world, "P2", "C2", "I2")
    # Several words narrow down: the place and part of the name.
    assert ids(pick(client, purpose="account", q="北京市 / 东城 第二")) == orgs(world, "I1b")


def test_the_role_decides_which_kinds_are_offered(app, world):
    client = sign_in(app, world["username"]["center"])
    assert ids(pick(client, purpose="account", role="city")) == orgs(world, "C1", "C1b", "C2")
    assert ids(pick(client, purpose="account", role="trainee")) == orgs(world, "I1", "I1b", "I2")
    trainer = ids(pick(client, purpose="account", role="trainer"))
    assert trainer == orgs(world, "P1", "P2", "C1", "C1b", "C2")
    assert ids(pick(client, purpose="account", role="sysadmin")) == set()  # not a business role


def test_a_province_admin_only_ever_sees_its_own_province(app, world):
    client = sign_in(app, world["username"]["p1"])
    assert ids(pick(client, purpose="account", role="city")) == orgs(world, "C1", "C1b")
    beijing = orgs(world, "P1", "C1", "C1b", "I1", "I1b")
    for purpose in ("account", "notice", "message"):
        for q in ("", "广东", "广州市", "440100", "%", "' OR 1=1 --"):
            for extra in ({}, {"role": "city"}, {"under": world["org"]["C2"]}, {"page": 1}):
                found = ids(pick(client, purpose=purpose, q=q, **extra))
                assert found <= beijing | orgs(world, "center"), (purpose, q, extra, found)
                assert not found & orgs(world, "P2", "C2", "I2")
    assert ids(pick(client, purpose="nonsense")) == set()


def test_signed_out_the_picker_answers_nothing(app, world):
    from tests.factories import browser

    response = browser(app).get("/orgs/pick/?purpose=account")
    assert response.status_code in (302, 401)


def test_the_account_form_refuses_an_org_outside_the_picker(app, world):
    """A crafted post with a foreign org is refused at the field, and nothing is created."""
    grant_users = sign_in(app, world["username"]["center"])
    page = grant_users.get("/userview/add").get_data(as_text=True)
    assert 'data-org-picker="/orgs/pick/"' in page and 'data-role-from="role_kind"' in page
    assert page.count("<option") < 20  # the form does not hold the tree
    response = grant_users.post(
        "/userview/add",
        data={
            "first_name": "蒋学员",
            "role_kind": "trainee",
            "org": "999999",
            "mobile": "",
            "csrf_token": grant_users.csrf,
        },
    )
    assert response.status_code == 200
    assert db.session.scalar(select(MalanUser).filter_by(first_name="蒋学员")) is None


def test_the_account_edit_form_shows_the_chosen_org_with_its_path(app, world):
    client = sign_in(app, world["username"]["center"])
    page = client.get(f"/userview/edit/{world['user']['i1']}").get_data(as_text=True)
    assert re.search(
        rf'<option value="{world["org"]["I1"]}" selected>北京市 / 东城区 / 东城创业学校</option>',
        page,
    )


# ---------------------------------------------------------------- the audience tree


def test_the_audience_tree_is_nested_with_all_below_at_each_node(app, world):
    client = sign_in(app, world["username"]["p1"])
    page = client.get("/notices/new").get_data(as_text=True)
    assert "data-audience-tree" in page and 'id="audience-search"' in page
    # 北京市 → 东城区 → 东城创业学校: the institution's box sits inside the city's list.
    p1, c1, i1 = (world["org"][k] for k in ("P1", "C1", "I1"))
    node = re.search(rf'data-id="{c1}".*?</details>', page, re.S).group(0)
    assert f'value="{i1}"' in node and "含下级全部" in node
    assert re.search(rf'class="malan-all-below" name="org_ids" value="{p1}"', page)
    assert re.search(rf'class="malan-all-below" name="org_ids" value="{c1}"', page)
    assert f'value="{world["org"]["C2"]}"' not in page  # 广州 is not 北京's to address
    assert page.count('name="org_ids"') == 5


def test_posting_chosen_ids_publishes_to_exactly_them(app, world, frozen_clock):
    client = sign_in(app, world["username"]["p1"])
    chosen = [world["org"]["C1"], world["org"]["I1b"]]
    response = client.post(
        "/notices/new",
        data={
            "title": "树形受众",
            "body": "<p><strong>加粗</strong></p>",
            "category": "notice",
            "org_ids": [str(i) for i in chosen],
            "groups": ["authorities", "institutions"],
            "csrf_token": client.csrf,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    notice = db.session.scalar(select(Notice).filter_by(title="树形受众"))
    assert sorted(a.org_id for a in notice.audience) == sorted(chosen)


def test_the_trainee_audience_is_labelled_trainees_in_class(app, world):
    client = sign_in(app, world["username"]["p1"])
    page = client.get("/notices/new").get_data(as_text=True)
    label = re.search(r'value="trainees"[^>]*>\s*([^<]+)<', page).group(1).strip()
    assert label == "参训学员"


# ---------------------------------------------------------------- the editor


def test_the_editor_is_served_locally_and_the_page_names_no_external_host(app, world):
    client = sign_in(app, world["username"]["p1"])
    page = client.get("/notices/new").get_data(as_text=True)
    assert "/static/vendor/pell/pell.min.js" in page and "/static/pickers.js" in page
    assert "data-editor=" in page and 'name="body"' in page
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not re.match(r"(https?:)?//", url), url
    for asset in ("vendor/pell/pell.min.js", "vendor/pell/pell.min.css", "pickers.js"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and response.data
        assert b"https://" not in response.data or asset != "pickers.js"


@pytest.mark.parametrize("who", ["c1", "i1"])
def test_the_picker_offers_the_message_rule(app, world, who):
    client = sign_in(app, world["username"][who])
    expected = {"c1": ("P1", "I1", "I1b"), "i1": ("C1",)}[who]
    assert ids(pick(client, purpose="message")) == orgs(world, *expected)


def test_a_large_tree_loads_a_citys_institutions_when_opened(app, world, monkeypatch):
    """Above TREE_MAX orgs the page holds provinces and cities only; a city's institutions come
    from the picker's JSON (``under``), still scoped."""
    from app.services import org_picker

    monkeypatch.setattr(org_picker, "TREE_MAX", 3)
    client = sign_in(app, world["username"]["p1"])
    page = client.get("/notices/new").get_data(as_text=True)
    c1 = world["org"]["C1"]
    assert re.search(rf'data-id="{c1}"[^>]*data-lazy', page)
    assert f'value="{world["org"]["I1"]}"' not in page  # not on the page: loaded when opened
    assert ids(pick(client, purpose="notice", under=c1)) == orgs(world, "I1", "I1b")
    assert ids(pick(client, purpose="notice", under=world["org"]["C2"])) == set()


# ------------------------------------------- the account forms' org narrowed by the role (#15)


def _form_errors(response) -> dict:
    from tests.factories import page_errors

    return page_errors(response)


def test_the_account_add_form_refuses_an_org_that_does_not_fit_the_role(app, world):
    client = sign_in(app, world["username"]["center"])
    assert ids(pick(client, purpose="account", role="city")) == orgs(world, "C1", "C1b", "C2")
    response = client.post(
        "/userview/add",
        data={
            "first_name": "韩市级",
            "role_kind": "city",
            "org": str(world["org"]["I1"]),  # an institution: not a city authority's place
            "mobile": "",
            "csrf_token": client.csrf,
        },
    )
    assert response.status_code == 200
    assert _form_errors(response)["org"] == ["该角色不能隶属于所选组织机构。"]
    assert db.session.scalar(select(MalanUser).filter_by(first_name="韩市级")) is None


def test_the_account_edit_form_offers_and_accepts_only_orgs_fitting_the_role(app, world):
    client = sign_in(app, world["username"]["center"])
    account = world["user"]["i1"]  # an institution's account
    page = client.get(f"/userview/edit/{account}").get_data(as_text=True)
    assert 'data-role="institution"' in page and "data-role-from" not in page
    response = client.post(
        f"/userview/edit/{account}",
        data={
            "first_name": "东城学校",
            "org": str(world["org"]["C1"]),  # a city: does not fit an institution's role
            "mobile": "",
            "csrf_token": client.csrf,
        },
    )
    assert response.status_code == 200
    assert _form_errors(response)["org"] == ["该角色不能隶属于所选组织机构。"]
    db.session.expire_all()
    assert db.session.get(MalanUser, account).org_id == world["org"]["I1"]


# ------------------------------------------- the account list's org filter is the picker (#15)


def _filter_fields(page) -> str:
    """The list's filter form as FAB's ab_filters.js gets it (JSON, unescaped here)."""
    raw = page.split("new AdminFilters(", 1)[1].split("</script>", 1)[0]
    return raw.encode().decode("unicode_escape")


def test_the_account_list_filters_by_org_through_the_picker(app, world):
    client = sign_in(app, world["username"]["p1"])
    page = client.get("/userview/list/").get_data(as_text=True)
    filters = _filter_fields(page)
    assert "malan-org-picker" in filters and "/orgs/pick/" in filters
    assert filters.count("option value=") <= 1  # no select of every org
    c1, c2 = world["org"]["C1"], world["org"]["C2"]
    page = client.get(f"/userview/list/?_flt_0_org={c1}").get_data(as_text=True)
    assert f'<option value="{c1}" selected>北京市 / 东城区</option>' in _filter_fields(page)
    assert world["username"]["c1"] in page and world["username"]["c1b"] not in page
    # 广州 is not 北京's: not offered, not shown, and nothing listed
    page = client.get(f"/userview/list/?_flt_0_org={c2}").get_data(as_text=True)
    assert "广州" not in _filter_fields(page) and f'value="{c2}"' not in _filter_fields(page)
    assert world["username"]["c2"] not in page
