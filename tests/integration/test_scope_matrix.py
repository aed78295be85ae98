"""Point 6 — data scope: a matrix over every registered view and API endpoint that takes an id.

The endpoints are discovered from ``appbuilder.baseviews`` and ``url_map`` (nothing hard-coded
that could go stale). Users: provinces p1/p2, cities c1/c1b/c2, institutions i1/i2, a trainer, a
trainee and an account without an org. In "granted" mode each user's role is given every
permission the view offers, so the scope is the only thing between the user and a foreign row:
a foreign id must answer 404 and change nothing. In "shipped" mode the permission table of
`security.permissions` applies as it is (403 where it forbids, else 404).
The helpers here (one app context per request, sign-in, grants, the oracle) are reused by the
other point-5/6 test modules.
"""

import functools
import re

import pytest
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.baseviews import BaseCRUDView
from sqlalchemy import select

from app import create_app
from app.config import TestConfig
from app.extensions import db
from models.org import Org
from models.user import MalanUser
from security.permissions import ROLE_MATRIX
from security.scope import is_scoped
from tests.factories import (
    ORGS,
    api_headers,
    browser,
    grant,
    seed_dispatch,
    sign_in,
    snapshot,
)

# ---------------------------------------------------------------- helpers (shared)


def _children():
    tree = {}
    for key, _kind, _code, _name, parent in ORGS:
        tree.setdefault(parent, []).append(key)
    return tree


def subtree(org_key) -> set:
    """The org keys at and below ``org_key`` — computed from the fixture tree, not the code."""
    tree, out, todo = _children(), set(), [org_key]
    while todo:
        key = todo.pop()
        out.add(key)
        todo += tree.get(key, [])
    return out


# user key -> (role, org key or None); the fixture users plus one without an org.
PEOPLE = {
    "center": ("center", "center"),
    "p1": ("province", "P1"),
    "p2": ("province", "P2"),
    "c1": ("city", "C1"),
    "c1b": ("city", "C1b"),
    "c2": ("city", "C2"),
    "i1": ("institution", "I1"),
    "i2": ("institution", "I2"),
    "trainer1": ("trainer", "C1"),
    "trainee1": ("trainee", "I1"),
    "noorg": ("city", None),
}
OWNERS = {"trainer", "trainee"}


def visible(world, key, model) -> set:
    """The ids ``key`` may see of ``model``: the spec's rules, written out independently."""
    role, org_key = PEOPLE[key]
    me = world["user"][key]
    spec = getattr(model, "__scope__", None)
    if role == "center" or spec is None:
        return {r[0] for r in db.session.execute(select(model.id))}
    if role in OWNERS:
        if spec.owner is None:
            return set()
        owner = getattr(model, spec.owner)
        return {r[0] for r in db.session.execute(select(model.id).where(owner == me))}
    if org_key is None or spec.org is None:
        return set()
    org_ids = {world["org"][k] for k in subtree(org_key)}
    column = getattr(model, spec.org)  # the declared region column; the subtree is computed above
    return {r[0] for r in db.session.execute(select(model.id).where(column.in_(org_ids)))}


@pytest.fixture()
def people(people):
    """The shared population plus a dispatch on every class and a request to each trainer."""
    seed_dispatch(people)
    return people


# ---------------------------------------------------------------- discovery


@functools.cache
def discovery_app():
    return create_app(TestConfig)


def scoped_views(app):
    return [
        v
        for v in app.appbuilder.baseviews
        if isinstance(v, (BaseCRUDView, ModelRestApi)) and is_scoped(v.datamodel.obj)
    ]


# How each id-taking endpoint is called: FAB method name -> HTTP methods to try.
ID_ENDPOINTS = {
    BaseCRUDView: {
        "show": ["GET"],
        "edit": ["GET", "POST"],
        "delete": ["GET", "POST"],
        "action": ["GET", "POST"],
        "action_post": ["POST"],
        "bulk_review": ["POST"],
        "submit_all": ["POST"],  # 批量报送 confirmed (ids in the form)
        "add_lines": ["POST"],  # a plan's lines added on its page (issue 15 point 5)
        "edit_lines": ["POST"],  # a plan's lines edited/removed on its page
        "review_action": ["POST"],
        "account_sheet": ["POST"],
        "comment": ["POST"],
        "allow_late_action": ["POST"],
        "link_account": ["POST"],
        # [dispatch]: calendars, a class's dispatch, a trainer's request, opening a dispatch
        "mark": ["POST"],
        "criteria": ["POST"],
        "relax": ["POST"],
        "recompute": ["POST"],
        "propose": ["POST"],
        "choose": ["POST"],
        "accept": ["POST"],
        "decline": ["POST"],
        "open_dispatch": ["POST"],
        # [dispatch] rows 12–14: issuing, answering an objection, a notice's PDF and confirmation
        "issue": ["POST"],
        "answer": ["POST"],
        "download": ["GET"],
        "confirm": ["POST"],
        "object": ["POST"],
    },
    ModelRestApi: {"get": ["GET"], "put": ["PUT"], "delete": ["DELETE"]},
}


def _kind(view):
    return BaseCRUDView if isinstance(view, BaseCRUDView) else ModelRestApi


FORM_IDS = (
    "action_post",
    "bulk_review",
    "submit_all",
)  # endpoints taking ids in the form ("rowid")


def id_endpoints(app):
    """(view, FAB method, rule) for every rule of a scoped view that takes an id."""
    found = []
    for view in scoped_views(app):
        for rule in app.url_map.iter_rules():
            owner, _, method = rule.endpoint.partition(".")
            if owner == view.endpoint and ("pk" in rule.arguments or method in FORM_IDS):
                found.append((view, method, rule))
    return found


def _cases():
    app = discovery_app()
    with app.app_context():
        for view, method, _rule in id_endpoints(app):
            for verb in ID_ENDPOINTS[_kind(view)].get(method, ["?"]):
                yield f"{view.endpoint}.{method}", verb


CASES = sorted(set(_cases()))
MATRIX_USERS = ["p1", "p2", "c1", "c1b", "c2", "i1", "i2", "trainer1", "trainee1", "noorg"]
# With the shipped permissions most calls stop at 403; one user per level keeps that pass short.
SHIPPED_USERS = ["p1", "c1", "i1", "trainer1"]


def test_point6_every_id_endpoint_is_classified():
    """A new id-taking endpoint must be taught to the matrix before it can ship."""
    app = discovery_app()
    with app.app_context():
        unknown = [
            rule.rule
            for view, method, rule in id_endpoints(app)
            if method not in ID_ENDPOINTS[_kind(view)]
        ]
        names = {v.__class__.__name__ for v in scoped_views(app)}
    assert not unknown
    assert {"OrgView", "UserView", "AuditLogView", "OrgApi"} <= names
    assert ("OrgApi.get", "GET") in CASES and ("UserView.action_post", "POST") in CASES


# ---------------------------------------------------------------- the foreign-id matrix


def view_by_endpoint(app, endpoint):
    return next(v for v in scoped_views(app) if v.endpoint == endpoint)


def required_permission(view, method) -> str | None:
    """The permission FAB checks first; None when the endpoint answers 404 before any check
    (an action request on a view without actions names an action that does not exist)."""
    if method in ("action", "action_post"):
        if not view.actions:
            return None
        method = next(iter(view.actions.values())).func.__name__
    return "can_" + view.method_permission_name.get(method, method)


def _url(app, endpoint, view, pk):
    method = endpoint.split(".")[1]
    with app.test_request_context():
        from flask import url_for

        if method in FORM_IDS:
            return url_for(endpoint)
        if method == "action":
            return url_for(endpoint, name=next(iter(view.actions), "no-such-action"), pk=pk)
        return url_for(endpoint, pk=pk)


def call(client, app, endpoint, verb, view, pks, headers=None):
    method = endpoint.split(".")[1]
    url = _url(app, endpoint, view, pks[0])
    if isinstance(view, ModelRestApi):
        return client.open(url, method=verb, headers=headers, json={"name": "越权修改"})
    data = {"csrf_token": client.csrf}
    if method == "action_post":
        data.update(action=next(iter(view.actions), "no-such-action"), rowid=[str(p) for p in pks])
    elif method == "bulk_review":
        data.update(decision="approve", opinion="越权", rowid=[str(p) for p in pks])
    elif method == "submit_all":
        data.update(rowid=[str(p) for p in pks])
    elif method == "edit":
        data.update(name="越权修改", first_name="越权修改")
    return client.open(url, method=verb, data=data if verb == "POST" else None)


def foreign_sample(ids, limit=6):
    ids = sorted(ids)
    step = max(1, len(ids) // limit)
    return ids[::step][:limit]


def probe(app, people, endpoint, verb, who, mode) -> list:
    """Every way ``who`` got through to a foreign row of ``endpoint`` (empty: none)."""
    view = view_by_endpoint(app, endpoint.split(".")[0])
    method = endpoint.split(".")[1]
    role = PEOPLE[who][0]
    resource = view.class_permission_name
    if mode == "granted":
        grant(app, role, resource, view.base_permissions)
    needed = required_permission(view, method)
    allowed = (
        needed is None
        or needed in view.base_permissions
        and (mode == "granted" or (needed, resource) in set(ROLE_MATRIX[role]))
    )
    model = view.datamodel.obj
    own = visible(people, who, model)
    foreign = set(db.session.scalars(select(model.id))) - own
    assert foreign, "the fixture must give every user something foreign"

    is_api = isinstance(view, ModelRestApi)
    client = browser(app) if is_api else sign_in(app, people["username"][who])
    headers = api_headers(app, people["username"][who]) if is_api else None
    leaks = []
    before = snapshot()
    for pk in foreign_sample(foreign):
        status = call(client, app, endpoint, verb, view, [pk], headers).status_code
        if status != (404 if allowed else 403):
            leaks.append((who, pk, status))
    if method in FORM_IDS and own:  # one foreign id among own ones: all refused
        batch = sorted(own)[:2] + foreign_sample(foreign, 1)
        status = call(client, app, endpoint, verb, view, batch).status_code
        if status not in (403, 404):
            leaks.append((who, batch, status))
    if snapshot() != before:
        leaks.append((who, "database changed"))
    if allowed and own and verb == "GET" and method in ("show", "get"):
        # The control: the same endpoint does serve the user's own rows.
        status = call(client, app, endpoint, verb, view, [min(own)], headers).status_code
        if status != 200:
            leaks.append((who, "own row not served", status))
    return leaks


@pytest.mark.parametrize("mode", ["granted", "shipped"])
@pytest.mark.parametrize("endpoint,verb", CASES)
def test_point6_foreign_id_is_404_and_changes_nothing(app, people, endpoint, verb, mode):
    """Each user of MATRIX_USERS, for each foreign id: 404 (403 where the role lacks the
    permission), and the database unchanged. Failures list (user, id, status)."""
    users = MATRIX_USERS if mode == "granted" else SHIPPED_USERS
    leaks = [leak for who in users for leak in probe(app, people, endpoint, verb, who, mode)]
    assert not leaks


# ---------------------------------------------------------------- lists


def listed_ids(client, app, view, url=None) -> set:
    """The ids a list shows, page after page (a page holds at most 100 rows: issue 17)."""
    show = rf"/{view.route_base.strip('/')}/show/(\d+)"
    if url is not None:
        return {int(pk) for pk in re.findall(show, client.get(url).get_data(as_text=True))}
    name = view.__class__.__name__
    # The audit log hides its internal bookkeeping rows unless asked (issue 15): scope is about
    # every row, so ask.
    extra = {"internal": 1} if name == "AuditLogView" else {}
    ids = set()
    for page in range(100):
        with app.test_request_context():
            from flask import url_for

            url = url_for(
                f"{view.endpoint}.list", **{f"psize_{name}": 100, f"page_{name}": page}, **extra
            )
        found = {int(pk) for pk in re.findall(show, client.get(url).get_data(as_text=True))}
        if not found - ids:
            return ids
        ids |= found
    return ids


LIST_USERS = ["center", "p1", "p2", "c1", "c1b", "c2", "i1", "i2", "trainer1", "trainee1", "noorg"]


def list_views():
    app = discovery_app()
    with app.app_context():
        return sorted(v.endpoint for v in scoped_views(app))


@pytest.mark.parametrize("who", LIST_USERS)
@pytest.mark.parametrize("endpoint", list_views())
def test_point6_list_shows_exactly_own_subtree(app, people, endpoint, who):
    view = view_by_endpoint(app, endpoint)
    grant(app, PEOPLE[who][0], view.class_permission_name, ["can_read"])
    expected = visible(people, who, view.datamodel.obj)
    if isinstance(view, ModelRestApi):
        response = browser(app).get(
            f"/api/v1/{view.resource_name}/?q=(page_size:100)",
            headers=api_headers(app, people["username"][who]),
        )
        assert response.status_code == 200
        assert set(response.json["ids"]) == expected and response.json["count"] == len(expected)
    else:
        client = sign_in(app, people["username"][who])
        expected = visible(people, who, view.datamodel.obj)  # the login itself is audited
        assert listed_ids(client, app, view) == expected
    if who == "center":
        assert len(expected) == db.session.query(view.datamodel.obj).count()
    if who in ("trainer1", "trainee1") and view.datamodel.obj is MalanUser:
        assert expected == {people["user"][who]}


# ---------------------------------------------------------------- dropdowns, search, _info


def select_options(html, name) -> set:
    """Option values of every <select name=...> on the page (the form and the search widget)."""
    html = html.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    found = set()
    for body in re.findall(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S):
        found |= {int(v) for v in re.findall(r'<option[^>]*value="(\d+)"', body)}
    return found


def is_org_picker(html, name) -> bool:
    """The column is chosen through the org picker (its options come from /orgs/pick/, checked
    below), not a dropdown holding its options."""
    html = html.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    return any(
        "data-org-picker" in tag for tag in re.findall(rf'<select[^>]*name="{name}"[^>]*>', html)
    )


def related_columns(view, columns):
    return [c for c in columns or [] if view.datamodel.is_relation_many_to_one(c)]


DROPDOWN_USERS = ["center", "p2", "c1", "i1", "noorg"]


@pytest.mark.parametrize("who", DROPDOWN_USERS)
@pytest.mark.parametrize("endpoint", [e for e in list_views() if not e.endswith("Api")])
def test_point6_related_dropdowns_list_only_rows_in_scope(app, people, endpoint, who):
    view = view_by_endpoint(app, endpoint)
    grant(app, PEOPLE[who][0], view.class_permission_name, view.base_permissions)
    client = sign_in(app, people["username"][who])
    own = sorted(visible(people, who, view.datamodel.obj))
    pages = {"list": (f"{view.route_base}/list/", view.search_columns)}
    routes = view.include_route_methods  # None: every route (views that drop add/edit say so)
    if "can_write" in view.base_permissions:
        if routes is None or "add" in routes:
            pages["add"] = (f"{view.route_base}/add", view.add_columns)
        if own and (routes is None or "edit" in routes):
            pages["edit"] = (f"{view.route_base}/edit/{own[0]}", view.edit_columns)
    checked = 0
    for page, (url, columns) in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        for column in related_columns(view, columns):
            allowed = visible(people, who, view.datamodel.get_related_model(column))
            options = select_options(html, column)
            assert options <= allowed, (page, column, options - allowed)
            checked += 1
            if who == "center" and page == "list" and not is_org_picker(html, column):
                assert options, (page, column)  # the control: the dropdown is really parsed
    assert checked or not related_columns(view, view.search_columns)


# [uxpick] The org picker's JSON (`/orgs/pick/`, views/org_picker.py) serves every org choice: it
# must list nothing outside the user's subtree (the message purpose adds only the parent org,
# or a trainer's own),
# whatever the purpose, role, search text or branch asked for.
PICKER_ASKS = [
    {"purpose": p, **extra}
    for p in ("account", "notice", "message")
    for extra in ({}, {"role": "city"}, {"role": "trainee"}, {"q": "广"}, {"q": "北京"})
]


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_uxpick_org_picker_lists_only_orgs_in_scope(app, people, who):
    client = sign_in(app, people["username"][who])
    allowed = visible(people, who, Org)
    me = db.session.get(MalanUser, people["user"][who])
    parent = {me.org.parent_id} if me.org is not None and me.org.parent_id else set()
    if PEOPLE[who][0] == "trainer":  # a trainer writes to its own org (messages.recipients)
        parent = {me.org_id}
    foreign = set(people["org"].values()) - allowed - parent
    for ask in PICKER_ASKS + [{"purpose": "notice", "under": org} for org in sorted(foreign)]:
        answer = client.get("/orgs/pick/", query_string=ask)
        assert answer.status_code == 200, ask
        found = {r["id"] for r in answer.json["results"]}
        extra = parent if ask["purpose"] == "message" else set()
        assert found <= allowed | extra, (ask, found - allowed)
        assert not found & foreign, ask
        if ask == {"purpose": "account"} and who in ("center", "p1", "c1"):
            assert found == allowed  # the control: the answer is really read


@pytest.mark.parametrize("who", ["p1", "c1", "c2", "i1", "noorg"])
def test_point6_api_info_offers_only_rows_in_scope(app, people, who):
    grant(app, PEOPLE[who][0], "Org", ["can_read", "can_write"])
    response = browser(app).get(
        "/api/v1/org/_info", headers=api_headers(app, people["username"][who])
    )
    assert response.status_code == 200
    allowed = visible(people, who, Org)
    offered = {
        v["id"]
        for field in response.json["add_columns"] + response.json["edit_columns"]
        for v in field.get("values", [])
    }
    assert offered <= allowed
    if who == "c1":
        assert offered == {people["org"]["C1"]}  # an institution goes under a city: its own


@pytest.mark.parametrize("who", ["p1", "c1", "i2"])
@pytest.mark.parametrize("endpoint", list_views())
def test_point6_search_on_a_foreign_org_finds_nothing(app, people, endpoint, who):
    view = view_by_endpoint(app, endpoint)
    grant(app, PEOPLE[who][0], view.class_permission_name, ["can_read"])
    foreign_orgs = sorted(set(people["org"].values()) - visible(people, who, Org))
    columns = [
        c
        for c in related_columns(view, view.search_columns)
        if view.datamodel.get_related_model(c) is Org
    ]
    if isinstance(view, ModelRestApi):
        columns = [
            c
            for c in related_columns(view, view.search_columns or ["parent"])
            if view.datamodel.get_related_model(c) is Org
        ]
        headers = api_headers(app, people["username"][who])
        for column in columns:
            for org in foreign_orgs:
                q = f"(filters:!((col:{column},opr:rel_o_m,value:{org})),page_size:100)"
                response = browser(app).get(f"/api/v1/{view.resource_name}/?q={q}", headers=headers)
                assert response.status_code == 200 and response.json["ids"] == [], (column, org)
        return
    client = sign_in(app, people["username"][who])
    for column in columns:
        for org in foreign_orgs:
            url = f"{view.route_base}/list/?_flt_0_{column}={org}"
            assert listed_ids(client, app, view, url) == set(), (column, org)


# ---------------------------------------------------------------- [classroom] hand-written id endpoints

# The class pages are BaseViews over hand-written queries (`app.services.classroom.visible_class`,
# `in_scope`), not ModelViews: each id-taking rule is listed here with how to call it; the id
# is a class of I1's (or a row of it) that the users of FOREIGN_TO_I1 must not reach (404).
CLASSROOM_ENDPOINTS = {
    "TraineeView.upload": ("GET", "class"),
    "TraineeView.confirm": ("POST", "class"),
    "TraineeView.add": ("POST", "class"),
    "TraineeView.withdraw": ("POST", "trainee"),
    "TrainerAssignView.assign": ("POST", "class"),
    "TrainerAssignView.remove": ("POST", "trainer"),
    "NeedsAnalysisView.show": ("GET", "trainer"),
    "NeedsAnalysisView.save": ("POST", "trainer"),
    "TeachingView.show": ("GET", "class"),
    "EvaluationView.form": ("GET", "class"),
    # row 18: a class day's results, reminders and responses
    "EvaluationResultView.index": ("GET", "class"),
    "EvaluationResultView.show": ("GET", "class"),
    "EvaluationResultView.remind": ("POST", "class"),
    "EvaluationResultView.respond": ("POST", "class"),
}
CLASSROOM_VIEWS = {
    "TraineeView",
    "TrainerAssignView",
    "NeedsAnalysisView",
    "TeachingView",
    "EvaluationView",
    "EvaluationResultView",
}
FOREIGN_TO_I1 = ["p2", "c1b", "c2", "i2", "trainer2", "trainee1", "noorg"]


def test_classroom_every_id_endpoint_is_listed():
    app = discovery_app()
    found = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in CLASSROOM_VIEWS and rule.arguments
    }
    assert found == set(CLASSROOM_ENDPOINTS)


@pytest.mark.parametrize("endpoint", sorted(CLASSROOM_ENDPOINTS))
def test_classroom_foreign_class_is_404_and_changes_nothing(app, people, endpoint, frozen_clock):
    from models.classroom import ClassTrainee, ClassTrainer
    from tests.factories import assign, enrol, make_class

    klass = make_class(people)
    enrol(people, klass, [1])
    assign(people, klass, "trainer1")
    ids = {
        "class": klass.id,
        "trainee": db.session.scalar(select(ClassTrainee.id)),
        "trainer": db.session.scalar(select(ClassTrainer.id)),
    }
    verb, kind = CLASSROOM_ENDPOINTS[endpoint]
    view_name = endpoint.split(".")[0]
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == view_name)
    leaks = []
    for who in FOREIGN_TO_I1:
        role = PEOPLE.get(who, ("trainer", None))[0]  # trainer2: another trainer
        grant(app, role, view.class_permission_name, view.base_permissions)
        client = sign_in(app, people["username"][who])
        with app.test_request_context():
            from flask import url_for

            args = {"pk": ids[kind]} if kind != "class" else {"class_id": ids[kind]}
            if endpoint == "EvaluationView.form":
                args |= {"kind": "daily", "day": klass.start_date.isoformat()}
            elif endpoint.startswith("EvaluationResultView.") and not endpoint.endswith(".index"):
                args |= {"day": klass.start_date.isoformat()}
            url = url_for(endpoint, **args)
        before = snapshot()
        status = client.open(
            url, method=verb, data={"csrf_token": client.csrf} if verb == "POST" else None
        ).status_code
        if status != 404 or snapshot() != before:
            leaks.append((who, status))
    assert not leaks


# ---------------------------------------------------------------- [grades] hand-written id endpoints

# The grade sheet's pages (Annex 1 row 19) are BaseViews over `app.services.grades.visible_class`:
# each id-taking rule, how to call it and which id it takes (a class of I1's, or its sheet).
GRADES_ENDPOINTS = {
    "GradeSheetView.sheet": ("GET", "class"),
    "GradeSheetView.show": ("GET", "sheet"),
    "GradeSheetView.export": ("GET", "class"),
    "GradeSheetView.trial": ("GET", "class"),
    "GradeSheetView.written": ("POST", "class"),
    "GradeSheetView.attendance": ("POST", "class"),
    "GradeSheetView.submit": ("POST", "class"),
    "GradeSheetView.review_action": ("POST", "class"),
}


def test_grades_every_id_endpoint_is_listed():
    app = discovery_app()
    found = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"GradeSheetView", "GradeSchemeView"} and rule.arguments
    }
    assert found == set(GRADES_ENDPOINTS)


@pytest.mark.parametrize("endpoint", sorted(GRADES_ENDPOINTS))
def test_grades_foreign_class_is_404_and_changes_nothing(app, people, endpoint, frozen_clock):
    from datetime import datetime, time

    from flask import url_for

    from app import clock
    from app.services import grades
    from models.classroom import ClassTrainee
    from models.grades import GradeEntry, GradeSheet, TrialScore
    from tests.factories import assign, enrol, make_class, rows

    klass = make_class(people)
    enrol(people, klass, [1])
    assign(people, klass, "trainer1", lead=True)
    frozen_clock.set(datetime.combine(klass.end_date, time(10)))  # the class's last day
    trainee = db.session.scalar(select(ClassTrainee.id))
    scores = {f"c_{c['key']}": "80" for c in grades.criteria(grades.scheme_for(klass))}
    trainer1 = db.session.get(MalanUser, people["user"]["trainer1"])
    grades.score_trial(klass, trainee, trainer1, scores, clock.now())
    sheet = grades.sheet_of(klass)
    verb, kind = GRADES_ENDPOINTS[endpoint]

    def state():
        return [rows(t.__table__) for t in (GradeSheet, GradeEntry, TrialScore)], snapshot()

    leaks = []
    for who in FOREIGN_TO_I1:
        role = PEOPLE.get(who, ("trainer", None))[0]
        grant(app, role, "GradeSheet", ["can_read", "can_write", "can_export"])
        client = sign_in(app, people["username"][who])
        with app.test_request_context():
            args = {"pk": sheet.id} if kind == "sheet" else {"class_id": klass.id}
            if endpoint == "GradeSheetView.trial":
                args["trainee"] = trainee
            url = url_for(endpoint, **args)
        before = state()
        data = {"csrf_token": client.csrf, f"written_{trainee}": "1", f"attendance_{trainee}": "1"}
        status = client.open(
            url, method=verb, data=data | {"action": "approve"} if verb == "POST" else None
        ).status_code
        if status != 404 or state() != before:
            leaks.append((who, status))
    assert not leaks


# ---------------------------------------------------------------- [summaries] the org asked for

# 统计汇总 (issue 16 point 5) takes the org whose summary is asked as ``?org=`` (default: the
# user's own). With the permission granted to every role, only the scope stands between a user
# and another region's figures: an org outside its subtree is not found; a role whose org is not
# a center, province or city (institution, trainer, trainee, no org) has no summary at all.
SUMMARY_ENDPOINTS = ["SummaryView.export", "SummaryView.index"]
SUMMARY_ROOTS = ["center", "P1", "P2", "C1", "C1b", "C2"]


def test_summaries_every_endpoint_is_listed():
    app = discovery_app()
    found = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("SummaryView.")}
    assert found == set(SUMMARY_ENDPOINTS)


@pytest.mark.parametrize("endpoint", SUMMARY_ENDPOINTS)
def test_summaries_foreign_org_is_404(app, people, endpoint):
    from flask import url_for

    with app.test_request_context():
        base = url_for(endpoint)
    leaks = []
    for who in MATRIX_USERS:
        role, org_key = PEOPLE[who]
        grant(app, role, "Summary", ["can_read", "can_export"])
        client = sign_in(app, people["username"][who])
        may = role in ("province", "city") and org_key is not None
        own = subtree(org_key) if may else set()
        for key in SUMMARY_ROOTS:
            status = client.get(f"{base}?org={people['org'][key]}").status_code
            expected = 200 if key in own else (404 if may else 403)
            if status != expected:
                leaks.append((who, key, status))
        if client.get(base).status_code != (200 if may else 403):
            leaks.append((who, "own", "default"))


# ---------------------------------------------------------------- rows 20–21: after the class

# The activity report and the feedback on the trainers (issue 16 points 1–2) are BaseViews over
# `activity_reports.visible_class` and `trainer_feedback.visible_record`: each id-taking rule,
# how to call it and which id it takes (a finished class of I1's, its report, a feedback form).
AFTER_CLASS_ENDPOINTS = {
    "ActivityReportView.page": ("GET", "class"),
    "ActivityReportView.show": ("GET", "report"),
    "ActivityReportView.save": ("POST", "class"),
    "ActivityReportView.submit": ("POST", "class"),
    "ActivityReportView.photo": ("POST", "class"),
    "ActivityReportView.review_action": ("POST", "class"),
    "TrainerFeedbackView.show": ("GET", "feedback"),
    "TrainerFeedbackView.form": ("GET", "feedback"),
    "TrainerFeedbackView.fill": ("POST", "feedback"),
}


def test_after_class_every_id_endpoint_is_listed():
    app = discovery_app()
    found = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"ActivityReportView", "TrainerFeedbackView"}
        and rule.arguments
    }
    assert found == set(AFTER_CLASS_ENDPOINTS)


@pytest.mark.parametrize("endpoint", sorted(AFTER_CLASS_ENDPOINTS))
def test_after_class_foreign_class_is_404_and_changes_nothing(app, people, endpoint, frozen_clock):
    from datetime import datetime, time, timedelta

    from flask import url_for

    from app.services import activity_reports, trainer_feedback
    from models.after_class import ActivityReport, TrainerFeedback
    from tests.factories import assign, make_class, rows

    klass = make_class(people)
    assign(people, klass, "trainer1", lead=True)
    frozen_clock.set(datetime.combine(klass.end_date + timedelta(days=1), time(10)))
    ids = {
        "class": klass.id,
        "report": activity_reports.report_of(klass).id,
        "feedback": trainer_feedback.feedback_of(klass, people["user"]["trainer1"]).id,
    }
    verb, kind = AFTER_CLASS_ENDPOINTS[endpoint]
    view_name = endpoint.split(".")[0]
    view = next(v for v in app.appbuilder.baseviews if v.__class__.__name__ == view_name)

    def state():
        return [rows(t.__table__) for t in (ActivityReport, TrainerFeedback)], snapshot()

    leaks = []
    for who in FOREIGN_TO_I1:
        role = PEOPLE.get(who, ("trainer", None))[0]
        grant(app, role, view.class_permission_name, view.base_permissions)
        client = sign_in(app, people["username"][who])
        with app.test_request_context():
            args = {"class_id": ids[kind]} if kind == "class" else {"pk": ids[kind]}
            url = url_for(endpoint, **args)
        before = state()
        data = {"csrf_token": client.csrf, "overview": "越权", "q1": "5", "action": "approve"}
        status = client.open(url, method=verb, data=data if verb == "POST" else None).status_code
        if status != 404 or state() != before:
            leaks.append((who, status))
    assert not leaks


# ---------------------------------------------------------------- [certs] hand-written id endpoints

# The certificates' pages (Annex 1 rows 22–23) are BaseViews over
# `app.services.certificates.visible_class`: each id-taking rule and the id it takes.
CERTS_ENDPOINTS = {
    "CertificateView.batch": ("GET", "class"),
    "CertificateView.show": ("GET", "batch"),
    "CertificateView.pool": ("GET", "class"),
    "CertificateView.save": ("POST", "class"),
    "CertificateView.submit": ("POST", "class"),
    "CertificateView.send_back": ("POST", "class"),
}


def test_certs_every_id_endpoint_is_listed():
    app = discovery_app()
    found = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] == "CertificateView" and rule.arguments
    }
    assert found == set(CERTS_ENDPOINTS)


@pytest.mark.parametrize("endpoint", sorted(CERTS_ENDPOINTS))
def test_certs_foreign_class_is_404_and_changes_nothing(app, people, endpoint, frozen_clock):
    from flask import url_for

    from app.services import certificates
    from tests.factories import graded_class

    klass = graded_class(people, passed=(1,), failed=())
    batch = certificates.batch_of(klass)
    verb, kind = CERTS_ENDPOINTS[endpoint]
    leaks = []
    for who in FOREIGN_TO_I1:
        role = PEOPLE.get(who, ("trainer", None))[0]
        grant(app, role, "Certificate", ["can_read", "can_write"])
        client = sign_in(app, people["username"][who])
        with app.test_request_context():
            args = {"pk": batch.id} if kind == "batch" else {"class_id": klass.id}
            url = url_for(endpoint, **args)
        before = snapshot()
        data = {"csrf_token": client.csrf, "opinion": "x", "add_trainee": "1"}
        status = client.open(url, method=verb, data=data if verb == "POST" else None).status_code
        if status != 404 or snapshot() != before:
            leaks.append((who, status))
    assert not leaks
