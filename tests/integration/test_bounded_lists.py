"""Issue 17 point 5: bounded pages, no 500s. Every registered list and REST API is walked with
junk paging, sorting and query arguments and must answer below 500 (400, or the default page);
no page holds more than MAX_PAGE_SIZE (100) rows, whatever is asked."""

import re

import pytest
from flask_appbuilder import ModelRestApi, ModelView
from sqlalchemy import insert

from app import audit
from app.extensions import db
from models.org import INSTITUTION, Org
from security.permissions import READ, ROLE_MATRIX
from tests.factories import USERS, api_headers, browser, seed_plans

LIST_JUNK = [
    "psize_{v}=-1",
    "psize_{v}=0",
    "psize_{v}=1000000",
    "psize_{v}=abc",
    "page_{v}=abc",
    "page_{v}=1e3",
    "page_{v}=-5",
    "page_{v}=99999999999999999999",
    "page_{v}=1000000",
    "_oc_{v}=nonexistent&_od_{v}=asc",
    "_oc_{v}=__class__&_od_{v}=desc",
    "_oc_{v}=id&_od_{v}=sideways",
    "_flt_0_nonexistent=1",
    "_flt_99_id=abc",
]
API_JUNK = [
    "q=(((((",
    "q=!(1)",
    "q=(page_size:1000000)",
    "q=(page_size:-1)",
    "q=(page_size:abc)",
    "q=(page:-1)",
    "q=(page:abc)",
    "q=(order_column:nonexistent,order_direction:asc)",
    "q=(order_column:id,order_direction:sideways)",
    "q=(filters:!((col:nonexistent,opr:eq,value:1)))",
    "q=(columns:!(nonexistent))",
]
KEY_OF = {kind: key for key, kind, _org, _name in reversed(USERS)}


def reader_of(view) -> str:
    """A fixture user whose role may read the view's resource (center when nobody's may)."""
    for role, grants in ROLE_MATRIX.items():
        if (READ, view.class_permission_name) in grants:
            return KEY_OF[role]
    return "center"


def registered(app, kind):
    return sorted(
        (v for v in app.appbuilder.baseviews if isinstance(v, kind)), key=lambda v: v.endpoint
    )


def test_point5_every_list_answers_junk_arguments_without_a_server_error(app, client, login, world):
    views = registered(app, ModelView)
    assert len(views) >= 10, "the walk found the lists"
    failures = []
    for view in views:
        login(reader_of(view))
        name = type(view).__name__
        for junk in LIST_JUNK:
            url = f"{view.route_base}/list/?{junk.format(v=name)}"
            status = client.get(url).status_code
            if status >= 500:
                failures.append(f"{status} {url}")
    assert not failures, "\n".join(failures)


def test_point5_every_api_answers_junk_queries_without_a_server_error(app, world):
    apis = [v for v in registered(app, ModelRestApi)]
    assert apis, "the walk found the APIs"
    failures = []
    for api in apis:
        headers = api_headers(app, world["username"][reader_of(api)])
        for junk in API_JUNK:
            url = f"/api/v1/{api.resource_name}/?{junk}"
            status = browser(app).get(url, headers=headers).status_code
            if status >= 500:
                failures.append(f"{status} {url}")
    assert not failures, "\n".join(failures)


def _many_entries(n=130):
    for i in range(n):
        audit.record(db.session, "login", summary=f"bulk-{i}")
    db.session.commit()


@pytest.mark.parametrize("psize", ["1000000", "101", "500"])
def test_point5_a_list_page_holds_at_most_100_rows(client, login, world, psize):
    _many_entries()
    login("auditor")
    response = client.get(f"/auditlogview/list/?psize_AuditLogView={psize}")
    assert response.status_code == 200
    shown = set(re.findall(r"/auditlogview/show/(\d+)", response.get_data(as_text=True)))
    assert len(shown) == 100


@pytest.mark.parametrize("psize", ["-1", "0", "abc"])
def test_point5_a_malformed_page_size_is_a_400(client, login, world, psize):
    login("auditor")
    assert client.get(f"/auditlogview/list/?psize_AuditLogView={psize}").status_code == 400


@pytest.mark.parametrize("q", ["(page_size:1000000)", "(page_size:-1)", "(page_size:0)"])
def test_point5_an_api_page_holds_at_most_100_rows(app, world, q):
    city = world["org"]["C1"]
    db.session.execute(
        insert(Org),
        [
            dict(
                kind=INSTITUTION,
                code=f"11010190{i:02d}",
                name=f"机构{i}",
                parent_id=city,
                city_id=city,
                province_id=world["org"]["P1"],
                active=True,
            )
            for i in range(100)
        ],
    )
    db.session.commit()
    headers = api_headers(app, world["username"]["center"])
    response = browser(app).get(f"/api/v1/org/?q={q}", headers=headers)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert len(response.json["ids"]) <= 100 and response.json["count"] > 100


def test_point5_the_plan_lines_sort_link_by_trainees_is_gone_and_refused(client, login, world):
    plan = seed_plans(world)["C1"]
    login("center")
    page = client.get(f"/planview/show/{plan}")
    assert page.status_code == 200
    assert "_oc_PlanLineView=trainees&" not in page.get_data(as_text=True)
    answer = client.get(f"/planview/show/{plan}?_oc_PlanLineView=trainees&_od_PlanLineView=asc")
    assert answer.status_code == 400
    sorted_ok = client.get(f"/planview/show/{plan}?_oc_PlanLineView=classes&_od_PlanLineView=asc")
    assert sorted_ok.status_code == 200
