"""[classroom] point 5 (issue 13), Annex 1 row 19: the trainers score each trainee's trial lecture
on the 《试讲评分表》 (each on its own; the trainee's score is the mean), fill the 《成绩单》
(attendance, trial, written, total by the scheme's rule, pass/fail), the lead trainer submits it,
the center reviews it, a change after submission is a correction reviewed again (第十条); the
export per class; scope; bad input."""

import io
import json
from datetime import datetime, time, timedelta
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.services import grades, review
from models.classroom import DAILY, SUBMITTED, EvaluationSubmission, Questionnaire
from models.grades import GradeEntry, GradeScheme, GradeSheet, TrialScore
from models.review import ReviewEvent, ReviewRevision, ReviewTask
from security import passwords
from tests.factories import (
    NOW,
    PASSWORD,
    Actors,
    assign,
    enrol,
    grant,
    make_class,
    make_trainer,
    post_form,
    rows,
)

pytestmark = pytest.mark.usefixtures("frozen_clock")
ALL_80 = {
    "c_design": "80",
    "c_content": "80",
    "c_delivery": "80",
    "c_interaction": "80",
    "c_timing": "80",
}
ALL_90 = {k: "90" for k in ALL_80}


@pytest.fixture()
def finished(world, frozen_clock):
    """A 5-day class of I1, trainer1 (lead) and trainer2, trainees t1 (daily feedback on all 5
    days) and t2 (on 3), the clock on the last day."""
    klass = make_class(world, days=5)
    assign(world, klass, "trainer1", lead=True)
    assign(world, klass, "trainer2")
    people = enrol(world, klass, [1, 2])
    questionnaire = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == DAILY))
    for key, (trainee, _pw), days in zip(("t1", "t2"), people, (5, 3), strict=True):
        passwords.set_password(trainee.user, PASSWORD, NOW, must_change=False)
        world["user"][key], world["username"][key] = trainee.user_id, trainee.user.username
        world.setdefault("trainee", {})[key] = trainee.id
        for n in range(days):
            day = klass.start_date + timedelta(days=n)
            db.session.add(
                EvaluationSubmission(
                    class_id=klass.id,
                    org_id=klass.org_id,
                    user_id=trainee.user_id,
                    trainee_id=trainee.id,
                    questionnaire_id=questionnaire.id,
                    kind=DAILY,
                    day=day,
                    status=SUBMITTED,
                    saved_at=datetime.combine(day, time(18)),
                    submitted_at=datetime.combine(day, time(18)),
                )
            )
    db.session.commit()
    frozen_clock.set(datetime.combine(klass.end_date, time(10, 0)))
    return klass


def page(klass):
    return f"/grades/class/{klass.id}"


def score(world, klass, trainer, who, values):
    grades.score_trial(klass, world["trainee"][who], getattr(Actors(world), trainer), values, now())


def now():
    from app import clock

    return clock.now()


def written(world, klass, **scores):
    grades.enter_written(
        klass,
        Actors(world).trainer1,
        {f"written_{world['trainee'][k]}": v for k, v in scores.items()},
        now(),
    )


def line(world, klass, who) -> dict:
    db.session.expire_all()
    return grades.sheet_of(klass).entries[str(world["trainee"][who])]


def complete(world, klass):
    """Both trainers scored both trainees; written scores typed."""
    for trainer, values in (("trainer1", ALL_80), ("trainer2", ALL_90)):
        score(world, klass, trainer, "t1", values)
        score(world, klass, trainer, "t2", values)
    written(world, klass, t1="50", t2="95")


def sheet_state(klass):
    """What a refused request must not change."""
    return (
        rows(GradeSheet.__table__),
        rows(GradeEntry.__table__),
        rows(TrialScore.__table__),
        rows(ReviewRevision.__table__),
        rows(ReviewEvent.__table__),
    )


# ---------------------------------------------------------------- 试讲评分表


def test_point5_trial_score_is_the_mean_of_each_trainers_own_score(
    world, finished, login_en, client
):
    login_en("trainer1")
    response = post_form(
        client, f"/grades/class/{finished.id}/trial", {"trainee": world["trainee"]["t1"], **ALL_80}
    )
    assert response.status_code == 302
    assert line(world, finished, "t1")["trial"] == 80.0
    score(world, finished, "trainer2", "t1", ALL_90)
    assert line(world, finished, "t1")["trial"] == 85.0
    assert line(world, finished, "t1")["trial_count"] == 2
    # trainer1 saving again replaces its own score only; trainer2's stays
    post_form(
        client,
        f"/grades/class/{finished.id}/trial",
        {"trainee": world["trainee"]["t1"], **ALL_80, "c_content": "100"},
    )
    by_trainer = {s.user_id: s.total for s in db.session.scalars(select(TrialScore)).all()}
    assert by_trainer == {world["user"]["trainer1"]: 86.0, world["user"]["trainer2"]: 90.0}
    assert line(world, finished, "t1")["trial"] == 88.0
    # a trainer's form shows its own scores, never the other trainer's
    html = client.get(
        f"/grades/class/{finished.id}/trial?trainee={world['trainee']['t1']}"
    ).get_data(as_text=True)
    assert 'value="100.0"' in html and 'value="90' not in html


def test_point5_criteria_weights_come_from_the_scheme(world, finished):
    scores = {
        "c_design": "100",
        "c_content": "50",
        "c_delivery": "80",
        "c_interaction": "70",
        "c_timing": "0",
    }
    score(world, finished, "trainer1", "t1", scores)
    # 100×20% + 50×30% + 80×20% + 70×20% + 0×10% = 20 + 15 + 16 + 14 + 0
    assert line(world, finished, "t1")["trial"] == 65.0


# ---------------------------------------------------------------- 成绩单: rule and pass line


def test_point5_total_by_the_scheme_and_pass_line_with_attendance(world, finished, login, client):
    complete(world, finished)
    t1, t2 = line(world, finished, "t1"), line(world, finished, "t2")
    # trial 85 × 60% + written 50 × 40% = 51 + 20; 71 ≥ 60 and 5 of 5 days
    assert (t1["attendance"], t1["trial"], t1["written"], t1["total"], t1["passed"]) == (
        5,
        85.0,
        50.0,
        71.0,
        True,
    )
    # 85 × 60% + 95 × 40% = 89, but 3 of 5 days (60%) is under the 80% required
    assert (t2["attendance"], t2["total"], t2["passed"]) == (3, 89.0, False)
    # the institution marks 4 days: 80% attends enough
    login("i1")
    assert "出勤不足" in client.get(page(finished)).get_data(as_text=True)
    response = post_form(
        client,
        f"/grades/class/{finished.id}/attendance",
        {f"attendance_{world['trainee']['t2']}": "4"},
    )
    assert response.status_code == 302
    t2 = line(world, finished, "t2")
    assert (t2["attendance"], t2["attendance_marked"], t2["passed"]) == (4, True, True)
    # below the pass line: 85 × 60% + 10 × 40% = 55
    written(world, finished, t1="10")
    assert (line(world, finished, "t1")["total"], line(world, finished, "t1")["passed"]) == (
        55.0,
        False,
    )
    html = client.get(page(finished)).get_data(as_text=True)
    assert "89.0" in html and "55.0" in html


def test_point5_a_new_scheme_version_applies_to_later_classes_only(world, finished, u):
    with_old = grades.scheme_for(finished)
    grades.new_version(
        {
            "title": "新办法",
            "criteria": "教学设计 | 50\n内容 | 50",
            "scale_max": "100",
            "trial_weight": "50",
            "written_weight": "50",
            "pass_line": "70",
            "min_attendance": "100",
        },
        u.center,
        now(),
    )
    assert grades.scheme_for(finished).id == with_old.id
    later = make_class(world, start=now().date() + timedelta(days=20))
    assert grades.scheme_for(later).pass_line == 70
    assert db.session.scalar(select(func.count()).select_from(GradeScheme)) == 2


# ---------------------------------------------------------------- submission, review, correction


def test_point5_lead_submits_center_approves_institution_sees(world, finished, login_en, client):
    complete(world, finished)
    login_en("trainer1")
    response = post_form(client, f"/grades/class/{finished.id}/submit", {"version": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    sheet = grades.sheet_of(finished)
    assert sheet.status == "pending"
    task = db.session.scalar(select(ReviewTask).where(ReviewTask.record_type == "grade_sheet"))
    assert task.reviewer_org_id == world["org"]["center"] and task.done_at is None
    # the center finds it in its to-do list and approves it on the sheet's page
    login_en("center")
    todo = client.get("/todo/", follow_redirects=True).get_data(as_text=True)
    assert f"/grades/show/{sheet.id}" in todo and "Center review of the grade sheet" in todo
    assert client.get(f"/grades/show/{sheet.id}").status_code == 302
    html = client.get(page(finished)).get_data(as_text=True)
    assert 'id="grade-approve"' in html
    response = post_form(
        client,
        f"/grades/class/{finished.id}/review",
        {"action": "approve", "version": str(sheet.version), "opinion": "同意"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    sheet = grades.sheet_of(finished)
    assert (sheet.status, sheet.in_force_revision) == ("approved", 1)
    # the institution sees it (no write controls after submission)
    login_en("i1")
    html = client.get(page(finished)).get_data(as_text=True)
    assert "71.0" in html and 'name="attendance_' not in html


def test_point5_after_submission_a_change_is_refused_nothing_changed(
    world, finished, login_en, client, u
):
    complete(world, finished)
    grades.submit(finished, u.trainer1, now())
    before = sheet_state(finished)
    login_en("trainer2")
    response = post_form(
        client,
        f"/grades/class/{finished.id}/written",
        {f"written_{world['trainee']['t1']}": "99"},
    )
    assert response.status_code == 400
    assert "a change is a correction" in response.get_data(as_text=True)
    assert sheet_state(finished) == before


def test_point5_correction_is_a_new_revision_reviewed_again(world, finished, login_en, client, u):
    complete(world, finished)
    grades.submit(finished, u.trainer1, now())
    sheet = grades.sheet_of(finished)
    grades.decide(sheet, u.center, review.APPROVE, now())
    # a non-lead trainer cannot start a correction
    login_en("trainer2")
    response = post_form(
        client,
        f"/grades/class/{finished.id}/review",
        {"action": "correct", "version": str(sheet.version)},
    )
    assert response.status_code == 400
    login_en("trainer1")
    response = post_form(
        client,
        f"/grades/class/{finished.id}/review",
        {"action": "correct", "version": str(sheet.version)},
    )
    assert response.status_code == 302
    written(world, finished, t1="80")  # 85 × 60% + 80 × 40% = 83
    # in force until approved: the line stays 71, the revision proposes 83
    assert line(world, finished, "t1")["total"] == 71.0
    sheet = grades.sheet_of(finished)
    assert sheet.revision == 2 and review.is_correction(sheet)
    assert review.proposed_values(sheet)["entries"][str(world["trainee"]["t1"])]["total"] == 83.0
    html = client.get(page(finished)).get_data(as_text=True)
    assert 'id="in-correction"' in html
    response = post_form(
        client, f"/grades/class/{finished.id}/submit", {"version": str(sheet.version)}
    )
    assert response.status_code == 302
    assert line(world, finished, "t1")["total"] == 71.0  # still, while the center reviews
    sheet = grades.sheet_of(finished)
    grades.decide(sheet, u.center, review.APPROVE, now())
    db.session.commit()
    assert line(world, finished, "t1")["total"] == 83.0
    sheet = grades.sheet_of(finished)
    assert (sheet.status, sheet.in_force_revision) == ("approved", 2)
    revisions = review.revisions(sheet)
    assert [r.status for r in revisions] == ["approved", "approved"]
    assert json.loads(revisions[0].data)["entries"][str(world["trainee"]["t1"])]["total"] == 71.0
    approvals = [e for e in review.history(sheet) if e.action == "approve"]
    assert [e.revision for e in approvals] == [1, 2]


def test_point5_center_can_return_the_sheet_for_revision(world, finished, u):
    complete(world, finished)
    grades.submit(finished, u.trainer1, now())
    sheet = grades.sheet_of(finished)
    grades.decide(sheet, u.center, review.RETURN, now(), opinion="笔试成绩有误")
    db.session.commit()
    assert grades.sheet_of(finished).status == "returned"
    # "revise and resubmit" goes to the lead trainer only, not to every trainer of its city
    make_trainer(world, "neighbour", city="C1")

    def waiting(user):
        return [
            t.record_id
            for t in db.session.scalars(review.todo_tasks(user))
            if t.record_type == "grade_sheet"
        ]

    assert waiting(u.trainer1) == [sheet.id]
    assert waiting(u.neighbour) == []
    written(world, finished, t1="60")  # editable again
    grades.submit(finished, u.trainer1, now())
    assert grades.sheet_of(finished).status == "pending"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", ["101", "-1", "abc", "1e3", "NaN", "Infinity"])
def test_point5_score_outside_the_scale_is_refused_next_to_its_field(
    world, finished, login, client, bad
):
    login("trainer1")
    before = sheet_state(finished)
    response = post_form(
        client,
        f"/grades/class/{finished.id}/trial",
        {"trainee": world["trainee"]["t1"], **ALL_80, "c_content": bad},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="error-c_content"' in html and "请输入0至100之间的数" in html
    assert sheet_state(finished) == before
    response = post_form(
        client, f"/grades/class/{finished.id}/written", {f"written_{world['trainee']['t2']}": bad}
    )
    assert response.status_code == 400
    assert f'id="error-written_{world["trainee"]["t2"]}"' in response.get_data(as_text=True)
    assert sheet_state(finished) == before


def test_point5_missing_written_score_blocks_submission(world, finished, login, client):
    for trainer, values in (("trainer1", ALL_80), ("trainer2", ALL_90)):
        score(world, finished, trainer, "t1", values)
        score(world, finished, trainer, "t2", values)
    written(world, finished, t1="70")
    before = sheet_state(finished)
    login("trainer1")
    response = post_form(client, f"/grades/class/{finished.id}/submit", {"version": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="error-written_{world["trainee"]["t2"]}"' in html
    assert "学员2" in html and "笔试成绩" in html
    assert sheet_state(finished) == before


def test_point5_only_the_class_trainers_score(world, finished, login_en, client, app):
    before = sheet_state(finished)
    # the institution has the write permission (attendance), not the trainers' job
    login_en("i1")
    response = post_form(
        client, f"/grades/class/{finished.id}/written", {f"written_{world['trainee']['t1']}": "80"}
    )
    assert response.status_code == 400
    assert "Only the trainers of this class" in response.get_data(as_text=True)
    assert (
        client.get(
            f"/grades/class/{finished.id}/trial?trainee={world['trainee']['t1']}"
        ).status_code
        == 404
    )
    # a trainer that is not the lead cannot submit
    login_en("trainer2")
    complete(world, finished)
    before = sheet_state(finished)
    response = post_form(client, f"/grades/class/{finished.id}/submit", {"version": "1"})
    assert response.status_code == 400
    assert sheet_state(finished) == before
    # a trainer cannot mark attendance
    response = post_form(
        client,
        f"/grades/class/{finished.id}/attendance",
        {f"attendance_{world['trainee']['t1']}": "2"},
    )
    assert response.status_code == 400 and sheet_state(finished) == before


def test_point5_double_submit_is_refused_once_nothing_changed(world, finished, login, client):
    complete(world, finished)
    login("trainer1")
    first = post_form(client, f"/grades/class/{finished.id}/submit", {"version": "1"})
    assert first.status_code == 302
    before = sheet_state(finished)
    second = post_form(client, f"/grades/class/{finished.id}/submit", {"version": "1"})
    assert second.status_code == 400
    assert "已由" in second.get_data(as_text=True) or "已被" in second.get_data(as_text=True)
    assert sheet_state(finished) == before
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ReviewTask)
            .where(ReviewTask.record_type == "grade_sheet")
        )
        == 1
    )


# ---------------------------------------------------------------- export


def read_back(response):
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    return book, book.worksheets[0]


def test_point5_export_official_layout_numbers_and_masking(world, finished, login, client, u):
    complete(world, finished)
    grades.submit(finished, u.trainer1, now())
    grades.decide(grades.sheet_of(finished), u.center, review.APPROVE, now())
    db.session.commit()
    ids = {t.name: t.id_number for t in grades.classroom.trainees_of(finished)}
    login("center")
    response = client.get(f"/grades/class/{finished.id}/export")
    disposition = unquote(response.headers["Content-Disposition"])
    assert f"{finished.code}-成绩单.xlsx" in disposition
    book, ws = read_back(response)
    assert ws.title == "成绩单"
    cells = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    text = "\n".join(str(v) for row in cells for v in row if v is not None)
    assert finished.code in text and "东城创业学校" in text
    assert finished.start_date.isoformat() in text and finished.end_date.isoformat() in text
    assert "冯讲师" in text and "陈讲师" in text
    header = next(row for row in cells if row[0] == "序号")
    assert list(header[:10]) == [
        "序号",
        "姓名",
        "性别",
        "身份证号",
        "工作单位",
        "出勤天数",
        "试讲成绩",
        "笔试成绩",
        "总成绩",
        "结果",
    ]
    people = {row[1]: row for row in cells if row[1] in ids}
    assert people["学员1"][3] == ids["学员1"]  # the center sees the whole number
    assert people["学员1"][5:9] == [5, 85.0, 50.0, 71.0] and people["学员1"][9] == "合格"
    assert people["学员2"][9] == "不合格"
    assert all(isinstance(v, (int, float)) for v in people["学员1"][5:9])
    rate = next(row for row in cells if row[0] == "合格率(%)")
    assert rate[1] == 50.0
    # the institution (and everyone but the center) gets masked ID numbers
    for who in ("i1", "c1", "p1", "trainer1"):
        login(who)
        _book, ws = read_back(client.get(f"/grades/class/{finished.id}/export"))
        values = [v for row in ws.iter_rows(values_only=True) for v in row]
        assert ids["学员1"] not in values
        assert ids["学员1"][:6] + "********" + ids["学员1"][-4:] in values


# ---------------------------------------------------------------- scope


FOREIGN = ["p2", "c1b", "c2", "i2", "i1b", "t1"]


def test_point5_scope_who_sees_the_sheet(world, finished, app, login, client):
    complete(world, finished)
    for who in ("center", "p1", "c1", "i1", "trainer1", "trainer2"):
        login(who)
        assert client.get(page(finished)).status_code == 200, who
        assert client.get(f"/grades/class/{finished.id}/export").status_code == 200, who
    for role in ("trainee", "institution", "city", "province"):
        grant(app, role, "GradeSheet", ["can_read", "can_export", "can_write"])
    before = sheet_state(finished)
    for who in FOREIGN:
        login(who)
        for url in (page(finished), f"/grades/class/{finished.id}/export"):
            assert client.get(url).status_code == 404, (who, url)
        response = post_form(
            client,
            f"/grades/class/{finished.id}/written",
            {f"written_{world['trainee']['t1']}": "1"},
        )
        assert response.status_code == 404, who
    assert sheet_state(finished) == before


def test_point5_list_shows_only_classes_in_scope(world, finished, login, client):
    other = make_class(world, org="I2", start=finished.start_date)
    login("c1")
    html = client.get("/grades/").get_data(as_text=True)
    assert finished.code in html and other.code not in html
    login("center")
    html = client.get("/grades/").get_data(as_text=True)
    assert finished.code in html and other.code in html
    # a class nobody has graded yet still exports its (empty) official sheet
    _book, ws = read_back(client.get(f"/grades/class/{other.id}/export"))
    assert other.code in str(ws["A1"].value)
    assert client.get(page(other)).status_code == 200


def test_point5_two_first_saves_at_once_the_second_is_told_to_reload(
    world, finished, u, monkeypatch
):
    """The second of two simultaneous first saves did not see the sheet the first created: its
    insert hits the unique key and it is refused with a message, nothing half-written."""
    score(world, finished, "trainer1", "t1", ALL_80)
    before = sheet_state(finished)
    monkeypatch.setattr(grades, "sheet_of", lambda klass: None)  # as seen before the first commit
    with pytest.raises(grades.Conflict, match="Reload the page|刷新"):
        score(world, finished, "trainer2", "t1", ALL_90)
    assert sheet_state(finished) == before


SCHEME_FORM = {
    "title": "2027版",
    "criteria": "教学设计 | 40\n内容掌握 | 60",
    "scale_max": "100",
    "trial_weight": "70",
    "written_weight": "30",
    "pass_line": "65",
    "min_attendance": "90",
}


def test_point5_center_keeps_the_scheme_in_versions_bad_input_refused(world, login, client):
    login("center")
    before = rows(GradeScheme.__table__)
    for field, bad in (
        ("criteria", "教学设计 | 40\n内容掌握 | 50"),
        ("criteria", "教学设计"),
        ("written_weight", "40"),
        ("pass_line", "101"),
        ("min_attendance", "abc"),
    ):
        response = post_form(client, "/grade_scheme/new", {**SCHEME_FORM, field: bad})
        assert response.status_code == 400, field
        assert f'id="error-{field}"' in response.get_data(as_text=True), field
        assert rows(GradeScheme.__table__) == before
    response = post_form(client, "/grade_scheme/new", SCHEME_FORM)
    assert response.status_code == 302
    newest = grades.versions()[0]
    assert (newest.version, newest.trial_weight, newest.pass_line) == (2, 70, 65)
    assert [c["weight"] for c in grades.criteria(newest)] == [40, 60]
    login("p1")
    assert post_form(client, "/grade_scheme/new", SCHEME_FORM).status_code in (302, 403)
    assert len(grades.versions()) == 2
