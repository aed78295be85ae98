"""[classroom] point 3 (issue 13): evaluation forms as versioned data; each trainee fills each form
once per day (drafts, the late window, bad input), on its phone; its home shows what is due."""

import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services import evaluations
from app.services.errors import Conflict
from models.classroom import EvaluationAnswer, EvaluationSubmission, Questionnaire
from models.user import MalanUser
from security import passwords
from tests.factories import NOW, PASSWORD, assign, enrol, flashes, make_class, post_form

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture()
def running(world, login, frozen_clock):
    """A 5-day class of I1 with two trainers and two trainees, the clock on its first day, and
    ``login`` able to sign in as its trainees ``t1``/``t2``."""
    klass = make_class(world, days=5)
    assign(world, klass, "trainer1", lead=True)
    assign(world, klass, "trainer2")
    people = enrol(world, klass, [1, 2])
    for key, (trainee, _pw) in zip(("t1", "t2"), people, strict=True):
        passwords.set_password(trainee.user, PASSWORD, NOW, must_change=False)
        world["user"][key], world["username"][key] = trainee.user_id, trainee.user.username
    db.session.commit()
    frozen_clock.set(datetime.combine(klass.start_date, time(18, 0)))
    return klass


def url(klass, kind="daily", day=None):
    return f"/evaluation/{klass.id}/{kind}/{(day or klass.start_date).isoformat()}"


def answers(trainers, **extra):
    data = {"q2": "4", "q3": "5", "q4": "2", "q5": "收获很多", "q6": ""}
    data |= {f"q1_{t}": "5" for t in trainers}
    return data | extra


def trainer_ids(world):
    return [world["user"]["trainer1"], world["user"]["trainer2"]]


def stored():
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(EvaluationSubmission)),
        db.session.scalar(select(func.count()).select_from(EvaluationAnswer)),
        db.session.scalar(
            select(func.count())
            .select_from(EvaluationSubmission)
            .where(EvaluationSubmission.status == "submitted")
        ),
    )


def test_point3_form_on_a_phone_asks_per_trainer_questions_for_each_trainer(
    world, client, login, running
):
    login("t1")
    html = client.get(url(running)).get_data(as_text=True)
    for trainer in trainer_ids(world):
        assert f'name="q1_{trainer}"' in html
    assert html.count('type="radio" name="q2"') == 5
    assert "malan-choice" in html and 'id="evaluation-anonymity"' in html


def test_point3_draft_then_one_submission(world, client, login, running):
    login("t1")
    response = post_form(
        client, url(running), {**answers(trainer_ids(world), q2=""), "action": "draft"}
    )
    assert response.status_code == 302 and stored() == (1, 5, 0)  # a draft may lack answers
    assert 'value="5" checked' in client.get(url(running)).get_data(as_text=True)
    response = post_form(client, url(running), {**answers(trainer_ids(world)), "action": "submit"})
    assert response.status_code == 302 and stored() == (1, 6, 1)
    # A double tap: refused with the reason, nothing more written.
    response = post_form(
        client, url(running), {**answers(trainer_ids(world), q2="1"), "action": "submit"}
    )
    assert response.status_code == 400 and stored() == (1, 6, 1)
    assert (
        db.session.scalar(select(EvaluationAnswer.score).where(EvaluationAnswer.question == "q2"))
        == 4
    )


def test_point3_two_tabs_race_one_submission(world, running, monkeypatch):
    """The other tab submits between this one's check and its write: the conditional claim finds
    no draft, so this one writes nothing."""
    user = db.session.get(MalanUser, world["user"]["t1"])
    now = datetime.combine(running.start_date, time(18, 0))
    evaluations.save(user, running.id, "daily", running.start_date, {}, now, submit=False)
    real_clean = evaluations._clean

    def other_tab_first(form, raw, final):
        db.session.execute(
            EvaluationSubmission.__table__.update().values(status="submitted", submitted_at=now)
        )
        return real_clean(form, raw, final)

    monkeypatch.setattr(evaluations, "_clean", other_tab_first)
    raw = {k: [v] for k, v in answers(trainer_ids(world)).items()}
    with pytest.raises(Conflict):
        evaluations.save(user, running.id, "daily", running.start_date, raw, now, submit=True)
    db.session.rollback()
    assert stored() == (1, 0, 0)  # the race's own write was rolled back too


def test_point3_the_database_refuses_a_second_submission_row(world, running):
    row = dict(
        class_id=running.id,
        org_id=running.org_id,
        user_id=world["user"]["t1"],
        trainee_id=1,
        questionnaire_id=evaluations.version_for(running, "daily").id,
        kind="daily",
        day=running.start_date,
        status="submitted",
        saved_at=NOW,
    )
    db.session.execute(EvaluationSubmission.__table__.insert(), [row])
    with pytest.raises(IntegrityError):
        db.session.execute(EvaluationSubmission.__table__.insert(), [row])
    db.session.rollback()


@pytest.mark.parametrize(
    "change,message",
    [
        ({"q2": "6"}, "1 到 5"),
        ({"q2": "0"}, "1 到 5"),
        ({"q4": "9"}, "选项"),
        ({"q3": ""}, "请作答"),
        ({"q5": "长" * 20000}, "20000"),
    ],
)
def test_point3_bad_answers_are_refused_with_a_message_and_nothing_written(
    world, client, login, running, change, message
):
    login("t1")
    response = post_form(
        client, url(running), {**answers(trainer_ids(world)), **change, "action": "submit"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html, re.findall(
        r"help-block[^>]*>([^<]*)", html
    )
    assert stored() == (0, 0, 0)


def test_point3_late_window_until_2359_of_the_day(world, client, login, running, frozen_clock):
    frozen_clock.set(datetime.combine(running.start_date, time(23, 59, 30)))
    login("t1")  # (the clock jumps: a session would have idled out)
    assert (
        post_form(
            client, url(running), {**answers(trainer_ids(world)), "action": "submit"}
        ).status_code
        == 302
    )
    frozen_clock.set(datetime.combine(running.start_date + timedelta(days=1), time(0, 0, 5)))
    login("t2")
    response = post_form(client, url(running), {**answers(trainer_ids(world)), "action": "submit"})
    assert response.status_code == 400 and stored()[2] == 1
    assert any("23:59" in m for m in flashes(client)) or "23:59" in response.get_data(as_text=True)
    # Tomorrow's form is not open yet today.
    assert "evaluation-draft" not in client.get(
        url(running, day=running.start_date + timedelta(days=2))
    ).get_data(as_text=True)


def test_point3_another_class_form_is_404(world, client, login, running):
    other = make_class(world, org="I2", start=running.start_date)
    login("t1")
    assert client.get(url(other)).status_code == 404
    assert (
        post_form(
            client, url(other), {**answers(trainer_ids(world)), "action": "submit"}
        ).status_code
        == 404
    )
    assert client.get(url(running, kind="midterm")).status_code == 404  # not the middle day
    assert stored() == (0, 0, 0)


def test_point3_trainee_sees_only_its_own_answers(world, client, login, running):
    login("t1")
    post_form(
        client, url(running), {**answers(trainer_ids(world), q5="我的秘密建议"), "action": "submit"}
    )
    login("t2")
    assert "我的秘密建议" not in client.get(url(running)).get_data(as_text=True)


def test_point3_home_shows_exactly_what_is_due_today(world, client, login, running, frozen_clock):
    def due():
        html = client.get("/").get_data(as_text=True)
        panel = html.split('id="home-due-today"')[1].split("</div>\n</div>")[0]
        return sorted(set(re.findall(r"/evaluation/\d+/(\w+)/", panel)))

    days = [
        (running.start_date, ["daily"]),
        (evaluations.middle_day(running), ["daily", "midterm"]),
        (running.end_date, ["daily", "final"]),
        (running.start_date - timedelta(days=1), []),
    ]
    for day, expected in days:
        frozen_clock.set(datetime.combine(day, time(9)))
        login("t1")  # a new session each day (the clock jumps)
        assert due() == expected, day


def test_a_form_due_today_is_red_only_once_it_has_closed(
    app, world, client, login, running, frozen_clock, monkeypatch
):
    """The home page's form of the day is not marked overdue while it can still be filled in
    (Annex 1 row 17: due the same day); once its closing time has passed, it is."""

    def mark():
        html = client.get("/").get_data(as_text=True)
        panel = html.split('id="home-due-today"')[1].split("</div>\n</div>")[0]
        return re.search(r'<span class="pull-right ([^"]*)"', panel).group(1)

    frozen_clock.set(datetime.combine(running.start_date, time(10)))
    login("t1")
    assert "overdue" not in mark()
    monkeypatch.setitem(app.config, "EVALUATION_CLOSES_AT", "09:30")  # closed half an hour ago
    assert "overdue" in mark()


def test_point3_center_keeps_versions_a_class_keeps_its_own(
    world, client, login, running, frozen_clock
):
    login("center")
    assert client.get("/questionnaires/").status_code == 200
    response = post_form(
        client,
        "/questionnaires/new/daily",
        {"title": "每日意见反馈表", "questions": "评分 | 是 | 否 | 新问题 | 1;2;3"},
    )
    assert response.status_code == 400 and "第 1 行" in response.get_data(as_text=True)
    text = "评分 | 是 | 否 | 新问题 | 很差;差;一般;好;很好\n文本 | 否 | 否 | 建议 |"
    response = post_form(
        client, "/questionnaires/new/daily", {"title": "每日意见反馈表（新）", "questions": text}
    )
    assert response.status_code == 302
    versions = db.session.scalars(
        select(Questionnaire).where(Questionnaire.kind == "daily").order_by(Questionnaire.version)
    ).all()
    assert [v.version for v in versions] == [1, 2] and "新问题" not in versions[0].questions
    assert evaluations.version_for(running, "daily").version == 1  # started before v2
    later = make_class(world, org="I2", start=frozen_clock.now.date() + timedelta(days=20))
    assert evaluations.version_for(later, "daily").version == 2
    for who in ("i1", "t1"):
        login(who)
        assert client.get("/questionnaires/").status_code in (302, 403)
