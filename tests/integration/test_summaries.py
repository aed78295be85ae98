"""Issue 16 points 5 and 6 — the summary spreadsheets (统计汇总) and the home page's dashboard.

A small built dataset (NOW = 2026-03-02): in 北京市 (P1) an ended SYB class of 东城创业学校 with
4 trainees, its grade sheet approved (3 passed), evaluation scores 4 and 5; a not-yet-started
SYB class of 东城第二培训中心 with 2 trainees; in 广东省 (P2) a running GYB class of 广州创业学院
with 3 trainees; and a class of last year, outside every figure. Overdue steps: 东城区 has one
still open, 广州创业学院 one done late, 北京市 one not yet due.
"""

import io
import re
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, event, select

from app import clock
from app.extensions import db
from app.services import statistics
from models.classroom import (
    SUBMITTED,
    ClassTrainee,
    EvaluationAnswer,
    EvaluationSubmission,
    Questionnaire,
)
from models.grades import GradeEntry, GradeScheme, GradeSheet
from models.review import ReviewTask
from models.user import MalanUser
from security.scope import scope_of
from tests.factories import NOW, enrol, make_class, page_errors, sign_in


def _classes(world):
    ended = make_class(world, "I1", start=date(2026, 2, 2), days=5, code="JS-ENDED")
    upcoming = make_class(world, "I1b", start=NOW.date() + timedelta(days=10), code="JS-SOON")
    running = make_class(world, "I2", start=date(2026, 3, 1), days=5, code="JS-RUN")
    running.course_type = "GYB"
    old = make_class(world, "I1", start=date(2025, 12, 1), code="JS-OLD")
    db.session.commit()
    enrol(world, ended, [1, 2, 3, 4], now=datetime(2026, 1, 20, 9))
    enrol(world, upcoming, [5, 6], actor="i1b")
    enrol(world, running, [7, 8, 9], actor="i2", now=datetime(2026, 2, 20, 9))
    enrol(world, old, [10, 11], now=datetime(2025, 11, 20, 9))
    return ended, upcoming, running, old


def _grades(world, klass, passed):
    scheme = db.session.scalar(select(GradeScheme.id))
    sheet = GradeSheet(
        class_id=klass.id,
        org_id=klass.org_id,
        submitter_org_id=world["org"]["C1"],
        scheme_id=scheme,
        created_at=NOW,
        status="approved",
        in_force_revision=1,
    )
    db.session.add(sheet)
    db.session.flush()
    trainees = db.session.scalars(
        select(ClassTrainee).where(ClassTrainee.class_id == klass.id).order_by(ClassTrainee.id)
    ).all()
    for trainee, ok in zip(trainees, passed, strict=True):
        db.session.add(GradeEntry(sheet_id=sheet.id, trainee_id=trainee.id, passed=ok, total=80))


def _scores(klass, scores):
    questionnaire = db.session.scalar(select(Questionnaire.id))
    trainee = db.session.scalar(select(ClassTrainee).where(ClassTrainee.class_id == klass.id))
    for n, score in enumerate(scores):
        submission = EvaluationSubmission(
            class_id=klass.id,
            org_id=klass.org_id,
            user_id=trainee.user_id,
            trainee_id=trainee.id,
            questionnaire_id=questionnaire,
            kind="daily",
            day=klass.start_date + timedelta(days=n),
            status=SUBMITTED,
            saved_at=NOW,
            submitted_at=NOW,
        )
        db.session.add(submission)
        db.session.flush()
        db.session.add(EvaluationAnswer(submission_id=submission.id, question="q1", score=score))
        db.session.add(EvaluationAnswer(submission_id=submission.id, question="q5", text="好"))


def _task(world, org, due, done=None):
    db.session.add(
        ReviewTask(
            record_type="TrainingClass",
            record_id=1,
            revision=1,
            step=0,
            level="city",
            reviewer_org_id=world["org"][org],
            entered_at=due - timedelta(days=5),
            due_at=due,
            done_at=done,
        )
    )


@pytest.fixture()
def dataset(frozen_clock, world):
    classes = _classes(world)
    ended, _upcoming, running, old = classes
    _grades(world, ended, [True, True, True, False])
    _grades(world, old, [True, True])  # last year: not in this year's figures
    _scores(ended, [4, 5])
    _scores(old, [1])
    db.session.execute(delete(ReviewTask))  # only the steps written below
    _task(world, "C1", datetime(2026, 2, 20, 23, 59))  # open, overdue
    _task(world, "I2", datetime(2026, 2, 10, 23, 59), done=datetime(2026, 2, 12, 9))  # done late
    _task(world, "P1", datetime(2026, 3, 20, 23, 59))  # not yet due
    _task(world, "C2", datetime(2025, 11, 1, 23, 59))  # last year
    db.session.commit()
    return world


def _sheets(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200, response.status_code
    book = load_workbook(io.BytesIO(response.data))
    return {ws.title: [r for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def _row(rows, first):
    return next(r for r in rows if r[0] == first)


YEAR = "start=2026-01-01&end=2026-12-31"
HEAD = ("Classes", "NotStarted", "Running", "Ended", "Trainees", "Graded", "Passed", "Rate")


def test_point5_national_file_has_a_sheet_per_level_and_correct_totals(app, dataset):
    client = sign_in(app, dataset["username"]["center"])
    response = client.get(f"/summary/export?{YEAR}")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert "%E7%BB%9F%E8%AE%A1%E6%B1%87%E6%80%BB" in response.headers["Content-Disposition"]
    sheets = _sheets(response)
    assert list(sheets) == ["全国", "北京市", "广东省", "按课程类型"]
    national = sheets["全国"]
    assert national[1][0] == "省份"
    # province: classes, not started, running, ended, trainees, graded, passed, rate, mean
    assert _row(national, "北京市")[1:10] == (2, 1, 0, 1, 6, 4, 3, 75, 4.5)
    assert _row(national, "广东省")[1:10] == (1, 0, 1, 0, 3, 0, 0, None, None)
    total = national[-1]
    assert total[0] == "合计"
    assert total[1:12] == (3, 1, 1, 1, 9, 4, 3, 75, 4.5, 1, 1)  # … overdue open, done late
    beijing = sheets["北京市"]
    assert _row(beijing, "东城区")[1:6] == (2, 1, 0, 1, 6)
    assert _row(beijing, "东城区")[10:12] == (1, 0)
    assert beijing[-1][0] == "合计" and beijing[-1][5] == 6
    types = sheets["按课程类型"]
    assert types[-1][0] == "合计" and types[-1][1] == 3 and types[-1][5] == 9
    # one province's file asked by the center: every sheet counts that province only
    guangdong = _sheets(client.get(f"/summary/export?{YEAR}&org={dataset['org']['P2']}"))
    assert list(guangdong) == ["广东省", "按课程类型"]
    assert guangdong["广东省"][-1][1] == guangdong["按课程类型"][-1][1] == 1


def test_point5_province_file_holds_only_its_own(app, dataset):
    client = sign_in(app, dataset["username"]["p1"])
    sheets = _sheets(client.get(f"/summary/export?{YEAR}"))
    assert list(sheets) == ["北京市", "按课程类型"]
    text = repr(sheets)
    assert "广东" not in text and "广州" not in text
    assert sheets["北京市"][-1][1] == 2  # its two classes, not the country's three
    # another province's file, or the national one: not found
    assert client.get(f"/summary/export?{YEAR}&org={dataset['org']['P2']}").status_code == 404
    assert client.get(f"/summary/export?{YEAR}&org={dataset['org']['center']}").status_code == 404
    # its city's file: the city's sheet by institution
    city = _sheets(client.get(f"/summary/export?{YEAR}&org={dataset['org']['C1']}"))
    assert list(city) == ["东城区", "按课程类型"]
    assert {r[0] for r in city["东城区"][2:-1]} == {
        "东城创业学校",
        "东城第二培训中心",
        "东城区（本级）",
    }


def test_point5_a_city_cannot_reach_the_national_or_another_summary(app, dataset):
    client = sign_in(app, dataset["username"]["c2"])
    for org in ("center", "P2", "P1", "C1"):
        url = f"/summary/export?{YEAR}&org={dataset['org'][org]}"
        assert client.get(url).status_code == 404, org
    own = _sheets(client.get(f"/summary/export?{YEAR}"))
    assert list(own) == ["广州市", "按课程类型"] and own["广州市"][-1][1] == 1
    institution = sign_in(app, dataset["username"]["i1"])
    assert institution.get(f"/summary/export?{YEAR}").status_code == 403
    assert institution.get("/summary/").status_code == 403


def test_point5_end_before_start_is_refused_at_the_field_with_the_dates_kept(app, dataset):
    client = sign_in(app, dataset["username"]["p1"])
    for url in ("/summary/", "/summary/export"):
        response = client.get(f"{url}?start=2026-06-30&end=2026-01-01")
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert page_errors(response) == {"end": ["截止日期不能早于起始日期。"]}
        html = response.get_data(as_text=True)
        assert 'value="2026-06-30"' in html and 'value="2026-01-01"' in html


def test_point5_page_shows_the_top_sheet(app, dataset):
    client = sign_in(app, dataset["username"]["center"])
    html = client.get(f"/summary/?{YEAR}").get_data(as_text=True)
    assert "统计汇总" in html and "/summary/export?" in html
    names = re.findall(r'<td class="summary-name">(.*?)</td>', html)
    assert names == ["北京市", "广东省"]


def test_point5_statements_do_not_grow_with_the_data(app, dataset):
    """Aggregated by the database: three more classes (and overdue steps of another city)
    cost no more statements, in the figures or on the home page."""
    scope = scope_of(db.session.get(MalanUser, dataset["user"]["center"]))

    def statements():
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            statistics.figures(db.session, scope, statistics.year_of(NOW.date()), clock.now())
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def home_statements():
        client = sign_in(app, dataset["username"]["center"])
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert 'id="dashboard"' in client.get("/").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    before, home = statements(), home_statements()
    for n in range(3):
        klass = make_class(dataset, "I2", start=date(2026, 4, 1 + n), code=f"JS-MORE{n}")
        enrol(dataset, klass, [20 + 3 * n, 21 + 3 * n], actor="i2")
        _task(dataset, "C1b", datetime(2026, 2, 1 + n, 23, 59))
    db.session.commit()
    assert statements() == before <= 4
    assert home_statements() == home  # the home page too: the dashboard is a fixed cost


@pytest.mark.parametrize(
    "who,trainees,rate,statuses,overdue",
    [
        # the center's rows are provinces: 广州创业学院's late step counts under 广东省
        ("center", "9", "75.0%", (1, 1, 1), {"北京市": "1", "广东省": "0"}),
        ("p1", "6", "75.0%", (1, 0, 1), {"东城区": "1"}),
        ("c1", "6", "75.0%", (1, 0, 1), {"东城区（本级）": "1"}),
        ("i1", "4", "75.0%", (0, 0, 1), {}),
    ],
)
def test_point6_dashboard_tables_say_the_numbers(
    app, dataset, who, trainees, rate, statuses, overdue
):
    html = sign_in(app, dataset["username"][who]).get("/").get_data(as_text=True)
    assert html.count('class="malan-chart"') == 4
    assert "vendor/echarts/echarts.common.min.js" in html
    assert re.search(r'id="dash-trainees-total">(\d+)<', html).group(1) == trainees
    assert re.search(r'id="dash-pass-rate">([^<]+)<', html).group(1) == rate
    status = dict(
        re.findall(
            r'data-key="(\w+)"><td><a href="[^"]+">[^<]+</a></td><td class="dash-n">(\d+)<', html
        )
    )
    assert (int(status["upcoming"]), int(status["running"]), int(status["ended"])) == statuses
    # mean evaluation score by course type: SYB's scores 4 and 5 (last year's 1 left out)
    assert re.search(r'data-key="SYB">.*?<td class="dash-n">([^<]+)<', html).group(1) == "4.50"
    block = html.split('id="dash-overdue"')[1]
    shown = dict(
        re.findall(r'<tr class="dash-row"><td>([^<]+)</td><td class="dash-n">(\d+)<', block)
    )
    assert shown == overdue


def test_point6_dashboard_links_to_the_lists_behind(app, dataset):
    client = sign_in(app, dataset["username"]["p1"])
    html = client.get("/").get_data(as_text=True)
    links = dict(re.findall(r'data-key="(\w+)"><td><a href="([^"]+)"', html))
    ended = client.get(links["ended"].replace("&amp;", "&")).get_data(as_text=True)
    assert "JS-ENDED" in ended and "JS-SOON" not in ended and "JS-OLD" not in ended
    soon = client.get(links["upcoming"].replace("&amp;", "&")).get_data(as_text=True)
    assert "JS-SOON" in soon and "JS-ENDED" not in soon
    syb = client.get(links["SYB"].replace("&amp;", "&")).get_data(as_text=True)
    assert "JS-ENDED" in syb and "JS-SOON" in syb and "JS-RUN" not in syb
    assert 'href="/overdue/"' in html
    assert 'id="dashboard"' not in sign_in(app, dataset["username"]["trainer1"]).get("/").get_data(
        as_text=True
    )
